'use strict';
// Headless Chromium (Debian's chromium package) turning an HTML page into the DOM it builds.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function chromium() {
  for (const name of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!name) continue;
    try { execFileSync('which', [name], { stdio: 'ignore' }); return name; } catch (e) { /* next */ }
  }
  throw new Error('chromium is not installed (apt-get install -y chromium)');
}

// The DOM Chromium builds from the page. With `probe`, a copy of the page without its CSP
// (which forbids scripts, as in VS Code) gets a script that records which images decoded.
function dumpDom(dir, html, name, probe = false) {
  if (probe) {
    html = html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>',
      `<script>window.addEventListener('load', () => { const imgs = [...document.images];
        document.body.setAttribute('data-images', imgs.length);
        document.body.setAttribute('data-decoded', imgs.filter((i) => i.complete && i.naturalWidth > 0).length);
        document.body.setAttribute('data-widths', imgs.map((i) => i.naturalWidth).join(',')); });</script></body>`);
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, html);
  return execFileSync(chromium(), ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=3000',
    `--user-data-dir=${path.join(dir, 'profile')}`, '--dump-dom', `file://${file}`],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 });
}


module.exports = { chromium, dumpDom };

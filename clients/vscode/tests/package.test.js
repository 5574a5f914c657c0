'use strict';
// The .vsix from package-vsix.js has the layout VS Code installs (issue 18, item 14): a zip whose
// entries' checksums hold, [Content_Types].xml covering every file extension, an
// extension.vsixmanifest whose identity and engine are package.json's and whose assets exist,
// and extension/ holding the manifest, every file the code requires, README.md and LICENSE.txt.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { crc32, FILES } = require('../package-vsix');

const dir = path.resolve(__dirname, '..');

// The entries of a zip, read from its central directory: name -> Buffer (stored or deflated).
function unzip(buf) {
  const zlib = require('zlib');
  let end = buf.length - 22;
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, 'an end of central directory record');
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const out = new Map();
  for (let i = 0; i < count; i++) {
    assert.strictEqual(buf.readUInt32LE(at), 0x02014b50, 'a central directory record');
    const method = buf.readUInt16LE(at + 10), crc = buf.readUInt32LE(at + 16), size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28), extraLen = buf.readUInt16LE(at + 30), commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    assert.strictEqual(buf.readUInt32LE(local), 0x04034b50, `local header of ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + size);
    const data = method === 0 ? raw : zlib.inflateRawSync(raw);
    assert.strictEqual(crc32(data), crc, `checksum of ${name}`);
    out.set(name, data);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

test('the .vsix has the layout VS Code expects', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'advlens-vsix-')), 'advlens.vsix');
  const said = execFileSync(process.execPath, [path.join(dir, 'package-vsix.js'), out], { encoding: 'utf8' });
  assert.match(said, /advlens\.vsix: \d+ bytes/);
  const entries = unzip(fs.readFileSync(out));
  const names = [...entries.keys()];
  assert.strictEqual(names[0], '[Content_Types].xml');
  assert.ok(names.includes('extension.vsixmanifest'));
  for (const f of FILES) assert.deepStrictEqual(entries.get(`extension/${f}`), fs.readFileSync(path.join(dir, f)), f);
  assert.ok(entries.get('extension/LICENSE.txt').toString().startsWith('MIT License'));

  // Everything the code requires (relative requires) is inside, and the manifest's main.
  const manifest = JSON.parse(entries.get('extension/package.json'));
  assert.ok(names.includes(path.posix.join('extension', manifest.main)));
  for (const f of names.filter((n) => n.endsWith('.js'))) {
    for (const m of entries.get(f).toString().matchAll(/require\('\.\/([\w-]+)'\)/g)) {
      assert.ok(names.includes(`extension/${m[1]}.js`), `${f} requires ./${m[1]}`);
    }
  }
  // A content type for every extension inside.
  const types = entries.get('[Content_Types].xml').toString();
  for (const n of names.filter((x) => x !== '[Content_Types].xml')) {
    assert.match(types, new RegExp(`Extension="\\.${path.extname(n).slice(1)}"`), n);
  }
  // Identity, engine and assets agree with package.json and the files.
  const vsix = entries.get('extension.vsixmanifest').toString();
  assert.match(vsix, new RegExp(`<Identity Language="en-US" Id="${manifest.name}" Version="${manifest.version}" Publisher="${manifest.publisher}" />`));
  assert.ok(vsix.includes(`<Property Id="Microsoft.VisualStudio.Code.Engine" Value="${manifest.engines.vscode}" />`));
  assert.ok(vsix.includes('<InstallationTarget Id="Microsoft.VisualStudio.Code" />'));
  const assets = [...vsix.matchAll(/<Asset Type="([^"]+)" Path="([^"]+)"/g)];
  assert.deepStrictEqual(assets.map((a) => a[1]).sort(), ['Microsoft.VisualStudio.Code.Manifest', 'Microsoft.VisualStudio.Services.Content.Details',
    'Microsoft.VisualStudio.Services.Content.License']);
  for (const [, , p] of assets) assert.ok(names.includes(p), p);
  assert.ok(manifest.license && manifest.repository && manifest.repository.url, 'license and repository in package.json');
});

'use strict';
// webview.js's HTML, made from real daemon results, rendered in headless Chromium: the expected
// elements exist and every image decodes.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const webview = require('../webview');
const { startClient, loadFixtures, repo, digit } = require('./helpers');

const { dumpDom: dump } = require('./chromium');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlens-webview-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const dumpDom = (html, name, probe) => dump(dir, html, name, probe);

const count = (dom, pattern) => (dom.match(pattern) || []).length;

let results;
test.before(async () => {
  const c = await startClient();
  try {
    await loadFixtures(c);
    const png = path.join(repo, 'out', 'vscode-test');
    results = {
      attack: await c.request('attack', { model: 'digits', method: 'pgd', steps: 10,
        inputs: { dataset: 'mnist-test', indices: [0, 1, 2] }, return: { images: true, perturbations: true, png } }),
      attackFiles: await c.request('attack', { model: 'digits', method: 'fgsm', inputs: { path: digit }, return: { png } }),
      predict: await c.request('predict', { model: 'digits', inputs: [{ path: digit }, { dataset: 'mnist-test', indices: [5, 25] }] }),
      info: await c.request('model/info', { name: 'digits' }),
    };
  } finally {
    await c.close();
  }
});

test('attack: original, adversarial and perturbation per sample, summary and sample tables', () => {
  const html = webview.render('attack', results.attack, { title: 'attack pgd' });
  const dom = dumpDom(html, 'attack.html');
  assert.match(dom, /<body class="advlens advlens-attack">/);
  assert.strictEqual(count(dom, /class="advlens-sample"/g), 3);
  assert.strictEqual(count(dom, /<img class="advlens-image" alt="(original|adversarial|perturbation)"/g), 9);
  assert.match(dom, new RegExp(`<td>${results.attack.handle}</td>`));
  assert.strictEqual(count(dom, /<tr><td class="num">/g), 3, 'a sample table row per sample');
  assert.strictEqual(count(dom, /<li>[^<]*\.png<\/li>/g), 3, 'the PNG files listed');
  const probed = dumpDom(html, 'attack-probe.html', true);
  assert.match(probed, /data-images="9" data-decoded="9" data-widths="112(,112){8}"/);
});

test('attack without returned images shows the PNG strips the daemon wrote', () => {
  const dom = dumpDom(webview.render('attack', results.attackFiles), 'attack-files.html', true);
  assert.strictEqual(count(dom, /alt="original \| adversarial \| perturbation"/g), 1);
  // a strip: three 28-pixel panels at scale 4 with two 2-pixel gaps at scale 4
  assert.match(dom, /data-decoded="1" data-widths="(\d+)"/);
  const width = Number(/data-widths="(\d+)"/.exec(dom)[1]);
  assert.ok(width > 3 * 112, `strip width ${width}`);
});

test('predict: a table row per input, unlabeled file included', () => {
  const dom = dumpDom(webview.render('predict', results.predict), 'predict.html');
  assert.strictEqual(count(dom, /<tr><td class="num">\d+<\/td>/g), 3);
  assert.match(dom, /<td class="">7<\/td><td class="">99\.\d%<\/td>/);
  assert.match(dom, /<td class="">—<\/td>/, 'the file has no label');
});

test('generic results: neuron bars, heatmaps, nested tables (an explanation-shaped result)', () => {
  const layers = results.info.layers;
  const saliency = Buffer.alloc(4 * 28 * 28);
  for (let i = 0; i < 28 * 28; i++) saliency.writeFloatLE(Math.sin(i / 20), 4 * i);
  const explanation = {
    predicted: 7,
    neurons: [{ unit: 12, influence: 0.9 }, { unit: 3, influence: -0.45 }, { unit: 40, influence: 0.3 }],
    maps: { saliency: { shape: [1, 28, 28], dtype: 'float32', data: saliency.toString('base64') } },
    layers,
  };
  const dom = dumpDom(webview.render('explainPrediction', explanation, { title: 'explain' }), 'explain.html', true);
  assert.strictEqual(count(dom, /class="advlens-bar (pos|neg)"/g), 3);
  assert.match(dom, /class="advlens-bar pos" style="width:100\.0%"/);
  assert.match(dom, /class="advlens-bar neg" style="width:50\.0%"/);
  assert.match(dom, /alt="saliency"/);
  assert.strictEqual(count(dom, /<caption>layers<\/caption>/g), 1);
  assert.strictEqual(count(dom, /<tr><td class="">\d+<\/td><td class="">(conv2d|relu|maxpool2d|flatten|linear)</g), layers.length);
  assert.match(dom, /data-decoded="1"/);
});

test('a cancelled request shows its message and partial result', () => {
  const error = { message: 'request cancelled (code -32800)', data: results.attack };
  const dom = dumpDom(webview.renderError('attack', error, 'attack (cancelled)'), 'cancelled.html');
  assert.match(dom, /<p class="error">request cancelled/);
  assert.strictEqual(count(dom, /class="advlens-sample"/g), 3);
});

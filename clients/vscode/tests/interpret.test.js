'use strict';
// explainPrediction, probe, trainStep and evaluate through jsonrpc.js against the real daemon,
// and the webview of the explanation and the probe rendered in headless Chromium.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const webview = require('../webview');
const { dumpDom } = require('./chromium');
const { startClient, loadFixtures, repo, digit } = require('./helpers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advlens-interpret-'));
const count = (dom, pattern) => (dom.match(pattern) || []).length;
let c;
test.before(async () => { c = await startClient(); await loadFixtures(c); });
test.after(async () => { await c.close(); fs.rmSync(dir, { recursive: true, force: true }); });

test('explain an image file: prediction, ranked units, maps; the webview shows bars and heatmaps', async () => {
  const r = await c.request('explainPrediction', { model: 'digits', input: { path: digit }, topNeurons: 4,
    methods: ['influence', 'saliency', 'gradCam'] });
  assert.strictEqual(r.prediction.predicted, 7);
  assert.deepStrictEqual(r.layers.map((l) => l.layer), ['4', '8']);
  for (const layer of r.layers) {
    const drops = layer.neurons.map((n) => n.logitDrop);
    assert.deepStrictEqual(drops, [...drops].sort((a, b) => b - a));
  }
  assert.deepStrictEqual(r.maps.saliency.tensor.shape, [1, 28, 28]);
  const dom = dumpDom(dir, webview.render('explainPrediction', r, { title: 'explain digit-7.png' }), 'explain.html', true);
  assert.strictEqual(count(dom, /class="advlens-bar (pos|neg)"/g), 8);
  assert.match(dom, /<p class="advlens-explain-summary">Predicted 7/);
  assert.match(dom, /layer 8: 128 units, by logitDrop/);
  assert.match(dom, /alt="saliency"/);
  assert.match(dom, /alt="gradCam"/);
  assert.match(dom, /data-images="2" data-decoded="2"/);
});

test('probe a layer on a dataset with patches; the webview shows each unit\'s patches', async () => {
  const patchDirectory = path.join(repo, 'out', 'vscode-patches');
  const values = [];
  const r = await c.request('probe', { model: 'digits', layer: '4', kind: 'topActivations', units: [1, 2], k: 3,
    dataset: { name: 'mnist-test' }, patches: true, patchDirectory }, { onProgress: (v) => values.push(v) });
  assert.deepStrictEqual(r.top.map((u) => u.unit), [1, 2]);
  assert.ok(r.top.every((u) => u.top.length === 3 && u.top.every((t) => fs.existsSync(t.patch))));
  assert.strictEqual(values[0].kind, 'begin');
  assert.strictEqual(values[values.length - 1].kind, 'end');
  const dom = dumpDom(dir, webview.render('probe', r, { title: 'probe 4' }), 'probe.html', true);
  assert.strictEqual(count(dom, /<div class="advlens-unit">/g), 2);
  assert.match(dom, /data-images="6" data-decoded="6"/);
});

test('probe a layer on one image: one table, a row per unit', async () => {
  const r = await c.request('probe', { model: 'digits', layer: '4', kind: 'topActivations', k: 5, inputs: { path: digit } });
  assert.strictEqual(r.top.length, 32);
  assert.ok(r.top.every((u) => u.top.length === 1));
  const dom = dumpDom(dir, webview.render('probe', r, { title: 'probe 4 on digit-7.png' }), 'probe-one.html', true);
  assert.strictEqual(count(dom, /<table/g), 2);  // the summary and the units
  assert.strictEqual(count(dom, /<caption>top activations per unit<\/caption>/g), 1);
  assert.strictEqual(count(dom, /<tr><td/g), 32);  // a row per unit (the summary's rows start with <th>)
});

test('trainStep changes the weights; evaluate reports clean and robust accuracy', async () => {
  await c.request('model/create', { name: 'student', architecture: 'mnist-small', seed: 4 });
  const t = await c.request('trainStep', { model: 'student', dataset: 'mnist-train', steps: 4, batchSize: 16 });
  assert.strictEqual(t.stepCount, 4);
  const info = await c.request('model/info', { name: 'student' });
  assert.strictEqual(info.summary.fingerprint, t.fingerprint);
  const e = await c.request('evaluate', { model: 'digits', dataset: 'mnist-test', attack: { method: 'fgsm', epsilon: 0.2 } });
  assert.strictEqual(e.count, 200);
  assert.ok(e.robustAccuracy <= e.cleanAccuracy);
  const dom = dumpDom(dir, webview.render('evaluate', e, { title: 'evaluate' }), 'evaluate.html');
  assert.match(dom, /<th>cleanAccuracy<\/th><td>0\.\d+<\/td>/);
});

test('a command whose model is not resident loads the one the user picks (no initRequests)', async () => {
  const { ensureModel } = require('../models');
  const asked = [], told = [];
  const ui = { pickFile: async (o) => { asked.push(o.title); return path.join(repo, 'Tests', 'AttacksTests', 'Fixtures', 'mnist-small', 'model.json'); },
    info: (t) => told.push(t) };
  const summary = await ensureModel(c, 'picked', ui);
  assert.strictEqual(summary.name, 'picked');
  assert.strictEqual(asked.length, 1, 'the weights beside the spec are found, not asked for');
  assert.match(told[0], /loaded picked \(mnist-small/);
  const r = await c.request('predict', { model: 'picked', inputs: { path: digit } });
  assert.strictEqual(r.predictions[0].predicted, 7);
  // Resident now: nothing is asked again; a user who gives up loads nothing.
  assert.strictEqual((await ensureModel(c, 'picked', { pickFile: async () => assert.fail('asked again'), info: () => {} })).name, 'picked');
  assert.strictEqual(await ensureModel(c, 'other', { pickFile: async () => undefined, info: () => {} }), undefined);
  assert.ok(!(await c.request('model/list', {})).models.some((m) => m.name === 'other'));
});

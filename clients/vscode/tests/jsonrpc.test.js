'use strict';
// jsonrpc.js against the real daemon: framing, requests, progress, cancellation, errors, sockets.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { RpcClient, RpcError, FrameDecoder, encode } = require('../jsonrpc');
const { daemon, root, startClient, loadFixtures, digit } = require('./helpers');

test('FrameDecoder reassembles frames cut at every byte, inside UTF-8 and headers', () => {
  const a = encode({ jsonrpc: '2.0', id: 1, result: { text: 'é✓ digits' } });
  const b = encode({ jsonrpc: '2.0', id: 2, result: { big: 'A'.repeat(100000) } });
  const stream = Buffer.concat([a, Buffer.from('\r\n\r\n'), b]);
  const d = new FrameDecoder();
  const bodies = [];
  for (let i = 0; i < a.length + 4; i++) bodies.push(...d.push(stream.subarray(i, i + 1)));
  assert.strictEqual(bodies.length, 1);
  assert.strictEqual(JSON.parse(bodies[0]).result.text, 'é✓ digits');
  for (let i = a.length + 4; i < stream.length; i += 4096) bodies.push(...d.push(stream.subarray(i, i + 4096)));
  assert.strictEqual(bodies.length, 2);
  assert.strictEqual(JSON.parse(bodies[1]).result.big.length, 100000);
  assert.strictEqual(new FrameDecoder().push(Buffer.concat([a, a])).length, 2);
});

test('stdio daemon: initialize, concurrent requests matched by id, errors with codes', async () => {
  const c = await startClient();
  try {
    assert.strictEqual(c.serverInfo.name, 'advlensd');
    assert.ok(c.capabilities.methods.includes('attack'));
    const created = await Promise.all([1, 2, 3, 4].map((i) =>
      c.request('model/create', { name: `m${i}`, architecture: 'mnist-small', seed: i })));
    assert.deepStrictEqual(created.map((m) => m.name), ['m1', 'm2', 'm3', 'm4']);
    assert.notStrictEqual(created[0].fingerprint, created[1].fingerprint);
    await assert.rejects(c.request('model/info', { name: 'nobody' }), (e) => e instanceof RpcError && e.code === -32001);
    await assert.rejects(c.request('no/such/method', {}), (e) => e.code === -32601 && e.method === 'no/such/method');
    await assert.rejects(c.request('model/create', { name: 'x' }), (e) => e.code === -32602 && /params\.architecture/.test(e.message));
  } finally {
    assert.strictEqual(await c.close(), 0, 'exit status after shutdown + exit');
  }
});

test('predict an image file and a dataset index', async () => {
  const c = await startClient();
  try {
    await loadFixtures(c);
    const file = await c.request('predict', { model: 'digits', inputs: { path: digit }, topK: 2 });
    assert.strictEqual(file.predictions[0].predicted, 7);
    assert.ok(file.predictions[0].top[0].probability > 0.99);
    const refs = await c.request('predict', { model: 'digits', inputs: { dataset: 'mnist-test', indices: [0, 1, 2] } });
    // The split's default order interleaves the classes: index i holds class i mod 10.
    assert.deepStrictEqual(refs.predictions.map((p) => p.label), [0, 1, 2]);
    assert.ok(typeof refs.accuracy === 'number');
  } finally {
    await c.close();
  }
});

test('progress values reach onProgress in order', async () => {
  const c = await startClient();
  try {
    await loadFixtures(c);
    const values = [];
    const result = await c.request('attack', { model: 'digits', method: 'pgd', steps: 20, earlyStop: false,
      inputs: { dataset: 'mnist-test', indices: [...Array(50).keys()] } }, { onProgress: (v) => values.push(v) });
    const kinds = values.map((v) => v.kind);
    assert.strictEqual(kinds[0], 'begin');
    assert.strictEqual(kinds[kinds.length - 1], 'end');
    assert.ok(kinds.slice(1, -1).every((k) => k === 'report') && kinds.length > 2);
    assert.strictEqual(values[0].title, 'attack pgd');
    assert.match(values[1].message, /^iteration \d+\/20, \d+% fooled$/);
    assert.strictEqual(values[values.length - 1].message, `${Math.round(result.summary.successRate * 100)}% success`);
    assert.strictEqual(c.progress.size, 0, 'the token is forgotten after the reply');
  } finally {
    await c.close();
  }
});

test('a cancellation token sends $/cancelRequest; the partial attack is in error.data', async () => {
  const c = await startClient();
  try {
    await loadFixtures(c);
    const listeners = [];
    const token = { isCancellationRequested: false, onCancellationRequested: (fn) => listeners.push(fn) };
    let cancelled = false;
    const onProgress = (v) => {
      if (v.kind === 'report' && !cancelled) { cancelled = true; token.isCancellationRequested = true; listeners.forEach((fn) => fn()); }
    };
    // Cancelled at the first progress report, on 100,000 C&W steps that cannot finish first.
    await assert.rejects(c.request('attack', { model: 'digits', method: 'cw', steps: 100000,
      inputs: { dataset: 'mnist-test', indices: [...Array(100).keys()] } }, { onProgress, token }), (e) => {
      assert.strictEqual(e.code, -32800);
      assert.strictEqual(e.data.summary.stoppedEarly, true);
      assert.strictEqual(e.data.samples.length, 100);
      assert.match(e.data.handle, /^adv-\d+$/);
      return true;
    });
    assert.ok(cancelled, 'cancelled after a progress report');
    const again = await c.request('predict', { model: 'digits', inputs: { dataset: 'mnist-test', indices: [0] } });
    assert.strictEqual(again.count, 1, 'the session goes on');
  } finally {
    await c.close();
  }
});

test('connect to a socket daemon; two clients share its models', async () => {
  const dir = fs.mkdtempSync(path.join('/tmp', 'advlens-js-'));
  const sock = path.join(dir, 'daemon.sock');
  const server = spawn(daemon(), ['--listen', `unix:${sock}`], { stdio: 'ignore' });
  try {
    let first;
    for (let i = 0; i < 200 && !first; i++) {
      try { first = await RpcClient.connect(sock); } catch (e) { await new Promise((r) => setTimeout(r, 50)); }
    }
    assert.ok(first, 'the socket daemon answers');
    await first.initialize({ rootPath: root() });
    await first.request('model/create', { name: 'shared', architecture: 'mnist-small' });
    const second = await RpcClient.connect(sock);
    await second.initialize({ rootPath: root() });
    const list = await second.request('model/list', {});
    assert.deepStrictEqual(list.models.map((m) => m.name), ['shared']);
    await first.close();
    await second.close();
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('requests after the daemon is gone fail with -32099', async () => {
  const c = await startClient();
  await c.close();
  await assert.rejects(c.request('model/list', {}), (e) => e.code === -32099);
});

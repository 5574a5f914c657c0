'use strict';
// Where the real daemon, the trained fixture and the data are, for the tests.
const fs = require('fs');
const path = require('path');
const { RpcClient } = require('../jsonrpc');

const repo = path.resolve(__dirname, '..', '..', '..');
const data = path.join(repo, 'data', 'mnist_5k.csv.gz');
const modelDir = path.join(repo, 'Tests', 'AttacksTests', 'Fixtures', 'mnist-small');
const digit = path.join(repo, 'clients', 'testdata', 'digit-7.png');

function daemon() {
  let d = process.env.ADVLENSD || path.join(repo, '.build', 'release', 'advlensd');
  if (!path.isAbsolute(d)) d = path.join(repo, d);
  if (!fs.existsSync(d)) throw new Error(`${d} is missing: run make build or set ADVLENSD`);
  return d;
}

// The repo, or the directory holding both it and data/ when data/ links elsewhere (a worktree):
// the daemon refuses paths outside its root.
function root() {
  if (!fs.existsSync(data)) throw new Error(`${data} is missing: run make data`);
  const a = fs.realpathSync(repo).split(path.sep), b = fs.realpathSync(data).split(path.sep);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i).join(path.sep) || path.sep;
}

async function startClient(args = []) {
  const c = RpcClient.spawn(daemon(), args);
  await c.initialize({ rootPath: root(), clientInfo: { name: 'vscode-tests' } });
  return c;
}

async function loadFixtures(c) {
  await c.request('model/load', { name: 'digits', spec: path.join(modelDir, 'model.json'), weights: path.join(modelDir, 'model.safetensors') });
  await c.request('dataset/load', { name: 'mnist', kind: 'mnist-csv', path: fs.realpathSync(data), split: { testPerClass: 20, seed: 0 } });
}

module.exports = { repo, digit, daemon, root, startClient, loadFixtures };

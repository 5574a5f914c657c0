'use strict';
// package.json and extension.js agree: every contributed command is registered, every menu
// entry names a contributed command, every setting the extension reads is declared.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');

const dir = path.resolve(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const source = fs.readFileSync(path.join(dir, 'extension.js'), 'utf8');

test('contributed commands are exactly the registered ones', () => {
  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  const registered = [...source.matchAll(/'(advlens\.[a-zA-Z]+)': /g)].map((m) => m[1]).sort();
  assert.deepStrictEqual(registered, contributed);
});

test('menus name contributed commands and offer explain, attack and probe on image files', () => {
  const ids = new Set(manifest.contributes.commands.map((c) => c.command));
  const explorer = manifest.contributes.menus['explorer/context'];
  for (const entries of Object.values(manifest.contributes.menus)) for (const e of entries) assert.ok(ids.has(e.command), e.command);
  for (const id of ['advlens.explain', 'advlens.attack', 'advlens.probe']) {
    const entry = explorer.find((e) => e.command === id);
    assert.ok(entry, id);
    const pattern = /resourceExtname =~ \/(.*)\/i/.exec(entry.when)[1];
    const re = new RegExp(pattern, 'i');
    assert.ok(re.test('.png') && re.test('.JPG') && re.test('.jpeg') && !re.test('.txt'), entry.when);
  }
});

test('settings read by the extension are declared', () => {
  const declared = Object.keys(manifest.contributes.configuration.properties).map((k) => k.replace(/^advlens\./, ''));
  const read = [...new Set([...source.matchAll(/config\(\)\.get\('([a-zA-Z]+)'\)/g)].map((m) => m[1]))];
  assert.ok(read.length >= 8);
  for (const key of read) assert.ok(declared.includes(key), key);
  assert.strictEqual(manifest.main, './extension.js');
  assert.deepStrictEqual(Object.keys(manifest.dependencies || {}), [], 'no npm packages');
});

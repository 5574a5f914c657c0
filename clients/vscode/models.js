'use strict';
// The model the commands use, made resident when it is not: the user picks its spec (model.json)
// and weights (.safetensors, the file beside the spec with the same name by default), and the
// extension sends model/load — no hand-written initRequests needed. Kept apart from the VS Code
// API (the dialogs come in as `ui`), so node --test drives it against the real daemon.
const fs = require('fs');
const path = require('path');

// The weights file beside a spec: model.json -> model.safetensors.
function weightsBeside(spec) {
  const guess = path.join(path.dirname(spec), path.basename(spec, path.extname(spec)) + '.safetensors');
  return fs.existsSync(guess) ? guess : undefined;
}

// Resolves when `name` is resident in the daemon behind `client`; asks `ui` for the files when it
// is not. `ui.pickFile({title, filters})` returns a path or undefined (the user gave up);
// `ui.info(text)` tells what happened. Returns the model's summary, or undefined when the user
// gave up. A load that fails rejects with the daemon's error (naming the field).
async function ensureModel(client, name, ui) {
  const list = await client.request('model/list', {});
  const resident = (list.models || []).find((m) => m.name === name);
  if (resident) return resident;
  const spec = await ui.pickFile({ title: `AdvLens: the spec (model.json) of model "${name}"`, filters: { 'Model spec': ['json'] } });
  if (!spec) return undefined;
  const weights = weightsBeside(spec) ||
    await ui.pickFile({ title: `AdvLens: the weights of model "${name}"`, filters: { Weights: ['safetensors'] } });
  if (!weights) return undefined;
  const summary = await client.request('model/load', { name, spec, weights });
  ui.info(`AdvLens: loaded ${name} (${summary.architecture}, ${summary.parameters} parameters) from ${path.basename(spec)}`);
  return summary;
}

module.exports = { ensureModel, weightsBeside };

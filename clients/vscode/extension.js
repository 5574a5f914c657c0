'use strict';
// VS Code extension: explain, attack, probe and predict an image file through advlensd, with
// progress notifications that cancel ($/cancelRequest) and results in a webview.
const vscode = require('vscode');
const fs = require('fs');
const path = require('path');
const { RpcClient } = require('./jsonrpc');
const webview = require('./webview');

let client = null;
let starting = null;
let output = null;
const running = new Set(); // vscode.CancellationTokenSource of requests in flight

function config() {
  return vscode.workspace.getConfiguration('advlens');
}

// Where relative paths resolve: the first workspace folder (the daemon reads and writes where
// paths point; `advlens.root` confines it to a directory, for a shared daemon).
function workspaceFolder() {
  const folders = vscode.workspace.workspaceFolders;
  return folders && folders.length ? folders[0].uri.fsPath : process.cwd();
}

function daemonPath() {
  const configured = config().get('daemonPath');
  if (configured) return configured;
  if (process.env.ADVLENSD) return process.env.ADVLENSD;
  const built = path.join(workspaceFolder(), '.build', 'release', 'advlensd');
  return fs.existsSync(built) ? built : 'advlensd';
}

async function start() {
  const socket = config().get('socketPath');
  const c = socket ? await RpcClient.connect(socket) : RpcClient.spawn(daemonPath(), []);
  c.on('close', (reason) => {
    output.appendLine(`advlensd: ${reason}${c.stderr ? '\n' + c.stderr : ''}`);
    if (client === c) client = null;
  });
  const params = { workingDirectory: workspaceFolder(), clientInfo: { name: 'advlens-vscode', version: '0.1.0' },
    processId: process.pid, capabilities: { workDoneProgress: true } };
  if (config().get('root')) params.rootPath = path.resolve(workspaceFolder(), config().get('root'));
  if (config().get('cachePath')) params.cachePath = config().get('cachePath');
  await c.initialize(params);
  output.appendLine(`advlensd ${c.serverInfo.version}: ${c.capabilities.methods.join(', ')}`);
  for (const step of config().get('initRequests') || []) {
    try {
      await c.request(step.method, step.params || {});
    } catch (e) {
      output.appendLine(`${step.method}: ${e.message}`);
      vscode.window.showWarningMessage(`AdvLens: ${step.method}: ${e.message}`);
    }
  }
  return c;
}

async function ensureClient() {
  if (client && !client.closed) return client;
  if (!starting) starting = start().then((c) => { client = c; return c; }).finally(() => { starting = null; });
  return starting;
}

// The image: the explorer's URI, else the active tab's file, else ask.
async function imageUri(uri) {
  if (uri && uri.fsPath) return uri;
  const tab = vscode.window.tabGroups && vscode.window.tabGroups.activeTabGroup.activeTab;
  if (tab && tab.input && tab.input.uri) return tab.input.uri;
  if (vscode.window.activeTextEditor) return vscode.window.activeTextEditor.document.uri;
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: ['png', 'jpg', 'jpeg', 'bmp'] } });
  return picked && picked[0];
}

function showResult(method, title, result, error) {
  const panel = vscode.window.createWebviewPanel('advlens', title, vscode.ViewColumn.Beside, { enableScripts: false });
  panel.webview.html = error ? webview.renderError(method, error, title)
    : webview.render(method, result, { title, cspSource: panel.webview.cspSource });
  return panel;
}

// Runs one request under a cancellable progress notification; shows the result (or the
// partial result of a cancelled request) in a webview.
async function run(method, params, title) {
  const c = await ensureClient();
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `AdvLens: ${title}`, cancellable: true },
    async (progress, token) => {
      let last = 0;
      const onProgress = (v) => {
        const pct = typeof v.percentage === 'number' ? v.percentage : last;
        progress.report({ message: v.message || '', increment: Math.max(0, pct - last) });
        last = Math.max(last, pct);
      };
      const source = new vscode.CancellationTokenSource();
      token.onCancellationRequested(() => source.cancel());
      running.add(source);
      try {
        const result = await c.request(method, params, { onProgress, token: source.token });
        showResult(method, title, result);
        return result;
      } catch (e) {
        output.appendLine(`${method}: ${e.message}`);
        if (e.code === -32800) {
          vscode.window.showInformationMessage(`AdvLens: ${title} cancelled${e.data ? ' — showing the result so far' : ''}`);
          if (e.data) showResult(method, `${title} (cancelled)`, null, e);
        } else {
          vscode.window.showErrorMessage(`AdvLens: ${e.message}`);
        }
        return undefined;
      } finally {
        running.delete(source);
        source.dispose();
      }
    });
}

async function layerPick(c, model) {
  const info = await c.request('model/info', { name: model });
  const items = info.layers.map((l) => ({ label: l.name, description: `${l.type} ${l.outputShape ? '[' + l.outputShape.join(', ') + ']' : ''}` }));
  const picked = await vscode.window.showQuickPick(items, { placeHolder: `Layer of ${model} to probe` });
  return picked && picked.label;
}

function commands() {
  const model = () => config().get('model');
  return {
    'advlens.predict': async (uri) => {
      const image = await imageUri(uri);
      if (image) return run('predict', { model: model(), inputs: { path: image.fsPath }, topK: 5 }, `predict ${path.basename(image.fsPath)}`);
    },
    'advlens.explain': async (uri) => {
      const image = await imageUri(uri);
      if (image) {
        return run('explainPrediction', Object.assign({}, config().get('explainDefaults'), { model: model(), input: { path: image.fsPath } }),
          `explain ${path.basename(image.fsPath)}`);
      }
    },
    'advlens.attack': async (uri) => {
      const image = await imageUri(uri);
      if (!image) return;
      const c = await ensureClient();
      const method = await vscode.window.showQuickPick(c.capabilities.attacks, { placeHolder: 'Attack method' });
      if (!method) return;
      const params = Object.assign({}, config().get('attackDefaults'), { model: model(), method, inputs: { path: image.fsPath },
        return: { images: true, perturbations: true } });
      return run('attack', params, `attack ${method} ${path.basename(image.fsPath)}`);
    },
    'advlens.probe': async (uri) => {
      const image = await imageUri(uri);
      if (!image) return;
      const c = await ensureClient();
      const layer = await layerPick(c, model());
      if (!layer) return;
      return run('probe', Object.assign({}, config().get('probeDefaults'), { model: model(), layer, inputs: { path: image.fsPath } }),
        `probe ${layer} on ${path.basename(image.fsPath)}`);
    },
    'advlens.cancel': () => { for (const s of running) s.cancel(); },
    'advlens.restart': async () => {
      if (client) await client.close();
      client = null;
      await ensureClient();
    },
  };
}

function activate(context) {
  output = vscode.window.createOutputChannel('AdvLens');
  context.subscriptions.push(output);
  for (const [id, fn] of Object.entries(commands())) {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args) => {
      try {
        return await fn(...args);
      } catch (e) {
        output.appendLine(`${id}: ${e.stack || e.message}`);
        vscode.window.showErrorMessage(`AdvLens: ${e.message}`);
        return undefined;
      }
    }));
  }
}

async function deactivate() {
  if (client) await client.close();
}

module.exports = { activate, deactivate };

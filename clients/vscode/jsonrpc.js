'use strict';
// JSON-RPC 2.0 client for advlensd with LSP's Content-Length framing, over a spawned daemon's
// stdio or a Unix socket. No dependency on vscode: the extension and the tests share it.
const { spawn } = require('child_process');
const net = require('net');
const { EventEmitter } = require('events');

class RpcError extends Error {
  constructor(error, method) {
    super(`${error.message} (code ${error.code})`);
    this.code = error.code;
    this.rpcMessage = error.message;
    this.data = error.data;
    this.method = method;
  }
}

function encode(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

// Reassembles frames from chunks cut anywhere (inside a header, inside a multi-byte character).
class FrameDecoder {
  constructor() {
    this.chunks = [];
    this.size = 0;
    this.need = 0;
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size < this.need) return [];
    let buffer = Buffer.concat(this.chunks, this.size);
    const bodies = [];
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) { this.need = buffer.length + 1; break; }
      const header = buffer.subarray(0, end).toString('ascii');
      const match = /content-length:\s*(\d+)/i.exec(header);
      if (!match) { buffer = buffer.subarray(end + 4); continue; }
      const length = Number(match[1]);
      if (buffer.length < end + 4 + length) { this.need = end + 4 + length; break; }
      bodies.push(buffer.subarray(end + 4, end + 4 + length).toString('utf8'));
      buffer = buffer.subarray(end + 4 + length);
    }
    this.chunks = [buffer];
    this.size = buffer.length;
    return bodies;
  }
}

class RpcClient extends EventEmitter {
  // stream: { write(buffer), end() } and a readable emitting 'data'/'close'.
  constructor(readable, writable, child) {
    super();
    this.readable = readable;
    this.writable = writable;
    this.child = child || null;
    this.nextId = 1;
    this.pending = new Map(); // id -> { resolve, reject, method }
    this.progress = new Map(); // token -> handler
    this.closed = false;
    this.stderr = '';
    const decoder = new FrameDecoder();
    readable.on('data', (chunk) => {
      for (const body of decoder.push(chunk)) {
        let message;
        try { message = JSON.parse(body); } catch (e) { continue; }
        this._dispatch(message);
      }
    });
    const onClose = () => this._close('connection to advlensd closed');
    readable.on('close', onClose);
    readable.on('end', onClose);
    readable.on('error', onClose);
  }

  // Spawns `daemon` speaking on stdio.
  static spawn(daemon, args = [], options = {}) {
    const child = spawn(daemon, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env || process.env });
    const client = new RpcClient(child.stdout, child.stdin, child);
    child.stderr.on('data', (d) => { client.stderr = (client.stderr + d.toString()).slice(-8192); });
    child.on('error', (e) => client._close(`cannot start ${daemon}: ${e.message}`));
    child.on('exit', (code) => { client.exitCode = code; client._close(`advlensd exited with status ${code}`); client.emit('exit', code); });
    return client;
  }

  // Connects to a socket daemon (`advlensd --listen unix:PATH`, as the shell client starts).
  static connect(path) {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path);
      socket.once('connect', () => resolve(new RpcClient(socket, socket, null)));
      socket.once('error', reject);
    });
  }

  _dispatch(message) {
    if (message.method) {
      if (message.method === '$/progress' && message.params) {
        const handler = this.progress.get(message.params.token);
        if (handler) handler(message.params.value || {});
      }
      this.emit('notification', message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.error) pending.reject(new RpcError(message.error, pending.method));
    else pending.resolve(message.result);
  }

  _close(reason) {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) p.reject(new RpcError({ code: -32099, message: reason }, p.method));
    this.pending.clear();
    this.emit('close', reason);
  }

  _send(message) {
    if (this.closed) throw new RpcError({ code: -32099, message: 'connection to advlensd closed' });
    this.writable.write(encode(message));
  }

  notify(method, params) {
    const message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    this._send(message);
  }

  // Sends a request. options.onProgress(value) receives its $/progress values (a workDoneToken
  // is added); options.token, a vscode-like CancellationToken ({isCancellationRequested,
  // onCancellationRequested(fn)}), cancels it; options.onId(id) learns its id.
  request(method, params = {}, options = {}) {
    const id = this.nextId++;
    params = Object.assign({}, params);
    let token;
    if (options.onProgress) {
      token = `vscode-${id}`;
      params.workDoneToken = token;
      this.progress.set(token, options.onProgress);
    }
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
    });
    try {
      this._send({ jsonrpc: '2.0', id, method, params });
    } catch (e) {
      this.pending.delete(id);
      return Promise.reject(e);
    }
    if (options.onId) options.onId(id);
    if (options.token) {
      if (options.token.isCancellationRequested) this.cancel(id);
      else options.token.onCancellationRequested(() => this.cancel(id));
    }
    const done = () => { if (token) this.progress.delete(token); };
    return promise.then((r) => { done(); return r; }, (e) => { done(); throw e; });
  }

  cancel(id) {
    if (this.pending.has(id)) this.notify('$/cancelRequest', { id });
  }

  async initialize(params = {}) {
    const result = await this.request('initialize', params);
    this.capabilities = result.capabilities;
    this.serverInfo = result.serverInfo;
    this.notify('initialized', {});
    return result;
  }

  // shutdown + exit; resolves when the daemon process (if ours) has exited.
  async close(timeoutMs = 10000) {
    if (this.closed) return this.exitCode;
    try {
      await this.request('shutdown', {});
      this.notify('exit');
    } catch (e) { /* already gone */ }
    if (this.child) {
      if (this.child.exitCode === null) {
        await new Promise((resolve) => {
          const timer = setTimeout(() => { this.child.kill(); resolve(); }, timeoutMs);
          this.child.once('exit', () => { clearTimeout(timer); resolve(); });
        });
      }
      return this.child.exitCode;
    }
    this.writable.end();
    return undefined;
  }
}

module.exports = { RpcClient, RpcError, FrameDecoder, encode };

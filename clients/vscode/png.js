'use strict';
// Wire tensors to PNG data URIs with node's zlib: no npm packages.
const zlib = require('zlib');

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

// pixels: Uint8Array of height*width*channels (1: grey, 3: RGB).
function encodePng(pixels, width, height, channels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = channels === 1 ? 0 : 2;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    Buffer.from(pixels.buffer, pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function isTensor(v) {
  return v && typeof v === 'object' && v.dtype === 'float32' && Array.isArray(v.shape) && typeof v.data === 'string';
}

function decodeTensor(t) {
  const bytes = Buffer.from(t.data, 'base64');
  const values = new Float32Array(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = bytes.readFloatLE(4 * i);
  return { shape: t.shape, values };
}

// One image (index n of [N,C,H,W], or [C,H,W] / [H,W]) as a PNG data URI, each pixel drawn
// scale x scale. kind: "image" (range [0,1]), "signed" (blue-white-red at full contrast),
// "heat" (black-red-yellow, min..max).
function imageUri(tensor, n = 0, kind = 'image', scale = 4) {
  const { shape, values } = tensor.values ? tensor : decodeTensor(tensor);
  const dims = shape.length === 4 ? shape.slice(1) : shape.length === 3 ? shape : [1, ...shape];
  const [c, h, w] = dims;
  const offset = shape.length === 4 ? n * c * h * w : 0;
  const at = (ch, y, x) => values[offset + (ch * h + y) * w + x];
  const mean = (y, x) => { let s = 0; for (let ch = 0; ch < c; ch++) s += at(ch, y, x); return s / c; };
  let lo = Infinity, hi = -Infinity, absMax = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = mean(y, x);
    lo = Math.min(lo, v); hi = Math.max(hi, v); absMax = Math.max(absMax, Math.abs(v));
  }
  const channels = kind === 'image' && c === 1 ? 1 : 3;
  const W = w * scale, H = h * scale;
  const pixels = new Uint8Array(W * H * channels);
  const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let rgb;
    if (kind === 'image') {
      rgb = c === 1 ? [clamp(at(0, y, x) * 255)] : [0, 1, 2].map((ch) => clamp(at(Math.min(ch, c - 1), y, x) * 255));
    } else if (kind === 'signed') {
      const t = Math.max(-1, Math.min(1, mean(y, x) / (absMax || 1)));
      rgb = [t >= 0 ? 255 : clamp(255 * (1 + t)), clamp(255 * (1 - Math.abs(t))), t <= 0 ? 255 : clamp(255 * (1 - t))];
    } else {
      const t = (mean(y, x) - lo) / ((hi - lo) || 1);
      rgb = [clamp(765 * t), clamp(765 * t - 255), clamp(765 * t - 510)];
    }
    for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
      const p = ((y * scale + dy) * W + x * scale + dx) * channels;
      for (let k = 0; k < channels; k++) pixels[p + k] = rgb[k];
    }
  }
  return 'data:image/png;base64,' + encodePng(pixels, W, H, channels).toString('base64');
}

module.exports = { encodePng, imageUri, decodeTensor, isTensor, crc32 };

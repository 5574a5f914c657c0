'use strict';
// The webview's HTML for a result: images side by side, neuron bars, tables. Pure functions of
// the result (no vscode dependency), so a test renders them in headless Chromium.
const fs = require('fs');
const { imageUri, isTensor, decodeTensor } = require('./png');

const BAR_VALUES = ['influence', 'score', 'contribution', 'activation', 'value', 'weight', 'iou', 'cs1', 'lc'];
const BAR_LABELS = ['unit', 'neuron', 'label', 'concept', 'name', 'index', 'class'];

function esc(v) {
  return String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
  if (isTensor(v)) return `tensor [${v.shape.join(', ')}]`;
  if (Array.isArray(v)) return v.length > 12 ? `[${v.length} items]` : '[' + v.map(fmt).join(', ') + ']';
  if (typeof v === 'object') return Object.entries(v).slice(0, 6).map(([k, x]) => `${k}: ${fmt(x)}`).join(', ');
  return String(v);
}

function table(rows, columns, { limit = 50, caption } = {}) {
  if (!columns) {
    columns = [];
    for (const row of rows.slice(0, limit)) for (const k of Object.keys(row)) {
      if (!columns.includes(k) && !isTensor(row[k])) columns.push(k);
    }
  }
  const head = columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rows.slice(0, limit).map((row) =>
    '<tr>' + columns.map((c) => `<td class="${typeof row[c] === 'number' ? 'num' : ''}">${esc(fmt(row[c]))}</td>`).join('') + '</tr>').join('');
  const more = rows.length > limit ? `<p class="more">… ${rows.length - limit} more rows</p>` : '';
  return `<table class="advlens-table">${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

function keyValues(pairs, caption) {
  const body = pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(fmt(v))}</td></tr>`).join('');
  return `<table class="advlens-summary">${caption ? `<caption>${esc(caption)}</caption>` : ''}${body}</table>`;
}

function bars(items, title) {
  const top = Math.max(0, ...items.map(([, v]) => Math.abs(v))) || 1;
  const rows = items.map(([label, v]) =>
    `<div class="advlens-bar-row"><span class="bar-label">${esc(label)}</span>` +
    `<span class="bar-track"><span class="advlens-bar ${v >= 0 ? 'pos' : 'neg'}" style="width:${(100 * Math.abs(v) / top).toFixed(1)}%"></span></span>` +
    `<span class="bar-value">${esc(fmt(v))}</span></div>`).join('');
  return `<section class="advlens-bars"><h3>${esc(title)}</h3>${rows}</section>`;
}

function figure(title, uri) {
  return `<figure class="advlens-panel"><img class="advlens-image" alt="${esc(title)}" src="${uri}"><figcaption>${esc(title)}</figcaption></figure>`;
}

function fileUri(path) {
  try {
    return 'data:image/png;base64,' + fs.readFileSync(path).toString('base64');
  } catch (e) {
    return null;
  }
}

function barItems(rows) {
  if (!rows.length || !rows.every((r) => r && typeof r === 'object')) return null;
  const vk = BAR_VALUES.find((k) => rows.every((r) => typeof r[k] === 'number'));
  if (!vk) return null;
  const lk = BAR_LABELS.find((k) => k !== vk && rows.every((r) => r[k] !== undefined));
  return { key: vk, items: rows.slice(0, 24).map((r, i) => [lk ? fmt(r[lk]) : i, r[vk]]) };
}

function imageKind(key, values) {
  if (['images', 'image', 'input', 'inputs', 'original', 'adversarial'].includes(key)) return 'image';
  return values.some((v) => v < 0) ? 'signed' : 'heat';
}

function tensorPanels(key, tensor, limit = 8) {
  const t = decodeTensor(tensor);
  if (t.shape.length < 2) return [];
  const kind = imageKind(key, t.values);
  const n = t.shape.length === 4 ? Math.min(limit, t.shape[0]) : 1;
  const panels = [];
  for (let i = 0; i < n; i++) panels.push(figure(t.shape.length === 4 ? `${key}[${i}]` : key, imageUri(t, i, kind)));
  return panels;
}

function pngPaths(value, out = []) {
  if (typeof value === 'string' && value.endsWith('.png')) out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => pngPaths(v, out));
  else if (value && typeof value === 'object' && !isTensor(value)) Object.values(value).forEach((v) => pngPaths(v, out));
  return out;
}

function generic(result) {
  const scalars = [], panels = [], parts = [];
  for (const [key, value] of Object.entries(result)) {
    if (isTensor(value)) panels.push(...tensorPanels(key, value));
    else if (Array.isArray(value) && value.length && value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
      const found = barItems(value);
      if (found) parts.push(bars(found.items, `${key}: ${found.key}`));
      parts.push(table(value, undefined, { caption: key }));
      value.slice(0, 4).forEach((row, i) => {
        for (const [k, v] of Object.entries(row)) if (isTensor(v)) panels.push(...tensorPanels(`${key}[${i}].${k}`, v, 1));
      });
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      const tensors = Object.entries(value).filter(([, v]) => isTensor(v));
      tensors.forEach(([k, v]) => panels.push(...tensorPanels(k, v)));
      const rest = Object.entries(value).filter(([, v]) => !isTensor(v));
      if (rest.length) parts.push(keyValues(rest, key));
    } else scalars.push([key, value]);
  }
  const files = pngPaths(result).map((p) => [p, fileUri(p)]).filter(([, u]) => u);
  const filePanels = files.map(([p, u]) => figure(p.split('/').pop(), u));
  let html = scalars.length ? keyValues(scalars) : '';
  if (panels.length || filePanels.length) html += `<div class="advlens-row">${panels.concat(filePanels).join('')}</div>`;
  return html + parts.join('');
}

function predictHtml(r) {
  const rows = r.predictions.map((p, i) => ({
    '#': i, label: p.label === undefined ? '—' : p.label, predicted: p.predictedName,
    confidence: `${(100 * p.top[0].probability).toFixed(1)}%`,
    'top-k': p.top.map((t) => `${t.name} ${(100 * t.probability).toFixed(1)}%`).join(', '),
  }));
  const summary = [['images', r.count]];
  if (r.accuracy !== undefined) summary.push(['accuracy', r.accuracy]);
  summary.push(['elapsed ms', r.elapsedMs]);
  return keyValues(summary) + table(rows);
}

function attackHtml(r) {
  const s = r.summary, cfg = r.config;
  let html = keyValues([
    ['attack', `${cfg.method} on ${cfg.models.map((m) => m.name).join(', ')}`], ['handle', r.handle],
    ['success rate', s.successRate], ['robust accuracy', s.robustAccuracy], ['clean accuracy', s.cleanAccuracy],
    ['mean L-inf', s.meanLinf], ['mean L2', s.meanL2], ['stopped early', s.stoppedEarly]]);
  const images = r.images && decodeTensor(r.images);
  const perturbations = r.perturbations && decodeTensor(r.perturbations);
  const files = (r.png || []).map(fileUri);
  r.samples.slice(0, 8).forEach((sample, i) => {
    const caption = `#${sample.index}: label ${sample.label} → ${sample.adversarialLabel} (${sample.success ? 'fooled' : 'held'}, L2 ${fmt(sample.l2)})`;
    let panels = '';
    if (images && perturbations) {
      const original = { shape: images.shape, values: images.values.map((v, k) => v - perturbations.values[k]) };
      panels = figure('original', imageUri(original, i)) + figure('adversarial', imageUri(images, i)) +
        figure('perturbation', imageUri(perturbations, i, 'signed'));
    } else if (files[i]) {
      panels = figure('original | adversarial | perturbation', files[i]);
    }
    if (panels) html += `<div class="advlens-sample"><p>${esc(caption)}</p><div class="advlens-row">${panels}</div></div>`;
  });
  html += table(r.samples, ['index', 'label', 'target', 'adversarialLabel', 'success', 'linf', 'l2', 'confidence', 'iterations']);
  if (r.transfer) html += table(r.transfer, undefined, { caption: 'transfer' });
  if (r.png && r.png.length) html += `<ul class="advlens-files">${r.png.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`;
  return html;
}

function unitName(n, unitKind) {
  let name = `${unitKind === 'channels' ? 'channel' : 'unit'} ${n.unit}`;
  if (n.concept && n.concept.label) name += ` (${n.concept.label})`;
  return name;
}

function explainHtml(r) {
  let html = r.summary ? `<p class="advlens-explain-summary">${esc(r.summary)}</p>` : '';
  const p = r.prediction || {};
  html += keyValues(['predictedName', 'confidence', 'className', 'probability', 'logit', 'label']
    .filter((k) => p[k] !== undefined).map((k) => [k, p[k]]), 'prediction');
  if (p.top) html += table(p.top, ['index', 'name', 'probability', 'logit'], { caption: 'top classes' });
  for (const layer of r.layers || []) {
    const measure = layer.rankedBy || 'logitDrop';
    const items = (layer.neurons || []).filter((n) => typeof n[measure] === 'number').map((n) => [unitName(n, layer.unitKind), n[measure]]);
    if (items.length) html += bars(items, `layer ${layer.layer}: ${layer.unitCount} ${layer.unitKind || 'units'}, by ${measure}`);
    html += table((layer.neurons || []).map((n) => Object.assign({}, n, { concept: n.concept ? n.concept.label : undefined, exemplars: undefined })),
      ['unit', 'activation', 'logitDrop', 'probabilityDrop', 'gradientTimesActivation', 'concept']);
  }
  const panels = [];
  for (const [method, m] of Object.entries(r.maps || {})) {
    if (isTensor(m.tensor)) {
      const t = decodeTensor(m.tensor);
      const w = t.shape[t.shape.length - 1];
      panels.push(figure(method, imageUri(t, 0, t.values.some((v) => v < 0) ? 'signed' : 'heat', Math.max(1, Math.floor(112 / w)))));
    }
    if (typeof m.png === 'string') {
      const uri = fileUri(m.png);
      if (uri) panels.push(figure(`${method} (${m.png.split('/').pop()})`, uri));
    }
  }
  if (panels.length) html += `<div class="advlens-row advlens-maps">${panels.join('')}</div>`;
  const c = r.comparison;
  if (c) {
    const summary = Array.isArray(c.summary) ? c.summary.join(' ') : c.summary;
    if (summary) html += `<p class="advlens-comparison">${esc(summary)}</p>`;
    for (const layer of c.layers || []) {
      const pushed = (layer.pushedToward || []).map((n) => [unitName(n, layer.unitKind), n.change]);
      if (pushed.length) html += bars(pushed, `layer ${layer.layer}: pushed toward the class (${layer.measure || ''} change)`);
    }
  }
  return html;
}

function probeHtml(r) {
  const head = ['kind', 'model', 'layer', 'layerShape', 'reduction', 'k', 'count', 'adversarialHandle', 'adversarialCount', 'elapsedMs']
    .filter((k) => r[k] !== undefined).map((k) => [k, r[k]]);
  let html = keyValues(head);
  if (r.kind === 'topActivations') {
    // Units with patches as rows of pictures; the others in one table, a row per unit and rank
    // (a probe of one image: one row per unit, not a table each).
    const rows = [];
    for (const entry of (r.top || []).slice(0, 16)) {
      const patches = entry.top.filter((t) => typeof t.patch === 'string').map((t) => [t, fileUri(t.patch)]).filter(([, u]) => u);
      if (patches.length) {
        html += `<div class="advlens-unit"><p>unit ${esc(entry.unit)}</p><div class="advlens-row">` +
          patches.map(([t, u]) => figure(`#${t.index} label ${t.label === undefined ? '-' : t.label}: ${fmt(t.value)}`, u)).join('') + '</div></div>';
      }
    }
    for (const entry of r.top || []) {
      if (entry.top.some((t) => typeof t.patch === 'string' && fileUri(t.patch))) continue;
      entry.top.forEach((t, rank) => rows.push(Object.assign({ unit: entry.unit, rank: rank + 1 }, t)));
    }
    if (rows.length) html += table(rows, ['unit', 'rank', 'index', 'label', 'value', 'y', 'x'], { limit: 200, caption: 'top activations per unit' });
  } else if (r.kind === 'classHistograms' || r.kind === 'consistency') {
    const rows = r.histograms || [];
    const measure = rows.length && rows[0].cs1 !== undefined ? 'cs1' : 'lc';
    html += bars(rows.slice(0, 32).map((h) => [`unit ${h.unit}`, h[measure]]), `${measure} per unit`);
    html += table(rows, ['unit', 'cs1', 'cs2', 'lc']);
    if (r.consistencySummary) html += keyValues(Object.entries(r.consistencySummary), 'consistency');
  } else if (r.kind === 'representation') {
    const rep = r.representation || {};
    html += keyValues(Object.entries(rep).filter(([, v]) => typeof v !== 'object'), 'r(x*)');
    if (rep.histogramCounts) {
      html += bars(rep.histogramCounts.map((c, i) => [`${fmt(rep.histogramEdges[i])}–${fmt(rep.histogramEdges[i + 1])}`, c]), 'histogram of r(x*)');
    }
    if (rep.samples) html += table(rep.samples, undefined, { caption: 'samples' });
  } else if (r.kind === 'dissect') {
    for (const which of ['real', 'adversarial']) {
      const report = (r.dissection || {})[which];
      if (!report) continue;
      html += bars((report.units || []).slice(0, 32).map((u) => [`unit ${u.unit} ${u.label || ''}`, u.iou]), `${which}: IoU (${report.detectors} detectors)`);
      html += table(report.units || [], ['unit', 'label', 'conceptKind', 'iou', 'detector', 'threshold']);
    }
  } else {
    const rest = {};
    for (const [k, v] of Object.entries(r)) if (!head.some(([h]) => h === k)) rest[k] = v;
    html += generic(rest);
  }
  return html;
}

const STYLE = `
body { font-family: var(--vscode-font-family, sans-serif); font-size: 13px; color: var(--vscode-foreground, #222); background: var(--vscode-editor-background, #fff); }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 2px 8px; text-align: left; border-bottom: 1px solid rgba(128,128,128,.3); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; }
.advlens-row { display: flex; flex-wrap: wrap; align-items: flex-end; }
.advlens-panel { margin: 0 8px 8px 0; text-align: center; }
.advlens-image { image-rendering: pixelated; border: 1px solid rgba(128,128,128,.5); }
figcaption { font-size: 11px; }
.advlens-bar-row { display: flex; align-items: center; margin: 1px 0; }
.bar-label { width: 9em; text-align: right; padding-right: 6px; }
.bar-track { width: 260px; background: rgba(128,128,128,.2); display: inline-block; }
.advlens-bar { display: block; height: 12px; }
.advlens-bar.pos { background: #d9534f; } .advlens-bar.neg { background: #337ab7; }
.bar-value { padding-left: 6px; }
.error { color: var(--vscode-errorForeground, #c00); }
`;

// The whole page. options.cspSource: the webview's cspSource (images are data: URIs anyway).
function render(method, result, options = {}) {
  let body;
  if (method === 'predict') body = predictHtml(result);
  else if (method === 'attack') body = attackHtml(result);
  else if (method === 'explainPrediction' && result.prediction) body = explainHtml(result);
  else if (method === 'probe' && result.kind) body = probeHtml(result);
  else body = generic(result);
  const title = options.title || method;
  const note = options.error ? `<p class="error">${esc(options.error)}</p>` : '';
  const csp = `default-src 'none'; img-src data: ${options.cspSource || ''}; style-src 'unsafe-inline'`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body class="advlens advlens-${esc(method.replace(/\W/g, '-'))}"><h2>${esc(title)}</h2>${note}${body}</body></html>`;
}

function renderError(method, error, title) {
  return render(method, error.data && typeof error.data === 'object' ? error.data : {}, { title, error: error.message });
}

module.exports = { render, renderError, table, bars, keyValues, fmt };

-- Text for probe and explainPrediction results (protocol/probe.md, protocol/explain.md): unit
-- bars and tables, map statistics and the PNG files the daemon wrote.
local render = require("advlens.render")

local M = {}

local function append(out, lines)
  for _, l in ipairs(lines) do table.insert(out, l) end
end

local function unit_name(n, unit_kind)
  local name = (unit_kind == "channels" and "channel " or "unit ") .. n.unit
  if type(n.concept) == "table" and n.concept.label then name = name .. " (" .. n.concept.label .. ")" end
  return name
end

function M.explain(r)
  local out = {}
  if r.summary then append(out, vim.split(r.summary, "%. ", false)) ; table.insert(out, "") end
  local p = r.prediction or {}
  table.insert(out, string.format("predicted %s (%.1f%%), explaining class %s (p %.4g, logit %.4g)%s",
    tostring(p.predictedName), 100 * (p.confidence or 0), tostring(p.className), p.probability or 0, p.logit or 0,
    p.label and (", label " .. p.label) or ""))
  for _, layer in ipairs(r.layers or {}) do
    local measure = layer.rankedBy or "logitDrop"
    local items = {}
    for _, n in ipairs(layer.neurons or {}) do
      if type(n[measure]) == "number" then table.insert(items, { unit_name(n, layer.unitKind), n[measure] }) end
    end
    table.insert(out, "")
    append(out, render.bars(items, string.format("layer %s: %s %s, by %s", layer.layer, tostring(layer.unitCount),
      layer.unitKind or "units", measure)))
  end
  local files = {}
  if type(r.maps) == "table" then
    local rows = {}
    for method, m in pairs(r.maps) do
      table.insert(rows, { map = method, min = m.min, max = m.max, sum = m.sum, layer = m.layer,
        tensor = m.tensor and render.fmt(m.tensor) or nil })
      if m.png then table.insert(files, m.png) end
    end
    table.sort(rows, function(a, b) return a.map < b.map end)
    if #rows > 0 then
      table.insert(out, "")
      append(out, render.table(rows, { "map", "min", "max", "sum", "layer", "tensor" }))
    end
  end
  if type(r.comparison) == "table" then
    local c = r.comparison
    table.insert(out, "")
    table.insert(out, string.format("compared with: %s (%.1f%%), which gave the class %.1f%%", tostring(c.predictedName),
      100 * (c.confidence or 0), 100 * (c.probabilityOfClass or 0)))
    for _, layer in ipairs(c.layers or {}) do
      local items = {}
      for _, n in ipairs(layer.pushedToward or {}) do table.insert(items, { unit_name(n, layer.unitKind), n.change }) end
      if #items > 0 then
        table.insert(out, "")
        append(out, render.bars(items, "layer " .. layer.layer .. ": pushed toward the class (" .. (layer.measure or "") .. " change)"))
      end
    end
  end
  if #files > 0 then
    table.sort(files)
    table.insert(out, "")
    table.insert(out, "PNG files:")
    for _, f in ipairs(files) do table.insert(out, "  " .. f) end
  end
  return out
end

function M.probe(r)
  local out = {}
  local head = {}
  for _, k in ipairs({ "kind", "model", "layer", "layerShape", "reduction", "k", "count", "adversarialHandle", "elapsedMs" }) do
    if r[k] ~= nil then table.insert(head, string.format("%-18s %s", k, render.fmt(r[k]))) end
  end
  append(out, head)
  local files = {}
  if r.kind == "topActivations" then
    for _, entry in ipairs(r.top or {}) do
      table.insert(out, "")
      table.insert(out, "unit " .. entry.unit .. ":")
      for _, line in ipairs(render.table(entry.top, { "index", "label", "value", "y", "x" })) do
        table.insert(out, "  " .. line)
      end
      for _, t in ipairs(entry.top) do if t.patch then table.insert(files, t.patch) end end
    end
  elseif r.kind == "classHistograms" or r.kind == "consistency" then
    local rows = r.histograms or {}
    local measure = (rows[1] and rows[1].cs1 ~= nil) and "cs1" or "lc"
    local items = {}
    for i, h in ipairs(rows) do
      if i > 32 then break end
      table.insert(items, { "unit " .. h.unit, h[measure] })
    end
    table.insert(out, "")
    append(out, render.bars(items, measure .. " per unit"))
    table.insert(out, "")
    append(out, render.table(rows, { "unit", "cs1", "cs2", "lc" }))
    if r.consistencySummary then
      table.insert(out, "")
      M.kv(out, r.consistencySummary)
    end
  elseif r.kind == "representation" then
    local rep = r.representation or {}
    table.insert(out, "")
    local scalars = {}
    for k, v in pairs(rep) do if type(v) ~= "table" then scalars[k] = v end end
    M.kv(out, scalars)
    if rep.histogramCounts then
      local items = {}
      for i, c in ipairs(rep.histogramCounts) do
        table.insert(items, { string.format("%.3g-%.3g", rep.histogramEdges[i], rep.histogramEdges[i + 1]), c })
      end
      table.insert(out, "")
      append(out, render.bars(items, "histogram of r(x*)"))
    end
  elseif r.kind == "dissect" then
    local d = r.dissection or {}
    for _, which in ipairs({ "real", "adversarial" }) do
      if d[which] then
        table.insert(out, "")
        table.insert(out, which .. ": " .. tostring(d[which].detectors) .. " detectors, " .. tostring(d[which].uniqueConcepts) .. " concepts")
        append(out, render.table(d[which].units or {}, { "unit", "label", "conceptKind", "iou", "detector" }))
      end
    end
  else
    table.insert(out, "")
    local rest = {}
    for k, v in pairs(r) do if type(v) == "table" then rest[k] = v end end
    render.generic(rest, out)
  end
  if #files > 0 then
    table.insert(out, "")
    table.insert(out, "PNG files:")
    for _, f in ipairs(files) do table.insert(out, "  " .. f) end
  end
  return out
end

function M.kv(out, t)
  local keys = vim.tbl_keys(t)
  table.sort(keys)
  for _, k in ipairs(keys) do table.insert(out, string.format("%-18s %s", k, render.fmt(t[k]))) end
end

return M

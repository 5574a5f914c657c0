-- Results as readable text: aligned tables, key/value summaries, bars for influences.
local M = {}

local function is_list(t)
  return type(t) == "table" and (#t > 0 or next(t) == nil)
end

local function is_tensor(v)
  return type(v) == "table" and v.dtype == "float32" and type(v.shape) == "table" and type(v.data) == "string"
end

function M.fmt(v)
  if v == nil then return "" end
  if type(v) == "boolean" then return v and "yes" or "no" end
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.4g", v)
  end
  if is_tensor(v) then
    local dims = {}
    for _, d in ipairs(v.shape) do table.insert(dims, tostring(d)) end
    return "tensor [" .. table.concat(dims, ", ") .. "]"
  end
  if type(v) == "table" then
    if is_list(v) then
      local items = {}
      for i, x in ipairs(v) do
        if i > 8 then table.insert(items, "… " .. (#v - 8) .. " more"); break end
        table.insert(items, M.fmt(x))
      end
      return "[" .. table.concat(items, ", ") .. "]"
    end
    local keys = vim.tbl_keys(v)
    table.sort(keys)
    local items = {}
    for _, k in ipairs(keys) do table.insert(items, k .. ": " .. M.fmt(v[k])) end
    return "{" .. table.concat(items, ", ") .. "}"
  end
  return tostring(v)
end

local function width(s)
  return vim.fn.strdisplaywidth(s)
end

local function pad(s, n, right)
  local gap = string.rep(" ", math.max(0, n - width(s)))
  return right and gap .. s or s .. gap
end

-- rows: list of tables; columns: list of keys (default: keys of the rows, in first-seen order).
function M.table(rows, columns, limit)
  limit = limit or 20
  if not columns then
    columns = {}
    local seen = {}
    for i, row in ipairs(rows) do
      if i > limit then break end
      local keys = vim.tbl_keys(row)
      table.sort(keys)
      for _, k in ipairs(keys) do
        if not seen[k] and not is_tensor(row[k]) then seen[k] = true; table.insert(columns, k) end
      end
    end
  end
  local cells = {}
  local widths = {}
  for c, name in ipairs(columns) do widths[c] = width(name) end
  for i, row in ipairs(rows) do
    if i > limit then break end
    local line = {}
    for c, name in ipairs(columns) do
      line[c] = M.fmt(row[name])
      widths[c] = math.max(widths[c], width(line[c]))
    end
    table.insert(cells, line)
  end
  local out = {}
  local head, rule = {}, {}
  for c, name in ipairs(columns) do
    table.insert(head, pad(name, widths[c]))
    table.insert(rule, string.rep("-", widths[c]))
  end
  table.insert(out, table.concat(head, "  "))
  table.insert(out, table.concat(rule, "  "))
  for _, line in ipairs(cells) do
    local padded = {}
    for c, cell in ipairs(line) do
      padded[c] = pad(cell, widths[c], type(rows[1][columns[c]]) == "number")
    end
    table.insert(out, table.concat(padded, "  "))
  end
  if #rows > limit then table.insert(out, "… " .. (#rows - limit) .. " more rows") end
  return out
end

function M.bars(items, title)
  local out = { title }
  local top = 0
  for _, it in ipairs(items) do top = math.max(top, math.abs(it[2])) end
  if top == 0 then top = 1 end
  local label_width = 0
  for _, it in ipairs(items) do label_width = math.max(label_width, width(tostring(it[1]))) end
  for _, it in ipairs(items) do
    local n = math.floor(24 * math.abs(it[2]) / top + 0.5)
    local bar = string.rep(it[2] >= 0 and "█" or "░", n)
    table.insert(out, pad(tostring(it[1]), label_width, true) .. " " .. pad(bar, 24) .. " " .. M.fmt(it[2]))
  end
  return out
end

local BAR_VALUES = { "influence", "score", "contribution", "activation", "value", "weight", "iou", "cs1", "lc" }
local BAR_LABELS = { "unit", "neuron", "label", "concept", "name", "index", "class" }

local function bar_items(rows)
  for _, vk in ipairs(BAR_VALUES) do
    local all = true
    for _, r in ipairs(rows) do
      if type(r) ~= "table" or type(r[vk]) ~= "number" then all = false; break end
    end
    if all then
      local lk
      for _, k in ipairs(BAR_LABELS) do
        if k ~= vk and rows[1][k] ~= nil then lk = k; break end
      end
      local items = {}
      for i, r in ipairs(rows) do
        if i > 24 then break end
        table.insert(items, { lk and M.fmt(r[lk]) or tostring(i - 1), r[vk] })
      end
      return vk, items
    end
  end
end

local function append(out, lines)
  for _, l in ipairs(lines) do table.insert(out, l) end
end

-- Any result: scalars as "key  value", lists of objects as tables (and bars when they carry
-- an influence-like number), nested objects as indented sections, tensors by their shape.
function M.generic(result, out, indent)
  out = out or {}
  indent = indent or ""
  local keys = vim.tbl_keys(result)
  table.sort(keys)
  local key_width = 0
  for _, k in ipairs(keys) do key_width = math.max(key_width, #k) end
  local later = {}
  for _, k in ipairs(keys) do
    local v = result[k]
    if type(v) == "table" and not is_tensor(v) and is_list(v) and #v > 0 and type(v[1]) == "table" then
      table.insert(later, k)
    elseif type(v) == "table" and not is_tensor(v) and not is_list(v) then
      table.insert(later, k)
    else
      table.insert(out, indent .. pad(k, key_width) .. "  " .. M.fmt(v))
    end
  end
  for _, k in ipairs(later) do
    local v = result[k]
    table.insert(out, "")
    if is_list(v) then
      local vk, items = bar_items(v)
      if vk then append(out, M.bars(items, indent .. k .. " (" .. vk .. ")")); table.insert(out, "") end
      table.insert(out, indent .. k .. ":")
      for _, line in ipairs(M.table(v)) do table.insert(out, indent .. "  " .. line) end
    else
      table.insert(out, indent .. k .. ":")
      M.generic(v, out, indent .. "  ")
    end
  end
  return out
end

function M.predict(r)
  local rows = {}
  for i, p in ipairs(r.predictions) do
    local top = {}
    for _, t in ipairs(p.top or {}) do table.insert(top, string.format("%s %.1f%%", t.name, 100 * t.probability)) end
    table.insert(rows, {
      ["#"] = i - 1, label = p.label ~= nil and M.fmt(p.label) or "-",
      predicted = p.predictedName, confidence = string.format("%.1f%%", 100 * ((p.top or {})[1] or {}).probability or 0),
      ["top-k"] = table.concat(top, ", "),
    })
  end
  local out = M.table(rows, { "#", "label", "predicted", "confidence", "top-k" })
  table.insert(out, "")
  local tail = r.count .. " inputs"
  if r.accuracy then tail = tail .. string.format(", accuracy %.2f%%", 100 * r.accuracy) end
  table.insert(out, tail .. string.format(", %.1f ms in the daemon", r.elapsedMs))
  return out
end

function M.attack(r)
  local s, cfg = r.summary, r.config
  local names = {}
  for _, m in ipairs(cfg.models) do table.insert(names, m.name) end
  local out = {
    "attack    " .. cfg.method .. " on " .. table.concat(names, ", "),
    "handle    " .. r.handle,
    string.format("success   %.1f%% (%d attacked)", 100 * s.successRate, s.attacked or s.count),
    string.format("accuracy  robust %.1f%%, clean %.1f%%", 100 * s.robustAccuracy, 100 * s.cleanAccuracy),
    string.format("L-inf     mean %.4f   L2 mean %.4f", s.meanLinf, s.meanL2),
  }
  if s.stoppedEarly then table.insert(out, "stopped early (cancelled): the result so far") end
  table.insert(out, "")
  append(out, M.table(r.samples, { "index", "label", "target", "adversarialLabel", "success", "linf", "l2", "confidence", "iterations" }))
  if r.transfer then
    table.insert(out, "")
    append(out, M.table(r.transfer, { "model", "successRate", "robustAccuracy" }))
  end
  if r.png and #r.png > 0 then
    table.insert(out, "")
    table.insert(out, "PNG files (original | adversarial | perturbation):")
    for _, p in ipairs(r.png) do table.insert(out, "  " .. p) end
  end
  return out
end

-- The lines for `method`'s result, with any PNG paths it names listed at the end.
function M.result(method, result)
  local out
  if method == "predict" then
    out = M.predict(result)
  elseif method == "attack" then
    out = M.attack(result)
  elseif method == "probe" and result.kind then
    out = require("advlens.interpret").probe(result)
  elseif method == "explainPrediction" and result.prediction then
    out = require("advlens.interpret").explain(result)
  else
    out = M.generic(result)
    local pngs = {}
    local function walk(v)
      if type(v) == "string" and v:match("%.png$") then table.insert(pngs, v)
      elseif type(v) == "table" and not is_tensor(v) then for _, x in pairs(v) do walk(x) end end
    end
    walk(result)
    if #pngs > 0 then
      table.sort(pngs)
      table.insert(out, "")
      table.insert(out, "PNG files:")
      for _, p in ipairs(pngs) do table.insert(out, "  " .. p) end
    end
  end
  return out
end

return M

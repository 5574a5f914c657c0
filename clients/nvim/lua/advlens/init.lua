-- AdvLens for Neovim 0.7: predict, attack, probe and explain an image (the path under the cursor
-- or given) or a dataset index through a private advlensd, results in a floating window.
local rpc = require("advlens.rpc")
local render = require("advlens.render")

local M = {}

M.config = {
  daemon = nil,            -- advlensd: nil = $ADVLENSD, else advlensd on PATH
  root = nil,              -- confine the daemon to this directory (rootPath; for a shared daemon): nil = none
  cache = nil,             -- cachePath sent in initialize
  args = {},               -- extra daemon arguments, e.g. { "--workers", "2" }
  model = "digits",        -- the model commands use
  dataset = "mnist-test",  -- the dataset a bare number indexes
  init = {},               -- requests sent once after initialize: { {method, params}, ... }
  png_dir = "out/advlens", -- attack PNG strips (relative to the current directory, or root)
  output = "float",        -- "float" or "split"
  progress = true,         -- echo $/progress in the message area
  defaults = {             -- default params per method, merged under command arguments
    predict = { topK = 3 },
    attack = { method = "pgd" },
    probe = { kind = "topActivations", k = 5 },
    explainPrediction = { topNeurons = 8 },
  },
}

M.client = nil
M.last = nil -- { method, result, err, lines, buf }

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
end

local function daemon_path()
  return M.config.daemon or os.getenv("ADVLENSD") or "advlensd"
end

local function directory(path)
  return (vim.fn.fnamemodify(path, ":p"):gsub("/$", ""))
end

function M.echo(text, hl)
  vim.api.nvim_echo({ { "advlens: " .. text, hl or "None" } }, false, {})
end

-- The running client, started and initialised on first use.
function M.ensure()
  if M.client and not M.client.exited then return M.client end
  local cmd = { daemon_path() }
  vim.list_extend(cmd, M.config.args)
  local client = rpc.start({ cmd = cmd })
  -- Paths mean what they mean in this editor: relative ones against its current directory;
  -- the daemon reads and writes where they point unless config.root confines it.
  local params = { workingDirectory = directory(vim.fn.getcwd()), clientInfo = { name = "advlens.nvim" },
                   processId = vim.fn.getpid(), capabilities = { workDoneProgress = true } }
  if M.config.root then params.rootPath = directory(M.config.root) end
  if M.config.cache then params.cachePath = vim.fn.fnamemodify(M.config.cache, ":p") end
  local err, result = client:request_sync("initialize", params, 20000)
  if err then
    vim.fn.jobstop(client.job)
    error("advlens: initialize failed: " .. err.message .. "\n" .. table.concat(client.stderr, "\n"))
  end
  client.capabilities = result.capabilities
  client:notify("initialized", vim.empty_dict())
  M.client = client
  for _, step in ipairs(M.config.init) do
    local e = client:request_sync(step[1], step[2], 60000)
    if e then M.echo(step[1] .. ": " .. e.message .. " (code " .. e.code .. ")", "ErrorMsg") end
  end
  return client
end

function M.stop()
  if M.client then M.client:stop() end
  M.client = nil
end

-- ---- output

function M.show(title, lines)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, "modifiable", false)
  vim.api.nvim_buf_set_option(buf, "bufhidden", "wipe")
  pcall(vim.api.nvim_buf_set_name, buf, "advlens://" .. title .. "/" .. buf)
  vim.api.nvim_buf_set_keymap(buf, "n", "q", "<cmd>close<cr>", { noremap = true, silent = true })
  if M.config.output == "split" then
    vim.cmd("botright new")
    vim.api.nvim_win_set_buf(0, buf)
  else
    local w = 20
    for _, l in ipairs(lines) do w = math.max(w, vim.fn.strdisplaywidth(l)) end
    w = math.min(w + 2, math.max(20, vim.o.columns - 4))
    local h = math.min(#lines, math.max(3, vim.o.lines - 6))
    vim.api.nvim_open_win(buf, true, {
      relative = "editor", width = w, height = h, style = "minimal", border = "rounded",
      row = math.floor((vim.o.lines - h) / 2) - 1, col = math.floor((vim.o.columns - w) / 2),
    })
  end
  return buf
end

-- ---- arguments

-- A target: nothing (the file name under the cursor), a number (an index of config.dataset),
-- "dataset:index[,index...]", "handle:adv-1", or a path.
function M.source(target)
  if target == nil or target == "" then
    target = vim.fn.expand("<cfile>")
    if target == "" then error("advlens: no file name under the cursor") end
  end
  if target:match("^%d+$") then
    return { dataset = M.config.dataset, indices = { tonumber(target) } }, "#" .. target
  end
  local ds, list = target:match("^([^:/]+):([%d,]+)$")
  if ds then
    local indices = {}
    for i in list:gmatch("%d+") do table.insert(indices, tonumber(i)) end
    return { dataset = ds, indices = indices }, target
  end
  local handle = target:match("^handle:(.+)$")
  if handle then return { handle = handle }, target end
  local path = vim.fn.fnamemodify(target, ":p")
  if vim.fn.filereadable(path) == 0 and not target:match("^/") then
    -- a name in a file is usually relative to that file's directory
    path = vim.fn.fnamemodify(vim.fn.expand("%:p:h") .. "/" .. target, ":p")
  end
  if vim.fn.filereadable(path) == 0 then error("advlens: no such image file: " .. target) end
  return { path = path }, vim.fn.fnamemodify(target, ":t")
end

local function value(text)
  if text == "true" then return true elseif text == "false" then return false end
  if text:match("^[-+%d%.eE]+$") and tonumber(text) then return tonumber(text) end
  if text:match("^[%[{]") then
    local ok, v = pcall(vim.json.decode, text)
    if ok then return v end
  end
  return text
end

-- Params whose values are names, never numbers (layer names look like "4").
local STRING_KEYS = { layer = true, gradCamLayer = true, model = true, dataset = true, name = true,
                      handle = true, patchDirectory = true, png = true }

-- "key=value" words to params (numbers, booleans, JSON arrays/objects, dotted keys nest:
-- return.pngScale=2); other words are positional.
function M.parse_args(words)
  local params, positional = {}, {}
  for _, w in ipairs(words) do
    local k, v = w:match("^([%w_%.]+)=(.*)$")
    if k then
      local t = params
      local parts = vim.split(k, ".", true)
      for i = 1, #parts - 1 do
        t[parts[i]] = t[parts[i]] or {}
        t = t[parts[i]]
      end
      local key = parts[#parts]
      if STRING_KEYS[key] then
        t[key] = v
      elseif key == "layers" then
        -- layer names are strings even when they look like numbers: layers=4,8 or [4,8]
        t[key] = vim.split(v:gsub("[%[%]\"%s]", ""), ",", true)
      else
        t[key] = value(v)
      end
    else
      table.insert(positional, w)
    end
  end
  return params, positional
end

-- ---- running a request

-- Sends method with params; shows progress and then the result (or the error, with the
-- partial result of a cancelled request). on_done(err, result, lines) is for callers and tests.
function M.run(method, params, title, on_done)
  local ok, client = pcall(M.ensure)
  if not ok then
    M.echo(tostring(client), "ErrorMsg")
    return nil
  end
  local on_progress = nil
  if M.config.progress then
    on_progress = function(v)
      local text = (v.title or M.progress_title or method)
      if v.kind == "begin" then M.progress_title = v.title end
      local pct = v.percentage and string.format(" %3d%%", v.percentage) or ""
      M.echo((M.progress_title or method) .. pct .. "  " .. (v.message or ""), "MoreMsg")
    end
  end
  local id
  id = client:request(method, params, function(err, result)
    M.running = nil
    local lines
    if err then
      local partial = err.data
      if err.code == -32800 then
        M.echo(method .. " cancelled" .. (partial and ": showing the result so far" or ""), "WarningMsg")
      else
        M.echo(method .. ": " .. err.message .. " (code " .. err.code .. ")", "ErrorMsg")
      end
      if type(partial) == "table" and next(partial) ~= nil then
        lines = render.result(method, partial)
        table.insert(lines, 1, "cancelled (" .. err.message .. ")")
        M.last = { method = method, result = partial, err = err, lines = lines }
        M.last.buf = M.show(title, lines)
      else
        M.last = { method = method, err = err }
      end
    else
      lines = render.result(method, result)
      M.last = { method = method, result = result, lines = lines }
      M.last.buf = M.show(title, lines)
      M.echo(method .. " done")
    end
    if on_done then on_done(err, M.last.result, lines) end
  end, on_progress)
  M.running = { id = id, method = method }
  return id
end

function M.cancel()
  if not M.client then return M.echo("nothing is running") end
  local ids = M.client:in_flight()
  if #ids == 0 then return M.echo("nothing is running") end
  for _, r in ipairs(ids) do M.client:cancel(r.id) end
  M.echo("cancelling " .. #ids .. " request(s)")
end

local function with_defaults(method, params)
  return vim.tbl_deep_extend("force", vim.deepcopy(M.config.defaults[method] or {}), params)
end

-- ---- commands: each takes words as :command arguments

function M.predict(words, on_done)
  local params, pos = M.parse_args(words)
  local source, label = M.source(pos[1])
  params.inputs = source
  params.model = params.model or M.config.model
  return M.run("predict", with_defaults("predict", params), "predict " .. label, on_done)
end

function M.attack(words, on_done)
  local params, pos = M.parse_args(words)
  local source, label = M.source(pos[1])
  params.inputs = source
  if not params.models then params.model = params.model or M.config.model end
  if M.config.png_dir and (params["return"] == nil or params["return"].png == nil) then
    params["return"] = params["return"] or {}
    params["return"].png = M.config.png_dir
  end
  params = with_defaults("attack", params)
  return M.run("attack", params, "attack " .. params.method .. " " .. label, on_done)
end

-- :AdvLensProbe [target] layer=L ...: units of layer L on the target, or on config.dataset.
function M.probe(words, on_done)
  local params, pos = M.parse_args(words)
  if pos[1] then
    params.inputs = M.source(pos[1])
  elseif not params.inputs and not params.dataset then
    params.dataset = { name = M.config.dataset }
  end
  if type(params.dataset) == "string" then params.dataset = { name = params.dataset } end
  if type(params.adversarial) == "string" then params.adversarial = { handle = params.adversarial } end
  params.model = params.model or M.config.model
  return M.run("probe", with_defaults("probe", params), "probe " .. tostring(params.layer or ""), on_done)
end

function M.explain(words, on_done)
  local params, pos = M.parse_args(words)
  local source, label = M.source(pos[1])
  params.input = source
  params.model = params.model or M.config.model
  return M.run("explainPrediction", with_defaults("explainPrediction", params), "explain " .. label, on_done)
end

-- :AdvLensCall method [json params]
function M.call(method, json, on_done)
  local params = vim.empty_dict()
  if json and json ~= "" then params = vim.json.decode(json) end
  return M.run(method, params, method, on_done)
end

return M

-- JSON-RPC 2.0 with LSP's Content-Length framing over a job's stdin/stdout (vim.fn.jobstart),
-- for Neovim 0.7. Replies are matched to requests by id; $/progress goes to a per-token handler.
local M = {}

local Client = {}
Client.__index = Client

-- Frames: a header block ending in an empty line, then exactly Content-Length bytes. Lua strings
-- are byte strings, so lengths count bytes as the header does, whatever UTF-8 the body holds.
local Decoder = {}
Decoder.__index = Decoder

function M.decoder()
  return setmetatable({ parts = {}, size = 0, need = 0 }, Decoder)
end

-- Appends raw bytes; returns the complete message bodies now available (possibly none).
-- Chunks are only joined once enough bytes for the awaited frame have arrived, so a large
-- reply in many chunks is copied once, not once per chunk.
function Decoder:push(bytes)
  table.insert(self.parts, bytes)
  self.size = self.size + #bytes
  if self.size < self.need then return {} end
  local buffer = table.concat(self.parts)
  local bodies = {}
  while true do
    local header_end, body_start = buffer:find("\r?\n\r?\n")
    if not header_end then
      self.need = #buffer + 1
      break
    end
    local length = tonumber(buffer:sub(1, header_end - 1):lower():match("content%-length:%s*(%d+)"))
    if not length then
      -- blank lines between frames (or garbage): skip past the empty line
      buffer = buffer:sub(body_start + 1)
    elseif #buffer < body_start + length then
      self.need = body_start + length
      break
    else
      table.insert(bodies, buffer:sub(body_start + 1, body_start + length))
      buffer = buffer:sub(body_start + length + 1)
    end
  end
  self.parts = { buffer }
  self.size = #buffer
  return bodies
end

local function joined(data)
  return table.concat(data, "\n")
end

function M.encode(message)
  local body = vim.json.encode(message)
  return "Content-Length: " .. #body .. "\r\n\r\n" .. body
end

local function decode(body)
  local ok, value = pcall(vim.json.decode, body, { luanil = { object = true, array = true } })
  if ok then return value end
  return nil
end

-- opts: cmd (list), on_progress(token, value), on_exit(code), on_log(line)
function M.start(opts)
  local self = setmetatable({
    next_id = 1,
    pending = {},      -- id -> { method, callback }
    progress = {},     -- token -> handler(value)
    decoder = M.decoder(),
    stderr = {},
    exited = nil,
    on_exit = opts.on_exit,
  }, Client)
  self.job = vim.fn.jobstart(opts.cmd, {
    on_stdout = function(_, data)
      -- The stream is split at "\n" into items, and an item at either end of a call may be
      -- partial: joining each call's items with "\n" and the calls with nothing restores the
      -- bytes exactly, whatever the chunk boundaries.
      for _, body in ipairs(self.decoder:push(joined(data))) do
        self:_dispatch(decode(body))
      end
    end,
    on_stderr = function(_, data)
      for _, line in ipairs(data) do
        if line ~= "" then
          table.insert(self.stderr, line)
          if #self.stderr > 200 then table.remove(self.stderr, 1) end
        end
      end
    end,
    on_exit = function(_, code)
      self.exited = code
      local waiting = self.pending
      self.pending = {}
      for _, p in pairs(waiting) do
        p.callback({ code = -32099, message = "advlensd exited (status " .. code .. ")" }, nil)
      end
      if self.on_exit then self.on_exit(code) end
    end,
  })
  if self.job <= 0 then
    error("advlens: cannot start " .. table.concat(opts.cmd, " "), 0)
  end
  return self
end

function Client:_dispatch(message)
  if type(message) ~= "table" then return end
  if message.method then
    if message.method == "$/progress" and message.params then
      local handler = self.progress[message.params.token]
      if handler then handler(message.params.value or {}) end
    end
    return
  end
  local p = self.pending[message.id]
  if not p then return end
  self.pending[message.id] = nil
  if message.error then
    p.callback(message.error, nil)
  else
    p.callback(nil, message.result)
  end
end

function Client:notify(method, params)
  vim.fn.chansend(self.job, M.encode({ jsonrpc = "2.0", method = method, params = params }))
end

-- Sends a request; callback(err, result) runs on the main loop. on_progress(value), when given,
-- receives the request's $/progress values (a workDoneToken is added). Returns the id.
function Client:request(method, params, callback, on_progress)
  if self.exited then
    callback({ code = -32099, message = "advlensd is not running" }, nil)
    return nil
  end
  local id = self.next_id
  self.next_id = id + 1
  params = params or vim.empty_dict()
  if on_progress then
    local token = "nvim-" .. id
    params.workDoneToken = token
    self.progress[token] = on_progress
    local inner = callback
    callback = function(err, result)
      self.progress[token] = nil
      inner(err, result)
    end
  end
  self.pending[id] = { method = method, callback = callback }
  vim.fn.chansend(self.job, M.encode({ jsonrpc = "2.0", id = id, method = method, params = params }))
  return id
end

-- Blocks (processing events) until the reply or timeout_ms; returns err, result.
function Client:request_sync(method, params, timeout_ms)
  local done, err, result = false, nil, nil
  self:request(method, params, function(e, r) done, err, result = true, e, r end)
  if not vim.wait(timeout_ms or 30000, function() return done end, 5) then
    return { code = -32098, message = method .. ": no reply within " .. (timeout_ms or 30000) .. " ms" }, nil
  end
  return err, result
end

function Client:cancel(id)
  self:notify("$/cancelRequest", { id = id })
end

function Client:in_flight()
  local ids = {}
  for id, p in pairs(self.pending) do table.insert(ids, { id = id, method = p.method }) end
  table.sort(ids, function(a, b) return a.id < b.id end)
  return ids
end

function Client:stop(timeout_ms)
  if self.exited then return end
  self:request_sync("shutdown", vim.empty_dict(), timeout_ms or 10000)
  self:notify("exit", nil)
  vim.wait(timeout_ms or 10000, function() return self.exited ~= nil end, 10)
  if not self.exited then vim.fn.jobstop(self.job) end
end

return M

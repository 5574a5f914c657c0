-- Headless tests of the Neovim client against the real daemon:
--   ADVLENSD=.build/release/advlensd nvim --headless -u NONE --cmd 'set rtp+=clients/nvim' -c 'luafile clients/nvim/tests/run.lua'
-- Exits 0 when every test passes, else 1.
local here = debug.getinfo(1, "S").source:sub(2)
local repo = vim.fn.fnamemodify(here, ":p:h:h:h:h")
vim.opt.rtp:append(repo .. "/clients/nvim")
vim.cmd("runtime plugin/advlens.lua")

local rpc = require("advlens.rpc")
local render = require("advlens.render")
local advlens = require("advlens")

local out = io.stdout
local results = { passed = 0, failed = 0 }

local function test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    results.passed = results.passed + 1
    out:write("PASS  " .. name .. "\n")
  else
    results.failed = results.failed + 1
    out:write("FAIL  " .. name .. "\n      " .. tostring(err):gsub("\n", "\n      ") .. "\n")
  end
  out:flush()
end

local function eq(a, b, what)
  if a ~= b then error((what or "value") .. ": expected " .. vim.inspect(b) .. ", got " .. vim.inspect(a), 2) end
end

local function truthy(v, what)
  if not v then error((what or "condition") .. " failed", 2) end
end

local function contains(lines, pattern, what)
  for _, l in ipairs(lines) do if l:find(pattern) then return l end end
  error((what or "lines") .. ": no line matches " .. pattern .. " in:\n" .. table.concat(lines, "\n"), 2)
end

local daemon = os.getenv("ADVLENSD") or (repo .. "/.build/release/advlensd")
if not daemon:match("^/") then daemon = repo .. "/" .. daemon end
local data = repo .. "/data/mnist_5k.csv.gz"
local model_dir = repo .. "/Tests/AttacksTests/Fixtures/mnist-small"
local digit = repo .. "/clients/testdata/digit-7.png"

-- The daemon refuses paths outside its root; data/ may be a link out of the repo (a worktree).
local function common_root(a, b)
  local pa, pb = vim.split(a, "/", true), vim.split(b, "/", true)
  local common = {}
  for i = 1, math.min(#pa, #pb) do
    if pa[i] ~= pb[i] then break end
    table.insert(common, pa[i])
  end
  local path = table.concat(common, "/")
  return path == "" and "/" or path
end
local root = common_root(vim.fn.resolve(repo), vim.fn.fnamemodify(vim.fn.resolve(data), ":h"))

-- Waits for the next completed command; returns err, result, lines.
local function run_and_wait(start, timeout)
  local done, e, r, l = false
  start(function(err, result, lines) done, e, r, l = true, err, result, lines end)
  truthy(vim.wait(timeout or 60000, function() return done end, 10), "a reply within the timeout")
  return e, r, l or {}
end

local function close_floats()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then vim.api.nvim_win_close(win, true) end
  end
end

test("decoder reassembles frames cut at every byte, UTF-8 and blank lines included", function()
  local a = rpc.encode({ jsonrpc = "2.0", id = 1, result = { text = "é✓ digits" } })
  local b = rpc.encode({ jsonrpc = "2.0", id = 2, result = { big = string.rep("A", 100000) } })
  local stream = a .. "\r\n" .. b
  local d = rpc.decoder()
  local bodies = {}
  for i = 1, #a + 2 do
    for _, body in ipairs(d:push(stream:sub(i, i))) do table.insert(bodies, body) end
  end
  eq(#bodies, 1, "frames after the first")
  eq(vim.json.decode(bodies[1]).result.text, "é✓ digits", "UTF-8 body")
  for i = #a + 3, #stream, 4096 do
    for _, body in ipairs(d:push(stream:sub(i, i + 4095))) do table.insert(bodies, body) end
  end
  eq(#bodies, 2, "frames")
  eq(#vim.json.decode(bodies[2]).result.big, 100000, "large body")
  local both = rpc.decoder():push(a .. a)
  eq(#both, 2, "two frames in one chunk")
end)

test("rpc client: initialize, concurrent requests matched by id, errors", function()
  local c = rpc.start({ cmd = { daemon } })
  local err, init = c:request_sync("initialize", { rootPath = root }, 20000)
  eq(err, nil, "initialize error")
  eq(init.serverInfo.name, "advlensd")
  local replies = {}
  for i = 1, 5 do
    c:request("model/create", { name = "m" .. i, architecture = "mnist-small", seed = i }, function(e, r)
      replies[i] = r or e
    end)
  end
  truthy(vim.wait(30000, function() return vim.tbl_count(replies) == 5 end, 10), "five replies")
  for i = 1, 5 do eq(replies[i].name, "m" .. i, "reply " .. i) end
  local e2 = c:request_sync("model/info", { name = "nobody" })
  eq(e2.code, -32001, "unknown model")
  c:stop()
  eq(c.exited, 0, "exit status after shutdown + exit")
end)

advlens.setup({
  daemon = daemon,
  root = root,
  png_dir = repo .. "/out/nvim-test",
  init = {
    { "model/load", { name = "digits", spec = model_dir .. "/model.json", weights = model_dir .. "/model.safetensors" } },
    { "dataset/load", { name = "mnist", kind = "mnist-csv", path = vim.fn.resolve(data), split = { testPerClass = 20, seed = 0 } } },
  },
})

local echoed = {}
local real_echo = advlens.echo
advlens.echo = function(text, hl)
  table.insert(echoed, text)
  real_echo(text, hl)
end

test(":AdvLensPredict on a dataset index shows a table in a floating window", function()
  local err, result, lines = run_and_wait(function(done) advlens.predict({ "3", "topK=2" }, done) end)
  eq(err, nil, "error")
  eq(result.count, 1)
  eq(#result.predictions[1].top, 2, "topK")
  contains(lines, "^#%s+label%s+predicted%s+confidence%s+top%-k")
  contains(lines, "1 inputs, accuracy")
  local win = vim.api.nvim_get_current_win()
  eq(vim.api.nvim_win_get_config(win).relative, "editor", "a floating window")
  eq(vim.api.nvim_buf_get_lines(0, 0, 1, false)[1], lines[1], "the window shows the lines")
  close_floats()
end)

test(":AdvLensPredict with no argument takes the image path under the cursor", function()
  vim.cmd("enew!")
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { "the digit: " .. digit .. " (a seven)" })
  vim.api.nvim_win_set_cursor(0, { 1, 14 })
  local err, result, lines = run_and_wait(function(done) advlens.predict({}, done) end)
  eq(err, nil, "error")
  eq(result.predictions[1].predicted, 7, "the digit is a seven")
  eq(result.predictions[1].label, nil, "a file has no label")
  contains(lines, "^0%s+%-%s+7%s+99%.8%%")
  close_floats()
end)

test(":AdvLensAttack writes PNG strips, lists their paths and reports progress", function()
  echoed = {}
  local err, result, lines = run_and_wait(function(done)
    advlens.attack({ "mnist-test:0,1,2", "method=pgd", "steps=10", "earlyStop=false", "return.pngScale=2" }, done)
  end)
  eq(err, nil, "error")
  eq(#result.samples, 3)
  contains(lines, "^attack%s+pgd on digits")
  contains(lines, "^handle%s+adv%-%d+")
  contains(lines, "^index%s+label%s+target%s+adversarialLabel")
  eq(#result.png, 3, "PNG files")
  for _, p in ipairs(result.png) do
    truthy(vim.fn.filereadable(p) == 1, p .. " exists")
    contains(lines, vim.pesc(p))
  end
  contains(echoed, "^attack pgd%s+%d+%%  iteration %d+/10", "progress messages")
  contains(echoed, "^attack done")
  close_floats()
end)

test("errors are reported with code and the field", function()
  echoed = {}
  local err = run_and_wait(function(done) advlens.attack({ "1", "epsilon=-1" }, done) end)
  eq(err.code, -32602)
  truthy(err.message:find("params.epsilon"), "message names the field")
  contains(echoed, "attack: params%.epsilon.*%(code %-32602%)")
  local ok, msg = pcall(advlens.predict, { "no/such/file.png" })
  truthy(not ok and msg:find("no such image file"), "a missing file is refused before sending")
end)

test(":AdvLensCancel stops an attack and shows the result so far", function()
  echoed = {}
  local indices = {}
  for i = 0, 99 do table.insert(indices, tostring(i)) end
  local done, e, r, l = false
  advlens.attack({ "mnist-test:" .. table.concat(indices, ","), "method=cw", "steps=100000" },
    function(err, result, lines) done, e, r, l = true, err, result, lines end)
  -- Cancel after the first progress report, on 100,000 C&W steps that cannot finish first;
  -- the waits are only hang guards, far above any machine's time.
  truthy(vim.wait(600000, function()
    for _, t in ipairs(echoed) do if t:find("iteration") then return true end end
  end, 10), "progress before cancelling")
  truthy(not done, "still running when cancelled")
  vim.cmd("AdvLensCancel")
  truthy(vim.wait(600000, function() return done end, 10), "the cancelled reply")
  eq(e.code, -32800, "cancelled")
  eq(r.summary.stoppedEarly, true, "partial result")
  contains(l, "stopped early")
  contains(echoed, "attack cancelled: showing the result so far")
  close_floats()
end)

test(":AdvLensCall sends any method; results render as tables", function()
  local err, result, lines = run_and_wait(function(done) advlens.call("model/list", "{}", done) end)
  eq(err, nil, "error")
  eq(result.models[1].name, "digits")
  contains(lines, "^%s+architecture%s+classes")
  close_floats()
  local generic = render.result("explainPrediction", {
    predicted = 3,
    neurons = { { unit = 5, influence = 0.8 }, { unit = 9, influence = -0.4 } },
    maps = { saliency = { shape = { 1, 28, 28 }, dtype = "float32", data = "AAAA" } },
    files = { "/tmp/x/saliency.png" },
  })
  contains(generic, "^%s*5 ████████████████████████ 0%.8$")
  contains(generic, "^%s*9 ░░░░░░░░░░░░%s+%-0%.4$")
  contains(generic, "saliency%s+tensor %[1, 28, 28%]")
  contains(generic, "^  /tmp/x/saliency%.png$")
end)

test(":AdvLensExplain on an image path shows the prediction and unit bars", function()
  local err, result, lines = run_and_wait(function(done) advlens.explain({ digit, "topNeurons=3" }, done) end)
  eq(err, nil, "error")
  eq(result.prediction.predicted, 7, "the seven")
  eq(#result.layers[2].neurons, 3, "topNeurons")
  contains(lines, "^predicted 7 %(99%.8%%%)")
  contains(lines, "^layer 8: 128 units, by logitDrop$")
  local top = result.layers[2].neurons[1]
  contains(lines, "^unit " .. top.unit .. " ████████████████████████ ")
  contains(lines, "^saliency")
  close_floats()
end)

test(":AdvLensProbe shows each unit's top images and the patch files", function()
  local dir = repo .. "/out/nvim-patches"
  local err, result, lines = run_and_wait(function(done)
    advlens.probe({ "layer=4", "units=[0,5]", "k=3", "patches=true", "patchDirectory=" .. dir }, done)
  end)
  eq(err, nil, "error")
  eq(result.kind, "topActivations")
  eq(#result.top, 2, "units")
  contains(lines, "^unit 0:$")
  contains(lines, "^unit 5:$")
  for _, unit in ipairs(result.top) do
    eq(#unit.top, 3, "k")
    for _, t in ipairs(unit.top) do
      truthy(vim.fn.filereadable(t.patch) == 1, t.patch)
      contains(lines, vim.pesc(t.patch))
    end
  end
  close_floats()
end)

test("trainStep and evaluate through :AdvLensCall", function()
  local err, result, lines = run_and_wait(function(done)
    advlens.call("model/create", '{"name": "student", "architecture": "mnist-small"}', done)
  end)
  eq(err, nil, "error")
  close_floats()
  err, result, lines = run_and_wait(function(done)
    advlens.call("trainStep", '{"model": "student", "dataset": "mnist-train", "steps": 3, "batchSize": 16}', done)
  end)
  eq(err, nil, "error")
  eq(result.stepCount, 3)
  contains(lines, "^stepCount%s+3$")
  close_floats()
  err, result, lines = run_and_wait(function(done)
    advlens.call("evaluate", '{"model": "digits", "dataset": "mnist-test"}', done)
  end)
  eq(err, nil, "error")
  eq(result.count, 200)
  contains(lines, "^cleanAccuracy%s+0%.%d+$")
  close_floats()
end)

test("index ranges select dataset images: 0-2,7 and mnist-test:0-4", function()
  local indices = advlens.indices("0-2,7,10-12")
  eq(table.concat(indices, ","), "0,1,2,7,10,11,12", "expanded")
  local err, result = run_and_wait(function(done) advlens.predict({ "mnist-test:0-4" }, done) end)
  eq(err, nil, "error")
  eq(result.count, 5, "five images")
  close_floats()
  err, result = run_and_wait(function(done) advlens.predict({ "0-2,7" }, done) end)
  eq(err, nil, "error")
  eq(result.count, 4, "four images of the configured dataset")
  close_floats()
end)

test("a bad target says what is wrong, without a Lua file position", function()
  for _, target in ipairs({ "nosuch-image.png", "mnist-test:5-2" }) do
    vim.cmd("messages clear")
    vim.cmd("AdvLensAttack " .. target)
    local messages = vim.fn.execute("messages")
    truthy(messages:find("advlens: ", 1, true), "an advlens error for " .. target .. ": " .. messages)
    truthy(not messages:find("%.lua:%d+"), "no Lua position in: " .. messages)
  end
  contains(vim.split(vim.fn.execute("messages"), "\n"), "range 5%-2 runs backwards")
end)

test(":help advlens opens doc/advlens.txt, with a tag for every command", function()
  local docs = vim.fn.tempname()
  vim.fn.mkdir(docs .. "/doc", "p")
  vim.fn.writefile(vim.fn.readfile(repo .. "/clients/nvim/doc/advlens.txt"), docs .. "/doc/advlens.txt")
  vim.cmd("helptags " .. docs .. "/doc")
  vim.opt.rtp:prepend(docs)
  vim.cmd("help advlens")
  eq(vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":t"), "advlens.txt", "the help file")
  eq(vim.bo.filetype, "help", "a help buffer")
  for name, _ in pairs(vim.api.nvim_get_commands({})) do
    if name:match("^AdvLens") then
      local ok, e = pcall(vim.cmd, "help :" .. name)
      truthy(ok, ":help :" .. name .. " (" .. tostring(e) .. ")")
    end
  end
  for _, topic in ipairs({ "advlens-targets", "advlens-setup" }) do vim.cmd("help " .. topic) end
  vim.cmd("helpclose")
end)

test("long results wrap in the float instead of running past it", function()
  vim.o.columns, vim.o.lines = 80, 40
  advlens.show("wide", { "short", string.rep("handle adv-1 ", 40) })
  local win = vim.api.nvim_get_current_win()
  truthy(vim.api.nvim_win_get_option(win, "wrap"), "wrap on")
  local width = vim.api.nvim_win_get_width(win)
  truthy(width <= 76, "inside the editor: " .. width)
  truthy(vim.api.nvim_win_get_height(win) >= 1 + math.ceil(#string.rep("handle adv-1 ", 40) / width), "tall enough for the wrapped line")
  close_floats()
end)

advlens.stop()
out:write(string.format("\n%d passed, %d failed\n", results.passed, results.failed))
out:flush()
vim.cmd(results.failed == 0 and "qall!" or "cquit 1")

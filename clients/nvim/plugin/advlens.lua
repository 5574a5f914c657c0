-- :AdvLens* commands (Neovim 0.7+). Configure with require("advlens").setup{...}.
if vim.g.loaded_advlens then return end
vim.g.loaded_advlens = true

local function command(name, fn, nargs, desc)
  vim.api.nvim_create_user_command(name, function(opts)
    local ok, err = pcall(fn, opts)
    if not ok then vim.api.nvim_echo({ { tostring(err), "ErrorMsg" } }, true, {}) end
  end, { nargs = nargs, desc = desc })
end

local function words(opts) return opts.fargs end

command("AdvLensPredict", function(o) require("advlens").predict(words(o)) end, "*",
  "Predict an image (path under the cursor or given) or a dataset index")
command("AdvLensAttack", function(o) require("advlens").attack(words(o)) end, "*",
  "Attack an image or a dataset index: [target] method=pgd steps=20 ...")
command("AdvLensProbe", function(o) require("advlens").probe(words(o)) end, "*",
  "Probe a layer's units: [target] layer=7 kind=topActivations k=5")
command("AdvLensExplain", function(o) require("advlens").explain(words(o)) end, "*",
  "Explain the prediction on an image or a dataset index")
command("AdvLensCancel", function() require("advlens").cancel() end, 0, "Cancel running AdvLens requests")
command("AdvLensCall", function(o)
  local method, json = o.args:match("^(%S+)%s*(.*)$")
  require("advlens").call(method, json)
end, "+", "Any method: :AdvLensCall model/list {}")
command("AdvLensStop", function() require("advlens").stop() end, 0, "Stop the daemon")

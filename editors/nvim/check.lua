-- Tries exc.lua in a real Neovim, headless, on tests/fixtures/lsp:
--   EXC=target/debug/exc nvim --headless -u NONE -c "luafile editors/nvim/check.lua"
-- Opens the mixture, misspells a task name in the buffer (unsaved), waits
-- for the server's diagnostics, asks for a definition, a hover and a
-- completion, and prints what it got; exits 1 if any is missing.
vim.cmd("filetype on")
package.path = vim.fn.getcwd() .. "/editors/nvim/?.lua;" .. package.path
local exc = require("exc")
exc.cmd = { os.getenv("EXC") or "exc", "lsp" }

local function out(s) io.stdout:write(s .. "\n") end
local failed = false
local function check(ok, what)
  out((ok and "ok: " or "FAILED: ") .. what)
  if not ok then failed = true end
end

vim.cmd("edit tests/fixtures/lsp/small.exmix")
local buf = vim.api.nvim_get_current_buf()
check(vim.bo[buf].filetype == "exc", "filetype exc")
vim.wait(10000, function() return #vim.lsp.buf_get_clients(buf) > 0 end)
local client = vim.lsp.buf_get_clients(buf)[next(vim.lsp.buf_get_clients(buf))]
check(client ~= nil, "exc lsp attached")

-- Misspell the task in the buffer, without saving.
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
local row
for i, l in ipairs(lines) do
  if l:find("select tiny_nli") then row = i - 1 end
end
vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "  select tiny_nl" })
vim.wait(10000, function() return #vim.diagnostic.get(buf) > 0 end)
local diags = vim.diagnostic.get(buf)
for _, d in ipairs(diags) do
  out(string.format("diagnostic %d:%d [%s] %s", d.lnum + 1, d.col + 1, tostring(d.code), d.message:gsub("\n", " | ")))
end
check(#diags == 1 and diags[1].code == "exc::check::unknown_task", "diagnostic for the misspelt task")

-- Put it back: the diagnostic goes.
vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "  select tiny_nli" })
vim.wait(10000, function() return #vim.diagnostic.get(buf) == 0 end)
check(#vim.diagnostic.get(buf) == 0, "diagnostic cleared")

local function at(method, col)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = row, character = col },
  }
  local res = vim.lsp.buf_request_sync(buf, method, params, 10000) or {}
  for _, r in pairs(res) do
    if r.result then return r.result end
  end
end

local def = at("textDocument/definition", 10)
def = def and (def.uri and def or def[1])
check(def ~= nil and def.uri:find("tasks/nli.task") ~= nil, "definition: " .. (def and def.uri or "none"))
local hover = at("textDocument/hover", 10)
local text = hover and hover.contents and (hover.contents.value or "") or ""
out("hover: " .. text:gsub("\n", " | "))
check(text:find("input:  premise: A cat sleeps.", 1, true) ~= nil, "hover shows the rendered sample")
vim.api.nvim_buf_set_lines(buf, row, row + 1, false, { "  select " })
local items = at("textDocument/completion", 9) or {}
items = items.items or items
local labels = {}
for _, i in ipairs(items) do table.insert(labels, i.label) end
out("completion: " .. table.concat(labels, ", "))
check(vim.tbl_contains(labels, "tiny_nli"), "completion offers the task")

vim.cmd(failed and "cquit 1" or "qall!")

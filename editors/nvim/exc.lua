-- exc's language server for .task and .exmix files (Neovim 0.7+).
-- Put this file in ~/.config/nvim/lua/ and `require("exc")` from init.lua.
local M = {}

M.cmd = { "exc", "lsp" }

-- An autocommand rather than vim.filetype.add, which 0.7 only honours
-- with g:do_filetype_lua.
vim.cmd([[
  augroup exc_filetype
    autocmd!
    autocmd BufRead,BufNewFile *.task,*.exmix setfiletype exc
  augroup END
]])

-- The project root: the nearest directory with exc.toml or .git.
local function root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  while dir ~= "/" and dir ~= "" do
    if vim.fn.filereadable(dir .. "/exc.toml") == 1 or vim.fn.isdirectory(dir .. "/.git") == 1
      or vim.fn.filereadable(dir .. "/.git") == 1 then
      return dir
    end
    dir = vim.fn.fnamemodify(dir, ":h")
  end
  return vim.fn.getcwd()
end

local clients = {}

local function on_attach(_, bufnr)
  local opts = { buffer = bufnr }
  local map = vim.keymap and vim.keymap.set
  if map then
    map("n", "gd", vim.lsp.buf.definition, opts)
    map("n", "K", vim.lsp.buf.hover, opts)
  end
  vim.bo[bufnr].omnifunc = "v:lua.vim.lsp.omnifunc"
end

function M.attach(bufnr)
  local r = root(vim.api.nvim_buf_get_name(bufnr))
  local config = { name = "exc", cmd = M.cmd, root_dir = r, on_attach = on_attach }
  if vim.lsp.start then
    vim.lsp.start(config, { bufnr = bufnr })
    return
  end
  -- Neovim 0.7: one client per project root, attached to each buffer.
  if not clients[r] then
    clients[r] = vim.lsp.start_client(config)
  end
  vim.lsp.buf_attach_client(bufnr, clients[r])
end

vim.api.nvim_create_autocmd("FileType", {
  pattern = "exc",
  callback = function(args) M.attach(args.buf) end,
})

return M

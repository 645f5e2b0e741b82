// Starts `exc lsp` for .task and .exmix files.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("exc").get("path") || "exc";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "exc",
    "exc",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "exc" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

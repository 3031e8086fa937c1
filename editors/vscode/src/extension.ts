// The VS Code side of wfc: starts the `wfc-lsp` language server for `.wf` files and restarts
// it on request or when its settings change. Everything the editor shows about a file beyond
// colours (diagnostics, hover, navigation, completion, formatting, rename) comes from the
// server, which reuses the compiler.

import * as vscode from "vscode";
import {
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("wfc");
  context.subscriptions.push(output);

  context.subscriptions.push(
    vscode.commands.registerCommand("wfc.restartServer", async () => {
      await stop();
      await start(output);
    }),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("wfc.server")) {
        await stop();
        await start(output);
      }
    }),
  );

  await start(output);
}

export async function deactivate(): Promise<void> {
  await stop();
}

async function start(output: vscode.OutputChannel): Promise<void> {
  const settings = vscode.workspace.getConfiguration("wfc");
  // A bare name is looked up on the PATH by the operating system, as a shell would.
  const command = settings.get<string>("server.path") || "wfc-lsp";
  const args = settings.get<string[]>("server.args") ?? [];
  const executable: Executable = { command, args };
  const serverOptions: ServerOptions = { run: executable, debug: executable };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "wf" },
      { scheme: "untitled", language: "wf" },
    ],
    outputChannel: output,
  };
  client = new LanguageClient("wfc", "wfc language server", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    client = undefined;
    const message =
      `Could not start the wfc language server \`${command}\`: ${String(error)}. ` +
      "Build it with `cargo install --path lsp` in the wfc repository, or set `wfc.server.path`.";
    output.appendLine(message);
    void vscode.window.showErrorMessage(message);
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

#!/usr/bin/env python3
"""Times the language server: from a didChange to the publishDiagnostics of that version.

    python3 benches/lsp_client.py --server PATH/wfc-lsp --edits 20 FILE.wf

Opens FILE.wf in `wfc-lsp`, waits for its first diagnostics, then makes EDITS small edits one
after another (alternately inserting and deleting one letter in the first task title), each as
an incremental didChange, and measures the wall time until the server publishes the
diagnostics of that version. Every edit keeps the file clean, so each measurement is a full
parse and check of the file; a non-empty diagnostics list fails the run. Prints the median,
the fastest and the slowest time in milliseconds. Standard library only.
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def read_messages(stream, messages):
    """Reads Content-Length framed JSON messages from the server into a queue."""
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                messages.put(None)
                return
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        messages.put(json.loads(stream.read(length)))


class Client:
    def __init__(self, server):
        self.process = subprocess.Popen(
            [server], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.messages = queue.Queue()
        threading.Thread(
            target=read_messages, args=(self.process.stdout, self.messages), daemon=True
        ).start()
        self.next_id = 0

    def send(self, message):
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            message = self.receive()
            if message.get("id") == self.next_id and "method" not in message:
                return message.get("result")

    def receive(self):
        message = self.messages.get(timeout=60)
        if message is None:
            sys.exit("error: wfc-lsp closed its output")
        return message

    def diagnostics(self, uri, version):
        """Waits for the diagnostics of `uri` at `version`."""
        while True:
            message = self.receive()
            params = message.get("params") or {}
            if (
                message.get("method") == "textDocument/publishDiagnostics"
                and params.get("uri") == uri
                and params.get("version") == version
            ):
                return params["diagnostics"]

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("file")
    args = parser.parse_args()

    text = open(args.file, encoding="utf-8").read()
    uri = "file://" + os.path.abspath(args.file)
    lines = text.split("\n")
    line = next(i for i, l in enumerate(lines) if 'title  = "' in l)
    column = lines[line].index('title  = "') + len('title  = "')

    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        client = Client(args.server)
        client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        client.notify("initialized", {})
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "wf", "version": 1, "text": text}},
        )
        first = client.diagnostics(uri, 1)
        if first:
            sys.exit("error: the file has diagnostics: %s" % json.dumps(first[:3]))

        samples = []
        at = {"line": line, "character": column}
        for version in range(2, args.edits + 2):
            if version % 2 == 0:
                change = {"range": {"start": at, "end": at}, "text": "x"}
            else:
                after = {"line": line, "character": column + 1}
                change = {"range": {"start": at, "end": after}, "text": ""}
            start = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            )
            diagnostics = client.diagnostics(uri, version)
            samples.append((time.perf_counter() - start) * 1000)
            if diagnostics:
                sys.exit("error: edit %d left diagnostics: %s" % (version, json.dumps(diagnostics[:3])))
        client.close()

    print("%.2f %.2f %.2f" % (statistics.median(samples), min(samples), max(samples)))


if __name__ == "__main__":
    main()

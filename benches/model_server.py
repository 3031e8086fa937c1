#!/usr/bin/env python3
"""A minimal scripted Anthropic Messages server for benches/agents.sh.

Every session turn (a request that offers tools) gets one final text message, so each
Claude Code session is one model turn; side requests get a short text too. It streams SSE
when asked, as the real API does. Usage: model_server.py PORT_FILE; it writes the port it
listens on to PORT_FILE and serves until killed. Standard library only.
"""
import http.server
import json
import sys


def sse(model, text):
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": text}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 5}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, kind, body):
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.reply(200, "application/json", b"")

    def do_GET(self):
        self.reply(200, "application/json", b"{}")

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if "count_tokens" in self.path:
            self.reply(200, "application/json", b'{"input_tokens": 100}')
            return
        model = request.get("model", "claude-sonnet-4-5")
        if request.get("stream"):
            self.reply(200, "text/event-stream", sse(model, "Done.").encode())
        else:
            message = {"id": "msg_bench", "type": "message", "role": "assistant", "model": model,
                       "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn",
                       "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 5}}
            self.reply(200, "application/json", json.dumps(message).encode())


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as port_file:
    port_file.write(str(server.server_address[1]))
server.serve_forever()

"""A fake OpenAI-compatible upstream for the proxy's tests: counts calls, answers JSON
completions and SSE streams, fails on request. Runs on loopback in a thread of the test."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Upstream:
    def __init__(self, tls=None, port=0):
        """tls: (certificate file, key file) to serve https instead of http; port: 0 for any free one."""
        self.calls = []
        self.lock = threading.Lock()
        self.delay = 0.0
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.scheme = "http"
        if tls:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def count(self, path=None):
        with self.lock:
            return sum(1 for c in self.calls if path is None or c["path"] == path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _send(self, status, body, content_type="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with upstream.lock:
                    upstream.calls.append({"path": self.path, "method": "GET", "headers": dict(self.headers)})
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake-model"}]}).encode())

            def do_POST(self):
                raw = self._body()
                with upstream.lock:
                    n = len(upstream.calls) + 1
                    upstream.calls.append({"path": self.path, "method": "POST", "body": raw, "headers": dict(self.headers)})
                if upstream.delay:
                    time.sleep(upstream.delay)
                try:
                    request = json.loads(raw or b"{}")
                except ValueError:
                    request = {}
                if self.headers.get("Authorization") == "Bearer bad":
                    return self._send(401, b'{"error":{"message":"bad key"}}')
                if request.get("gzip"):
                    import gzip
                    payload = gzip.compress(json.dumps({"object": "chat.completion", "n": n}).encode())
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if request.get("json_error_for_stream"):
                    return self._send(400, b'{"error":{"message":"stream refused"}}')
                if self.path.startswith("/fail"):
                    return self._send(500, b'{"error":{"message":"upstream broke"}}')
                if self.path.startswith("/v1/embeddings"):
                    return self._send(200, json.dumps({"object": "list", "data": [{"object": "embedding", "index": 0,
                                      "embedding": [0.1, 0.2]}], "model": "fake", "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode())
                content = f"answer {n} to {json.dumps(request.get('messages', request.get('prompt', '')))}"
                if request.get("stream"):
                    return self._stream(n, content, abort=request.get("abort", False), pace=float(request.get("pace", 0.01)))
                body = {
                    "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1700000000 + n, "model": request.get("model", "fake"),
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
                }
                self._send(200, json.dumps(body).encode())

            def _stream(self, n, content, abort, pace):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                words = content.split(" ")
                for i, w in enumerate(words):
                    chunk = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1700000000 + n, "model": "fake",
                             "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]}
                    data = f"data: {json.dumps(chunk)}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    if abort and i == 1:
                        # Cut the connection in the middle of the stream.
                        self.connection.shutdown(2)
                        self.close_connection = True
                        return
                    time.sleep(pace)
                end = b"data: [DONE]\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(end), end))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        return Handler

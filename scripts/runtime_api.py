"""A Lambda Runtime API on 127.0.0.1 for one function process, with the timestamps a
benchmark needs: when the process first asked for an event (it is initialised), when each
event was handed over and when its answer came back.

Only the calls a runtime makes: GET /2018-06-01/runtime/invocation/next, POST
.../invocation/{id}/response, .../invocation/{id}/error and .../init/error.
"""

import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    """Serves events to one function process; `invoke` blocks until its answer."""

    def __init__(self, function_arn, timeout_ms=30_000, deadline_ms=None):
        self.function_arn = function_arn
        self.timeout_ms = timeout_ms
        # The deadline handed to the function, its timeout unless a test asks for sooner.
        self.deadline_ms = timeout_ms if deadline_ms is None else deadline_ms
        self.first_next = None  # perf_counter when the process first asked for an event
        self.init_error = None
        self._events = queue.Queue()
        self._answers = {}
        self._lock = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm on, the second
            # waits for the client's delayed ACK, adding 40 ms to every warm invocation
            # that is the emulator's, not the function's.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                with api._lock:
                    if api.first_next is None:
                        api.first_next = time.perf_counter()
                        api._lock.notify_all()
                request_id, body, handed = api._events.get()
                handed.append(time.perf_counter())
                deadline = int(time.time() * 1000) + api.deadline_ms
                self._reply(200, body, [
                    ("Content-Type", "application/json"),
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", api.function_arn),
                    ("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"),
                ])

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path[len(PREFIX):].strip("/").split("/")
                if parts == ["init", "error"]:
                    with api._lock:
                        api.init_error = body.decode(errors="replace")
                        api._lock.notify_all()
                    return self._reply(202)
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with api._lock:
                        api._answers[parts[1]] = (time.perf_counter(), parts[2], body)
                        api._lock.notify_all()
                    return self._reply(202)
                return self._reply(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A function process killed between invocations drops its connection: expected.
        self.server.handle_error = lambda request, address: None
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def wait_ready(self, process, limit=30.0):
        """Waits for the process's first GET /next; returns its perf_counter time."""
        end = time.perf_counter() + limit
        with self._lock:
            while self.first_next is None and self.init_error is None:
                if process.poll() is not None or time.perf_counter() > end:
                    raise RuntimeError(f"the function never asked for an event (exit {process.poll()})")
                self._lock.wait(0.01)
        if self.init_error is not None:
            raise RuntimeError(f"the function failed to start: {self.init_error}")
        return self.first_next

    def invoke(self, payload, limit=60.0):
        """Hands `payload` over and waits for the answer: (seconds, kind, parsed body)."""
        request_id = str(uuid.uuid4())
        handed = []
        self._events.put((request_id, json.dumps(payload).encode(), handed))
        end = time.perf_counter() + limit
        with self._lock:
            while request_id not in self._answers:
                if time.perf_counter() > end:
                    raise RuntimeError("no answer in time")
                self._lock.wait(0.01)
            answered, kind, body = self._answers.pop(request_id)
        return answered - handed[0], kind, json.loads(body or b"null")

    def close(self):
        self.server.shutdown()

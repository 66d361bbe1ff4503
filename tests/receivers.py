"""A real HTTP webhook receiver on loopback, recording what it is sent, for the tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers each POST with the next planned (status, headers), 200 once the plan runs out.

    With `delay`, each answer comes that many seconds after the request arrived (and was
    recorded): a slow receiver, which keeps deliveries in flight.
    """

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.received = []  # (headers dict, body bytes, arrival time)
        self.plan = []
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.condition:
                    receiver.received.append((dict(self.headers), body, time.time()))
                    status, headers = receiver.plan.pop(0) if receiver.plan else (200, {})
                    receiver.condition.notify_all()
                time.sleep(receiver.delay)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, *plan):
        """Plan the next answers: statuses, or (status, headers) pairs."""
        with self.condition:
            self.plan.extend(p if isinstance(p, tuple) else (p, {}) for p in plan)

    def wait_for(self, count: int, timeout: float = 15.0) -> list:
        """Block until `count` requests arrived; return them all."""
        with self.condition:
            if not self.condition.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")
            return list(self.received)

    def events(self) -> list[dict]:
        with self.condition:
            return [json.loads(body) for _headers, body, _t in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

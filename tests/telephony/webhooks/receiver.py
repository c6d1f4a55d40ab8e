"""A webhook receiver on loopback for the tests: it records every request (headers and raw body)
and answers each one with the next status of its plan (then 200), as a customer's billing system
behind a flaky network would."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`plan`: the first answers, a status each (e.g. [500, 503]) or "broken-gzip" (a body that
    cannot be decoded) or "binary" (a 200 with NUL bytes); every later request gets 200."""

    plan: list[int | str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/portal"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    answer = receiver.plan.pop(0) if receiver.plan else 200
                if answer == "broken-gzip":  # says gzip, is not: the body cannot be read
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not gzip!")
                    return
                if answer == "binary":  # a 2xx whose body holds NUL bytes
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok\x00\x01\x02 done")
                    return
                self.send_response(answer)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if answer < 300 else b"try again later")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

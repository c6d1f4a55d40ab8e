"""Serving simulators over real HTTP on loopback, in background threads.

Used by `./manage.py pbx_sandbox`, by `make run`, and by the tests (port 0: the OS picks a free
port, and `base_url` says which).
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from telephony.sandbox.base import Simulator

LOOPBACK = "127.0.0.1"


class KeepAliveRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as a real API server keeps them: a client that
    reuses its connection does not pay a TCP handshake (nor the server a thread) per call.

    Werkzeug's own handler closes every connection (it cannot tell whether the application read
    the whole body before the next request line, and it drains the socket after each answer). A
    simulator's answers are small and whole, so this one reads the request body whole before the
    application sees it, and writes each answer with its length. An idle connection is closed
    after `timeout` seconds, and `RunningSimulator.stop` closes the open ones: a stopped simulator
    answers nobody."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle kept-alive connection waits for its next request
    disable_nagle_algorithm = True  # small answers go out at once, not after the client's delayed ACK

    def log_error(self, format: str, *args: object) -> None:
        if format.startswith("Request timed out"):
            return  # an idle kept connection closing after `timeout`: routine, not an error
        super().log_error(format, *args)

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        if environ.get("wsgi.input_terminated"):  # a chunked body, which Werkzeug's reader dechunks
            body = environ["wsgi.input"].read()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        environ["wsgi.input"] = io.BytesIO(body)  # read whole: the next request line comes after it
        answer: dict = {}
        chunks: list[bytes] = []

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception as exc:  # a simulator's bug: answer 500 and say so in the log, as Werkzeug does
            self.server.log("error", f"Error on request: {exc!r}")
            answer = {"status": "500 INTERNAL SERVER ERROR", "headers": [("Content-Type", "text/plain")]}
            chunks, self.close_connection = [b"Internal Server Error"], True
        self._answer(answer["status"], answer["headers"], b"".join(chunks))

    def _answer(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")  # what end_headers adds; the body goes in the same write
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()


@dataclass
class RunningSimulator:
    simulator: Simulator
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        settle = getattr(self.simulator, "settle", None)  # a simulator's (a bare WSGI app has none)
        if settle is not None:
            settle()  # its webhooks still arriving would write after the caller is gone
        self.server.shutdown()
        self.server.server_close()
        for kept in list(self.server.open_connections):  # type: ignore[attr-defined]
            with contextlib.suppress(OSError):
                kept.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)


def serve_in_thread(simulator: Simulator, port: int = 0, host: str = LOOPBACK) -> RunningSimulator:
    """Start serving one simulator; returns at once with its URL known."""
    if host not in (LOOPBACK, "localhost", "::1"):
        raise ValueError("the sandbox only listens on loopback addresses")
    server = make_server(host, port, simulator, threaded=True, request_handler=KeepAliveRequestHandler)
    server.open_connections = set()  # the kept-alive connections, closed by stop()
    simulator.base_url = f"http://{LOOPBACK}:{server.server_port}"
    # A short poll: stopping a simulator (every test that starts one) waits for it at most this long.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"sandbox-{simulator.name}", daemon=True
    )
    thread.start()
    return RunningSimulator(simulator=simulator, server=server, thread=thread)

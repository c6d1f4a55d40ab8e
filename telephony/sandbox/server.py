"""Serving simulators over real HTTP on loopback, in background threads.

Used by `./manage.py pbx_sandbox`, by `make run`, and by the tests (port 0: the OS picks a free
port, and `base_url` says which).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from telephony.sandbox.base import Simulator

LOOPBACK = "127.0.0.1"


class KeepAliveRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as a real API server keeps them: a client that
    reuses its connection does not pay a TCP handshake per call."""

    protocol_version = "HTTP/1.1"


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
        self.thread.join(timeout=5)


def serve_in_thread(simulator: Simulator, port: int = 0, host: str = LOOPBACK) -> RunningSimulator:
    """Start serving one simulator; returns at once with its URL known."""
    if host not in (LOOPBACK, "localhost", "::1"):
        raise ValueError("the sandbox only listens on loopback addresses")
    server = make_server(host, port, simulator, threaded=True, request_handler=KeepAliveRequestHandler)
    simulator.base_url = f"http://{LOOPBACK}:{server.server_port}"
    # A short poll: stopping a simulator (every test that starts one) waits for it at most this long.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"sandbox-{simulator.name}", daemon=True
    )
    thread.start()
    return RunningSimulator(simulator=simulator, server=server, thread=thread)

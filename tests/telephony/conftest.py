import logging

import pytest

from telephony.sandbox.server import serve_in_thread

logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture
def serve():
    """Serve simulators over real HTTP on loopback for one test; stops them afterwards."""
    started = []

    def _serve(simulator, port=0):
        running = serve_in_thread(simulator, port=port)
        started.append(running)
        return running

    yield _serve
    for running in reversed(started):
        running.stop()

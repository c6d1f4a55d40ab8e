"""The sandbox's HTTP server keeps connections alive as a real API server does, so that a client
reusing its connection pays no TCP handshake per call; a stopped simulator answers nobody, not even
on a connection kept from before."""

from __future__ import annotations

import pytest
import requests

from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xcu import XcuSimulator


def _pool(session: requests.Session):
    (pool,) = session.get_adapter("http://").poolmanager.pools._container.values()
    return pool


def test_one_connection_carries_many_calls_with_and_without_bodies():
    running = serve_in_thread(XcuSimulator())
    try:
        with requests.Session() as session:
            session.auth = ("admin", "superpass")
            answers = [session.get(f"{running.base_url}/api/1.0/xivo") for _ in range(3)]
            answers += [session.post(f"{running.base_url}/api/1.0/users", json={"firstName": "x" * 5000})]
            answers += [session.get(f"{running.base_url}/api/1.0/xivo")]
            assert all(answer.headers.get("Connection") != "close" for answer in answers)
            assert answers[-1].status_code == answers[0].status_code, "the body before it was read whole"
            assert (_pool(session).num_connections, _pool(session).num_requests) == (1, 5)
    finally:
        running.stop()


def test_a_stopped_simulator_does_not_answer_on_a_kept_connection():
    running = serve_in_thread(XcuSimulator())
    with requests.Session() as session:
        assert session.get(f"{running.base_url}/api/1.0/xivo").status_code in (200, 401)
        running.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(f"{running.base_url}/api/1.0/xivo", timeout=5)


def test_an_idle_kept_connection_closes_without_an_error_in_the_log(monkeypatch, caplog):
    import logging
    import time

    from telephony.sandbox.server import KeepAliveRequestHandler

    monkeypatch.setattr(KeepAliveRequestHandler, "timeout", 0.2)
    running = serve_in_thread(XcuSimulator())
    try:
        with requests.Session() as session, caplog.at_level(logging.INFO, logger="werkzeug"):
            session.get(f"{running.base_url}/api/1.0/xivo")
            time.sleep(0.6)
            assert running.server.open_connections == set(), "the server closed the idle connection"
            assert session.get(f"{running.base_url}/api/1.0/xivo").status_code in (200, 401), "a new one opens"
        assert not [r for r in caplog.records if r.name == "werkzeug" and r.levelno >= logging.WARNING]
    finally:
        running.stop()

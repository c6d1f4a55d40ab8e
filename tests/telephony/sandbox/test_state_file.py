"""A simulator with a state file (what `make run` uses, under var/sandbox/) survives a restart, and
keeps its file whole while it answers many requests at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import requests

from telephony.sandbox.server import serve_in_thread
from telephony.sandbox.xcu import XcuSimulator


def test_the_state_survives_a_restart_and_many_requests_at_once(tmp_path):
    state_file = tmp_path / "xcu.json"
    running = serve_in_thread(XcuSimulator(state_file=state_file))
    try:
        api = requests.Session()
        url = f"{running.base_url}/api/1.0/"
        assert api.post(url + "login", json={"login": "admin", "password": "superpass"}).ok
        entity = {"name": "acme", "displayName": "Acme", "xivoId": 1, "intervals": [{"start": "2000", "end": "2099"}]}
        assert api.post(url + "entities", json=entity).status_code == 201

        def read(_):
            return api.get(url + "xivo").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:  # each answer writes the file
            assert set(pool.map(read, range(64))) == {200}
    finally:
        running.stop()
    assert "acme" in {e["name"] for e in json.loads(state_file.read_text())["entities"]}
    restarted = XcuSimulator(state_file=state_file)
    assert "acme" in {e["name"] for e in restarted.snapshot()["entities"]}

"""The whole sandbox: every simulator, on its port, plus a status page that shows what each holds."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import FaultConfig, Simulator
from telephony.sandbox.configurator import ConfiguratorSimulator
from telephony.sandbox.cti import CtiSimulator
from telephony.sandbox.parkmanager import build_xelion_park
from telephony.sandbox.server import RunningSimulator, serve_in_thread
from telephony.sandbox.xc5 import Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator

DEFAULT_PORTS = {
    "status": 8100,
    "xelion": 8101,
    "parkmanager": 8102,
    "xcu": 8103,
    "xc5": 8104,
    "configurator": 8105,
    "cti": 8106,
}
BASE_PATHS = {
    "xelion": "/api/v1/",
    "parkmanager": "/api/",
    "xcu": "/api/1.0/",
    "xc5": "/api-sys/",
    "configurator": "/api/v1/",
    "cti": "/api/",
}


def build_simulators(faults: FaultConfig | None = None, state_dir: Path | None = None) -> list[Simulator]:
    """One simulator per platform family, sharing the start-up fault settings (each gets its own copy)."""

    def copy() -> FaultConfig | None:
        return FaultConfig.from_dict({}, base=faults) if faults else None

    def state(name: str) -> Path | None:
        return state_dir / f"{name}.json" if state_dir else None

    xelion, parkmanager = build_xelion_park(copy(), copy())
    for simulator in (xelion, parkmanager):
        simulator.state_file = state(simulator.name)
        simulator.state = simulator._load_state() or simulator.state
    return [
        xelion,
        parkmanager,
        XcuSimulator(faults=copy(), state_file=state("xcu")),
        Xc5Simulator(faults=copy(), state_file=state("xc5")),
        ConfiguratorSimulator(faults=copy(), state_file=state("configurator")),
        CtiSimulator(xelion, faults=copy(), state_file=state("cti")),
    ]


@dataclass
class Sandbox:
    """The running simulators and their status page."""

    running: dict[str, RunningSimulator] = field(default_factory=dict)
    status: RunningSimulator | None = None

    def describe(self) -> list[str]:
        lines = []
        for name, running in self.running.items():
            simulator = running.simulator
            lines.append(f"{name:<12} {running.base_url}{BASE_PATHS.get(name, '/')}  {simulator.credentials_hint()}")
        if self.status:
            lines.append(f"{'status page':<12} {self.status.base_url}/")
        return lines

    def stop(self) -> None:
        for running in self.running.values():
            running.stop()
        if self.status:
            self.status.stop()


def start_sandbox(
    ports: dict[str, int] | None = None, faults: FaultConfig | None = None, state_dir: Path | None = None
) -> Sandbox:
    ports = {**DEFAULT_PORTS, **(ports or {})}
    sandbox = Sandbox()
    for simulator in build_simulators(faults, state_dir):
        sandbox.running[simulator.name] = serve_in_thread(simulator, port=ports[simulator.name])
    sandbox.status = serve_in_thread(StatusPage(sandbox), port=ports["status"])
    return sandbox


class StatusPage(Simulator):
    """An HTML page listing each simulator, its faults and a summary of its state, refreshed every
    few seconds, with links to each simulator's /_sandbox/state."""

    name = "status"

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        super().__init__()

    def seed_state(self) -> dict:
        return {}

    def routes(self) -> list:
        return []

    def dispatch(self, request: Request) -> Response:
        if request.path.rstrip("/") in ("", "/index.html"):
            return Response(self.render(), content_type="text/html; charset=utf-8")
        if request.path == "/status.json":
            return Response(json.dumps(self.summary()), content_type="application/json")
        return Response("not found", status=404)

    def summary(self) -> dict:
        result = {}
        for name, running in self.sandbox.running.items():
            simulator = running.simulator
            state = simulator.snapshot()
            result[name] = {
                "base_url": running.base_url + BASE_PATHS.get(name, "/"),
                "api_calls": simulator.api_calls,
                "faults": {
                    name: value
                    for name, value in vars(simulator.faults).items()
                    if value not in (0, 0.0, False, None) and name != "hang_seconds"
                },
                "holds": {key: _count(value) for key, value in state.items() if not key.startswith("_")},
            }
        return result

    def render(self) -> str:
        rows = []
        for name, info in self.summary().items():
            holds = ", ".join(f"{key}: {count}" for key, count in info["holds"].items())
            faults = ", ".join(f"{k}={v}" for k, v in info["faults"].items() if k != "hang_seconds") or "none"
            state_url = info["base_url"].split("/api")[0] + "/_sandbox/state"
            rows.append(
                f"<tr><td>{html.escape(name)}</td><td>{html.escape(info['base_url'])}</td>"
                f"<td>{info['api_calls']}</td><td>{html.escape(holds)}</td><td>{html.escape(faults)}</td>"
                f'<td><a href="{html.escape(state_url)}">state</a></td></tr>'
            )
        return (
            "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='3'>"
            "<title>PBX sandbox</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;"
            "border-bottom:1px solid #ddd;text-align:left}</style></head><body><h1>PBX sandbox</h1>"
            "<p>What each simulator holds now (refreshes every 3 s).</p><table><tr><th>simulator</th><th>API</th>"
            "<th>calls</th><th>holds</th><th>faults</th><th></th></tr>" + "".join(rows) + "</table></body></html>"
        )


def _count(value: object) -> int | str:
    if isinstance(value, (list, dict)):
        return len(value)
    return str(value)

"""Serve every PBX simulator on 127.0.0.1 until interrupted."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from telephony.sandbox.base import FaultConfig
from telephony.sandbox.park import DEFAULT_PORTS, start_sandbox


class Command(BaseCommand):
    help = "Serve the Xelion, Park Manager, XCU and XC5 simulators on loopback, with optional faults."

    def add_arguments(self, parser):
        for name, port in DEFAULT_PORTS.items():
            parser.add_argument(f"--{name}-port", type=int, default=port, help=f"port of {name} (default {port})")
        parser.add_argument("--state-dir", help="keep each simulator's state in a JSON file in this folder")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every API call")
        parser.add_argument("--error-rate", type=float, default=0.0, help="share of calls answered 5xx")
        parser.add_argument("--timeout-rate", type=float, default=0.0, help="share of calls that hang")
        parser.add_argument("--rate-limit-rate", type=float, default=0.0, help="share of calls answered 429")
        parser.add_argument(
            "--lost-answer-rate", type=float, default=0.0, help="share of calls carried out, then answered 500"
        )
        parser.add_argument("--session-expiry-seconds", type=float, default=0.0)
        parser.add_argument("--session-expiry-calls", type=int, default=0)
        parser.add_argument("--seed", type=int, default=None, help="seed of the fault dice")
        parser.add_argument(
            "--documented-only",
            action="store_true",
            help="refuse every API extension beyond the vendors' documents (docs/backend-fidelity.md), "
            "as the real API would refuse an unknown field",
        )

    def handle(self, *args, **options):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            faults = FaultConfig.from_dict(
                {
                    "latency_ms": options["latency_ms"],
                    "error_rate": options["error_rate"],
                    "timeout_rate": options["timeout_rate"],
                    "rate_limit_rate": options["rate_limit_rate"],
                    "lost_answer_rate": options["lost_answer_rate"],
                    "session_expiry_seconds": options["session_expiry_seconds"],
                    "session_expiry_calls": options["session_expiry_calls"],
                    "seed": options["seed"],
                    "documented_only": options["documented_only"],
                }
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        state_dir = Path(options["state_dir"]) if options["state_dir"] else None
        if state_dir:
            state_dir.mkdir(parents=True, exist_ok=True)
        ports = {name: options[f"{name}_port"] for name in DEFAULT_PORTS}
        try:
            sandbox = start_sandbox(ports=ports, faults=faults, state_dir=state_dir)
        except OSError as exc:
            raise CommandError(f"cannot listen: {exc}") from None
        self.stdout.write(self.style.SUCCESS("PBX sandbox running (Ctrl-C to stop):"))
        for line in sandbox.describe():
            self.stdout.write(f"  {line}")
        self.stdout.write("  faults can be changed at run time: PUT <simulator>/_sandbox/faults")
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        stopped.wait()
        sandbox.stop()

"""Everything the portal needs on one laptop, in one command: the PBX sandbox, a Celery worker with
the periodic sweep (on the filesystem broker by default), and the web server."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

ROOT = Path(settings.BASE_DIR)


class Command(BaseCommand):
    help = "Run the PBX sandbox, a Celery worker with the sweep, and the web server, until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address of the web server")
        parser.add_argument("--no-sandbox", action="store_true", help="do not start the PBX simulators")
        parser.add_argument("--concurrency", type=int, default=4, help="worker processes")

    def handle(self, *args, **options):
        python = sys.executable
        commands = []
        if not options["no_sandbox"]:
            # the simulators keep what they hold under var/, so that a restart finds the PBX as it was
            sandbox = [python, "manage.py", "pbx_sandbox", "--state-dir", str(ROOT / "var" / "sandbox")]
            commands.append(("sandbox", sandbox))
        commands.append(
            (
                "worker",
                [
                    python, "-m", "celery", "-A", "portal", "worker", "--beat",
                    "--concurrency", str(options["concurrency"]),
                    "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                ],
            )
        )  # fmt: skip
        commands.append(("web", [python, "manage.py", "runserver", options["addr"]]))
        children = []
        for name, command in commands:
            self.stdout.write(f"starting {name}: {' '.join(command[1:])}")
            children.append((name, subprocess.Popen(command, cwd=ROOT)))
            time.sleep(0.5)
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        self.stderr.write(f"{name} stopped with code {child.returncode}; stopping the others")
                        stopping = True
                time.sleep(0.5)
        finally:
            for _name, child in children:
                if child.poll() is None:
                    child.terminate()
            for _name, child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

"""What every sandbox simulator shares: a Werkzeug WSGI app with routing, thread-safe in-memory
state (optionally saved to a JSON file), sessions that can be made to expire, and fault injection.

Each simulator subclasses `Simulator`, declares its routes in `routes()`, and keeps its data in
`self.state` (a JSON-serialisable dict) under `self.lock`. The control endpoints under
`/_sandbox/` are never subject to faults:

    GET  /_sandbox/state    what the simulator holds now (JSON)
    GET  /_sandbox/calls    how many API calls were answered, and the time spent on them
    GET  /_sandbox/faults   the current fault settings
    PUT  /_sandbox/faults   change them at run time, e.g. {"error_rate": 0.2, "latency_ms": 50}
    POST /_sandbox/reset    back to the documented seed data
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class FaultConfig:
    """Faults a simulator injects into its API answers (never into /_sandbox/)."""

    latency_ms: float = 0.0  # added to every API call
    error_rate: float = 0.0  # share of calls answered with a 5xx
    timeout_rate: float = 0.0  # share of calls that hang for `hang_seconds` (the client times out)
    rate_limit_rate: float = 0.0  # share of calls answered 429
    hang_seconds: float = 15.0
    session_expiry_seconds: float = 0.0  # 0: sessions/tokens never expire by age
    session_expiry_calls: int = 0  # 0: ... nor after a number of calls
    down: bool = False  # every API call answers 503
    lost_answer_rate: float = 0.0  # share of calls that are carried out, then answered 500 (the answer is lost)
    fail_call: int = 0  # the n-th API call from now fails (0: none): a test steps through an operation
    fail_after_applying: bool = False  # ... after it was carried out, rather than before
    cut_call: int = 0  # the n-th API call from now is answered with its body broken off half way (0: none)
    # refuse every extension the drivers may use beyond the seed documents (docs/backend-fidelity.md)
    # the way the real API refuses an unknown field, path or parameter
    documented_only: bool = False
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: FaultConfig | None = None) -> FaultConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = asdict(base) if base else {}
        for name, value in data.items():
            if name in ("down", "fail_after_applying", "documented_only"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name in ("fail_call", "cut_call"):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name} is the number of the call to fail (0: none)")
            elif name == "seed":
                if value is not None and not isinstance(value, int):
                    raise ValueError("seed must be an integer or null")
            elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number ≥ 0")
            elif name.endswith("_rate") and value > 1:
                raise ValueError(f"{name} is a share of calls between 0 and 1")
            values[name] = value
        return cls(**values)


class Session:
    """A login session or token issued by a simulator."""

    def __init__(self, token: str, subject: dict[str, Any]):
        self.token = token
        self.subject = subject
        self.created = time.monotonic()
        self.calls = 0


class SessionStore:
    """Issues tokens and expires them by age or by number of calls, as the fault config says."""

    def __init__(self, simulator: Simulator):
        self.simulator = simulator
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    def issue(self, subject: dict[str, Any], token: str | None = None) -> Session:
        session = Session(token or secrets.token_hex(24), subject)
        with self.lock:
            self.sessions[session.token] = session
        return session

    def validate(self, token: str | None) -> Session | None:
        """The live session for a token, counting this call; None if unknown or expired."""
        if not token:
            return None
        faults = self.simulator.faults
        with self.lock:
            session = self.sessions.get(token)
            if session is None:
                return None
            expired_by_age = (
                faults.session_expiry_seconds and time.monotonic() - session.created > faults.session_expiry_seconds
            )
            expired_by_use = faults.session_expiry_calls and session.calls >= faults.session_expiry_calls
            if expired_by_age or expired_by_use:
                del self.sessions[token]
                return None
            session.calls += 1
            return session

    def revoke(self, token: str) -> None:
        with self.lock:
            self.sessions.pop(token, None)

    def find(self, predicate: Callable[[Session], bool]) -> Session | None:
        with self.lock:
            return next((s for s in self.sessions.values() if predicate(s)), None)

    def expire_all(self) -> None:
        with self.lock:
            self.sessions.clear()


class Simulator:
    """Base of every platform simulator. Subclasses implement `seed_state()`, `routes()` and the
    endpoint methods named in their rules; an endpoint gets `(request, **url_args)` and returns a
    Werkzeug Response (see `json_response`)."""

    name: str = "simulator"
    description: str = ""

    def __init__(self, *, faults: FaultConfig | None = None, state_file: str | Path | None = None):
        self.faults = faults or FaultConfig()
        self.random = random.Random(self.faults.seed)
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.sessions = SessionStore(self)
        self.api_calls = 0
        self.busy_seconds = 0.0  # processor time spent answering API calls (one process: one at a time)
        self._calls_until_failure = self.faults.fail_call
        self._calls_until_cut = self.faults.cut_call
        self.state: dict[str, Any] = self._load_state() or self.seed_state()
        self.url_map = Map(
            [
                Rule(f"{CONTROL_PREFIX}state", endpoint="_control_state", methods=["GET"]),
                Rule(f"{CONTROL_PREFIX}faults", endpoint="_control_faults", methods=["GET", "PUT"]),
                Rule(f"{CONTROL_PREFIX}reset", endpoint="_control_reset", methods=["POST"]),
                Rule(f"{CONTROL_PREFIX}calls", endpoint="_control_calls", methods=["GET"]),
                *self.routes(),
            ],
            strict_slashes=False,
            merge_slashes=False,
        )
        self.base_url = ""  # set by the server once the port is known

    # to be provided by each simulator
    def seed_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def routes(self) -> list[Rule]:
        raise NotImplementedError

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing the simulator started on its own (an order's run, a webhook) is under
        way; whether it settled in time. Most simulators start nothing."""
        return True

    def credentials_hint(self) -> str:
        """One line printed at start: how to log in to this simulator."""
        return ""

    def error_response(self, status: int, message: str) -> Response:
        """The platform's own error body for an injected fault or an unknown path."""
        return json_response({"error": message}, status=status)

    def request_error(self, request: Request, status: int, message: str) -> Response:
        """The error answer to one request. By default `error_response`; a platform whose documented
        error body names the request (Xelion's `info`, the Park Manager's `path`) overrides this, so
        that unknown paths and wrong methods answer in the same shape as its own refusals."""
        return self.error_response(status, message)

    # WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        started = time.thread_time()  # the processor time of this call: its sleeps and waits left out
        response = self.dispatch(request)
        if not request.path.startswith(CONTROL_PREFIX):
            spent = time.thread_time() - started
            with self.lock:
                self.busy_seconds += spent
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        control = request.path.startswith(CONTROL_PREFIX)
        fail_after = False
        if not control:
            fail_now, fail_after = self._planned_failure()
            if fail_now:
                return self.request_error(request, 500, "internal server error (sandbox: injected)")
            injected = self._inject_faults(request)
            if injected is not None:
                return injected
            with self.lock:
                self.api_calls += 1
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self.request_error(request, 404, "invalid path")
        except MethodNotAllowed as exc:
            refused = self.request_error(request, 405, "method not allowed")
            refused.headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))  # HTTP requires it on a 405
            return refused
        except HTTPException as exc:
            return self.request_error(request, exc.code or 400, exc.description or "bad request")
        try:
            response = getattr(self, endpoint)(request, **args)
        except BadInput as exc:
            return self.request_error(request, exc.status, exc.message)
        if not control and self.state_file and request.method not in ("GET", "HEAD"):
            self.save()
        if fail_after:  # carried out, but the caller never hears so
            message = "internal server error (sandbox: injected after the change was made)"
            return self.request_error(request, 500, message)
        if not control and self._cut_now():  # the connection dropped mid-answer: half a body
            response.set_data(response.get_data()[: len(response.get_data()) // 2])
        return response

    def _cut_now(self) -> bool:
        with self.lock:
            if self._calls_until_cut > 0:
                self._calls_until_cut -= 1
                return self._calls_until_cut == 0
        return False

    def _planned_failure(self) -> tuple[bool, bool]:
        """(fail before carrying the call out, fail after): the countdown of `fail_call`, then the
        share of lost answers."""
        with self.lock:
            if self._calls_until_failure > 0:
                self._calls_until_failure -= 1
                if self._calls_until_failure == 0:
                    after = self.faults.fail_after_applying
                    return not after, after
        lost = self.faults.lost_answer_rate and self.random.random() < self.faults.lost_answer_rate
        return False, bool(lost)

    def _inject_faults(self, request: Request) -> Response | None:
        faults = self.faults
        if faults.down:
            return self.request_error(request, 503, "service unavailable (sandbox: down)")
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        roll = self.random.random()
        if roll < faults.timeout_rate:
            time.sleep(faults.hang_seconds)
            return self.request_error(request, 504, "gateway timeout (sandbox: injected)")
        roll -= faults.timeout_rate
        if roll < faults.error_rate:
            return self.request_error(request, 500, "internal server error (sandbox: injected)")
        roll -= faults.error_rate
        if roll < faults.rate_limit_rate:
            return self.request_error(request, 429, "too many requests (sandbox: injected)")
        return None

    # control endpoints
    def _control_state(self, request: Request) -> Response:
        with self.lock:
            snapshot = copy.deepcopy(self.state)
        return json_response({"simulator": self.name, "api_calls": self.api_calls, "state": snapshot})

    def _control_faults(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                self.set_faults(read_json(request, expect=dict))
            except ValueError as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response(asdict(self.faults))

    def _control_calls(self, request: Request) -> Response:
        """How many API calls were answered so far: cheaper than the whole state of a large PBX."""
        return json_response(
            {"simulator": self.name, "api_calls": self.api_calls, "busy_seconds": round(self.busy_seconds, 4)}
        )

    def _control_reset(self, request: Request) -> Response:
        self.reset()
        return json_response({"reset": True})

    # run-time control from Python (tests, the management command)
    def set_faults(self, changes: dict[str, Any]) -> None:
        self.faults = FaultConfig.from_dict(changes, base=self.faults)
        if "seed" in changes:
            self.random = random.Random(self.faults.seed)
        if "fail_call" in changes:
            with self.lock:
                self._calls_until_failure = self.faults.fail_call
        if "cut_call" in changes:
            with self.lock:
                self._calls_until_cut = self.faults.cut_call
        self._calls_until_cut = self.faults.cut_call

    def reset(self) -> None:
        with self.lock:
            self.state = self.seed_state()
            self.api_calls = 0
        self.sessions.expire_all()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.state)

    def save(self) -> None:
        """Write the state to its file: whole (a temporary file replaces it) and one writer at a
        time (the simulator answers requests on several threads)."""
        if not self.state_file:
            return
        with self.lock:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
            tmp.replace(self.state_file)

    def _load_state(self) -> dict[str, Any] | None:
        if self.state_file and self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return None

    def next_id(self, counter: str, start: int = 1) -> int:
        """A new integer id from a named counter kept in the state (so it survives a save)."""
        with self.lock:
            counters = self.state.setdefault("_counters", {})
            value = counters.get(counter, start)
            counters[counter] = value + 1
            return value


class BadInput(Exception):
    """Raised inside an endpoint to answer with the platform's error body."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def json_response(
    data: Any, status: int = 200, content_type: str = "application/json", headers: dict[str, str] | None = None
) -> Response:
    body = "" if data is None else json.dumps(data, ensure_ascii=False)
    return Response(body, status=status, content_type=content_type, headers=headers)


def read_json(request: Request, *, expect: type | tuple[type, ...] = (dict, list, str, int)) -> Any:
    """The request body as JSON of the expected type, or BadInput with a plain message. A body
    must say it is JSON (every document's requests send `Content-Type: application/json`): a
    missing or other content type is refused with 415, as an HTTP API refuses a body it cannot read."""
    require_json_content_type(request)
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadInput("empty payload")
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadInput("payload is not valid JSON") from None
    if not isinstance(data, expect):
        raise BadInput("payload has the wrong JSON type")
    return data


def require_json_content_type(request: Request) -> None:
    """Refuse (415) a request body that does not say it is JSON."""
    if not _is_json(request.mimetype):
        shown = request.mimetype or "none"
        raise BadInput(f"unsupported content type {shown[:60]}: send application/json", status=415)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))

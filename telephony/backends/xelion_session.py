"""A logged-in session on one Xelion tenant (`/api/v1/<tenant>/`) and the mapping of Xelion's
answers onto the error taxonomy. Both Xelion drivers use it; they differ only in how a session
logs in (`login` callable): with the platform credentials at `me/login`, or through the Park
Manager's `POST /api/v2/tenants/{id}/login`.

Session rules:
- every call carries `Authorization: xelion <authentication>`;
- shortly before `validUntil` (UTC, `yyyy-MM-dd HH:mm:ss` from the server, ISO 8601 from the Park
  Manager: both are read) the session renews with `me/renew`, whose body is the renewal token as a
  bare JSON string; the renewal token rotates, so the new one replaces the old at once;
- a 401 (no, expired or invalid token) triggers one fresh login and one retry of the call; a
  second 401 is an AuthenticationError;
- `close()` logs out.

Errors: 429 (10400/10402), 5xx, timeouts and refused connections are TransientError — including
500/11000, which Xelion also answers for a duplicate; the create paths re-read by natural key on
a 5xx and adopt what they find. 400 is RejectedError with Xelion's message, 401
AuthenticationError, 404/10100 NotFoundError. 403/10101 (no permission or no licence) is a
RejectedError: the credentials were accepted, and neither a fresh login nor a retry can help —
staff must grant the role or the licences, which the message tells them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

from telephony.backends.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendError,
    NotFoundError,
    RejectedError,
    TransientError,
)
from telephony.backends.http import HttpClient, HttpResponse

SERVER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ERRORS_WORTH_A_RETRY = {10074, 10400, 10402}  # could not start a tenant / session busy / timed out waiting


def parse_valid_until(text: Any) -> dt.datetime | None:
    """`validUntil` in either format, as an aware UTC datetime; None when unreadable."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return dt.datetime.strptime(text.strip(), SERVER_TIME_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def error_from(response: HttpResponse, action: str) -> BackendError:
    """The taxonomy error for a failed Xelion answer, carrying Xelion's own message."""
    body = response.json()
    code = body.get("errorCode") if isinstance(body, dict) else None
    message = ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or "")
    message = message or response.text[:200].strip() or f"{action} failed"
    status = response.status
    if status == 429 or status >= 500 or code in ERRORS_WORTH_A_RETRY:
        return TransientError(message, status=status, code=code)
    if status == 401:
        return AuthenticationError(message, status=status, code=code)
    if status == 404:
        return NotFoundError(message, status=status, code=code)
    if status == 409:
        return AlreadyExistsError(message, status=status, code=code)
    return RejectedError(message, status=status, code=code)


def expect_json_object(response: HttpResponse, action: str) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise TransientError(f"{action}: the answer is not a JSON object", status=response.status)
    return body


class XelionSession:
    """One tenant's session on one Xelion server; logs in lazily and keeps itself valid."""

    def __init__(
        self,
        http: HttpClient,
        tenant: str,
        login: Callable[[], dict[str, Any]],
        *,
        renew_margin_seconds: float = 60.0,
        page_size: int | None = None,
    ):
        self.http = http
        self.tenant = tenant
        self._login = login
        self.renew_margin_seconds = renew_margin_seconds
        self.page_size = page_size
        self.token = ""
        self.renewal_token = ""
        self.valid_until: dt.datetime | None = None
        self.login_answer: dict[str, Any] = {}
        self._lock = threading.RLock()  # a read-back walks several lists at once on one session

    def path(self, relative: str) -> str:
        return f"api/v1/{self.tenant}/{relative.lstrip('/')}"

    # the session's life
    def login(self) -> dict[str, Any]:
        answer = self._login()
        self._adopt(answer, "login")
        self.login_answer = answer
        return answer

    def _adopt(self, answer: dict[str, Any], action: str) -> None:
        token, renewal = answer.get("authentication"), answer.get("renewalToken")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"{action} on tenant {self.tenant} answered no authentication token")
        self.http.add_secret(token)
        if isinstance(renewal, str):
            self.http.add_secret(renewal)
        self.token, self.renewal_token = token, renewal if isinstance(renewal, str) else ""
        self.valid_until = parse_valid_until(answer.get("validUntil"))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"xelion {self.token}"}

    def ensure(self) -> None:
        """Logged in, and renewed when `validUntil` is near."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> None:
        if not self.token:
            self.login()
            return
        if self.valid_until is None:
            return
        remaining = (self.valid_until - dt.datetime.now(dt.UTC)).total_seconds()
        if remaining <= self.renew_margin_seconds:
            self.renew()

    def renew(self) -> None:
        if not self.renewal_token:
            self.login()
            return
        response = self.http.request(
            "POST", self.path("me/renew"), json_body=self.renewal_token, headers=self._headers()
        )
        if response.status == 401:
            self.token = ""  # the session is gone: start a new one
            self.login()
            return
        if not response.ok:
            raise error_from(response, "renew")
        self._adopt(expect_json_object(response, "renew"), "renew")

    def close(self) -> None:
        if not self.token:
            return
        with contextlib.suppress(BackendError):  # a session we cannot end expires on its own
            self.http.request("POST", self.path("me/logout"), headers=self._headers())
        self.token = ""

    # calls
    def call(
        self, method: str, relative: str, *, json_body: Any = None, params: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A tenant API call that succeeded, after at most one fresh login; raises otherwise."""
        self.ensure()
        used = self.token
        response = self.http.request(
            method, self.path(relative), json_body=json_body, params=params, headers=self._headers()
        )
        if response.status == 401:
            with self._lock:
                if self.token == used:  # not yet replaced by a call running alongside
                    self.token = ""
                    self.login()
            response = self.http.request(
                method, self.path(relative), json_body=json_body, params=params, headers=self._headers()
            )
        if not response.ok:
            raise error_from(response, f"{method} {relative}")
        return response

    def get_object(self, relative: str) -> dict[str, Any] | None:
        """One object (`{"object": ...}`), or None when it does not exist."""
        try:
            body = expect_json_object(self.call("GET", relative), f"GET {relative}")
        except NotFoundError:
            return None
        obj = body.get("object")
        if not isinstance(obj, dict):
            raise TransientError(f"GET {relative}: the answer has no object")
        return obj

    def create(self, collection: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = expect_json_object(self.call("POST", collection, json_body=payload), f"POST {collection}")
        obj = body.get("object")
        if not isinstance(obj, dict) or not obj.get("oid"):
            raise TransientError(f"POST {collection}: the answer has no object with an oid")
        return obj

    def patch(self, relative: str, operations: list[dict[str, Any]]) -> None:
        """Apply operations; the answer `1` and an empty answer both mean success."""
        if operations:
            self.call("PATCH", relative, json_body={"operations": operations})

    def delete(self, relative: str) -> None:
        """Delete an object; one that is already gone is fine."""
        with contextlib.suppress(NotFoundError):
            self.call("DELETE", relative)

    def iterate(
        self,
        collection: str,
        *,
        where: tuple[str, str] | None = None,
        include: tuple[str, ...] = (),
        limit: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every object of a list, following the `after=<nextId>` cursor page by page (pages of
        `limit`, else of the session's page size, else of the server's default)."""
        params: dict[str, Any] = {}
        if where:
            params["where"] = f"{where[0]}={where[1]}"
        if include:
            params["include"] = ",".join(include)
        if limit or self.page_size:
            params["limit"] = limit or self.page_size
        seen: set[str] = set()
        cursor = None
        while True:
            page_params = dict(params, after=cursor) if cursor else params
            body = expect_json_object(self.call("GET", collection, params=page_params), f"GET {collection}")
            data = body.get("data")
            if not isinstance(data, list):
                raise TransientError(f"GET {collection}: the answer has no data list")
            fresh = 0
            for entry in data:
                obj = entry.get("object") if isinstance(entry, dict) else None
                if isinstance(obj, dict) and obj.get("oid") not in seen:
                    seen.add(obj.get("oid"))
                    fresh += 1
                    yield obj
            paging = (body.get("meta") or {}).get("paging") or {}
            next_id = paging.get("nextId")
            # stop on an empty page, on no cursor, or on a cursor that brings nothing new
            if not data or not fresh or not next_id or next_id == cursor:
                return
            cursor = next_id

    def all(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        return list(self.iterate(collection, **kwargs))

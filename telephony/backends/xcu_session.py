"""The XCU conversation: cookie login, one fresh login when the session has expired, and the
mapping of XCU answers onto the error taxonomy.

XCU (a Play application) answers `POST /api/1.0/login` with a session cookie that every later call
must carry. Sessions expire; an expired one answers 401, after which this client logs in once
more and repeats the call a single time. Errors come back as `{"error": "<message>"}`; the
message is kept so that the portal can show the backend's own words.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

from telephony.backends.base import Connection
from telephony.backends.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BackendError,
    NotFoundError,
    RejectedError,
    TransientError,
)
from telephony.backends.http import ExchangeLog, HttpClient, HttpResponse

API_PATH = "/api/1.0"


def api_base_url(base_url: str) -> str:
    """The `/api/1.0/` root, whether the platform was saved with it or with the bare host:port."""
    url = base_url.rstrip("/")
    if not url.endswith(API_PATH):
        url += API_PATH
    return url + "/"


def entity_path(combined_id: str, suffix: str = "") -> str:
    # "@" is legal in a path segment; anything else unusual in an entity name is escaped
    return f"entities/{quote(combined_id, safe='@')}{suffix}"


class XcuClient:
    """Calls one XCU with a session cookie it carries itself (the cookie jar is switched off so that
    a stale cookie can never ride along after a fresh login)."""

    def __init__(self, connection: Connection, log: ExchangeLog):
        self.connection = connection
        self.http = HttpClient(
            api_base_url(connection.base_url),
            timeout=connection.timeout,
            verify_tls=connection.verify_tls,
            log=log,
            known_secrets=(connection.secret,),
        )
        self.http.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self.session_cookie = ""

    def login(self) -> None:
        self.session_cookie = ""
        response = self.http.request(
            "POST", "login", json_body={"login": self.connection.username, "password": self.connection.secret}
        )
        if 400 <= response.status < 500 and response.status not in (408, 429):
            raise AuthenticationError(f"XCU refused the login: {error_message(response)}", status=response.status)
        if not response.ok:
            raise error_for(response, "POST login")
        if not response.cookies:
            raise AuthenticationError("XCU accepted the login but set no session cookie", status=response.status)
        for value in response.cookies.values():
            self.http.add_secret(value)
        self.session_cookie = "; ".join(f"{name}={value}" for name, value in response.cookies.items())

    def call(self, method: str, path: str, json_body: Any = None) -> Any:
        """The parsed answer of one API call; raises the taxonomy's error for anything but 2xx."""
        if not self.session_cookie:
            self.login()
        response = self._send(method, path, json_body)
        if response.status == 401:
            self.login()  # the session expired (or was never valid): one fresh login, one retry
            response = self._send(method, path, json_body)
            if response.status == 401:
                raise AuthenticationError(
                    f"XCU refused a fresh session: {error_message(response)}", status=response.status
                )
        if not response.ok:
            raise error_for(response, f"{method} {path}")
        return response.json()

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def items(self, path: str) -> list[dict[str, Any]]:
        """A documented `{"items": [...]}` list (templates, a bare array, are accepted as well)."""
        answer = self.get(path)
        if isinstance(answer, dict) and isinstance(answer.get("items"), list):
            return answer["items"]
        if isinstance(answer, list):
            return answer
        raise BackendError(f"XCU answered GET {path} with an unexpected body")

    def stream_items(self, path: str) -> Iterator[dict[str, Any]]:
        """A documented `{"items": [...]}` list, parsed item by item as it arrives (a long user list)."""
        if not self.session_cookie:
            self.login()
        answer = self.http.stream("GET", path, prefix="items.item", headers={"Cookie": self.session_cookie})
        if answer.response.status == 401:  # the session expired before the read began
            self.login()
            answer = self.http.stream("GET", path, prefix="items.item", headers={"Cookie": self.session_cookie})
            if answer.response.status == 401:
                raise AuthenticationError(f"XCU refused a fresh session: {error_message(answer.response)}", status=401)
        if not answer.response.ok:
            raise error_for(answer.response, f"GET {path}")
        yield from answer.items

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            return self.get(path)
        except NotFoundError:
            return None

    def delete_if_present(self, path: str) -> None:
        with contextlib.suppress(NotFoundError):  # already gone is what we wanted
            self.call("DELETE", path)

    def _send(self, method: str, path: str, json_body: Any) -> HttpResponse:
        return self.http.request(method, path, json_body=json_body, headers={"Cookie": self.session_cookie})

    def close(self) -> None:
        self.http.close()


def error_message(response: HttpResponse) -> str:
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    text = response.text.strip()
    return text[:200] if text else f"HTTP {response.status}"


def error_for(response: HttpResponse, what: str) -> BackendError:
    """The taxonomy's error for a non-2xx XCU answer, carrying XCU's own message."""
    status, message = response.status, error_message(response)
    if status == 429 or status == 408 or status >= 500:
        return TransientError(f"XCU is unavailable ({what}): {message}", status=status)
    if status in (401, 403):
        return AuthenticationError(message, status=status)
    if status == 404:
        return NotFoundError(message, status=status)
    if status == 409:
        return AlreadyExistsError(message, status=status)
    return RejectedError(message, status=status)

"""The XC5-XS `/api-sys/` wire protocol for `Xc5Driver`: Basic authentication on every request,
answers that are always a JSON array (`response[0].error` on failure), the mapping of statuses onto
the error taxonomy, and PATCH with its documented fallback `PUT ?patch=true`.

Status mapping: 401 → AuthenticationError (after resending once); 404 → NotFoundError; 409 →
AlreadyExistsError; 408, 429 and 5xx → TransientError; 400, 403 (outside an api_access=user tree,
reserved names) and any other 4xx → RejectedError with XC5's own `error` text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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

API_PATH = "/api-sys"
PATCH_REFUSED = (405, 501)  # "Can use PUT with the url parameter ?patch=true for clients that don't support PATCH"


def api_path(*segments: str) -> str:
    """A path under /api-sys/ with each segment quoted (account names hold @ and dots)."""
    return "/".join(quote(str(segment), safe="@:+*") for segment in segments)


def error_message(response: HttpResponse) -> str:
    body = response.json()
    if isinstance(body, list) and body and isinstance(body[0], dict) and body[0].get("error"):
        return str(body[0]["error"])
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    text = response.text.strip()
    return text[:200] if text else f"HTTP {response.status}"


class Xc5Client:
    """Sends JSON to one XC5 system with Basic credentials and returns the answer's records."""

    def __init__(self, connection: Connection, log: ExchangeLog):
        root = connection.base_url.rstrip("/")
        if not root.endswith(API_PATH):
            root += API_PATH
        self.http = HttpClient(
            root + "/",
            timeout=connection.timeout,
            verify_tls=connection.verify_tls,
            log=log,
            known_secrets=(connection.secret,),
        )
        self.auth = (connection.username, connection.secret)
        self.patch_supported = True  # learnt per driver: a 405/501 on PATCH switches to PUT ?patch=true

    def get(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        return self.call("GET", path, params=params)

    def stream(self, path: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """The records of a GET, parsed one by one as they arrive (a long list of accounts)."""
        answer = self.http.stream("GET", path, prefix="item", params=params, auth=self.auth)
        if answer.response.status == 401:  # as in `send`: the credentials once more
            answer = self.http.stream("GET", path, prefix="item", params=params, auth=self.auth)
        if not answer.response.ok:
            raise mapped_error("GET", path, answer.response)
        for record in answer.items:
            if not isinstance(record, dict):
                raise RejectedError(f"GET {path}: XC5 answered with an array of something other than records")
            yield record

    def get_optional(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]] | None:
        try:
            return self.get(path, params)
        except NotFoundError:
            return None

    def put(self, path: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.call("PUT", path, body=body)

    def delete_if_present(self, path: str) -> None:
        with contextlib.suppress(NotFoundError):  # already gone is what a delete wants
            self.call("DELETE", path)

    def patch(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Partial update; PUT ?patch=true where PATCH is refused (older proxies, some clients)."""
        if self.patch_supported:
            response = self.send("PATCH", path, body=body)
            if response.status not in PATCH_REFUSED:
                return self.records("PATCH", path, response)
            self.patch_supported = False
        return self.call("PUT", path, body=body, params={"patch": "true"})

    def call(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return self.records(method, path, self.send(method, path, body=body, params=params))

    def send(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> HttpResponse:
        response = self.http.request(method, path, json_body=body, params=params, auth=self.auth)
        if response.status == 401:
            # Basic authentication has no session to renew: the one "log in again" is resending the
            # credentials, which helps when the refusal was a glitch and never executed the call.
            response = self.http.request(method, path, json_body=body, params=params, auth=self.auth)
        return response

    @staticmethod
    def records(method: str, path: str, response: HttpResponse) -> list[dict[str, Any]]:
        if not response.ok:
            raise mapped_error(method, path, response)
        body = response.json()
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise RejectedError(
                f"{method} {path}: XC5 answered HTTP {response.status} without the JSON array it always sends",
                status=response.status,
            )
        return body

    def close(self) -> None:
        self.http.close()


def mapped_error(method: str, path: str, response: HttpResponse) -> BackendError:
    """The taxonomy class for a refused call, carrying XC5's own message."""
    status = response.status
    message = error_message(response)
    if status in (408, 429) or status >= 500:
        return TransientError(f"XC5 is busy or failing: {message}", status=status)
    if status == 401:
        return AuthenticationError(f"XC5 refused the credentials: {message}", status=status)
    if status == 404:
        return NotFoundError(message, status=status)
    if status == 409:
        return AlreadyExistsError(message, status=status)
    return RejectedError(message, status=status)

"""Requests of the crawl: `Visitor`, a test client logged in as one login of the world that records
the exception behind a 500 instead of raising it, and what it fetched (`Fetched`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.signals import got_request_exception
from django.test import Client

from tests.crawl.world import Login

PROJECT = f"{Path(__file__).resolve().parents[2]}/"
# What a login is turned away with: forbidden, not found, or a GET to a POST-only page.
DENIED_STATUSES = (401, 403, 404, 405)  # 401: the API without a token or a session


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", errors="replace")


def is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def is_login_redirect(response) -> bool:
    """Sent to a login page: how both sites turn away a visitor who is not signed in (or, in the
    admin, not staff)."""
    if response.status_code not in (301, 302):
        return False
    location = urlsplit(response.get("Location", "")).path
    return location in ("/admin/login/", "/login/")


@dataclass
class Fetched:
    url: str
    status: int
    body: str
    location: str
    html: bool
    error: str = ""  # the exception behind a 500, if any
    response: Any = None


class Visitor:
    """A test client logged in as one login (or anonymous) that never raises a view's exception:
    a 500 is recorded with the exception that caused it. Use as a context manager."""

    def __init__(self, login: Login):
        self.login = login
        self.client = Client(raise_request_exception=False)
        self._exceptions: list[BaseException] = []
        if login.user is not None:
            self.client.force_login(login.user)
        session = self.client.cookies.get("sessionid")
        self._session = session.value if session else None

    def __enter__(self) -> Visitor:
        got_request_exception.connect(self._record, dispatch_uid=f"crawl-{id(self)}")
        self._logger = logging.getLogger("django.request")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)  # 404s and 500s are the crawl's business, not the log's
        return self

    def __exit__(self, *exc_info) -> None:
        got_request_exception.disconnect(dispatch_uid=f"crawl-{id(self)}")
        self._logger.setLevel(self._level)

    def _record(self, sender, request=None, **kwargs):
        exc = sys.exc_info()[1]
        if exc is not None:
            self._exceptions.append(exc)

    def _fetched(self, url: str, response) -> Fetched:
        error = ""
        if response.status_code >= 500 and self._exceptions:
            error = describe_exception(self._exceptions[-1])
        self._exceptions.clear()
        return Fetched(
            url,
            response.status_code,
            body_of(response),
            response.get("Location", ""),
            is_html(response),
            error,
            response,
        )

    def get(self, url: str) -> Fetched:
        return self._fetched(url, self.client.get(url))

    def post(self, url: str, data: Any) -> Fetched:
        return self._fetched(url, self.client.post(url, data))

    def keep_session(self) -> None:
        """Log in again if a request (rolled back since) replaced the session."""
        if self.login.user is None:
            return
        current = self.client.cookies.get("sessionid")
        if current is None or current.value != self._session:
            self.client.force_login(self.login.user)
            self._session = self.client.cookies["sessionid"].value


def describe_exception(exc: BaseException) -> str:
    """The exception with the innermost frame of the project's own code (else the innermost one)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(PROJECT) and "/.venv/" not in f.filename]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    place = f" at {where.filename.removeprefix(PROJECT)}:{where.lineno} ({where.name})" if where else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{place}"

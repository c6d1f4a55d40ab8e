"""The one HTTP client every driver uses: timeouts, bounded answers, no cross-host redirects, and a
redacted log of every exchange.

It never raises for an HTTP status: a driver reads the platform's own error body and maps it onto
the taxonomy in `errors`. It does raise for what never reached a backend or must not be read:
network failures and timeouts (transient), an answer larger than allowed, a redirect elsewhere.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import ijson
import requests

from telephony.backends import guard
from telephony.backends.errors import BackendError, TransientError, UnsafeRequestError
from telephony.backends.redaction import redact_text, redact_url

logger = logging.getLogger("telephony.backends.http")

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
# a streamed list is read item by item, so its size costs no memory: the cap stops a runaway answer
DEFAULT_MAX_STREAMED_BYTES = 512 * 1024 * 1024
MAX_SAME_HOST_REDIRECTS = 3


@dataclass
class Exchange:
    """One request and its answer, as kept in a job's log (secrets already masked)."""

    method: str
    url: str
    status: int | None
    duration_ms: float
    request_body: str = ""
    response_body: str = ""
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 1),
            "request_body": self.request_body,
            "response_body": self.response_body,
            "error": self.error,
        }


@dataclass
class ExchangeLog:
    """The redacted exchanges of one unit of work (a provisioning job, a connection test)."""

    limit: int = 200
    entries: list[Exchange] = field(default_factory=list)
    call_count: int = 0  # every exchange, the ones beyond the limit too

    def add(self, exchange: Exchange) -> None:
        self.call_count += 1
        if len(self.entries) < self.limit:
            self.entries.append(exchange)

    def clear(self) -> None:
        self.entries.clear()
        self.call_count = 0

    def as_list(self) -> list[dict[str, Any]]:
        return [entry.as_dict() for entry in self.entries]


@dataclass
class HttpResponse:
    """A fully read, size-bounded answer."""

    status: int
    headers: dict[str, str]
    content: bytes
    url: str
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The parsed body, or None when it is empty or not JSON."""
        if not self.content.strip():
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class StreamedAnswer:
    """An answer whose list is read while it arrives: `response` has the status and headers (and,
    for an error, the whole body); `items` yields the list's items once."""

    response: HttpResponse
    items: Any


_END = object()


class _CountingReader:
    """The raw answer as a file for ijson, refusing to read past `limit` bytes."""

    def __init__(self, response: requests.Response, limit: int):
        self.response, self.limit, self.size = response, limit, 0
        self.chunks = response.iter_content(chunk_size=65536)

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe for bytes or text
            return b""
        chunk = next(self.chunks, b"")
        self.size += len(chunk)
        if self.size > self.limit:
            self.response.close()
            raise UnsafeRequestError(
                f"answer exceeds the limit of {self.limit} bytes", status=self.response.status_code
            )
        return chunk


def _answer(response: requests.Response, content: bytes, url: str) -> HttpResponse:
    return HttpResponse(
        status=response.status_code,
        headers=dict(response.headers),
        content=content,
        url=url,
        cookies=response.cookies.get_dict(),
    )


class HttpClient:
    """Talks to one backend base URL; every driver owns one."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        verify_tls: bool = True,
        log: ExchangeLog | None = None,
        known_secrets: tuple[str, ...] = (),
        default_headers: dict[str, str] | None = None,
    ):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.max_streamed_bytes = DEFAULT_MAX_STREAMED_BYTES
        self.verify_tls = verify_tls
        self.log = log if log is not None else ExchangeLog()
        self.known_secrets = tuple(s for s in known_secrets if s)
        self.session = requests.Session()
        self.session.trust_env = False  # never route PBX traffic through an ambient proxy
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, guard.CheckedAdapter())
        if default_headers:
            self.session.headers.update(default_headers)

    def add_secret(self, secret: str) -> None:
        """Mask a value learnt at run time (a token, a session cookie) in every later log entry."""
        if secret and secret not in self.known_secrets:
            self.known_secrets = (*self.known_secrets, secret)

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        raw_body: bytes | str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> HttpResponse:
        response, url, exchange, started = self._open(method, path, json_body, raw_body, params, headers, auth)
        content = self._guarded(exchange, started, method, url, lambda: self._read_bounded(response))
        exchange.response_body = redact_text(content.decode("utf-8", errors="replace"), self.known_secrets)
        self._record(exchange, started)
        return _answer(response, content, url)

    def stream(
        self,
        method: str,
        path: str,
        *,
        prefix: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> StreamedAnswer:
        """An answer whose JSON list at `prefix` (ijson's notation: "item" for a bare array,
        "items.item" for `{"items": [...]}`) is parsed item by item while it arrives. A non-2xx
        answer is read whole (it is an error body) and its `items` is empty."""
        response, url, exchange, started = self._open(method, path, None, None, params, headers, auth)
        if not 200 <= response.status_code < 300:
            content = self._guarded(exchange, started, method, url, lambda: self._read_bounded(response))
            exchange.response_body = redact_text(content.decode("utf-8", errors="replace"), self.known_secrets)
            self._record(exchange, started)
            return StreamedAnswer(_answer(response, content, url), iter(()))
        return StreamedAnswer(
            _answer(response, b"", url), self._items(response, prefix, exchange, started, method, url)
        )

    def _items(self, response: requests.Response, prefix: str, exchange: Exchange, started: float, method, url):
        counted = _CountingReader(response, self.max_streamed_bytes)
        list_prefix = prefix.removesuffix("item").removesuffix(".")
        found = []

        def watched(events):  # notes whether the answer holds the list at all: none is no empty list
            for event in events:
                if event[1] == "start_array" and event[0] == list_prefix:
                    found.append(True)
                yield event

        events = watched(ijson.parse(counted, use_float=True))
        count = 0
        try:
            for item in self._guarded_iter(exchange, started, method, url, ijson.items(events, prefix)):
                count += 1
                yield item
        finally:
            response.close()
        if not found:
            self._record(exchange, started, error="no list in the answer")
            raise BackendError(f"{method} {redact_url(url)}: the answer holds no list at {prefix!r}")
        exchange.response_body = f"({count} items, {counted.size} bytes, read as they arrived)"
        self._record(exchange, started)

    def _guarded_iter(self, exchange: Exchange, started: float, method: str, url: str, items):
        iterator = iter(items)
        while True:
            try:
                item = self._guarded(exchange, started, method, url, lambda: next(iterator, _END))
            except ijson.JSONError as exc:
                self._record(exchange, started, error="the answer is not valid JSON")
                raise TransientError(f"{method} {redact_url(url)}: the answer broke off or is not JSON") from exc
            if item is _END:
                return
            yield item

    def _open(self, method, path, json_body, raw_body, params, headers, auth):
        """Send the request (following same-host redirects) and return the unread answer."""
        url = self.url_for(path)
        origin = urlsplit(url)
        body_for_log = ""
        if json_body is not None:
            body_for_log = redact_text(json.dumps(json_body), self.known_secrets)
        elif raw_body:
            body_for_log = redact_text(
                raw_body if isinstance(raw_body, str) else raw_body.decode(errors="replace"), self.known_secrets
            )
        for _hop in range(MAX_SAME_HOST_REDIRECTS + 1):
            started = time.monotonic()
            shown_url = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}" if params else url
            exchange = Exchange(
                method=method, url=redact_url(shown_url), status=None, duration_ms=0, request_body=body_for_log
            )
            try:
                guard.current_policy().check_url(url)
            except UnsafeRequestError as refusal:
                self._record(exchange, started, error=str(refusal))
                raise
            response = self._guarded(
                exchange,
                started,
                method,
                url,
                functools.partial(
                    self.session.request,
                    method,
                    url,
                    json=json_body,
                    data=raw_body,
                    params=params,
                    headers=headers,
                    auth=auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                    verify=self.verify_tls,
                ),
            )
            exchange.status = response.status_code
            if not response.is_redirect:
                return response, url, exchange, started
            content = self._guarded(exchange, started, method, url, functools.partial(self._read_bounded, response))
            exchange.response_body = redact_text(content.decode("utf-8", errors="replace"), self.known_secrets)
            self._record(exchange, started)
            target = urljoin(url, response.headers.get("Location", ""))
            if urlsplit(target).netloc != origin.netloc or urlsplit(target).scheme != origin.scheme:
                raise UnsafeRequestError(
                    f"{redact_url(url)} redirected to another host ({redact_url(target)}); not followed",
                    status=response.status_code,
                )
            url = target
        raise UnsafeRequestError(f"{redact_url(url)}: too many redirects")

    def _guarded(self, exchange: Exchange, started: float, method: str, url: str, work):
        """`work()`, with what never reached a backend (or broke off) as the taxonomy's errors."""
        try:
            return work()
        except UnsafeRequestError as refusal:  # the connection was refused by the address policy
            self._record(exchange, started, error=str(refusal))
            raise
        except requests.Timeout as exc:
            self._record(exchange, started, error=f"timed out after {self.timeout:g} s")
            raise TransientError(f"{method} {redact_url(url)} timed out after {self.timeout:g} s") from exc
        except requests.ConnectionError as exc:
            self._record(exchange, started, error="connection failed")
            origin = urlsplit(url)
            raise TransientError(f"could not connect to {origin.scheme}://{origin.netloc}: {_short(exc)}") from exc
        except requests.RequestException as exc:
            self._record(exchange, started, error=_short(exc))
            raise TransientError(f"{method} {redact_url(url)} failed: {_short(exc)}") from exc

    def _read_bounded(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            response.close()
            raise UnsafeRequestError(
                f"answer of {declared} bytes exceeds the limit of {self.max_response_bytes}",
                status=response.status_code,
            )
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self.max_response_bytes:
                response.close()
                raise UnsafeRequestError(
                    f"answer exceeds the limit of {self.max_response_bytes} bytes", status=response.status_code
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _record(self, exchange: Exchange, started: float, *, error: str = "") -> None:
        exchange.duration_ms = (time.monotonic() - started) * 1000
        exchange.error = error
        self.log.add(exchange)
        logger.debug(
            "%s %s -> %s in %.0f ms %s", exchange.method, exchange.url, exchange.status, exchange.duration_ms, error
        )

    def close(self) -> None:
        self.session.close()


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "…"

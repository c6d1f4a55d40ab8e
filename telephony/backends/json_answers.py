"""How the answers of a JSON service map onto the error taxonomy of `errors`: one rule for the
small services beside the PBXs (the Xelion Configurator, the Xelion CTI service), each named in
its messages, which carry the service's own `message`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telephony.backends.errors import AuthenticationError, BackendError, NotFoundError, RejectedError, TransientError
from telephony.backends.http import HttpResponse


@dataclass(frozen=True)
class JsonAnswers:
    """One service's answers: `service` names it in messages ("the Configurator"), `refused` says
    what a 401/403 refused ("the API key"); statuses from `transient_from` up are worth a retry (a
    service that answers 500 for bad input sets 502)."""

    service: str
    refused: str
    transient_from: int = 500

    def error(self, answer: HttpResponse, what: str) -> BackendError:
        body = answer.json()
        message = body.get("message") if isinstance(body, dict) else None
        cause = str(message or answer.text.strip()[:200] or f"HTTP {answer.status}")
        status = answer.status
        if status in (408, 429) or status >= self.transient_from:
            return TransientError(f"{self.service} could not {what}: {cause}", status=status)
        if status in (401, 403):
            return AuthenticationError(f"{self.service} refused {self.refused}: {cause}", status=status)
        if status == 404:
            return NotFoundError(cause, status=status)
        return RejectedError(cause, status=status)

    def ok(self, answer: HttpResponse, what: str) -> None:
        if not answer.ok:
            raise self.error(answer, what)

    def json(self, answer: HttpResponse, what: str, kind: type) -> Any:
        """The answer's JSON body, which must be a `kind` (dict or list)."""
        self.ok(answer, what)
        body = answer.json()
        if not isinstance(body, kind):
            raise TransientError(f"{self.service} answered '{what}' without the expected JSON")
        return body

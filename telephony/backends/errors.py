"""The one small error taxonomy every driver speaks, whatever the platform's own error format.

Provisioning decides what to do from the class alone: retry a transient error, log in again once
after an authentication error, adopt on "already exists", and stop with the backend's own message
on anything permanent.
"""


class BackendError(Exception):
    """A backend call failed. `message` is the backend's own wording where it gave one."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None, code: str | int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}" + (f", code {self.code})" if self.code else ")"))
        return " ".join(parts)


class TransientError(BackendError):
    """Worth retrying later: timeout, connection refused, 5xx, 429, backend busy."""

    transient = True


class AuthenticationError(BackendError):
    """Credentials refused or session expired and a fresh login did not help."""


class NotFoundError(BackendError):
    """The addressed object does not exist on the backend."""


class AlreadyExistsError(BackendError):
    """A create collided with an existing object (drivers adopt it where they can)."""


class ConflictError(BackendError):
    """An object found on the backend by its natural key is not provably the one this change means:
    it sits in another container (entity, tenant, environment), or another portal row claims it.
    Nothing was written; a person has to decide.

    `claim`: (kind, key) of the backend object another portal row holds, when that is the conflict
    (the job keeps it, so that staff who may see that row can be shown which one it is)."""

    def __init__(self, message: str, *, claim: tuple[str, str] | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.claim = claim


class RejectedError(BackendError):
    """The backend refused the request as invalid; retrying the same request cannot help."""


class UnsupportedOperation(BackendError):
    """The platform has no such operation (e.g. starting a tenant on XCU)."""


class UnsafeRequestError(BackendError):
    """The portal refused to send the request: a redirect to another host, an oversized answer."""

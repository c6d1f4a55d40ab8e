"""The part of the audit history the models need (kept apart from `tenants.audit`, which needs the
models): each log entry's scope and origin."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from auditlog.context import set_actor

from tenants.policy import policy_of

_origin: ContextVar[str] = ContextVar("audit_origin", default="")


@contextlib.contextmanager
def acting_as(origin: str, actor: Any = None) -> Iterator[None]:
    """Attribute the changes made inside to `origin` ("job #12", "import #3") and, if given, to the
    login that started it."""
    token = _origin.set(origin)
    try:
        with set_actor(actor) if actor is not None else contextlib.nullcontext():
            yield
    finally:
        _origin.reset(token)


def current_origin() -> str:
    return _origin.get()


def _follow(obj: Any, lookup: str) -> Any:
    for part in lookup.split("__") if lookup else ():
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


class Audited:
    """Mixin for audited models (no fields, no migration): scope and origin of each log entry."""

    def get_additional_data(self) -> dict[str, Any]:
        policy = policy_of(type(self))
        data: dict[str, Any] = {}
        # Organization ids, not paths: a path is given again to a later organization once its
        # owner is deleted, and changes when a subtree moves; an id stays with its organization.
        for key, lookup in zip(("org", "org2"), policy.organization_lookups, strict=False):
            organization = _follow(self, lookup)
            if organization is not None:
                data[key] = organization.pk
        if policy.entity_lookup is not None:
            entity = _follow(self, policy.entity_lookup)
            if entity is not None:
                data["entity"] = entity.pk
        origin = current_origin()
        if origin:
            data["via"] = origin
        return data

"""External numbers on a Xelion tenant, shared by both Xelion drivers: a number is on the tenant's
SIP trunk (`assignedNumbers`, the trunk with the lowest oid unless the number is on one already)
exactly while a user has it, and on that user's line: in its `extensions` and, for the first one,
as its `externalNumber` (the caller id). Documented-only the line's `externalNumber` alone carries
it (the documents show `extensions` with internal numbers only), so a user has one at most.
"""

from __future__ import annotations

import contextlib
from typing import Any

from telephony.backends.base import BackendRef, TenantRef, UserSpec, backend_ref
from telephony.backends.errors import NotFoundError, RejectedError
from telephony.backends.xelion_session import XelionSession


def is_external(address: str) -> bool:
    return address.startswith("+")


class XelionNumberOperations:
    """Mixin: numbers on the trunk and the user's line; sessions, user look-ups and the
    documented-only switch come from `XelionUserOperations`."""

    _documented: bool

    def _session(self, tenant: TenantRef) -> XelionSession:
        raise NotImplementedError

    def _locate_user(
        self, session: XelionSession, spec: UserSpec, tenant: TenantRef, *, adopting: bool = True
    ) -> dict[str, Any] | None:
        raise NotImplementedError

    def _line_of(self, session: XelionSession, user: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def _ensure_on_trunk(self, session: XelionSession, trunks: list[dict[str, Any]], number: str) -> str:
        """The trunk relation oid of a number, assigning it to the tenant's trunk if needed."""
        for trunk in trunks:
            for relation in trunk.get("assignedNumbers") or []:
                if (relation.get("extension") or {}).get("address") == number:
                    return relation["oid"]
        if not trunks:
            raise RejectedError(f"the tenant has no SIP trunk to carry {number}; create a trunk first")
        trunk = min(trunks, key=lambda t: int(t["oid"]))
        order = max([int(r.get("orderNumber") or 0) for r in trunk.get("assignedNumbers") or []] + [0]) + 1
        session.patch(
            f"trunks/{trunk['oid']}",
            [
                {"op": "add", "path": "/assignedNumbers/1", "value": number},
                {"op": "add", "path": "/assignedNumbers/1/orderNumber", "value": order},
            ],
        )
        fresh = session.get_object(f"trunks/{trunk['oid']}") or {}
        trunk["assignedNumbers"] = fresh.get("assignedNumbers") or []
        return next((r["oid"] for r in trunk["assignedNumbers"] if r["extension"]["address"] == number), "")

    def _remove_from_trunks(self, session: XelionSession, trunks: list[dict[str, Any]], number: str) -> None:
        for trunk in trunks:
            for relation in list(trunk.get("assignedNumbers") or []):
                if (relation.get("extension") or {}).get("address") == number:
                    removal = [{"op": "remove", "path": f"/assignedNumbers/{relation['oid']}"}]
                    with contextlib.suppress(NotFoundError):  # already gone
                        session.patch(f"trunks/{trunk['oid']}", removal)
                    trunk["assignedNumbers"].remove(relation)

    def assign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> BackendRef:
        session = self._session(tenant)
        found = self._locate_user(session, user, tenant)
        if found is None:
            raise NotFoundError(f"user {user.username} does not exist on tenant {tenant.name}")
        line = self._line_of(session, found)
        if not line:
            raise RejectedError(f"user {user.username} has no phoneline to route {number} to")
        if self._documented and line.get("externalNumber") not in ("", None, number):
            raise RejectedError(
                f"user {user.username} has {line['externalNumber']} already; the documented Xelion API keeps one "
                "external number per line"
            )
        relation = self._ensure_on_trunk(session, session.all("trunks", include=("assignedNumbers",)), number)
        ops = []
        on_line = any(ext.get("address") == number for ext in line.get("extensions") or [])
        if not on_line and not self._documented:
            ops.append({"op": "add", "path": "/extensions/1", "value": number})
        if not line.get("externalNumber"):
            ops.append({"op": "replace", "path": "/externalNumber", "value": number})
        session.patch(f"phonelines/{line['oid']}", ops)
        return backend_ref(xelion_oid=relation)

    def unassign_number(self, tenant: TenantRef, user: UserSpec, number: str) -> None:
        session = self._session(tenant)
        found = self._locate_user(session, user, tenant, adopting=False)  # never another row's user
        line = (self._line_of(session, found) if found else None) or {}
        extensions = line.get("extensions") or []
        ops = [{"op": "remove", "path": f"/extensions/{e['oid']}"} for e in extensions if e.get("address") == number]
        if line.get("externalNumber") == number:
            rest = [e["address"] for e in extensions if is_external(e.get("address", "")) and e["address"] != number]
            ops.append({"op": "replace", "path": "/externalNumber", "value": rest[0] if rest else ""})
        if ops:
            with contextlib.suppress(NotFoundError):  # the line went with its user
                session.patch(f"phonelines/{line['oid']}", ops)
        self._remove_from_trunks(session, session.all("trunks", include=("assignedNumbers",)), number)

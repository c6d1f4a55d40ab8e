"""The Xelion simulator's documented-only switch: each extension in docs/backend-fidelity.md is
refused as the server refuses what it does not know (an unknown path 404/10100, an unknown
attribute or filter 400/10202, a verb it does not take 405).

Documented (the guide and the facts file): login, renew, logout; `addressables`, `users`,
`phonelines`, `trunks`, `usergroups`, `licenses` with paging, `include=` and `where=userName=`;
POST and PATCH of those objects; the master tenant's `tenants/<databaseId>/start`. Not documented:
a Person's `addresses`, an external (E.164) address in a line's `extensions`, a usergroup's
`members`, other `where=` filters, DELETE, and the rest of the master tenant's `tenants`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from telephony.sandbox.base import BadInput, read_json
from telephony.sandbox.xelion_schema import XelionError, invalid

# collection -> the list attributes of its objects that no document shows
UNDOCUMENTED_LISTS = {"addressables": "addresses", "usergroups": "members"}


def refuse_extensions(request: Request, segments: list[str]) -> None:
    """Raise XelionError for a request that needs an extension; return for a documented one."""
    if segments[:1] == ["tenants"]:
        if request.method == "POST" and len(segments) == 3 and segments[2] == "start":
            return
        raise XelionError(404, 10100, f"invalid path {request.method} {request.path}")
    if request.method == "DELETE":
        raise XelionError(405, 10100, f"method not allowed: DELETE {request.path}")
    collection = segments[0] if segments else ""
    hidden = UNDOCUMENTED_LISTS.get(collection)
    if request.method == "GET":
        where = request.args.get("where")
        if where is not None and where.partition("=")[0] != "userName":
            raise invalid(f"unknown where attribute {where.partition('=')[0]!r}")
        included = [name.strip() for name in request.args.get("include", "").split(",")]
        if hidden and hidden in included:
            raise invalid(f"unknown include attribute {hidden!r}")
        return
    body = _body(request)
    if request.method == "POST" and isinstance(body, dict):
        if hidden and hidden in body:
            raise invalid(f"{body.get('objectType', collection)} has no attribute {hidden}")
        if collection == "phonelines":
            for value in body.get("extensions") or []:
                _refuse_external(value.get("address") if isinstance(value, dict) else value)
    if request.method == "PATCH":
        operations = body.get("operations") if isinstance(body, dict) else body
        for operation in operations if isinstance(operations, list) else []:
            path = str(operation.get("path", "")) if isinstance(operation, dict) else ""
            attribute = path.strip("/").split("/")[0]
            if hidden and attribute == hidden:
                raise invalid(f"{collection} objects have no attribute {hidden}")
            if collection == "phonelines" and attribute == "extensions" and operation.get("op") == "add":
                _refuse_external(operation.get("value"))


def _refuse_external(address: Any) -> None:
    if isinstance(address, str) and address.startswith("+"):
        raise invalid(f"extension {address!r} is not an internal number")


def _body(request: Request) -> Any:
    try:
        return read_json(request)
    except BadInput:
        return None  # the endpoint itself refuses a body it cannot read

"""How the Xelion sandbox answers: objects as `{"object", "links"}`, lists as
`{"data": [...], "meta": {"paging": {...}}}` with cursor paging, `where=` and `include=`.

Decisions where the documents are silent:

- List items are brief (`commonName`, `oid`, `objectType`, `permissions`) unless `include=a,b`
  names more top-level attributes; `GET <collection>/<oid>` answers the whole object.
- `where=<attribute>=<value>` compares a top-level attribute: strings without regard to case,
  true/false and numbers by their text, references (`person`) by their oid.
- Paging: items run in oid order; `limit` 1–1000 (default 15), `order=ascending|decending` (the
  API's own spelling; "descending" is refused), `after=<oid>` / `before=<oid>` (not both).
  `meta.paging.nextId` (the page's last oid) is present only when more items follow and
  `previousId` (the page's first oid) only when items precede, so a client follows `after=nextId`
  until no `nextId` comes back.
- Lists take only the documented parameters above; other calls take none. Any other query
  parameter is refused (400/10202) rather than ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telephony.sandbox.xelion_objects import TenantObjects
from telephony.sandbox.xelion_schema import PERMISSIONS, XelionError, invalid

DEFAULT_LIMIT = 15
MAX_LIMIT = 1000
ORDERS = ("ascending", "decending")
# the documented query parameters of a list (backend-api-facts.md); no other call documents any
LIST_PARAMETERS = ("limit", "order", "before", "after", "where", "include")


def brief(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {
        "permissions": PERMISSIONS,
        "commonName": obj["commonName"],
        "oid": obj["oid"],
        "objectType": obj["objectType"],
    }


def public(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if not key.startswith("_")}


def render(objs: TenantObjects, obj: dict[str, Any]) -> dict[str, Any]:
    """The whole object as `GET <collection>/<oid>` answers it, references expanded."""
    kind = obj["objectType"]
    if kind == "UserProfile":
        return _render_user(objs, obj)
    if kind == "XCCPhoneLine":
        return _render_line(objs, obj)
    if kind == "UserGroup":
        members = [
            {"user": brief(objs.get(rel["user"])), "oid": rel["oid"], "objectType": "XCCUserGroupMember"}
            for rel in obj["members"]
        ]
        return {**public(obj), "members": members}
    return public(obj)


def _render_user(objs: TenantObjects, user: dict[str, Any]) -> dict[str, Any]:
    line = objs.get(user["primaryLine"]) if user["primaryLine"] else None
    lines = [
        {
            "line": {"commonName": each["commonName"], "oid": each["oid"], "objectType": "XCCPhoneLine"},
            "orderNumber": rel["lineOrder"],
            "skillNumber": rel["skillNumber"],
            "incoming": rel["incoming"],
            "outgoing": rel["outgoing"],
            "editable": rel["editable"],
            "oid": rel["oid"],
            "objectType": "XCCConnectedUser",
        }
        for each, rel in objs.line_relations(user["oid"])
    ]
    answer = public(user)
    answer.update(
        {
            "primaryLine": _render_line(objs, line) if line else None,
            "person": brief(objs.get(user["person"])),
            "phones": [brief(objs.get(oid)) for oid in user["phones"] if objs.get(oid)],
            "lines": lines,
        }
    )
    return answer


def _render_line(objs: TenantObjects, line: dict[str, Any]) -> dict[str, Any]:
    users = []
    for rel in line["users"]:
        user = objs.get(rel["user"])
        if user is None:
            continue
        users.append(
            {
                **rel,
                "user": {
                    "person": brief(objs.get(user["person"])),
                    "commonName": user["commonName"],
                    "oid": user["oid"],
                    "objectType": "UserProfile",
                },
            }
        )
    answer = public(line)
    answer.update(
        {
            "users": users,
            "associatedAddressable": brief(objs.get(line["associatedAddressable"]))
            if line["associatedAddressable"]
            else None,
            "callLogUsers": [brief(objs.get(oid)) for oid in line["callLogUsers"] if objs.get(oid)],
        }
    )
    if answer["associatedAddressable"] is None:
        del answer["associatedAddressable"]
    return answer


def links(href: str) -> list[dict[str, str]]:
    return [{"rel": "self", "href": href, "method": "GET"}]


def one(obj: dict[str, Any], href: str) -> dict[str, Any]:
    return {"object": obj, "links": links(href)}


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, dict):
        return str(value.get("oid", "")) == wanted
    if isinstance(value, bool):
        return ("true" if value else "false") == wanted.lower()
    if isinstance(value, (int, float, str)):
        return str(value).lower() == wanted.lower()
    return False


def refuse_unknown_parameters(args: Any, allowed: tuple[str, ...]) -> None:
    """400/10202 for a query parameter the call does not take: a misspelt `limit` or `where` would
    otherwise be ignored and the client would read a page it did not ask for."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise invalid(f"unknown query parameter(s) {', '.join(unknown)}")


def parse_where(args: Any) -> tuple[str, str] | None:
    where = args.get("where")
    if where is None:
        return None
    attribute, sep, wanted = where.partition("=")
    if not sep or not attribute:
        raise invalid(f"where must be <attribute>=<value>, not {where!r}")
    return attribute, wanted


def _cursor(args: Any, name: str) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise invalid(f"{name} must be an oid")
    return int(value)


def page(items: list[dict[str, Any]], args: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page of items (whole rendered objects, any order) and its `meta.paging`."""
    raw_limit = args.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise invalid(f"limit must be a number from 1 to {MAX_LIMIT}")
    limit = int(raw_limit)
    order = args.get("order", "ascending")
    if order not in ORDERS:
        raise invalid(f"order must be one of {', '.join(ORDERS)}")
    after, before = _cursor(args, "after"), _cursor(args, "before")
    if after is not None and before is not None:
        raise invalid("give after or before, not both")
    descending = order == "decending"
    ordered = sorted(items, key=lambda item: int(item["oid"]), reverse=descending)

    def comes_before(item: dict[str, Any], cursor: int) -> bool:
        return int(item["oid"]) > cursor if descending else int(item["oid"]) < cursor

    def comes_after(item: dict[str, Any], cursor: int) -> bool:
        return int(item["oid"]) < cursor if descending else int(item["oid"]) > cursor

    # the items before (after) a cursor form a prefix (suffix) of the ordered list
    if after is not None:
        start = next((i for i, item in enumerate(ordered) if comes_after(item, after)), len(ordered))
        end = start + limit
    elif before is not None:
        end = next((i for i, item in enumerate(ordered) if not comes_before(item, before)), len(ordered))
        start = max(0, end - limit)
    else:
        start, end = 0, limit
    chosen = ordered[start:end]
    paging: dict[str, str] = {}
    if chosen:
        if start > 0:
            paging["previousId"] = chosen[0]["oid"]
        if start + len(chosen) < len(ordered):
            paging["nextId"] = chosen[-1]["oid"]
    return chosen, paging


def listing(
    rendered: list[dict[str, Any]], args: Any, href_base: str, render_one: Callable[[Any], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A list answer: filtered, paged, trimmed to brief + include. `rendered` are whole rendered
    objects, or stored ones that `render_one` renders (then only the page's are rendered, unless a
    `where` needs them all): a long list costs a page, not the whole list, per call."""
    where = parse_where(args)
    if where is not None:
        attribute, wanted = where
        if render_one is not None:
            rendered, render_one = [render_one(obj) for obj in rendered], None
        rendered = [obj for obj in rendered if _matches(obj.get(attribute), wanted)]
    chosen, paging = page(rendered, args)
    if render_one is not None:
        chosen = [render_one(obj) for obj in chosen]
    include = [name.strip() for name in args.get("include", "").split(",") if name.strip()]
    data = []
    for obj in chosen:
        item = brief(obj)
        item.update({name: obj[name] for name in include if name in obj})
        data.append({"object": item, "links": links(f"{href_base}/{obj['oid']}")})
    return {"data": data, "meta": {"paging": paging}}


def error_body(exc: XelionError, info: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"errorCode": exc.code, "message": exc.message}
    if info:
        body["info"] = info
    return body

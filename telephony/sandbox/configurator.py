"""Xelion Configurator provisioning service simulator (xelion-configurator-provisioning.txt, its part
of xelion-getting-started.txt, and the facts file's "Xelion Configurator").

- Organizations form a tree of API keys (`X-Auth-Key`): a key acts for its organization, which
  manages its own orders and its descendants', never a parent's or a sibling's (those answer 404,
  as an order that does not exist). `POST organizations/` makes a child of the caller's
  organization; `POST organizations/<id>/apikeys` makes a key for one in the caller's subtree, shown
  once. Credentials for third-party services are key-value pairs, write-only: `PUT
  organizations/<id>/credentials/<name>`; a GET lists their names, never their values.
- `POST provision` takes the configuration as its body and the tenant's server URL, name and session
  token in `Xelion-Server-Url`, `Xelion-Tenant-Name`, `Xelion-Tenant-Token` (optional
  `X-Callback-Url`), and answers `{"id": …}`. `POST provision/test` answers 200 with no body, or 400
  with the cause. `GET orders/<id>` shows an order (the management interface's view).
- An order moves NOT_STARTED → IN_PROGRESS → COMPLETED or FAILED. Completing it configures the
  tenant through that tenant's Xelion API (a user group per department, a Person, a user and its
  line's internal number per user, the external numbers on the tenant's trunk), so the drift scan
  sees what it made. Each status change is sent to the callback URL as
  `{"mid", "type": "orderStatusChanged", "data": {"id", "status"}}` with chronological mids;
  `webhooks` (`PUT /_sandbox/webhooks`) makes them late, twice, out of order or never arrive.
- Orders run on a thread of the simulator a moment after they are made (`run_orders()` runs them at
  once, for tests). Faults apply as in every simulator.
"""

from __future__ import annotations

import contextlib
import heapq
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from telephony.sandbox.base import BadInput, Simulator, json_response, read_json
from telephony.sandbox.configurator_orders import Order, OrderRefused, check_order

ROOT_KEY = "cfg0sandbox0distributor0key00001"  # 32 characters, as the public example's
CREDENTIAL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
WEBHOOK_MODES = ("normal", "late", "twice", "out_of_order", "never")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ConfiguratorSimulator(Simulator):
    name = "configurator"
    description = "Xelion Configurator provisioning service"

    def __init__(self, *args: Any, order_delay_seconds: float = 0.2, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.order_delay_seconds = order_delay_seconds
        self.webhooks = {"mode": "normal", "delay_seconds": 2.0}
        self._runner: threading.Thread | None = None
        # Webhooks go out one at a time in the order they are due (a real service's queue): two
        # messages of one order sent at once never overtake each other unless a mode says so.
        self._outbox: list[tuple[float, int, str, dict[str, Any], int]] = []
        self._outbox_ready = threading.Condition()
        self._courier_running = False
        self._delivering = 0  # webhooks taken off the outbox and not yet delivered
        self._sequence = 0

    def credentials_hint(self) -> str:
        return f"X-Auth-Key {ROOT_KEY}"

    def seed_state(self) -> dict[str, Any]:
        return {
            "organizations": {"1": {"id": 1, "name": "Sandbox distributor", "parent": None}},
            "keys": {ROOT_KEY: 1},
            "credentials": {},
            "orders": {},
            "sent": [],  # webhooks as sent: {"url", "body"}
        }

    def routes(self) -> list[Rule]:
        api = "/api/v1/"
        return [
            Rule(f"{api}organizations/", endpoint="organizations", methods=["GET", "POST"]),
            Rule(f"{api}organizations/<int:org_id>/", endpoint="organization", methods=["GET"]),
            Rule(f"{api}organizations/<int:org_id>/apikeys", endpoint="api_keys", methods=["POST"]),
            Rule(f"{api}organizations/<int:org_id>/credentials", endpoint="credential_names", methods=["GET"]),
            Rule(
                f"{api}organizations/<int:org_id>/credentials/<name>",
                endpoint="credential",
                methods=["PUT", "DELETE"],
            ),
            Rule(f"{api}provision", endpoint="provision", methods=["POST"]),
            Rule(f"{api}provision/test", endpoint="provision_test", methods=["POST"]),
            Rule(f"{api}orders", endpoint="order_list", methods=["GET"]),
            Rule(f"{api}orders/<int:order_id>", endpoint="order_get", methods=["GET"]),
            Rule("/_sandbox/webhooks", endpoint="_control_webhooks", methods=["GET", "PUT"]),
        ]

    def error_response(self, status: int, message: str) -> Response:
        return json_response({"status": status, "message": message}, status=status)

    # the organization tree
    def caller(self, request: Request) -> int:
        org_id = self.state["keys"].get(request.headers.get("X-Auth-Key", ""))
        if org_id is None:
            raise BadInput("a valid X-Auth-Key is required", 401)
        return org_id

    def subtree(self, org_id: int) -> set[int]:
        found, frontier = {org_id}, [org_id]
        while frontier:
            parent = frontier.pop()
            for org in self.state["organizations"].values():
                if org["parent"] == parent and org["id"] not in found:
                    found.add(org["id"])
                    frontier.append(org["id"])
        return found

    def managed(self, request: Request, org_id: int) -> dict[str, Any]:
        """An organization the caller manages (its own or a descendant); any other is unknown."""
        if org_id not in self.subtree(self.caller(request)):
            raise BadInput(f"organization {org_id} not found", 404)
        return self.state["organizations"][str(org_id)]

    def organizations(self, request: Request) -> Response:
        with self.lock:
            caller = self.caller(request)
            if request.method == "GET":
                return json_response([self.state["organizations"][str(i)] for i in sorted(self.subtree(caller))])
            body = read_json(request, expect=dict)
            name = body.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                raise BadInput("name: required, at most 200 characters")
            if set(body) - {"name"}:
                raise BadInput(f"{sorted(set(body) - {'name'})[0]}: not a field of an organization")
            org_id = self.next_id("organization", start=2)
            org = {"id": org_id, "name": name.strip(), "parent": caller}
            self.state["organizations"][str(org_id)] = org
            return json_response(org, status=201)

    def organization(self, request: Request, org_id: int) -> Response:
        with self.lock:
            return json_response(self.managed(request, org_id))

    def api_keys(self, request: Request, org_id: int) -> Response:
        with self.lock:
            self.managed(request, org_id)
            key = secrets.token_hex(16)  # 32 characters
            self.state["keys"][key] = org_id
            return json_response({"organization": org_id, "key": key}, status=201)

    def credential_names(self, request: Request, org_id: int) -> Response:
        with self.lock:
            self.managed(request, org_id)
            return json_response(sorted(self.state["credentials"].get(str(org_id), {})))

    def credential(self, request: Request, org_id: int, name: str) -> Response:
        with self.lock:
            self.managed(request, org_id)
            if not (1 <= len(name) <= 64) or not set(name) <= CREDENTIAL_NAME_CHARS or not name[0].isalpha():
                raise BadInput("a credential's name: a letter, then letters, digits, '_', '.' or '-' (at most 64)")
            stored = self.state["credentials"].setdefault(str(org_id), {})
            if request.method == "DELETE":
                if stored.pop(name, None) is None:
                    raise BadInput(f"credential {name} not found", 404)
                return Response(status=204)
            body = read_json(request, expect=dict)
            if not isinstance(body.get("value"), str) or not body["value"] or set(body) != {"value"}:
                raise BadInput('the body is {"value": "…"}, a non-empty string')
            stored[name] = body["value"]
            return Response(status=204)

    # orders
    def provision_test(self, request: Request) -> Response:
        try:
            check_order(read_json(request))
        except OrderRefused as refused:
            raise BadInput(refused.cause) from None
        return Response(status=200)

    def provision(self, request: Request) -> Response:
        headers = {name: request.headers.get(name, "").strip() for name in PROVISION_HEADERS}
        missing = [name for name, value in headers.items() if not value]
        if missing:
            raise BadInput(f"header {missing[0]} is required")
        callback = request.headers.get("X-Callback-Url", "").strip()
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            raise BadInput("X-Callback-Url: an http(s) URL")
        config = read_json(request)
        try:
            check_order(config)
        except OrderRefused as refused:
            raise BadInput(refused.cause) from None
        with self.lock:
            org_id = self.caller(request)
            order_id = self.next_id("order")
            self.state["orders"][str(order_id)] = {
                "id": order_id,
                "organization": org_id,
                "status": "NOT_STARTED",
                "serverUrl": headers["Xelion-Server-Url"],
                "tenant": headers["Xelion-Tenant-Name"],
                "callbackUrl": callback,
                "configuration": config,
                "error": "",
                "created": time.time(),
                "_token": headers["Xelion-Tenant-Token"],
            }
        self._start_runner()
        return json_response({"id": order_id})

    def order_list(self, request: Request) -> Response:
        with self.lock:
            visible = self.subtree(self.caller(request))
            orders = [o for o in self.state["orders"].values() if o["organization"] in visible]
            return json_response([public_order(o) for o in sorted(orders, key=lambda o: o["id"])])

    def order_get(self, request: Request, order_id: int) -> Response:
        with self.lock:
            order = self.state["orders"].get(str(order_id))
            if order is None or order["organization"] not in self.subtree(self.caller(request)):
                raise BadInput(f"order {order_id} not found", 404)
            return json_response(public_order(order))

    def _control_webhooks(self, request: Request) -> Response:
        if request.method == "PUT":
            body = read_json(request, expect=dict)
            if body.get("mode", self.webhooks["mode"]) not in WEBHOOK_MODES:
                raise BadInput(f"mode: one of {', '.join(WEBHOOK_MODES)}")
            self.webhooks.update({k: v for k, v in body.items() if k in ("mode", "delay_seconds")})
        return json_response(self.webhooks)

    # running orders
    def _start_runner(self) -> None:
        with self.lock:
            if self._runner is not None and self._runner.is_alive():
                return
            self._runner = threading.Thread(target=self._run_soon, name="configurator-orders", daemon=True)
            self._runner.start()

    def _run_soon(self) -> None:
        time.sleep(self.order_delay_seconds)
        self.run_orders()

    def run_orders(self) -> None:
        """Carry out every order not started yet, oldest first."""
        while True:
            with self.lock:
                waiting = [o for o in self.state["orders"].values() if o["status"] == "NOT_STARTED"]
                order = min(waiting, key=lambda o: o["id"]) if waiting else None
                if order is None:
                    return
                self._set_status(order, "IN_PROGRESS")
            try:
                build_tenant(order, check_order(order["configuration"]))
            except ProvisioningFailed as failed:
                with self.lock:
                    order["error"] = str(failed)
                    self._set_status(order, "FAILED")
            else:
                with self.lock:
                    self._set_status(order, "COMPLETED")

    def _set_status(self, order: dict[str, Any], status: str) -> None:
        order["status"] = status
        if self.state_file:
            self.save()
        if order["callbackUrl"]:
            mid = self.next_id("mid")
            body = {"mid": mid, "type": "orderStatusChanged", "data": {"id": order["id"], "status": status}}
            self._send_webhook(order["callbackUrl"], body)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every order placed has run and every webhook due has been delivered (a test
        ends only once nothing of it is still arriving at the portal); whether it settled in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                running = self._runner is not None and self._runner.is_alive()
            with self._outbox_ready:
                if not running and not self._outbox and not self._delivering:
                    return True
            time.sleep(0.02)
        return False

    def _send_webhook(self, url: str, body: dict[str, Any]) -> None:
        mode, delay = self.webhooks["mode"], float(self.webhooks.get("delay_seconds", 2.0))
        if mode == "never":
            return
        if mode == "out_of_order" and body["data"]["status"] == "IN_PROGRESS":
            delay = max(delay, 0.5)  # arrives after the final status
        elif mode != "late":
            delay = 0.0
        times = 2 if mode == "twice" else 1
        with self._outbox_ready:
            self._sequence += 1
            heapq.heappush(self._outbox, (time.monotonic() + delay, self._sequence, url, body, times))
            if not self._courier_running:  # set and cleared under this lock: never two, never none
                self._courier_running = True
                threading.Thread(target=self._carry, name="configurator-webhooks", daemon=True).start()
            self._outbox_ready.notify()

    def _carry(self) -> None:
        """Deliver the due webhooks, earliest first (equal times: in the order they were sent)."""
        while True:
            with self._outbox_ready:
                while not self._outbox or self._outbox[0][0] > time.monotonic():
                    wait = self._outbox[0][0] - time.monotonic() if self._outbox else 30.0
                    if not self._outbox_ready.wait(timeout=max(0.01, wait)) and not self._outbox:
                        self._courier_running = False
                        return  # idle for a while: the next webhook starts a new courier
                _, _, url, body, times = heapq.heappop(self._outbox)
                self._delivering += 1
            try:
                self._deliver(url, body, 0.0, times)
            finally:
                with self._outbox_ready:
                    self._delivering -= 1

    def _deliver(self, url: str, body: dict[str, Any], delay: float, times: int) -> None:
        time.sleep(delay)
        if urlsplit(url).hostname not in LOOPBACK_HOSTS:
            return  # the sandbox calls nothing beyond this machine
        for _ in range(times):
            with contextlib.suppress(requests.RequestException):  # a receiver that is down misses it
                requests.post(url, json=body, timeout=5)
            with self.lock:
                self.state["sent"].append({"url": url, "body": body})


PROVISION_HEADERS = ("Xelion-Server-Url", "Xelion-Tenant-Name", "Xelion-Tenant-Token")


def public_order(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the service shows it: never the tenant's token."""
    return {key: value for key, value in order.items() if not key.startswith("_") and key != "configuration"}


class ProvisioningFailed(Exception):
    """The tenant's Xelion API refused a step of the order."""


def build_tenant(order: dict[str, Any], planned: Order) -> None:
    """Make what the order describes on the tenant, through the tenant's own Xelion API."""
    if urlsplit(order["serverUrl"]).hostname not in LOOPBACK_HOSTS:
        raise ProvisioningFailed("the sandbox provisions tenants on this machine only")
    tenant = TenantApi(order["serverUrl"], order["tenant"], order["_token"])
    groups = {name: tenant.create("usergroups", {"objectType": "UserGroup", "commonName": name})
              for name in planned.departments}  # fmt: skip
    for user in planned.users:
        person = tenant.create(
            "addressables",
            {"objectType": "Person", "givenName": user.given_name,
             "addresses": [{"address": user.email, "addressType": "Email"}]},
        )  # fmt: skip
        profile = tenant.create(
            "users",
            {"objectType": "UserProfile", "userName": user.user_name, "person": {"oid": person["oid"],
             "objectType": "Person"}},
        )  # fmt: skip
        line = tenant.get(f"users/{profile['oid']}")["primaryLine"]["oid"]
        tenant.patch(f"phonelines/{line}", [{"op": "add", "path": "/extensions/1", "value": user.internal_number}])
        tenant.patch(f"usergroups/{groups[user.department]['oid']}",
                     [{"op": "add", "path": "/members/1", "value": profile["oid"]}])  # fmt: skip
    if planned.external_numbers:
        trunks = tenant.list("trunks")
        if not trunks:
            raise ProvisioningFailed("the tenant has no trunk for its external numbers")
        for number in planned.external_numbers:
            tenant.patch(f"trunks/{trunks[0]['oid']}", [{"op": "add", "path": "/assignedNumbers/1", "value": number}])


class TenantApi:
    """The few calls of a tenant's Xelion API an order needs, with its session token."""

    def __init__(self, server_url: str, tenant: str, token: str):
        self.root = f"{server_url.rstrip('/')}/api/v1/{tenant}/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"xelion {token}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            answer = self.session.request(method, self.root + path, json=body, timeout=10)
        except requests.RequestException as exc:
            raise ProvisioningFailed(f"{method} {path}: {exc}") from exc
        if not answer.ok:
            raise ProvisioningFailed(f"{method} {path}: HTTP {answer.status_code} {answer.text[:200]}")
        return answer.json() if answer.content.strip() else None

    def create(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", collection, body)["object"]

    def get(self, path: str) -> dict[str, Any]:
        return self._call("GET", path)["object"]

    def list(self, collection: str) -> list[dict[str, Any]]:
        return [entry["object"] for entry in self._call("GET", collection)["data"]]

    def patch(self, path: str, operations: list[dict[str, Any]]) -> None:
        self._call("PATCH", path, {"operations": operations})

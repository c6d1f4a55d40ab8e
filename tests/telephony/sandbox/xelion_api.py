"""Shared helpers of the Xelion simulator tests: a small requests client and the sandbox set-ups
(a logged-in master, a started tenant)."""

from __future__ import annotations

import requests

from telephony.sandbox.xelion import MASTER_PASSWORD


class Api:
    """A small requests-based client."""

    def __init__(self, base_url: str, tenant: str = "master"):
        self.base_url = base_url
        self.tenant = tenant
        self.token = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/{self.tenant}/{path}"

    def login(self, user: str = "admin", password: str = MASTER_PASSWORD, space: str = "tests") -> requests.Response:
        answer = requests.post(
            self.url("me/login"), json={"userName": user, "password": password, "userSpace": space}, timeout=5
        )
        if answer.ok:
            self.token = answer.json()["authentication"]
        return answer

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"xelion {self.token}"} if self.token else {}
        return requests.request(method, self.url(path), headers=headers, timeout=5, **kwargs)

    def create(self, collection: str, body: dict) -> dict:
        answer = self.call("POST", collection, json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()["object"]


def error_of(answer: requests.Response) -> tuple[int, int]:
    return answer.status_code, answer.json()["errorCode"]


def logged_in_master(base_url: str) -> Api:
    api = Api(base_url)
    assert api.login().status_code == 200
    return api


def started_tenant(master: Api, name: str = "acme", licences: int = 50) -> Api:
    """A started tenant, logged in with its own built-in admin."""
    created = master.create("tenants", {"name": name, "licenses": licences})
    assert master.call("POST", f"tenants/{created['databaseId']}/start").status_code == 200
    api = Api(master.base_url, name)
    assert api.login("admin", f"{name}-admin").status_code == 200
    return api

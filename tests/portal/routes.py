"""Every page and form action of the customer administrator's part of the site, aimed at one
customer's objects, with input its own administrator could submit successfully."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from tests.portal.conftest import Customer


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    url: str
    data: dict[str, Any] | None = None

    def call(self, client):
        if self.method == "get":
            return client.get(self.url)
        return client.post(self.url, self.data or {})

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.name}"


def new_user_data(c: Customer, **overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Nina",
        "last_name": "New",
        "display_name": "",
        "username": "nina.new",
        "email": "nina@example.net",
        "mobile_number": "",
        "entity": c.sales.pk,
        "internal_number": "2150",
        "template": c.template.pk,
        "number": c.free_numbers[0].pk,
        "voicemail_enabled": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(c: Customer, **overrides: Any) -> dict[str, Any]:
    line = c.line
    data = {
        "first_name": line.first_name,
        "last_name": "Renamed",
        "display_name": "",
        "email": "renamed@example.net",
        "mobile_number": "",
        "entity": line.entity_id,
        "internal_number": line.internal_number,
        "template": line.template_id,
    }
    data.update(overrides)
    return data


def line_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "voicemail_enabled": "on",
        "forward_always": "",
        "forward_busy": "0687654321",  # XC5 forwards busy and unanswered calls to one destination
        "forward_no_answer": "0687654321",
        "forward_no_answer_timeout": "25",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def customer_admin_routes(c: Customer) -> list[Route]:
    line, taken, free = c.line, c.numbers_taken[0], c.free_numbers[0]

    def url(name: str, *args: Any) -> str:
        return reverse(f"selfservice:{name}", args=args)

    return [
        Route("user list of the tenant", "get", url("user_list") + f"?tenant={c.tenant.pk}"),
        Route("user_create", "get", url("user_create", c.tenant.pk)),
        Route("user_create", "post", url("user_create", c.tenant.pk), new_user_data(c)),
        Route("user_detail", "get", url("user_detail", line.pk)),
        Route("user_pushes", "get", url("user_pushes", line.pk)),
        Route("user_edit", "get", url("user_edit", line.pk)),
        Route("user_edit", "post", url("user_edit", line.pk), edit_data(c)),
        Route("user_line", "get", url("user_line", line.pk)),
        Route("user_line", "post", url("user_line", line.pk), line_data()),
        Route("user_number_add", "post", url("user_number_add", line.pk), {"number": free.pk}),
        Route("user_number_release", "post", url("user_number_release", line.pk, taken.pk)),
        Route("user_pin_reset", "post", url("user_pin_reset", line.pk)),
        Route("user_delete", "get", url("user_delete", line.pk)),
        Route("user_delete", "post", url("user_delete", line.pk)),
    ]


def site_pages() -> list[str]:
    """Pages that show the login's own scope (no object id in the URL)."""
    return [
        reverse("selfservice:dashboard"),
        reverse("selfservice:dashboard_pushes"),
        reverse("selfservice:user_list"),
        reverse("selfservice:user_new"),
    ]

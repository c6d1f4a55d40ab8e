"""Every page costs the same number of queries with 10 users as with 200 (figures are printed:
`pytest -s tests/portal/test_queries.py`)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telephony.provisioning import planning

pytestmark = pytest.mark.django_db

ADMIN_PAGES = {
    "dashboard": lambda c: reverse("selfservice:dashboard"),
    "dashboard pushes (JSON)": lambda c: reverse("selfservice:dashboard_pushes"),
    "user list": lambda c: reverse("selfservice:user_list"),
    "user list, page 2": lambda c: reverse("selfservice:user_list") + "?page=2",
    "user search": lambda c: reverse("selfservice:user_list") + "?q=Ada",
    "new user form": lambda c: reverse("selfservice:user_create", args=[c.tenant.pk]),
    "user page": lambda c: reverse("selfservice:user_detail", args=[c.line.pk]),
    "user pushes (JSON)": lambda c: reverse("selfservice:user_pushes", args=[c.line.pk]),
    "edit user form": lambda c: reverse("selfservice:user_edit", args=[c.line.pk]),
    "voicemail and forwarding form": lambda c: reverse("selfservice:user_line", args=[c.line.pk]),
    "delete confirmation": lambda c: reverse("selfservice:user_delete", args=[c.line.pk]),
    "import / export": lambda c: reverse("selfservice:imports"),
}
END_USER_PAGES = {
    "my line": lambda c: reverse("selfservice:my_line"),
    "my line pushes (JSON)": lambda c: reverse("selfservice:my_line_pushes"),
}


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def grow_to(customer, total: int) -> None:
    """Users up to `total`, each with an external number and a push of its own."""
    for user in customer.add_users(total - len(customer.users)):
        planning.user_updated(user)
    planning.user_updated(customer.line)


@pytest.mark.parametrize(("login", "pages"), [("admin", ADMIN_PAGES), ("end_user", END_USER_PAGES)])
def test_pages_cost_the_same_at_10_and_200_users(client, customer, login, pages):
    client.force_login(getattr(customer, login))
    grow_to(customer, 10)
    at_10 = {name: queries(client, url(customer)) for name, url in pages.items()}
    grow_to(customer, 200)
    at_200 = {name: queries(client, url(customer)) for name, url in pages.items()}
    for name in pages:
        print(f"queries  {name:<32} 10 users: {at_10[name]:>3}   200 users: {at_200[name]:>3}")
    assert at_200 == at_10

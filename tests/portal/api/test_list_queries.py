"""Every API list costs the same queries for one row as for all of them: what a row shows is read
with the page, never a row at a time (the lists that read no related objects included)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from portal.api.urls import router
from tests.crawl.build import build_crawl_world
from tests.crawl.world import SUPERUSER

pytestmark = pytest.mark.django_db


def _queries(client: APIClient, url: str, rows: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(url, {"page_size": rows})
    assert answer.status_code == 200, (url, answer.content[:300])
    return len(captured), len(answer.json()["results"])


@pytest.mark.parametrize("login_key", [SUPERUSER, "kilox.admin"])
def test_every_api_list_costs_the_same_queries_for_one_row_as_for_all(login_key):
    world = build_crawl_world()
    client = APIClient()
    client.force_login(world.login(login_key).user)
    listed = 0
    for prefix, _viewset, _basename in router.registry:
        url = f"/api/v1/{prefix}/"
        one, _one_row = _queries(client, url, 1)
        every, shown = _queries(client, url, 500)
        assert every == one, (url, shown)
        listed += shown > 1
    assert listed >= 10  # the lists had several rows each

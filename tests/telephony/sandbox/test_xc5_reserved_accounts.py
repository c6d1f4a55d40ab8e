"""XC5-XS reserved accounts (backend-api-facts.md: `_route.default`, `_carrier.`, `_cos.`, `_node.`,
`_prompts`, `_auth.blacklist`, and `_unassigned.pool`, which holds the free numbers): no write
reaches them or what they hold, by name or by guid (403, `[{"error": …}]`), and nothing changes.
Free numbers still move: out of the pool by a PUT on the account that takes them (the seed's
"Allocate a DDI"), back into it when that account lets them go."""

from __future__ import annotations

import pytest
import requests

from telephony.sandbox.xc5 import (
    SEED_NUMBER_GUIDS,
    SHARED_PIN_PROMPT,
    SYSTEM_API_PASSWORD,
    SYSTEM_API_USERNAME,
    USER_API_PASSWORD,
    USER_API_USERNAME,
    Xc5Simulator,
)

SYSTEM = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
SEED_FREE = SEED_NUMBER_GUIDS["6499290088"]  # the seed's D5A51C5C-…
REFUSED = [{"error": "reserved accounts cannot be changed through the API"}]


@pytest.fixture
def sim():
    return Xc5Simulator()


@pytest.fixture
def call(serve, sim):
    root = serve(sim).base_url + "/api-sys/"

    def _call(method, path, auth=SYSTEM, **kwargs):
        response = requests.request(method, root + path, auth=auth, timeout=5, **kwargs)
        assert response.headers["Content-Type"] == "application/hal+json"
        return response

    return _call


def pool_guid(call):
    return call("GET", "account/_unassigned.pool").json()[0]["guid"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "account/_unassigned.pool", {"description": "mine"}),
        ("PUT", "account/_unassigned.pool", {"description": "mine"}),
        ("DELETE", "account/_unassigned.pool", None),
        ("PUT", "account/_unassigned.pool/child", {"username": "sneaky"}),
        ("PUT", "account/_unassigned.pool/number", {"number": "6491239999"}),  # stocking the pool
        ("PATCH", f"account/_unassigned.pool/number/{SEED_FREE}", {"alert-info": "dr4"}),
        ("PUT", f"account/_unassigned.pool/number/{SEED_FREE}?patch=true", {"alert-info": "dr4"}),
        ("DELETE", f"account/_unassigned.pool/number/{SEED_FREE}", None),
        ("PUT", "account/_unassigned.pool/route", {"order": 200, "destination": "6499650085"}),
        ("PUT", "account/_unassigned.pool/callrule", {"order": -2, "destination": ":600"}),
        ("PUT", "account/_unassigned.pool/fork", {"destination": "6499650085"}),
        ("PUT", "account/_prompts.shared/prompt/", {"description": "mine"}),
        ("DELETE", f"account/_prompts.shared/prompt/{SHARED_PIN_PROMPT}", None),
    ],
)
def test_writes_to_a_reserved_account_or_what_it_holds_are_refused(call, sim, method, path, body):
    before = sim.snapshot()
    refused = call(method, path, json=body)
    assert (refused.status_code, refused.json()) == (403, REFUSED)
    assert sim.snapshot() == before


def test_by_guid_too_and_post_is_not_a_method_of_the_api(call, sim):
    before = sim.snapshot()
    guid = pool_guid(call)
    assert call("PATCH", f"account/{guid}", json={"description": "mine"}).json() == REFUSED
    assert call("PUT", f"account/{guid.lower()}/number", json={"number": "6491239999"}).json() == REFUSED
    posted = call("POST", "account/_unassigned.pool", json={"description": "mine"})
    assert (posted.status_code, posted.json()) == (405, [{"error": "method not allowed"}])
    assert "POST" not in posted.headers["Allow"]
    assert sim.snapshot() == before


def test_a_user_scoped_caller_does_not_even_see_the_pool(call, sim):
    demo = (USER_API_USERNAME, USER_API_PASSWORD)
    refused = call("PUT", "account/_unassigned.pool/number", auth=demo, json={"number": "6491239999"})
    assert (refused.status_code, refused.json()) == (404, [{"error": "account not found"}])


def test_numbers_move_out_of_the_pool_and_back_through_the_account_that_takes_them(call):
    assert call("PUT", "account/", json={"username": "pool.x.co.nz"}).status_code == 201
    free = {n["number"]: n["guid"] for n in call("GET", "account/_unassigned.pool/number").json()}
    # by guid, as the seed allocates a DDI
    taken = call("PUT", f"account/pool.x.co.nz/number/{SEED_FREE}").json()[0]
    assert (taken["number"], taken["assigned"]) == ("6499290088", "pool.x.co.nz")
    assert SEED_FREE not in [n["guid"] for n in call("GET", "account/pool.x.co.nz/numberallocate").json()]
    # by value: the pool's own entry moves, it is not copied
    [by_value] = call("PUT", "account/pool.x.co.nz/number", json={"number": "6491231250"}).json()
    assert by_value["guid"] == free["6491231250"] and by_value["assigned"] == "pool.x.co.nz"
    in_pool = {n["number"] for n in call("GET", "account/_unassigned.pool/number").json()}
    assert {"6499290088", "6491231250"}.isdisjoint(in_pool)
    # let go: back into the pool, under the same guid, its settings cleared
    call("PATCH", f"account/pool.x.co.nz/number/{SEED_FREE}", json={"alert-info": "dr4"})
    assert call("DELETE", f"account/pool.x.co.nz/number/{SEED_FREE}").status_code == 200
    back = {n["guid"]: n for n in call("GET", "account/_unassigned.pool/number").json()}
    assert back[SEED_FREE]["assigned"] == "_unassigned.pool" and back[SEED_FREE]["alert-info"] == ""

"""Lists read item by item as they arrive (HttpClient.stream), over real HTTP on loopback."""

from __future__ import annotations

import json

import pytest
from werkzeug.wrappers import Request, Response

from telephony.backends.errors import BackendError, TransientError, UnsafeRequestError
from telephony.backends.http import HttpClient


class Answers:
    """A WSGI app answering each path with a canned body."""

    name, base_url = "answers", ""
    bodies = {
        "/users": (200, json.dumps({"items": [{"id": n, "name": f"user {n}"} for n in range(1, 2001)]})),
        "/bare": (200, json.dumps([{"id": 1}, {"id": 2}])),
        "/empty": (200, json.dumps({"items": []})),
        "/nolist": (200, json.dumps({"error": "no such thing"})),
        "/broken": (200, '{"items": [{"id": 1}, {"id": 2'),
        "/refused": (404, json.dumps({"error": "entity not found"})),
    }

    def __call__(self, environ, start_response):
        status, body = self.bodies[Request(environ).path]
        return Response(body, status=status, content_type="application/json")(environ, start_response)


@pytest.fixture
def client(serve):
    served = serve(Answers())
    client = HttpClient(served.base_url)
    yield client
    client.close()


def test_items_arrive_one_by_one_and_the_log_says_how_many(client):
    answer = client.stream("GET", "users", prefix="items.item")
    assert answer.response.ok
    assert [item["id"] for item in answer.items] == list(range(1, 2001))
    [entry] = client.log.as_list()
    assert entry["response_body"].startswith("(2000 items,") and entry["status"] == 200


def test_a_bare_array_and_an_empty_list(client):
    assert [i["id"] for i in client.stream("GET", "bare", prefix="item").items] == [1, 2]
    assert list(client.stream("GET", "empty", prefix="items.item").items) == []


def test_an_answer_without_the_list_is_no_empty_list(client):
    with pytest.raises(BackendError, match="holds no list"):
        list(client.stream("GET", "nolist", prefix="items.item").items)


def test_an_answer_broken_off_is_an_error_not_a_short_list(client):
    items = client.stream("GET", "broken", prefix="items.item").items
    with pytest.raises(TransientError, match="broke off"):
        list(items)


def test_a_refusal_is_read_whole_for_its_error_body(client):
    answer = client.stream("GET", "refused", prefix="items.item")
    assert answer.response.status == 404 and answer.response.json() == {"error": "entity not found"}
    assert list(answer.items) == []


def test_a_streamed_answer_has_a_size_limit_too(client):
    client.max_streamed_bytes = 10_000
    with pytest.raises(UnsafeRequestError, match="exceeds the limit"):
        list(client.stream("GET", "users", prefix="items.item").items)

"""The self-service scripts show no English of their own: the texts they put on the page come from
the JSON they poll, translated by the server in the visitor's language."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from portal.selfservice import pushes
from telephony.imports.progress import progress_line


def test_the_progress_line_says_what_the_script_used_to_say_in_english():
    busy = {"busy": True, "status_label": "Checking", "done": 3, "total": 20}
    assert progress_line(busy) == "Checking: row 3 of 20"
    assert progress_line({**busy, "total": 0}) == "Checking…"
    assert progress_line({**busy, "phase": "users 3 of 20"}) == "Checking — users 3 of 20"
    assert progress_line({"busy": False, "jobs": {"total": 2}, "finished": False}) == "Pushing the changes…"
    assert progress_line({"busy": False, "jobs": {"total": 2}, "finished": True}) == (
        "Every change has been pushed or has failed."
    )
    assert progress_line({"busy": False}) == ""


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_texts_are_rendered_in_the_active_language(language):
    with translation.override(language):
        expected_row = translation.gettext("%(status)s: row %(done)s of %(total)s")
        expected_empty = translation.gettext("No changes yet.")
        line = progress_line({"busy": True, "status_label": "X", "done": 1, "total": 2})
        body = pushes.pushes_response([])
    assert line == expected_row % {"status": "X", "done": 1, "total": 2}
    assert json.loads(body.content)["empty"] == expected_empty

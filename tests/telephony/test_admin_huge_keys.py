"""A key past any the database can hold, or digits of another script, in a list's parameters or an
object's address answers as a key that matches nothing: never an error page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Role

pytestmark = pytest.mark.django_db

HUGE = str(10**30)
NOT_KEYS = [HUGE, "9223372036854775808", "١٢", "-1", "1.0"]
ENTITY_BOX = {"app_label": "telephony", "model_name": "pbxuser", "field_name": "entity", "term": ""}


@pytest.mark.parametrize("value", NOT_KEYS)
@pytest.mark.parametrize(
    ("url_name", "parameter", "extra"),
    [
        ("admin:telephony_provisioningjob_changelist", "tenant__id__exact", {}),
        ("admin:telephony_provisioningjob_changelist", "batch__id__exact", {}),
        ("admin:telephony_provisioningjob_changelist", "platform__id__exact", {}),
        ("admin:telephony_phonenumber_changelist", "pool", {}),
        ("admin:telephony_pbxuser_changelist", "tenant", {}),
        ("admin:telephony_pbxuser_changelist", "tenant__id__exact", {}),
        ("admin:autocomplete", "tenant", ENTITY_BOX),
        ("admin:telephony_pbxuser_import", "tenant", {}),
        ("admin:telephony_pbxuser_export", "tenant", {}),
    ],
)
def test_a_parameter_that_is_no_key_answers_nothing(tree, member, client, url_name, parameter, extra, value):
    client.force_login(member(tree.reseller, Role.ADMIN))
    answer = client.get(reverse(url_name), {parameter: value, **extra})
    assert answer.status_code in (200, 302, 404), answer.status_code
    if answer.status_code == 302:  # the list, saying the filter could not be used (as Django does)
        assert answer["Location"].endswith("?e=1") and "export" not in answer["Location"]


@pytest.mark.parametrize("value", [HUGE, "9223372036854775808"])
@pytest.mark.parametrize("model", ["importrun", "pbxuser", "provisioningjob", "phonenumber", "tenant"])
def test_an_object_address_past_any_key_is_not_found(tree, member, client, model, value):
    client.force_login(member(tree.reseller, Role.ADMIN))
    answer = client.get(reverse(f"admin:telephony_{model}_change", args=[value]))
    assert answer.status_code in (302, 404)

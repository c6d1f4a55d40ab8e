"""The admin site: the index and an app's page list the models the login may see; the other pages
do not work the list out (it fed only the navigation sidebar, which is off)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import Role

pytestmark = pytest.mark.django_db


def test_the_index_lists_the_models_and_a_list_page_does_not_work_them_out(tree, member, client):
    client.force_login(member(tree.reseller, Role.ADMIN))
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    listed = {model["object_name"] for app in index.context["app_list"] for model in app["models"]}
    assert {"Organization", "PbxUser", "ProvisioningJob"} <= listed
    telephony = client.get(reverse("admin:app_list", args=["telephony"]))
    assert "PbxUser" in {model["object_name"] for app in telephony.context["app_list"] for model in app["models"]}
    page = client.get(reverse("admin:telephony_pbxuser_changelist"))
    assert page.status_code == 200 and page.context["available_apps"] == []

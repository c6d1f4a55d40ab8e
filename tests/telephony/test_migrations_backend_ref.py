"""The migration to opaque backend references keeps what was learnt from the PBXes: each row's
vendor id columns become its `backend_ref`, a template's vendor columns its platform settings,
and going back restores the columns."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("telephony", "0012_job_waiting_for")]
AFTER = [("telephony", "0015_platform_neutral_labels")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _old_world(apps) -> dict[str, object]:
    organization = apps.get_model("tenants", "Organization").objects.create(
        path="0001", depth=1, numchild=0, name="acme", kind="customer"
    )
    platform = apps.get_model("telephony", "Platform").objects.create(
        organization=organization, name="pbx", kind="xcu", base_url="https://pbx.example.net/", username="api"
    )
    server = apps.get_model("telephony", "Server").objects.create(
        platform=platform, name="xivo-220", host="192.0.2.1", xcu_id=1, xcu_uuid="8f15", xelion_server_id=""
    )
    tenant = apps.get_model("telephony", "Tenant").objects.create(
        organization=organization, server=server, name="acme", xc5_guid="g-1", xc5_name="acme.x"
    )
    entity = apps.get_model("telephony", "Entity").objects.create(
        tenant=tenant, name="sales", xcu_id=17, xcu_combined_id="sales@8f15"
    )
    template = apps.get_model("telephony", "LineTemplate").objects.create(
        organization=organization, name="standard", xelion_role="admin", xc5_concurrent_limit=4
    )
    mirror = apps.get_model("telephony", "LineTemplateMirror").objects.create(
        template=template, platform=platform, xcu_id=5
    )
    user = apps.get_model("telephony", "PbxUser").objects.create(
        tenant=tenant,
        entity=entity,
        template=template,
        username="ada",
        first_name="Ada",
        last_name="Lovelace",
        internal_number="2001",
        xelion_oid="u-1",
        xelion_phoneline_oid="l-1",
    )
    number = apps.get_model("telephony", "PhoneNumber").objects.create(
        organization=organization, number="+31201234567", xc5_guid="n-1"
    )
    return {"server": server, "tenant": tenant, "entity": entity, "mirror": mirror, "user": user, "number": number}


@pytest.mark.django_db(transaction=True)
def test_columns_become_references_and_come_back():
    try:
        old = _old_world(_migrate(BEFORE))
        apps = _migrate(AFTER)

        def ref(name: str) -> dict:
            row = old[name]
            return apps.get_model("telephony", type(row).__name__).objects.get(pk=row.pk).backend_ref

        assert ref("server") == {"xcu_id": 1, "xcu_uuid": "8f15"}, "empty ids are left out"
        assert ref("tenant") == {"xc5_guid": "g-1", "xc5_name": "acme.x"}
        assert ref("entity") == {"xcu_id": 17, "xcu_combined_id": "sales@8f15"}
        assert ref("mirror") == {"xcu_id": 5}
        assert ref("user") == {"xelion_oid": "u-1", "xelion_phoneline_oid": "l-1"}
        assert ref("number") == {"xc5_guid": "n-1"}
        template = apps.get_model("telephony", "LineTemplate").objects.get()
        assert template.platform_settings == {
            "xelion": {"role": "admin", "user_licence": True},
            "xc5": {"cfna_duration": 20, "concurrent_limit": 4},
        }

        apps = _migrate(BEFORE)
        entity = apps.get_model("telephony", "Entity").objects.get()
        assert (entity.xcu_id, entity.xcu_combined_id, entity.xelion_oid) == (17, "sales@8f15", "")
        assert apps.get_model("telephony", "Server").objects.get().xcu_uuid == "8f15"
        template = apps.get_model("telephony", "LineTemplate").objects.get()
        assert (template.xelion_role, template.xc5_concurrent_limit) == ("admin", 4)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

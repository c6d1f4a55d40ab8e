"""The migration to a table of job dependencies keeps every job's `wait_for` keys as rows, and
going back restores the lists."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("telephony", "0016_platform_documented_only")]
AFTER = [("telephony", "0017_job_dependencies")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _old_jobs(apps) -> dict[str, int]:
    user_type, _ = apps.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="telephony", model="pbxuser"
    )
    job_model = apps.get_model("telephony", "ProvisioningJob")

    def job(key: str, wait_for: list[str]) -> int:
        return job_model.objects.create(
            target_type=user_type,
            target_id=int(key.split(":")[1]),
            target_key=key,
            target_label=key,
            operation="user.create",
            wait_for=wait_for,
        ).pk

    return {
        "user": job("pbxuser:12", ["entity:4", "tenant:3"]),
        "renumbered": job("pbxuser:13", ["entity:4", "pbxuser:12", "tenant:3"]),
        "tenant": job("tenant:3", []),
    }


@pytest.mark.django_db(transaction=True)
def test_wait_for_lists_become_rows_and_come_back():
    try:
        old = _old_jobs(_migrate(BEFORE))
        apps = _migrate(AFTER)
        rows = apps.get_model("telephony", "JobDependency").objects.order_by("job_id", "target_key")
        assert list(rows.values_list("job_id", "target_key")) == [
            (old["user"], "entity:4"),
            (old["user"], "tenant:3"),
            (old["renumbered"], "entity:4"),
            (old["renumbered"], "pbxuser:12"),
            (old["renumbered"], "tenant:3"),
        ]

        apps = _migrate(BEFORE)
        restored = dict(apps.get_model("telephony", "ProvisioningJob").objects.values_list("pk", "wait_for"))
        assert restored == {
            old["user"]: ["entity:4", "tenant:3"],
            old["renumbered"]: ["entity:4", "pbxuser:12", "tenant:3"],
            old["tenant"]: [],
        }
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

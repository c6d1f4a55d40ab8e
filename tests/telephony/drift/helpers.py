"""What the drift tests share: push everything planned, and read a scan's findings."""

from __future__ import annotations

from telephony.models import DriftFinding, ProvisioningJob
from telephony.provisioning import runner


def run_all() -> None:
    """Run every pending job in order; all must succeed."""
    for pk in ProvisioningJob.objects.filter(status="pending").order_by("id").values_list("pk", flat=True):
        runner.run_job(pk)
    failed = ProvisioningJob.objects.exclude(status="succeeded").values_list("operation", "last_error")
    assert not failed, list(failed)


def findings(scan, kind=None) -> list[DriftFinding]:
    found = DriftFinding.objects.filter(scan=scan)
    return list(found.filter(kind=kind) if kind else found)

"""No takeover when a key is reused. User A's create is in backoff after a 5xx; A's key (its internal
number on XCU, its account name on XC5) changes, or A is deleted; then B is created with A's old
key and its create is tried first. B waits for A to let go of the key; A's retried create sends A's
current data, not the snapshot of when it was planned; in the end each user is on the PBX once, as
itself. Real HTTP against the simulators; jobs run in-process, in the order the sequence needs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from telephony.models import BackendClaim, JobStatus, PbxUser, ProvisioningJob
from telephony.provisioning import planning, runner
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.sandbox.xcu import XcuSimulator
from telephony.services.users import pbx_user_create, pbx_user_delete, pbx_user_update
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.xcu_world import xcu_world

pytestmark = pytest.mark.django_db


class Place:
    """Where the users go, and how to read them back from the simulator."""

    def __init__(self, kind, served, tree):
        self.kind, self.sim = kind, served.simulator
        if kind == "xcu":
            world = xcu_world(served.base_url + "/api/1.0/", tree.reseller, tree.customer)
            self.tenant, self.entity, self.template = world.tenant, world.entity, world.template
        else:
            platform = PlatformFactory(organization=tree.reseller, kind="xc5", base_url=served.base_url,
                                       username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
            self.tenant = TenantFactory(organization=tree.customer, server=ServerFactory(platform=platform),
                                        name="acmebrick.x.co.nz")  # fmt: skip
            planning.tenant_created(self.tenant)
            self.entity = EntityFactory(tenant=self.tenant, name="office", intervals=[("600", "699")])
            self.template = LineTemplateFactory(organization=tree.customer, name="standard")
        for job in ProvisioningJob.objects.filter(status="pending"):
            assert runner.run_job(job.pk) == "succeeded"

    def number(self, n: int) -> str:
        return str((1700 if self.kind == "xcu" else 600) + n)

    def on_pbx(self) -> dict[str, str]:
        """key → first name of every user the portal made there."""
        state = self.sim.snapshot()
        if self.kind == "xcu":
            return {u["internalNumber"]: u["firstName"] for u in state["users"] if u["internalNumber"].startswith("17")}
        return {
            a["username"].split("@")[0]: a.get("description", "").split(" ")[0]
            for a in state["accounts"].values()
            if a["username"].endswith("@acmebrick.x.co.nz")
        }

    def key_of(self, user: PbxUser) -> str:
        return user.internal_number if self.kind == "xcu" else user.username


@pytest.fixture(params=["xcu", "xc5"])
def place(request, serve, tree):
    return Place(request.param, serve(XcuSimulator() if request.param == "xcu" else Xc5Simulator()), tree)


def _create(place: Place, actor, n: int, username: str, first_name: str) -> PbxUser:
    return pbx_user_create(
        actor=actor,
        user=PbxUser(tenant=place.tenant, entity=place.entity, template=place.template, username=username,
                     first_name=first_name, last_name="Test", internal_number=place.number(n)),
    )  # fmt: skip


def _job(user: PbxUser, operation: str) -> ProvisioningJob:
    return ProvisioningJob.objects.get(target_key=f"pbxuser:{user.pk}", operation=operation)


def _due_now(job: ProvisioningJob) -> None:
    ProvisioningJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def _run_until_quiet() -> None:
    for _round in range(10):
        pending = list(ProvisioningJob.objects.filter(status="pending").order_by("id"))
        if not pending:
            return
        for job in pending:
            _due_now(job)
            runner.run_job(job.pk)


@pytest.mark.parametrize("let_go", ["key changed", "deleted"])
def test_a_reused_key_is_never_a_takeover(place, superuser, let_go):
    ada = _create(place, superuser, 1, "ada", "Ada")
    place.sim.set_faults({"error_rate": 1.0})
    assert runner.run_job(_job(ada, "user.create").pk) == "retry", "A's create is in backoff"
    place.sim.set_faults({"error_rate": 0.0})
    old_key = place.key_of(ada)
    if let_go == "deleted":
        pbx_user_delete(actor=superuser, user=ada)
    elif place.kind == "xcu":
        ada.internal_number = place.number(2)
        pbx_user_update(actor=superuser, user=ada)
    else:
        ada.username = "ada2"
        pbx_user_update(actor=superuser, user=ada)
    number = 3 if (place.kind, let_go) == ("xc5", "key changed") else 1  # Ada keeps her number there
    bob = _create(place, superuser, number, "ada" if place.kind == "xc5" else "bob", "Bob")
    assert place.key_of(bob) == old_key

    bob_create = _job(bob, "user.create")
    assert runner.run_job(bob_create.pk) == "waiting for an earlier job", "B's create is tried first, and waits"
    _run_until_quiet()

    assert set(ProvisioningJob.objects.values_list("status", flat=True)) <= {JobStatus.SUCCEEDED, JobStatus.CANCELLED}
    on_pbx = place.on_pbx()
    if let_go == "deleted":
        assert on_pbx == {old_key: "Bob"}
    else:
        ada.refresh_from_db()
        assert on_pbx == {old_key: "Bob", place.key_of(ada): "Ada"}, "each on the PBX once, as itself"
    claims = BackendClaim.objects.filter(kind="user")
    assert claims.count() == len(on_pbx) and len({(c.target_id) for c in claims}) == len(on_pbx)

"""The XC5 pilot flag as XC5 holds it (issue 16, part 1): XC5 flags numbers `is-pilot` per account;
the portal's pilot (one per tenant) is pushed onto the account that holds the number — a user's
numbers always carry the flag as the portal holds it, a pilot on no user is the environment's own
number — every write is read back from XC5's answer, and a drift scan names a user's pilot that
XC5 holds otherwise. Against the simulator over real HTTP, through the services and the runner."""

from __future__ import annotations

import pytest
import requests

from telephony.backends.errors import RejectedError
from telephony.backends.xc5_mapping import check_pilot
from telephony.drift.scan import scan_server
from telephony.models import FindingKind, PbxUser, PhoneNumber, ProvisioningJob, SyncState
from telephony.provisioning import planning
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME, Xc5Simulator
from telephony.services import number_ranges as ranges
from telephony.services.numbers import phone_number_update
from telephony.services.users import pbx_user_assign_number, pbx_user_release_number
from tests.factories import EntityFactory, LineTemplateFactory, PlatformFactory, ServerFactory, TenantFactory
from tests.telephony.drift.helpers import findings, run_all

pytestmark = pytest.mark.django_db
TENANT = "initech.x.co.nz"


@pytest.fixture
def xc5(serve):
    return serve(Xc5Simulator())


@pytest.fixture
def api(xc5):
    session = requests.Session()
    session.auth = (SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD)
    session.url = lambda path: f"{xc5.base_url}/api-sys/{path}"
    return session


@pytest.fixture
def world(xc5, tree, add_users, superuser):
    platform = PlatformFactory(organization=tree.distributor, kind="xc5", base_url=xc5.base_url,
                               username=SYSTEM_API_USERNAME, secret=SYSTEM_API_PASSWORD)  # fmt: skip
    server = ServerFactory(platform=platform, name="xc5")
    tenant = TenantFactory(organization=tree.customer, server=server, name=TENANT)
    planning.tenant_created(tenant)
    entity = EntityFactory(tenant=tenant, name="main", intervals=[("600", "699")])
    template = LineTemplateFactory(organization=tree.customer, name="standard")
    run_all()
    add_users(tenant, entity, template, ("600", "ada"), ("601", "bob"))
    # numbers of the sandbox's `_unassigned.pool`, in the reseller's pool and allocated to the tenant
    numbers = ranges.parse_range("+64 9 123 1200 – 1209")
    ranges.phone_number_range_add(actor=superuser, organization=tree.reseller, numbers=numbers, tenant=tenant)
    return server


def held(xc5, number: str) -> tuple[str, bool]:
    """(the account that holds the number on XC5, its is-pilot flag)."""
    snapshot = xc5.simulator.snapshot()
    record = next(item for item in snapshot["numbers"].values() if item["number"] == number.removeprefix("+"))
    return snapshot["accounts"][record["account_guid"]]["username"], record["is-pilot"]


def number(value: str) -> PhoneNumber:
    return PhoneNumber.objects.get(number=value)


def flag(actor, value: str, pilot: bool) -> None:
    row = number(value)
    row.is_pilot = pilot
    phone_number_update(actor=actor, number=row)


def test_a_user_s_numbers_carry_the_portal_s_flag_never_the_one_xc5_picks(world, xc5, superuser):
    ada = PbxUser.objects.get(username="ada")
    pbx_user_assign_number(actor=superuser, user=ada, number=number("+6491231200"))
    pbx_user_assign_number(actor=superuser, user=ada, number=number("+6491231201"))
    run_all()
    # XC5 would make an account's first number its pilot by itself: the portal wrote false
    assert held(xc5, "+6491231200") == (f"ada@{TENANT}", False)
    assert held(xc5, "+6491231201") == (f"ada@{TENANT}", False)

    flag(superuser, "+6491231201", True)
    [job] = ProvisioningJob.objects.filter(status="pending")
    assert job.operation == "number.assign", "the flag alone changed: the number is pushed again with it"
    run_all()
    assert held(xc5, "+6491231201") == (f"ada@{TENANT}", True)
    assert held(xc5, "+6491231200") == (f"ada@{TENANT}", False)

    scan = scan_server(server_id=world.pk)
    assert findings(scan) == []
    assert set(PbxUser.objects.values_list("sync_state", flat=True)) == {SyncState.VERIFIED}


def test_a_pilot_on_no_user_is_the_environment_s_own_number(world, xc5, superuser):
    flag(superuser, "+6491231205", True)
    run_all()
    assert held(xc5, "+6491231205") == (TENANT, True), "the environment's main number"

    flag(superuser, "+6491231205", False)
    run_all()
    assert held(xc5, "+6491231205") == (TENANT, False), "still the tenant's: kept, unflagged"

    flag(superuser, "+6491231205", True)
    bob = PbxUser.objects.get(username="bob")
    pbx_user_assign_number(actor=superuser, user=bob, number=number("+6491231205"))
    run_all()
    assert held(xc5, "+6491231205") == (f"bob@{TENANT}", True), "the pilot moves to the user with its flag"

    pbx_user_release_number(actor=superuser, user=bob, number=number("+6491231205"))
    run_all()
    assert held(xc5, "+6491231205") == (TENANT, True), "off the user, back on the environment"

    ranges.phone_numbers_release(actor=superuser, numbers=[number("+6491231205")], to_pool=True)
    run_all()
    assert held(xc5, "+6491231205") == ("_unassigned.pool", False), "no longer the tenant's"
    assert not number("+6491231205").is_pilot


def test_deleting_the_pilot_lets_the_environment_go_of_it(world, xc5, superuser):
    from telephony.services.numbers import phone_number_delete

    flag(superuser, "+6491231207", True)
    run_all()
    phone_number_delete(actor=superuser, number=number("+6491231207"))
    run_all()
    assert held(xc5, "+6491231207") == ("_unassigned.pool", False)


def test_where_the_platform_keeps_no_flag_the_pilot_is_nothing_to_push(tree, superuser):
    tenant = TenantFactory(organization=tree.customer)  # on XiVO XCU, the pilot is the portal's note
    ranges.phone_number_range_add(
        actor=superuser, organization=tree.reseller, numbers=ranges.parse_range("+31201234500"), tenant=tenant
    )
    flag(superuser, "+31201234500", True)
    assert not ProvisioningJob.objects.exists()
    assert number("+31201234500").sync_state == SyncState.IN_SYNC


def test_a_scan_names_a_user_s_pilot_that_xc5_holds_otherwise(world, xc5, api, superuser):
    ada = PbxUser.objects.get(username="ada")
    pbx_user_assign_number(actor=superuser, user=ada, number=number("+6491231202"))
    run_all()
    assert api.patch(api.url(f"account/ada@{TENANT}/number/6491231202"), json={"is-pilot": True}).ok
    scan = scan_server(server_id=world.pk)
    [differs] = findings(scan, FindingKind.DIFFERS)
    assert differs.differences == [
        {"field": "pilot_number", "label": "pilot number", "portal": "empty", "pbx": "+6491231202"}
    ]
    assert PbxUser.objects.get(username="ada").sync_state == SyncState.DRIFTED


def test_a_flag_xc5_answers_otherwise_fails_the_job_with_why():
    with pytest.raises(RejectedError, match="is-pilot True, though the portal wrote False"):
        check_pilot({"number": "6491231200", "is-pilot": True}, False, f"ada@{TENANT}")


def import_numbers(superuser, tree, *lines):
    from django.db import transaction

    from telephony.imports.numbers import NumberImport
    from telephony.models import ProvisioningBatch
    from tests.telephony.imports.conftest import parsed

    importer = NumberImport(actor=superuser, mode="update", organization=tree.reseller)
    batch = ProvisioningBatch.objects.create(organization=tree.reseller, label="CSV import #1: pilots.csv")
    with transaction.atomic():
        outcome = importer.run(parsed(*lines), commit=True, batch=batch, dispatch=False)
    assert outcome.error_total == 0, outcome.errors
    return batch


def test_a_numbers_import_pushes_the_pilot_it_sets(world, xc5, superuser, tree):
    ada = PbxUser.objects.get(username="ada")
    pbx_user_assign_number(actor=superuser, user=ada, number=number("+6491231203"))
    run_all()
    header = "number,tenant,assigned_user,is_pilot"
    # the flag alone, on a user's number
    batch = import_numbers(superuser, tree, header, f"+6491231203,{TENANT},ada,yes", f"+6491231204,{TENANT},,no")
    assert list(batch.jobs.values_list("operation", flat=True)) == ["number.assign"]
    run_all()
    assert held(xc5, "+6491231203") == (f"ada@{TENANT}", True)

    import_numbers(superuser, tree, header, f"+6491231203,{TENANT},ada,no")
    import_numbers(superuser, tree, header, f"+6491231204,{TENANT},,yes")
    run_all()
    assert held(xc5, "+6491231203") == (f"ada@{TENANT}", False)
    assert held(xc5, "+6491231204") == (TENANT, True), "a pilot on no user: the environment's own number"

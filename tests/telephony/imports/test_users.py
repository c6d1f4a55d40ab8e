"""Users imports: every rule of a single create, all rows or none, one batch of jobs, a constant
number of queries, update mode and the action column, and the scope of the importing login."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from telephony.imports.users import UserImport
from telephony.models import PbxUser, PhoneNumber, Platform, ProvisioningBatch, ProvisioningJob, SyncState
from telephony.provisioning import bulk, specs
from tenants.models import Role
from tests.factories import EntityFactory, LineTemplateFactory, PbxUserFactory, PhoneNumberFactory
from tests.telephony.imports.conftest import parsed

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,exten,username,email,ddi,template,entity,voicemail_enabled,voicemail_pin"


def check(world, actor, *rows, mode="create", header=HEADER):
    return UserImport(actor=actor, mode=mode, tenant=world.tenant, template=world.template).run(parsed(header, *rows))


def commit(world, actor, *rows, mode="create", header=HEADER):
    batch = ProvisioningBatch.objects.create(organization=world.tenant.organization, label="test")
    importer = UserImport(actor=actor, mode=mode, tenant=world.tenant, template=world.template)
    try:
        with transaction.atomic():
            outcome = importer.run(parsed(header, *rows), commit=True, batch=batch, dispatch=False)
            if outcome.error_total:
                raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    return outcome, batch


def errors(outcome):
    return {(row, column): message for row, column, message in outcome.errors}


def test_every_rule_of_a_single_create_is_checked_row_by_row(world, staff, sibling_world):
    PbxUserFactory(entity=world.sales, internal_number="1750", username="taken", template=world.template)
    outcome = check(
        world,
        staff,
        "Ok,Row,1701,ok,ok@example.net,,,,,",
        "Out,Side,1999,out,,,,,,",  # inside no entity's number plan
        "Wrong,Entity,1702,wrong,,,,support,,",  # support's plan is 2000-2099
        "Taken,Number,1750,other,,,,,,",
        "Taken,Name,1703,taken,,,,,,",
        "Bad,Mail,1704,badmail,not-an-email,,,,,",
        "Dup,Number,1701,dupnumber,,,,,,",
        "Foreign,Template,1705,ft," + "," + "," + sibling_world.template.name + "x,,,",
        "Pin,NoVoicemail,1706,pin,,,,,no,1234",
        "Foreign,Number,1707,fn,," + sibling_world.numbers[0].number + ",,,,",
        "Bad,Ddi,1708,bd,,12,,,,",
    )
    found = errors(outcome)
    assert outcome.created == 1 and outcome.error_total == len(found) == 10, outcome.errors
    assert "not inside the number plan" in found[(3, "internal_number")]
    assert "outside the number plan of support" in found[(4, "internal_number")]
    assert "already taken" in found[(5, "internal_number")]
    assert "already exists" in found[(6, "")]
    assert found[(7, "email")] == "Enter a valid email address."
    assert found[(8, "internal_number")] == "1701 is also on row 2."
    assert "not found" in found[(9, "template")]
    assert "Turn voicemail on" in found[(10, "voicemail_pin")]
    assert "not found" in found[(11, "ddi")]
    assert "E.164" in found[(12, "ddi")]


def test_licences_and_server_capacity_are_checked_for_the_whole_file(world, staff):
    world.tenant.licences = 2
    world.tenant.save()
    outcome = check(world, staff, "A,A,1701,a,,,,,,", "B,B,1702,b,,,,,,", "C,C,1703,c,,,,,,")
    assert any(column == "licences" for _row, column, _m in outcome.errors)
    world.tenant.licences = 10
    world.tenant.save()
    world.server.capacity_users = 1
    world.server.save()
    outcome = check(world, staff, "A,A,1701,a,,,,,,", "B,B,1702,b,,,,,,")
    assert [message for _r, column, message in outcome.errors if column == "server"] == [
        f"Server {world.server} holds 0 of 1 lines; there is no room for 2 more."
    ]


def test_nothing_is_written_when_one_row_fails(world, staff):
    outcome, _batch = commit(world, staff, "A,A,1701,a,,,,,,", "B,B,9999,b,,,,,,")
    assert outcome.error_total == 1
    assert not PbxUser.objects.exists() and not ProvisioningJob.objects.exists()


def test_a_commit_writes_users_numbers_and_one_batch_of_jobs_like_single_creates(world, staff):
    keeps_pins(world)
    number = world.numbers[1].number
    outcome, batch = commit(
        world, staff, f"Ada,Lovelace,1701,ada,ada@example.net,{number},,,yes,4321", "Alan,Turing,2001,alan,,,,,,"
    )
    assert (outcome.created, outcome.error_total) == (2, 0)
    ada = PbxUser.objects.get(username="ada")
    assert (ada.entity, ada.template, ada.voicemail_pin, ada.sync_state) == (
        world.sales,
        world.template,
        "4321",
        SyncState.PENDING,
    )
    assert PhoneNumber.objects.get(number=number).assigned_user == ada
    jobs = list(ProvisioningJob.objects.filter(batch=batch).order_by("id"))
    assert [j.operation for j in jobs] == ["user.create", "user.create", "number.assign"]
    assert all(j.created_by == staff and j.server == world.server and j.platform == world.platform for j in jobs)
    assert jobs[0].target_key == f"pbxuser:{ada.pk}" and jobs[2].dependency_keys() == [f"pbxuser:{ada.pk}"]
    alan = PbxUser.objects.get(username="alan")
    assert [(j.target_key, j.dependency_keys()) for j in jobs[:2]] == [
        (f"pbxuser:{ada.pk}", sorted([f"entity:{world.sales.pk}", f"tenant:{world.tenant.pk}"])),
        (f"pbxuser:{alan.pk}", sorted([f"entity:{alan.entity_id}", f"tenant:{world.tenant.pk}"])),
    ], "each job's dependencies, written in bulk, are its own"
    assert jobs[0].payload["user"] == specs.to_payload(specs.user_spec(ada, numbers=[])), "same payload as planning"
    assert jobs[0].payload["tenant"] == specs.to_payload(specs.tenant_ref(world.tenant))
    assert jobs[2].payload["user"]["external_numbers"] == [number]


def test_rows_written_a_few_per_statement_keep_their_values_and_dependencies(world, staff, monkeypatch):
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 2)  # five users, three numbers: several statements each
    numbers = [n.number for n in world.numbers[:3]] + ["", ""]
    outcome, batch = commit(world, staff, *(f"U{i},X{i},{1701 + i},u{i},,{numbers[i]},,,," for i in range(5)))
    assert (outcome.created, outcome.error_total) == (5, 0)
    users = list(PbxUser.objects.filter(username__in=[f"u{i}" for i in range(5)]).order_by("internal_number"))
    assert [(u.username, u.first_name, u.internal_number) for u in users] == [
        (f"u{i}", f"U{i}", str(1701 + i)) for i in range(5)
    ]
    assert [PhoneNumber.objects.get(number=n).assigned_user for n in numbers[:3]] == users[:3]
    jobs = list(ProvisioningJob.objects.filter(batch=batch).order_by("id"))
    tenant = f"tenant:{world.tenant.pk}"
    assert [(j.target_key, j.dependency_keys()) for j in jobs] == [
        *((f"pbxuser:{u.pk}", sorted([f"entity:{u.entity_id}", tenant])) for u in users),
        *(
            (f"phonenumber:{PhoneNumber.objects.get(number=n).pk}", [f"pbxuser:{u.pk}"])
            for n, u in zip(numbers[:3], users, strict=False)
        ),
    ]


def test_queries_do_not_grow_with_the_rows(world, staff):
    def queries(count):
        PbxUser.objects.all().delete()
        ProvisioningJob.objects.all().delete()
        rows = [f"U,{i},{1700 + i},u{i},u{i}@example.net,,,,," for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            outcome, _batch = commit(world, staff, *rows)
        assert outcome.created == count
        return len(captured.captured_queries)

    world.tenant.licences = 500
    world.tenant.save()
    queries(2)  # content types and other per-process caches fill on the first import
    assert queries(5) == queries(90)


def test_update_mode_changes_users_by_username_and_skips_unchanged_ones(world, staff):
    commit(world, staff, "Ada,Lovelace,1701,ada,ada@example.net,,,,,", "Alan,Turing,1702,alan,,,,,,")
    outcome, batch = commit(
        world,
        staff,
        "Ada,Byron,1701,ada,ada@example.net,,,,,",
        "Alan,Turing,1702,alan,,,,,,",
        "Grace,Hopper,1703,grace,,,,,,",
        mode="upsert",
    )
    assert (outcome.created, outcome.updated, outcome.skipped) == (1, 1, 1)
    assert PbxUser.objects.get(username="ada").last_name == "Byron"
    assert sorted(ProvisioningJob.objects.filter(batch=batch).values_list("operation", flat=True)) == [
        "user.create",
        "user.update",
    ]


@pytest.mark.parametrize("mode", ["create", "upsert", "update"])
def test_a_row_without_username_is_never_matched_to_another_user_by_internal_number(world, staff, mode):
    """The key of a row without username is the username it would get (first.last here): a number
    held by someone else is an error naming them, in every mode, and Carol stays Carol."""
    commit(world, staff, "Carol,Jones,2001,carol,,,,,,")
    outcome, _batch = commit(world, staff, "Dup,Number,2001,,,,,,,", mode=mode)
    expected = {
        "create": "2001 is already taken by carol.",
        "upsert": "2001 is already taken by carol.",
        "update": "not found (username 'dup.number'): there is nothing to update.",
    }[mode]
    column = "" if mode == "update" else "internal_number"
    assert errors(outcome) == {(2, column): expected}
    assert (outcome.created, outcome.updated) == (0, 0)
    assert PbxUser.objects.get(internal_number="2001").first_name == "Carol"


def test_a_row_without_username_updates_the_user_its_derived_username_names(world, staff):
    commit(world, staff, "Ada,Lovelace,1701,ada,ada@example.net,,,,,", "Alan,Turing,1702,alan.turing,,,,,,")
    outcome, _batch = commit(
        world, staff, "Ada,Byron,1701,,ada@example.net,,,,,", "Alan,Turing,1703,,,,,,,", mode="update"
    )
    assert outcome.error_total == 0 and outcome.updated == 2, outcome.errors
    assert PbxUser.objects.get(username="ada").last_name == "Byron"
    assert PbxUser.objects.get(username="alan.turing").internal_number == "1703"
    outcome = check(world, staff, "Ada,Byron,1704,,ada@example.net,,,,,")
    assert errors(outcome) == {
        (2, ""): "already exists (username 'ada'); use update mode (or action update) to change it."
    }


def test_the_action_column_overrides_the_mode(world, staff):
    commit(world, staff, "Ada,Lovelace,1701,ada,,,,,,")
    header = "action," + HEADER
    outcome = check(
        world,
        staff,
        "update,Ada,X,1701,ada,,,,,,",
        "skip,Bad,Row,99,bad,,,,,,",
        "frobnicate,A,B,1702,b,,,,,,",
        header=header,
    )
    assert (outcome.updated, outcome.skipped) == (1, 1)
    assert [column for _r, column, _m in outcome.errors] == ["action"]
    outcome = check(world, staff, "create,Ada,X,1701,ada,,,,,,", header=header)
    assert "already exists" in outcome.errors[0][2]


def test_rows_naming_another_organizations_objects_fail_as_not_found(tree, world, sibling_world, staff):
    header = "tenant," + HEADER
    outcome = check(
        world,
        staff,
        f"{sibling_world.tenant.name},A,B,1701,a,,,,,",
        "acme,C,D,1702,c,,,,,",
        header=header,
    )
    assert errors(outcome)[(2, "tenant")].startswith(f"{sibling_world.tenant.name!r} not found among your tenants")
    outcome = check(world, staff, f"A,B,1701,a,,,{sibling_world.template.name}x,,,")
    assert "not found" in errors(outcome)[(2, "template")]


def test_an_entity_administrator_imports_only_into_their_entities(tree, world, member):
    login = member(tree.sibling, Role.VIEWER)  # a membership elsewhere, no rights here
    world.sales.administrators.add(login)
    outcome = check(world, login, "A,A,1701,a,,,,,,", "B,B,2001,b,,,,,,")
    assert outcome.created == 1
    assert errors(outcome)[(3, "internal_number")].startswith("2001 is not inside")


def test_a_derived_username_and_case_insensitive_headers(world, staff):
    outcome = check(world, staff, "Zoë,Ærø,1701", header="FirstName,LASTNAME,Extension")
    assert outcome.error_total == 0
    assert outcome.preview[0]["username"] == "zoe.r"


def test_template_from_the_nearest_organization_and_default(tree, world, staff):
    nearer = LineTemplateFactory(organization=tree.customer, name="Standard")
    outcome = check(world, staff, "A,A,1701,a,,,Standard,,,")
    assert outcome.preview[0]["template"] == "Standard"
    outcome, _ = commit(world, staff, "A,A,1701,a,,,Standard,,,")
    assert PbxUser.objects.get().template == nearer
    EntityFactory(tenant=world.tenant, name="other", intervals=[("3000", "3099")])
    PhoneNumberFactory(organization=tree.reseller, number="+31205559999")


def test_imported_changes_are_in_the_audit_history(world, staff):
    keeps_pins(world)
    from auditlog.models import LogEntry

    outcome, _batch = commit(world, staff, "Ada,Lovelace,1701,ada,ada@example.net,,,,yes,2468")
    assert outcome.created == 1
    user = PbxUser.objects.get(username="ada")
    created = LogEntry.objects.get_for_object(user).get()
    assert created.action == LogEntry.Action.CREATE and created.actor == staff
    assert created.changes_dict["first_name"] == ["None", "Ada"]
    assert created.changes_dict["voicemail_pin"] == ["", "****"], "the PIN is masked"
    assert created.additional_data["org"] == world.tenant.organization_id
    outcome, _batch = commit(world, staff, "Augusta,Lovelace,1701,ada,ada@example.net,,,,yes,2468", mode="update")
    assert outcome.updated == 1
    updated = LogEntry.objects.get_for_object(user).filter(action=LogEntry.Action.UPDATE).get()
    assert updated.changes_dict == {"first_name": ["Ada", "Augusta"]}
    assert updated.additional_data["via"] == created.additional_data["via"] == "test"  # the batch's import


def test_an_import_stays_in_its_tenants_organization(world, staff, tree):
    """Staff see every customer below them, but an import belongs to the organization of its tenant
    (whose administrators see its preview): another customer's tenant is not found from it."""
    from tenants.models import Organization
    from tests.factories import OrganizationFactory, TenantFactory

    other_customer = OrganizationFactory(parent=Organization.objects.get(pk=tree.reseller.pk), kind="customer")
    TenantFactory(organization=other_customer, server=world.server, name="other")
    outcome = check(world, staff, "Ada,Lovelace,1701,ada,,,,,,,other", header=HEADER + ",tenant")
    assert "belongs to another customer than the tenant chosen on the form" in errors(outcome)[(2, "tenant")]


def keeps_pins(world) -> None:
    """Put the world's tenant on a platform that keeps voicemail and its PIN per user (XC5)."""
    Platform.objects.filter(pk=world.platform.pk).update(kind="xc5", base_url="http://127.0.0.1:9/api-sys/")


def test_a_setting_the_tenants_platform_does_not_keep_is_a_row_error(world, staff):
    outcome, _batch = commit(world, staff, "Ada,Lovelace,1701,ada,ada@example.net,,,,yes,2468")
    assert outcome.created == 0
    assert outcome.errors == [
        (
            2,
            "voicemail_enabled",
            "On XiVO XCU voicemail comes from the line template: choose a template with voicemail.",
        )
    ]
    assert not PbxUser.objects.filter(username="ada").exists()


def test_xcu_takes_one_external_number_per_user(world, staff):
    first, second = world.numbers[1].number, world.numbers[2].number
    outcome, _batch = commit(world, staff, f'Ada,Lovelace,1701,ada,ada@example.net,"\'{first}; {second}",,,,')
    assert outcome.created == 0
    assert outcome.errors == [(2, "ddi", "XiVO XCU keeps 1 external number per user.")]

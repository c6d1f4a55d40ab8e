"""Issue 16, part 2: onboarding a customer in one step (`telephony.services.onboarding`): every part
written in one transaction with one batch of jobs, or nothing at all; every choice checked again."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from telephony.models import Entity, PhoneNumber, ProvisioningJob, Tenant
from telephony.services.onboarding import (
    EntityPlan,
    OnboardingPlan,
    OnboardingRefused,
    Step,
    customer_onboard,
    onboarding_check,
)
from tenants.models import Membership, Organization, Role
from tests.factories import LineTemplateFactory, PhoneNumberFactory, PlatformFactory, ServerFactory

pytestmark = pytest.mark.django_db

USERS_CSV = b"internal_number,first_name,last_name,email,entity\n1701,Ann,Able,ann@new.example,sales\n"


@pytest.fixture
def world(tree, member):
    """A reseller administrator, a server shared with the reseller, free numbers in the reseller's pool."""
    platform = PlatformFactory(organization=tree.distributor)
    server = ServerFactory(platform=platform, capacity_tenants=5)
    numbers = [PhoneNumberFactory(number=f"+3120555010{i}", organization=tree.reseller) for i in range(3)]
    template = LineTemplateFactory(organization=tree.reseller, name="Standard")
    return {
        "tree": tree,
        "admin": member(tree.reseller, Role.ADMIN),
        "server": server,
        "numbers": numbers,
        "template": template,
    }


def plan_for(world, **changes) -> OnboardingPlan:
    values = dict(
        parent_id=world["tree"].reseller.pk,
        customer_name="New Bricks",
        server_id=world["server"].pk,
        tenant_name="newbricks",
        tenant_label="New Bricks",
        licences=20,
        entities=(EntityPlan(name="sales", display_name="Sales", intervals="1700-1799, 1961"),),
        numbers=tuple(n.number for n in world["numbers"][:2]),
        admin_username="newbricks.admin",
        admin_email="boss@new.example",
        admin_first_name="Bo",
        admin_last_name="Ss",
        users_csv=USERS_CSV,
        users_file_name="users.csv",
        users_template_id=world["template"].pk,
    )
    values.update(changes)
    return OnboardingPlan(**values)


def nothing_written() -> bool:
    return (
        not Organization.objects.filter(name="New Bricks").exists()
        and not Tenant.objects.filter(name="newbricks").exists()
        and not get_user_model().objects.filter(username="newbricks.admin").exists()
        and not PhoneNumber.objects.filter(tenant__isnull=False).exists()
        and not ProvisioningJob.objects.exists()
    )


def test_everything_is_written_with_one_batch_and_the_link_is_mailed(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = customer_onboard(actor=world["admin"], plan=plan_for(world))
    customer = Organization.objects.get(pk=done.customer.pk)
    assert customer.parent == world["tree"].reseller and customer.kind == "customer"
    tenant = Tenant.objects.get(organization=customer)
    assert (tenant.name, tenant.server, tenant.licences) == ("newbricks", world["server"], 20)
    entity = Entity.objects.get(tenant=tenant)
    assert sorted(entity.intervals.values_list("start", "end")) == [("1700", "1799"), ("1961", "")]
    assert sorted(tenant.phone_numbers.values_list("number", flat=True)) == ["+31205550100", "+31205550101"]
    assert tenant.users.get().first_name == "Ann"
    login = get_user_model().objects.get(username="newbricks.admin")
    assert not login.has_usable_password() and not login.is_staff
    assert Membership.objects.get(user=login).organization == customer
    assert Membership.objects.get(user=login).role == Role.ADMIN
    jobs = ProvisioningJob.objects.filter(tenant=tenant)
    assert jobs.exists() and set(jobs.values_list("batch", flat=True)) == {done.batch.pk}
    assert {"tenant.create", "entity.upsert", "user.create"} <= set(jobs.values_list("operation", flat=True))
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["boss@new.example"]
    assert "/password/reset/" in mailoutbox[0].body and "newbricks.admin" in mailoutbox[0].body


def test_a_failure_at_the_last_step_writes_nothing(world, mailoutbox, django_capture_on_commit_callbacks):
    bad = USERS_CSV + b"9999,Out,Side,out@new.example,sales\n"  # outside the plan
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OnboardingRefused) as refused:
        customer_onboard(actor=world["admin"], plan=plan_for(world, users_csv=bad))
    assert refused.value.step == Step.USERS
    assert any("row 3" in message for message in refused.value.messages)
    assert nothing_written() and not mailoutbox


def test_a_check_rolls_back_what_it_wrote(world):
    done = onboarding_check(actor=world["admin"], plan=plan_for(world), through=Step.USERS)
    assert done.users_created == 1
    assert nothing_written()


@pytest.mark.parametrize(
    ("changes", "step"),
    [
        ({"parent_id": "sibling"}, Step.ORGANIZATION),
        ({"parent_id": "customer"}, Step.ORGANIZATION),
        ({"server_id": "unshared"}, Step.TENANT),
        ({"server_id": "full"}, Step.TENANT),
        ({"numbers": ("sibling-pool",)}, Step.NUMBERS),
        ({"numbers": ("taken",)}, Step.NUMBERS),
        ({"admin_username": "taken"}, Step.ADMINISTRATOR),
        ({"entities": ()}, Step.NUMBERING),
        ({"entities": (EntityPlan(name="sales", intervals="1799-1700"),)}, Step.NUMBERING),
    ],
)
def test_what_the_actor_may_not_use_is_refused_at_its_step(world, member, changes, step):
    """Values a tampered session or form could carry: a sibling reseller, an unshared or full server,
    another pool's or a taken number, an existing login."""
    tree = world["tree"]
    sibling_platform = PlatformFactory(organization=tree.sibling)
    stand_ins = {
        "sibling": tree.sibling.pk,
        "customer": tree.customer.pk,
        "unshared": ServerFactory(platform=sibling_platform).pk,
        "full": ServerFactory(platform=world["server"].platform, capacity_tenants=0).pk,
        "sibling-pool": PhoneNumberFactory(number="+31205559999", organization=tree.sibling).number,
        "taken": None,
    }
    if changes.get("numbers") == ("taken",):
        taken = world["numbers"][2]
        taken.tenant = Tenant.objects.create(organization=tree.customer, server=world["server"], name="other")
        taken.save()
        changes = {"numbers": (taken.number,)}
    elif changes.get("admin_username") == "taken":
        changes = {"admin_username": member(tree.sibling_customer, Role.ADMIN).username}
    else:
        changes = {
            key: stand_ins.get(value, value) if isinstance(value, str) else value for key, value in changes.items()
        }
        if changes.get("numbers") == ("sibling-pool",):
            changes["numbers"] = (stand_ins["sibling-pool"],)
    before = ProvisioningJob.objects.count()
    with pytest.raises(OnboardingRefused) as refused:
        customer_onboard(actor=world["admin"], plan=plan_for(world, **changes))
    assert refused.value.step == step
    assert not Organization.objects.filter(name="New Bricks").exists()
    assert ProvisioningJob.objects.count() == before


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_only_an_administrator_of_the_reseller_onboards(world, member, role):
    with pytest.raises(OnboardingRefused) as refused:
        customer_onboard(actor=member(world["tree"].reseller, role), plan=plan_for(world))
    assert refused.value.step == Step.ORGANIZATION
    assert nothing_written()


def test_a_customer_administrator_cannot_onboard_below_its_customer(world, member):
    actor = member(world["tree"].customer, Role.ADMIN)
    with pytest.raises(OnboardingRefused):
        customer_onboard(actor=actor, plan=plan_for(world, parent_id=world["tree"].customer.pk))
    assert nothing_written()

"""Onboarding a customer in one step: its organization below a reseller, a tenant on a server with
room, entities with their number plans, numbers from the pool, its administrator's login (mailed a
set-password link) and optionally its users from a CSV file — written in one transaction with one
batch of jobs, or not at all.

Each part goes through the service that writes it anywhere else (organization_create, tenant_create,
entity_create, phone_number_update, customer_administrator_create, the users importer), so every
rule and permission check of theirs applies here too. What only onboarding needs is checked here:
the actor administers the reseller, each number is free and in a pool the actor manages.

The wizard checks each step by running the same writes up to that step and rolling them back
(`onboarding_check`), so a step is refused for exactly the reasons the final write would refuse it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from telephony.imports.base import describe_error
from telephony.imports.reading import FileProblem, read_csv
from telephony.imports.users import UserImport
from telephony.models import (
    Entity,
    ImportMode,
    LineTemplate,
    PhoneNumber,
    ProvisioningBatch,
    ProvisioningJob,
    Server,
    Tenant,
)
from telephony.services.numbers import phone_number_update
from telephony.services.tenants import entity_create, parse_intervals, tenant_create
from tenants import access
from tenants.access import VIEW
from tenants.languages import language_for
from tenants.models import Organization, OrganizationKind
from tenants.services import customer_administrator_create, organization_create

# Larger files go through the import pages, which check and commit them in the background.
USERS_CSV_MAX_BYTES = 200 * 1024
# At most this many of a refused CSV's errors are shown.
CSV_ERRORS_SHOWN = 20


class Step(IntEnum):
    ORGANIZATION = 1
    TENANT = 2
    NUMBERING = 3
    NUMBERS = 4
    ADMINISTRATOR = 5
    USERS = 6


@dataclass(frozen=True)
class EntityPlan:
    name: str
    display_name: str = ""
    intervals: str = ""


@dataclass(frozen=True)
class OnboardingPlan:
    """Everything the wizard gathered; ids and values as typed, trusted for nothing."""

    parent_id: int | None = None
    customer_name: str = ""
    server_id: int | None = None
    tenant_name: str = ""
    tenant_label: str = ""
    licences: int = 10
    entities: tuple[EntityPlan, ...] = ()
    numbers: tuple[str, ...] = ()
    admin_username: str = ""
    admin_email: str = ""
    admin_first_name: str = ""
    admin_last_name: str = ""
    users_csv: bytes = b""
    users_file_name: str = ""
    users_template_id: int | None = None

    @classmethod
    def from_steps(cls, steps: dict[str, Any]) -> OnboardingPlan:
        """The plan from the wizard's stored steps (JSON: keys are the step numbers as text)."""
        organization = steps.get(str(Step.ORGANIZATION), {})
        tenant = steps.get(str(Step.TENANT), {})
        numbering = steps.get(str(Step.NUMBERING), {})
        numbers = steps.get(str(Step.NUMBERS), {})
        administrator = steps.get(str(Step.ADMINISTRATOR), {})
        users = steps.get(str(Step.USERS), {})
        return cls(
            parent_id=organization.get("parent"),
            customer_name=organization.get("name", ""),
            server_id=tenant.get("server"),
            tenant_name=tenant.get("name", ""),
            tenant_label=tenant.get("label", ""),
            licences=tenant.get("licences") or 10,
            entities=tuple(EntityPlan(**entity) for entity in numbering.get("entities", [])),
            numbers=tuple(numbers.get("numbers", [])),
            admin_username=administrator.get("username", ""),
            admin_email=administrator.get("email", ""),
            admin_first_name=administrator.get("first_name", ""),
            admin_last_name=administrator.get("last_name", ""),
            users_csv=base64.b64decode(users.get("content", "")),
            users_file_name=users.get("file_name", ""),
            users_template_id=users.get("template"),
        )


@dataclass
class Onboarded:
    """What was written (or, in a check, would be)."""

    batch: ProvisioningBatch | None = None
    customer: Organization | None = None
    tenant: Tenant | None = None
    entities: list[Entity] = field(default_factory=list)
    numbers: list[PhoneNumber] = field(default_factory=list)
    administrator: Any = None
    users_created: int = 0


class OnboardingRefused(ValidationError):
    """A step of the plan is refused; `step` says which, the messages say why."""

    def __init__(self, step: Step, error: Any):
        super().__init__(error)
        self.step = step


class _CheckOnly(Exception):
    """Rolls back the writes of a check."""


@transaction.atomic
def customer_onboard(*, actor: AbstractBaseUser, plan: OnboardingPlan) -> Onboarded:
    """Write the whole plan in one transaction with one batch of jobs; mail the set-password link
    once it is committed. Raises OnboardingRefused (nothing written) naming the step at fault."""
    done = _write(actor, plan, through=Step.USERS)
    user = done.administrator
    # robust: a mail server that is down does not undo the onboarding; the login can ask for a link again.
    transaction.on_commit(lambda: mail_set_password_link(user), robust=True)
    return done


def onboarding_check(*, actor: AbstractBaseUser, plan: OnboardingPlan, through: Step) -> Onboarded:
    """Run the writes of the steps up to `through` and roll them back: raises OnboardingRefused as
    `customer_onboard` would. The objects returned were never saved (they carry ids that are gone)."""
    outcome = Onboarded()
    try:
        with transaction.atomic():
            outcome = _write(actor, plan, through=through)
            raise _CheckOnly
    except _CheckOnly:
        return outcome


def _write(actor: AbstractBaseUser, plan: OnboardingPlan, *, through: Step) -> Onboarded:
    done = Onboarded()
    with _refusing(Step.ORGANIZATION):
        parent = _parent(actor, plan.parent_id)
        customer = Organization(name=plan.customer_name, kind=OrganizationKind.CUSTOMER)
        done.customer = organization_create(actor=actor, organization=customer, parent=parent)
        done.batch = ProvisioningBatch.objects.create(
            organization=done.customer, label=f"Onboarding of {done.customer.name}"[:200], created_by=actor
        )
    if through >= Step.TENANT:
        with _refusing(Step.TENANT):
            done.tenant = _tenant(actor, plan, done.customer)
    if through >= Step.NUMBERING:
        with _refusing(Step.NUMBERING):
            done.entities = _entities(actor, plan, done.tenant)
    if through >= Step.NUMBERS:
        with _refusing(Step.NUMBERS):
            done.numbers = _numbers(actor, plan, done.tenant)
    if through >= Step.ADMINISTRATOR:
        with _refusing(Step.ADMINISTRATOR):
            done.administrator = customer_administrator_create(
                actor=actor,
                organization=done.customer,
                username=plan.admin_username,
                email=plan.admin_email,
                first_name=plan.admin_first_name,
                last_name=plan.admin_last_name,
            )
    if through >= Step.USERS and plan.users_csv:
        with _refusing(Step.USERS):
            done.users_created = _users(actor, plan, done.tenant, done.batch)
    if done.tenant is not None:
        # Every job of the new tenant is this onboarding's: they follow on one progress bar.
        ProvisioningJob.objects.filter(tenant=done.tenant, batch__isnull=True).update(batch=done.batch)
    return done


@contextmanager
def _refusing(step: Step) -> Iterator[None]:
    """Turns what a service refuses (a ValidationError, or a 404 for what the actor may not reach)
    into a refusal of one step."""
    try:
        yield
    except OnboardingRefused:
        raise
    except Http404:
        raise OnboardingRefused(step, _("Choose among what is offered here.")) from None
    except ValidationError as error:
        raise OnboardingRefused(step, error) from None


def _parent(actor: AbstractBaseUser, parent_id: int | None) -> Organization:
    parent = Organization.objects.filter(pk=parent_id).first() if parent_id else None
    if parent is None or not access.administers(actor, parent) or not actor.is_staff:
        raise ValidationError({"parent": _("Choose an organization you administer.")})
    if parent.kind == OrganizationKind.CUSTOMER:
        raise ValidationError({"parent": _("A customer cannot have customers below it; choose a reseller.")})
    return parent


def _tenant(actor: AbstractBaseUser, plan: OnboardingPlan, customer: Organization) -> Tenant:
    server = Server.objects.filter(pk=plan.server_id).first() if plan.server_id else None
    if server is None:
        raise ValidationError({"server": _("Choose a server.")})
    tenant = Tenant(
        organization=customer,
        server=server,
        name=plan.tenant_name,
        label=plan.tenant_label,
        licences=plan.licences,
    )
    return tenant_create(actor=actor, tenant=tenant)


def _entities(actor: AbstractBaseUser, plan: OnboardingPlan, tenant: Tenant) -> list[Entity]:
    if not plan.entities:
        raise ValidationError(_("Add at least one entity with its number plan: the tenant's users live in entities."))
    entities = []
    for wanted in plan.entities:
        try:
            intervals = parse_intervals(wanted.intervals)
            if not intervals:
                raise ValidationError({"intervals": _("Give the entity's number plan, such as 1700-1799, 1961.")})
            entity = Entity(tenant=tenant, name=wanted.name, display_name=wanted.display_name)
            entities.append(entity_create(actor=actor, entity=entity, intervals=intervals))
        except ValidationError as error:
            name = wanted.name or _("(no name)")
            raise ValidationError(
                [_("Entity %(name)s: %(problem)s") % {"name": name, "problem": m} for m in error.messages]
            ) from None
    return entities


def _numbers(actor: AbstractBaseUser, plan: OnboardingPlan, tenant: Tenant) -> list[PhoneNumber]:
    """Allocate each number to the tenant: only a free number (no tenant yet) of a pool the actor
    manages; phone_number_update then checks the pool is shared with the customer."""
    wanted = list(dict.fromkeys(plan.numbers))
    locked = {n.number: n for n in PhoneNumber.objects.select_for_update().filter(number__in=wanted)}
    refused = [
        number
        for number in wanted
        if (stored := locked.get(number)) is None
        or stored.tenant_id is not None
        or not access.can_add(actor, PhoneNumber, stored.organization)
    ]
    if refused:
        raise ValidationError(
            _("Not free in a pool you manage (taken meanwhile, or not yours): %(numbers)s.")
            % {"numbers": ", ".join(sorted(refused)[:20])}
        )
    allocated = []
    for number in wanted:
        stored = locked[number]
        stored.tenant = tenant
        allocated.append(phone_number_update(actor=actor, number=stored))
    return allocated


def _users(actor: AbstractBaseUser, plan: OnboardingPlan, tenant: Tenant, batch: ProvisioningBatch) -> int:
    """The users CSV, checked and written by the importer inside this transaction, its jobs in the batch."""
    if len(plan.users_csv) > USERS_CSV_MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)s KB: onboard without it, then import it on the import page.")
            % {"size": USERS_CSV_MAX_BYTES // 1024}
        )
    template = LineTemplate.objects.filter(pk=plan.users_template_id).first() if plan.users_template_id else None
    if template is not None and not access.can(actor, VIEW, template):
        raise ValidationError({"template": _("Choose one of the line templates offered.")})
    importer = UserImport(actor=actor, mode=ImportMode.CREATE, tenant=tenant, template=template)
    try:
        outcome = importer.run(read_csv(plan.users_csv), commit=True, batch=batch, dispatch=True)
    except FileProblem as problem:
        raise ValidationError(str(problem)) from None
    if outcome.error_total:
        shown = [describe_error(*error[:3]) for error in outcome.errors[:CSV_ERRORS_SHOWN]]
        if outcome.error_total > len(shown):
            shown.append(_("… and %(count)s more.") % {"count": outcome.error_total - len(shown)})
        raise ValidationError(shown)
    return outcome.created


def mail_set_password_link(user: AbstractBaseUser) -> None:
    """Mail the new administrator a link to the self-service site's set-password page (the
    password reset page: the token works once, and expires after PASSWORD_RESET_TIMEOUT), in the
    language the login chose (else the portal's own: no browser asks)."""
    token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("selfservice:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    context = {"user": user, "link": settings.PORTAL_PUBLIC_URL.rstrip("/") + path}
    with translation.override(language_for(user)):
        PasswordResetForm().send_mail(
            "admin/telephony/onboarding/set_password_subject.txt",
            "admin/telephony/onboarding/set_password_email.txt",
            context,
            None,
            user.email,
        )

"""The customers of the crawl's world: each one's tenant, entities, lines, numbers, logins, jobs and
imports, and the history that crosses from one customer to its sibling.

Each customer has a sales and an office entity, one line in each (the sales line failed to provision
and is the end user's), a number on each line and a free one, a customer administrator, an
administrator of the sales entity and an end user. The tokens of the office entity and of what only
the whole organization may see (ORG_ONLY) are what the entity administrator and the end user must
not be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from telephony.models import (
    DriftFinding,
    DriftScan,
    Entity,
    FindingKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    JobAttempt,
    JobStatus,
    LineTemplate,
    PbxUser,
    PhoneNumber,
    ProvisioningBatch,
    ProvisioningJob,
    Tenant,
)
from telephony.provisioning import planning
from telephony.provisioning.state import refresh_sync_state
from tenants.models import Organization, Role
from tests.crawl.world import ORG_ONLY, WorldBuilder
from tests.factories import EntityFactory, LineTemplateFactory, PbxUserFactory, PhoneNumberFactory, TenantFactory

# The first customer of each reseller also has an import by its entity administrator.
ENTITY_IMPORTERS = {"mikex", "oscarx"}


@dataclass
class Customer:
    organization: Organization
    tenant: Tenant
    sales: Entity
    office: Entity
    own_template: LineTemplate
    lines: list[PbxUser]  # the sales line (the end user's), the office line
    numbers: list[PhoneNumber]  # the number of each line


def add_customer(world: WorldBuilder, token: str, parent: str, platform_kind: str) -> None:
    org = world.organizations[token]
    distributor = "xrayx" if parent == "xrayx" else "zulux"
    tenant = TenantFactory(
        organization=org,
        server=world.servers[(distributor, platform_kind)],
        name=world.register(f"{token}-t1", org, what="tenant name"),
        label=world.register(f"{token.title()} HQ", org, what="tenant label"),
        licences=500,
    )
    sales = EntityFactory(tenant=tenant, name=f"{token}salesent", intervals=[("2100", "2199")])
    office = EntityFactory(tenant=tenant, name=f"{token}officeent", intervals=[("2000", "2099")])
    for entity, word in ((sales, "Sales"), (office, "Office")):
        world.register(entity.name, org, entity=entity, what="entity")
        entity.display_name = world.register(f"{entity.name.title()} {word}", org, entity=entity)
        entity.save(update_fields=["display_name"])
    own_template = LineTemplateFactory(
        organization=org, name=world.register(f"{token.title()} Custom", org, shared=True)
    )
    customer = Customer(org, tenant, sales, office, own_template, lines=[], numbers=[])
    _add_lines(world, token, customer, templates=[own_template, world.templates[parent]])
    _add_numbers(world, token, customer, pool=world.organizations[parent])
    admin = _add_logins(world, token, customer)
    _add_jobs(world, token, customer)
    _add_imports(world, token, customer, admin)
    world.customers[token] = customer


def _add_lines(world: WorldBuilder, token: str, customer: Customer, templates: list[LineTemplate]) -> None:
    org = customer.organization
    for number, (entity, word) in enumerate(((customer.sales, "one"), (customer.office, "two"))):
        line = PbxUserFactory(
            entity=entity,
            tenant=customer.tenant,
            template=templates[number],
            username=f"{token}user{word}",
            first_name=f"{token.title()}person",
            last_name=f"{token.title()}user{word}",
            display_name="",
            email=f"{token}user{word}@example.net",
            internal_number=f"{entity.intervals.get().start[:2]}{number + 1:02d}",
            voicemail_enabled=True,
            voicemail_pin="97531",
        )
        for text in (line.username, line.last_name, line.email):
            world.register(text, org, entity=entity, user=line, what="PBX user")
        # every line of the customer has the same first name: organization-wide
        world.register(line.first_name, org)
        customer.lines.append(line)


def _add_numbers(world: WorldBuilder, token: str, customer: Customer, pool: Organization) -> None:
    """A number of the parent's pool on each line, and one held by the tenant but by no line."""
    org = customer.organization
    for line, word in zip(customer.lines, ("one", "two"), strict=True):
        customer.numbers.append(
            PhoneNumberFactory(
                number=world.register(world.next_number(token), org, entity=line.entity, user=line),
                organization=pool,
                tenant=customer.tenant,
                assigned_user=line,
                label=world.register(f"{token.title()}num{word}", org, entity=line.entity, user=line),
            )
        )
    PhoneNumberFactory(
        number=world.register(world.next_number(token), org, entity=ORG_ONLY),
        organization=pool,
        tenant=customer.tenant,
        label=world.register(f"{token.title()}freenum", org, entity=ORG_ONLY),
    )


def _add_logins(world: WorldBuilder, token: str, customer: Customer) -> Any:
    """The customer administrator (returned), the sales entity's administrator, and the end user
    of the sales line."""
    org, sales = customer.organization, customer.sales
    admin = world.add_login(
        f"{token}.admin", "customer_admin", org, member_role=Role.ADMIN, is_staff=False, token_org=org
    )
    entity_admin = world.add_login(f"{token}.entadmin", "entity_admin", token_org=org, token_entity=sales)
    sales.administrators.add(entity_admin)
    end_user = world.add_login(f"{token}.enduser", "end_user", is_staff=False, token_org=org, token_entity=sales)
    line = customer.lines[0]
    line.portal_user = end_user
    line.save(update_fields=["portal_user"])
    return admin


def _add_jobs(world: WorldBuilder, token: str, customer: Customer) -> None:
    """The jobs of the tenant, its entities, lines and numbers, as the portal plans them; the sales
    line's create failed, with an attempt whose error and HTTP exchange name the line."""
    org, sales, line = customer.organization, customer.sales, customer.lines[0]
    planning.tenant_created(customer.tenant)
    for entity in (customer.sales, customer.office):
        planning.entity_saved(entity)
    for each in customer.lines:
        planning.user_created(each)
    for number in customer.numbers:
        planning.number_assignment_changed(number, previous_user=None)
    failed = ProvisioningJob.objects.filter(target_key=f"pbxuser:{line.pk}").get()
    ProvisioningJob.objects.filter(pk=failed.pk).update(
        status=JobStatus.FAILED,
        attempts=1,
        last_error=world.register(
            f"{token.title()}failure: the PBX refused {line.username}", org, entity=sales, user=line
        ),
        error_kind="validation",
        finished_at=timezone.now(),
    )
    JobAttempt.objects.create(
        job=failed,
        number=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome="failed",
        error=world.register(f"{token.title()}attempterror", org, entity=sales, user=line),
        worker=world.register(f"{token}worker@host", org, entity=sales, user=line),
        exchanges=[
            {
                "method": "POST",
                "url": f"http://127.0.0.1:9/{token}exchangeurl",
                "status": 400,
                "duration_ms": 12,
                "request_body": f'{{"name": "{token}exchangebody"}}',
                "response_body": f"{token}exchangeresponse",
            }
        ],
    )
    for word in ("exchangeurl", "exchangebody", "exchangeresponse"):
        world.register(f"{token}{word}", org, entity=sales, user=line)
    # the job was failed by an update, which does not refresh the line's sync state as a worker would
    refresh_sync_state(ContentType.objects.get_for_model(PbxUser).pk, line.pk)
    scan = DriftScan.objects.create(server=customer.tenant.server, tenant=customer.tenant, counts={"differs": 1})
    DriftFinding.objects.create(
        scan=scan,
        tenant=customer.tenant,
        kind=FindingKind.DIFFERS,
        object_kind="user",
        target_type=ContentType.objects.get_for_model(PbxUser),
        target_id=line.pk,
        label=world.register(f"{token.title()}driftlabel", org, entity=sales, user=line),
        differences=[{"field": "last_name", "label": "last name", "portal": "A", "pbx": f"{token}driftvalue"}],
    )
    world.register(f"{token}driftvalue", org, entity=sales, user=line)


def _add_imports(world: WorldBuilder, token: str, customer: Customer, admin: Any) -> None:
    """A CSV import of lines by the customer administrator, with its batch of jobs; for the
    ENTITY_IMPORTERS, an invalid one by the entity administrator as well."""
    org, tenant, sales = customer.organization, customer.tenant, customer.sales
    batch = ProvisioningBatch.objects.create(
        organization=org, label=world.register(f"{token.title()} import batch", org, entity=ORG_ONLY), created_by=admin
    )
    ImportRun.objects.create(
        kind=ImportKind.USERS,
        organization=org,
        tenant=tenant,
        file_name=world.register(f"{token}runadmin.csv", org, entity=ORG_ONLY),
        content=f"first_name;last_name;exten\n{token.title()}preview;Row;2150\n".encode(),
        status=ImportStatus.VALIDATED,
        message=world.register(f"{token.title()}runmessage", org, entity=ORG_ONLY),
        row_count=2,
        create_count=1,
        error_count=1,
        preview=[
            {
                "row": 2,
                "action": "create",
                "first_name": world.register(f"{token.title()}preview", org, entity=ORG_ONLY),
            }
        ],
        errors=[
            [3, "internal_number", world.register(f"{token.title()}rowerror is outside the plan", org, entity=ORG_ONLY)]
        ],
        batch=batch,
        created_by=admin,
    )
    if token in ENTITY_IMPORTERS:
        ImportRun.objects.create(
            kind=ImportKind.USERS,
            organization=org,
            tenant=tenant,
            file_name=world.register(f"{token}runsales.csv", org, entity=sales),
            content=b"first_name;last_name;exten\nEnt;Row;2151\n",
            status=ImportStatus.INVALID,
            row_count=1,
            error_count=1,
            errors=[[2, "internal_number", world.register(f"{token.title()}salesrowerror", org, entity=sales)]],
            created_by=world.logins[f"{token}.entadmin"].user,
        )


def add_history_across_customers(world: WorldBuilder) -> None:
    """Objects whose jobs or audit history name what the viewer may not see: a number that belonged
    to the sibling customer's tenant before it came to this one (with a failed job left there), a
    line moved from the office entity into the sales entity (whose administrator must not learn the
    office entity), an entity that once granted a login of the other reseller."""
    mikex, novemx = world.customers["mikex"], world.customers["novemx"]
    moved_number = mikex.numbers[0]
    ProvisioningJob.objects.create(
        target_type=ContentType.objects.get_for_model(PhoneNumber),
        target_id=moved_number.pk,
        target_key=f"phonenumber:{moved_number.pk}",
        target_label=world.register("Novemxoldowner", novemx.organization, entity=ORG_ONLY),
        operation="number.unassign",
        payload={"user": novemx.lines[0].username},
        tenant=novemx.tenant,
        server=novemx.tenant.server,
        platform=novemx.tenant.server.platform,
        status=JobStatus.FAILED,
        last_error=world.register("Novemxleftover error", novemx.organization, entity=ORG_ONLY),
        finished_at=timezone.now(),
    )
    org = mikex.organization
    number = PhoneNumberFactory(
        number=world.register(world.next_number("mikex"), org, entity=ORG_ONLY),
        organization=world.organizations["kilox"],
        tenant=novemx.tenant,
        label=world.register("Mikexmovednum", org, entity=ORG_ONLY),
    )
    number.tenant = mikex.tenant
    number.save()
    moved = PbxUserFactory(
        entity=mikex.office,
        tenant=mikex.tenant,
        template=mikex.own_template,
        username="mikexusermoved",
        first_name="Mikexperson",
        last_name="Mikexusermoved",
        email="mikexusermoved@example.net",
        internal_number="2050",
    )
    moved.entity, moved.internal_number = mikex.sales, "2150"
    moved.save()
    for text in (moved.username, moved.last_name, moved.email):
        world.register(text, org, entity=mikex.sales, user=moved)
    stranger = world.logins["oscarx.entadmin"].user
    mikex.sales.administrators.add(stranger)
    mikex.sales.administrators.remove(stranger)

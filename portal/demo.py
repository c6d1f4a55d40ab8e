"""The demo data set `make run` loads: a small tree with one login per role, platforms pointing at
the sandbox simulators, tenants on each kind of platform, users and numbers (Initech's on XC5 from a
range added to its reseller's pool in one step).

Loading is idempotent: every object is looked up by its natural key first, and nothing that
exists is changed (not even a demo password someone has since changed), except a login e-mail
address an earlier version of the demo got wrong. Everything is created
through the same services as in the admin, acting as the platform operator.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from telephony.models import (
    ConfiguratorLink,
    CrmIntegration,
    CtiService,
    Entity,
    LineTemplate,
    PbxUser,
    PhoneNumber,
    Platform,
    Server,
    Tenant,
)
from telephony.sandbox.configurator import ROOT_KEY as CONFIGURATOR_ROOT_KEY
from telephony.sandbox.park import DEFAULT_PORTS
from telephony.sandbox.parkmanager import ROOT_API_KEY
from telephony.sandbox.xc5 import SYSTEM_API_PASSWORD, SYSTEM_API_USERNAME
from telephony.sandbox.xelion import MASTER_PASSWORD, MASTER_USERNAME
from telephony.sandbox.xelion_tenants import tenant_admin_password
from telephony.services.configurator import configurator_link_create, configurator_suborganization_create
from telephony.services.cti import MappingInput, crm_integration_create, cti_credentials_set, cti_service_create
from telephony.services.number_ranges import parse_range, phone_number_range_add, phone_numbers_allocate
from telephony.services.numbers import phone_number_create, phone_number_update
from telephony.services.platforms import platform_create, server_create
from telephony.services.templates import line_template_create
from telephony.services.tenants import entity_create, tenant_create
from telephony.services.users import pbx_user_assign_number, pbx_user_create
from tenants.models import Membership, Organization, OrganizationKind, Role
from tenants.services import organization_create

DEFAULT_DEMO_PASSWORD = "demo-portal-2026"  # development only; override with DEMO_PASSWORD

SANDBOX_HOST = "http://127.0.0.1"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role_description: str
    organization: str | None = None
    role: str | None = None
    is_staff: bool = True
    is_superuser: bool = False
    email: str = ""  # default: <username>@example.net

    @property
    def email_address(self) -> str:
        return self.email or f"{self.username}@example.net"


def line_email(username: str, tenant_name: str) -> str:
    """A demo line's e-mail address: alice on acmebrick is alice@acmebrick.example."""
    return f"{username}@{tenant_name.split('.')[0]}.example"


LOGINS = [
    DemoLogin("operator", "platform operator (superuser)", is_superuser=True),
    DemoLogin("northwind.admin", "distributor admin", "Northwind Telecom", Role.ADMIN),
    DemoLogin("voxline.admin", "reseller admin", "Voxline", Role.ADMIN),
    DemoLogin("voxline.operator", "reseller operator", "Voxline", Role.OPERATOR),
    DemoLogin("voxline.viewer", "reseller viewer", "Voxline", Role.VIEWER),
    DemoLogin("callhub.admin", "admin of a sibling reseller", "Callhub", Role.ADMIN),
    DemoLogin("acme.admin", "customer admin (self-service)", "Acme Bricks", Role.ADMIN, is_staff=False),
    DemoLogin("acme.sales", "entity administrator of Acme's sales entity"),
    # Her login has her line's address, so that the address she sees resets her password.
    DemoLogin("alice", "end user (her own line)", is_staff=False, email=line_email("alice", "acmebrick")),
    # Acme is on XiVO XCU, which keeps no forwarding or PIN per user; Initech's XC5 keeps them all.
    DemoLogin("initech.admin", "customer admin on XC5 (forwarding, PIN)", "Initech", Role.ADMIN, is_staff=False),
    DemoLogin("globex.admin", "customer admin on Xelion (CRM integration)", "Globex", Role.ADMIN, is_staff=False),
    DemoLogin("peter", "end user on XC5 (his own line)", is_staff=False, email=line_email("peter", "initech.x.co.nz")),
]

TREE = [
    ("Northwind Telecom", OrganizationKind.DISTRIBUTOR, None),
    ("Voxline", OrganizationKind.RESELLER, "Northwind Telecom"),
    ("Callhub", OrganizationKind.RESELLER, "Northwind Telecom"),
    ("Acme Bricks", OrganizationKind.CUSTOMER, "Voxline"),
    ("Globex", OrganizationKind.CUSTOMER, "Voxline"),
    ("Initech", OrganizationKind.CUSTOMER, "Callhub"),
    # no tenant yet: the README's tour opens one by Configurator order
    ("Hooli", OrganizationKind.CUSTOMER, "Voxline"),
]


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


@transaction.atomic
def load_demo() -> list[tuple[DemoLogin, str]]:
    """Create whatever of the demo set is missing; returns the logins with their passwords."""
    user_model = get_user_model()
    operator = _login(user_model, LOGINS[0])
    organizations = {}
    for name, kind, parent_name in TREE:
        existing = Organization.objects.filter(name=name).first()
        parent = organizations.get(parent_name)
        organizations[name] = existing or organization_create(
            actor=operator, organization=Organization(name=name, kind=kind), parent=parent
        )
    for demo in LOGINS[1:]:
        user = _login(user_model, demo)
        if demo.organization:
            Membership.objects.get_or_create(
                user=user, organization=organizations[demo.organization], defaults={"role": demo.role}
            )

    platforms = _platforms(operator, organizations["Northwind Telecom"])
    servers = _servers(operator, platforms)
    _configurator_links(operator, organizations)
    standard = _template(operator, organizations["Northwind Telecom"], "Standard line", ringing_time=30)
    sales_line = _template(
        operator,
        organizations["Voxline"],
        "Sales line",
        ringing_time=45,
        voicemail_enabled=True,
        voicemail_send_email=True,
    )

    acme = _tenant(operator, organizations["Acme Bricks"], servers["xivo-220"], "acmebrick", "Acme Bricks HQ", 25)
    globex = _tenant(operator, organizations["Globex"], servers["xelion-sandbox"], "globex", "Globex", 15)
    initech = _tenant(operator, organizations["Initech"], servers["xc5-sandbox"], "initech.x.co.nz", "Initech", 10)

    acme_sales = _entity(operator, acme, "sales", "Sales", [("2100", "2199")])
    acme_office = _entity(operator, acme, "office", "Office", [("2000", "2099"), ("2999", "")])
    globex_main = _entity(operator, globex, "main", "Main office", [("300", "349")])
    initech_main = _entity(operator, initech, "main", "Initech", [("600", "629")])
    acme_sales.administrators.add(user_model.objects.get(username="acme.sales"))

    alice = _user(operator, acme, acme_sales, sales_line, "alice", "Alice", "Liddell", "2101")
    _user(operator, acme, acme_sales, sales_line, "bob", "Bob", "Builder", "2102")
    _user(operator, acme, acme_office, standard, "carol", "Carol", "Danvers", "2001")
    hank = _user(operator, globex, globex_main, standard, "hank", "Hank", "Scorpio", "301")
    _crm_integration(operator, organizations["Northwind Telecom"], globex, hank)
    peter = _user(operator, initech, initech_main, standard, "peter", "Peter", "Gibbons", "600")
    for line in (alice, peter):
        if line.portal_user_id is None:
            line.portal_user = user_model.objects.get(username=line.username)
            line.save(update_fields=["portal_user"])

    for index in range(20):
        number = f"+3120123{4500 + index}"
        if PhoneNumber.objects.filter(number=number).exists():
            continue
        tenant = acme if index < 5 else None
        phone_number_create(
            actor=operator,
            number=PhoneNumber(
                number=number,
                organization=organizations["Voxline"],
                tenant=tenant,
                is_pilot=index == 0,
                assigned_user=alice if index == 1 else None,
            ),
        )
    _initech_numbers(operator, organizations["Callhub"], initech, peter)
    return [(demo, demo_password()) for demo in LOGINS]


# Numbers of the XC5 sandbox's free pool (`_unassigned.pool`): assigning one takes it from there.
INITECH_RANGE = "+64 9 123 1200 – 1219"


def _initech_numbers(operator, pool: Organization, initech: Tenant, peter: PbxUser) -> None:
    """A DDI range in Callhub's pool, added in one step; ten of it allocated to Initech (XC5), the
    first the environment's pilot (its main number), the second Peter's. Only on a first load:
    numbers someone has since moved or released stay as they are."""
    numbers = parse_range(INITECH_RANGE)
    if PhoneNumber.objects.filter(number=numbers.first).exists():
        return
    phone_number_range_add(actor=operator, organization=pool, numbers=numbers, label="Demo range")
    allocated = phone_numbers_allocate(actor=operator, organization=pool, tenant=initech, count=10)
    pilot = PhoneNumber.objects.get(number=allocated[0])
    pilot.is_pilot = True
    phone_number_update(actor=operator, number=pilot)
    if not peter.phone_numbers.exists():
        pbx_user_assign_number(actor=operator, user=peter, number=PhoneNumber.objects.get(number=allocated[1]))


def _login(user_model, demo: DemoLogin):
    user = user_model.objects.filter(username=demo.username).first()
    if user is not None and user.email == f"{demo.username}@example.net" != demo.email_address:
        # Loaded by an earlier version of the demo, whose address this one corrects.
        user.email = demo.email_address
        user.save(update_fields=["email"])
    if user is None:
        user = user_model(
            username=demo.username,
            email=demo.email_address,
            is_staff=demo.is_staff or demo.is_superuser,
            is_superuser=demo.is_superuser,
        )
        user.set_password(demo_password())
        user.save()
    return user


def _platforms(operator, owner: Organization) -> dict[str, Platform]:
    ports = DEFAULT_PORTS
    wanted = [
        ("Sandbox XCU", "xcu", f"{SANDBOX_HOST}:{ports['xcu']}/api/1.0/", "admin", "superpass"),
        ("Sandbox Xelion Park", "xelion_pm", f"{SANDBOX_HOST}:{ports['parkmanager']}/", "", ROOT_API_KEY),
        ("Sandbox Xelion server", "xelion", f"{SANDBOX_HOST}:{ports['xelion']}/", MASTER_USERNAME, MASTER_PASSWORD),
        ("Sandbox XC5", "xc5", f"{SANDBOX_HOST}:{ports['xc5']}/api-sys/", SYSTEM_API_USERNAME, SYSTEM_API_PASSWORD),
    ]
    platforms = {}
    for name, kind, url, username, secret in wanted:
        platform = Platform.objects.filter(organization=owner, name=name).first()
        if platform is None:
            platform = platform_create(
                actor=operator,
                platform=Platform(
                    organization=owner, name=name, kind=kind, base_url=url, username=username, secret=secret
                ),
            )
        platforms[kind] = platform
    return platforms


def _servers(operator, platforms: dict[str, Platform]) -> dict[str, Server]:
    wanted = [
        ("xcu", "xivo-220", "192.168.29.220", {"backend_ref": {"xcu_id": 1}, "capacity_users": 664}),
        ("xcu", "xivo-221", "192.168.29.221", {"backend_ref": {"xcu_id": 2}, "capacity_users": 280}),
        ("xelion_pm", "xelion-sandbox", "127.0.0.1", {"backend_ref": {"xelion_oid": "1"}}),
        ("xc5", "xc5-sandbox", "127.0.0.1", {}),
    ]
    servers = {}
    for kind, name, host, extra in wanted:
        platform = platforms[kind]
        server = Server.objects.filter(platform=platform, name=name).first()
        if server is None:
            server = server_create(actor=operator, server=Server(platform=platform, name=name, host=host, **extra))
        servers[name] = server
    return servers


def _template(operator, owner: Organization, name: str, **values) -> LineTemplate:
    existing = LineTemplate.objects.filter(organization=owner, name=name).first()
    return existing or line_template_create(
        actor=operator, template=LineTemplate(organization=owner, name=name, **values)
    )


def _tenant(operator, owner: Organization, server: Server, name: str, label: str, licences: int) -> Tenant:
    existing = Tenant.objects.filter(server=server, name=name).first()
    return existing or tenant_create(
        actor=operator, tenant=Tenant(organization=owner, server=server, name=name, label=label, licences=licences)
    )


def _entity(operator, tenant: Tenant, name: str, display_name: str, intervals: list[tuple[str, str]]) -> Entity:
    existing = Entity.objects.filter(tenant=tenant, name=name).first()
    return existing or entity_create(
        actor=operator, entity=Entity(tenant=tenant, name=name, display_name=display_name), intervals=intervals
    )


def _user(operator, tenant, entity, template, username, first, last, number) -> PbxUser:
    existing = PbxUser.objects.filter(tenant=tenant, username=username).first()
    return existing or pbx_user_create(
        actor=operator,
        user=PbxUser(
            tenant=tenant,
            entity=entity,
            template=template,
            username=username,
            first_name=first,
            last_name=last,
            email=line_email(username, tenant.name),
            internal_number=number,
        ),
    )


def _configurator_links(operator, organizations: dict[str, Organization]) -> None:
    """The distributor linked to the sandbox Configurator with its root key, and Voxline's own
    Configurator organization made below it (by a job, once the worker runs)."""
    distributor, reseller = organizations["Northwind Telecom"], organizations["Voxline"]
    link = ConfiguratorLink.objects.filter(organization=distributor).first()
    if link is None:
        url = f"{SANDBOX_HOST}:{DEFAULT_PORTS['configurator']}/"
        link = configurator_link_create(
            actor=operator,
            link=ConfiguratorLink(organization=distributor, name="Northwind Telecom", base_url=url),
            api_key=CONFIGURATOR_ROOT_KEY,
        )
    if not ConfiguratorLink.objects.filter(organization=reseller).exists():
        configurator_suborganization_create(actor=operator, parent=link, organization=reseller, name="Voxline")


def _crm_integration(operator, owner: Organization, tenant: Tenant, line: PbxUser) -> None:
    """The sandbox CTI service, and a CRM integration on the Xelion sandbox tenant: each call event
    goes to an example CRM with a payload template whose ${…} placeholders the CTI service fills in."""
    if CrmIntegration.objects.filter(tenant=tenant).exists():
        return
    service = CtiService.objects.filter(organization=owner, name="Sandbox CTI").first() or cti_service_create(
        actor=operator,
        service=CtiService(organization=owner, name="Sandbox CTI", base_url=f"{SANDBOX_HOST}:{DEFAULT_PORTS['cti']}/"),
    )
    payload = json.dumps({"initiation": '${(initiation=="outgoing")?"calldialed":"callreceived"}',
                          "to": "${calleePhoneNumber}", "callId": "${callId}"})  # fmt: skip
    events = ("newCallEvent", "callConnectedEvent", "callHungUpEvent", "missedCallEvent")
    crm_integration_create(
        actor=operator,
        integration=CrmIntegration(
            tenant=tenant,
            service=service,
            admin_username="admin",
            authorization_server_uri="https://crm.example.com/services/oauth2/token",
            default_client_id="demo-client",
        ),
        admin_password=tenant_admin_password(tenant.name),
        default_client_secret="demo-client-secret",
        mappings=[MappingInput(event, "https://crm.example.com/services/apexrest/Call", payload) for event in events],
    )
    cti_credentials_set(actor=operator, user=line, client_id="hank-client", client_secret="hank-client-secret")

"""How `build_crawl_world` makes the world described in `tests.crawl.world`: the organizations, the
distributors' and resellers' logins, platforms and templates, the resellers' number imports and one
object for each admin the portal did not write; the customers are made by `tests.crawl.customers`.

The steps run in a fixed order, so that ids and factory sequences make every test's world the same.
"""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from telephony.models import ImportKind, ImportRun, ImportStatus, LineTemplateMirror
from telephony.provisioning import planning
from tenants import access
from tenants.models import ActingEnd, ActingSession, Organization, OrganizationKind, Role
from tests.crawl.configurator import add_configurator
from tests.crawl.cti import add_cti
from tests.crawl.customers import add_customer, add_history_across_customers
from tests.crawl.webhooks import add_webhooks
from tests.crawl.world import ORG_ONLY, SUPERUSER, TREE, CrawlWorld, WorldBuilder
from tests.factories import LineTemplateFactory, OrganizationFactory, PhoneNumberFactory, PlatformFactory, ServerFactory

KIND_NAMES = {
    OrganizationKind.DISTRIBUTOR: "Distributor",
    OrganizationKind.RESELLER: "Reseller",
    OrganizationKind.CUSTOMER: "Customer",
}
# Port 9 (discard): nothing answers, so no request of the crawl can reach a real PBX.
BASE_URLS = {"xc5": "http://127.0.0.1:9/api-sys/", "xcu": "http://127.0.0.1:9/api/1.0/"}


def build_crawl_world() -> CrawlWorld:
    """The world of the crawl, built in the database of the current test."""
    world = WorldBuilder()
    _add_organizations(world)
    _add_distributor_logins(world)
    _add_distributor_platforms(world)
    _add_distributor_templates(world)
    for token in ("kilox", "limax"):
        _add_reseller(world, token)
    for token, kind, parent, platform_kind in TREE:
        if kind == OrganizationKind.CUSTOMER:
            add_customer(world, token, parent, platform_kind)
    add_history_across_customers(world)
    add_cti(world)
    add_configurator(world)
    _add_number_imports(world)
    _add_objects_of_other_admins(world)
    _add_acting_sessions(world)
    add_webhooks(world)
    # The logins' users are the objects the steps built with: access caches they filled on the way
    # would predate the memberships and grants added after.
    for login in world.logins.values():
        if login.user is not None:
            access.forget(login.user)
    return CrawlWorld(world.logins, world.tokens)


def _reloaded(organization: Organization) -> Organization:
    """The stored copy: adding a child rewrites its parent's row (treebeard's bookkeeping)."""
    return Organization.objects.get(pk=organization.pk)


def _add_organizations(world: WorldBuilder) -> None:
    organizations = world.organizations
    for token, kind, parent, _platform in TREE:
        name = f"{token.title()} {KIND_NAMES[kind]}"
        parent_org = _reloaded(organizations[parent]) if parent else None
        organizations[token] = OrganizationFactory(name=name, kind=kind, parent=parent_org)
        world.register(token, organizations[token], shared=True, what="organization name")
    world.organizations = {token: _reloaded(org) for token, org in organizations.items()}


def _add_distributor_logins(world: WorldBuilder) -> None:
    world.add_login(SUPERUSER, "superuser", is_superuser=True)
    for token in ("zulux", "xrayx"):
        org = world.organizations[token]
        world.add_login(f"{token}.admin", "distributor_admin", org, member_role=Role.ADMIN, token_org=org)


def _add_distributor_platforms(world: WorldBuilder) -> None:
    """Platforms and servers of the distributors, shared down to their customers' tenants."""
    for owner, kinds in (("zulux", ("xc5", "xcu")), ("xrayx", ("xcu",))):
        org = world.organizations[owner]
        for kind in kinds:
            platform = PlatformFactory(
                organization=org,
                kind=kind,
                base_url=BASE_URLS[kind],
                name=world.register(f"{owner.title()} {kind.upper()} platform", org, shared=True),
                username=world.register(f"{owner}apiuser{kind}", org, shared=True),
            )
            world.servers[(owner, kind)] = ServerFactory(
                platform=platform,
                name=world.register(f"{owner}-{kind}-srv", org, shared=True),
                host=world.register(f"{owner}-{kind}.example.net", org, shared=True),
            )


def _add_distributor_templates(world: WorldBuilder) -> None:
    """A standard template per distributor; zulux's is mirrored on its XCU platform (and so has jobs)."""
    for owner in ("zulux", "xrayx"):
        org = world.organizations[owner]
        world.templates[owner] = LineTemplateFactory(
            organization=org, name=world.register(f"{owner.title()} Standard", org, shared=True)
        )
    LineTemplateMirror.objects.create(
        template=world.templates["zulux"], platform=world.servers[("zulux", "xcu")].platform
    )
    planning.template_saved(world.templates["zulux"])


def _add_reseller(world: WorldBuilder, token: str) -> None:
    """Its three staff logins, its standard template, a platform of its own (shared with its customers,
    never with the other reseller) and a number of its pool that no tenant holds yet."""
    org = world.organizations[token]
    for role, role_name in ((Role.ADMIN, "admin"), (Role.OPERATOR, "operator"), (Role.VIEWER, "viewer")):
        world.add_login(f"{token}.{role_name}", f"reseller_{role_name}", org, member_role=role, token_org=org)
    world.templates[token] = LineTemplateFactory(
        organization=org, name=world.register(f"{token.title()} Standard", org, shared=True)
    )
    own = PlatformFactory(
        organization=org,
        kind="xcu",
        base_url=BASE_URLS["xcu"],
        name=world.register(f"{token.title()} Own platform", org, shared=True),
        username=world.register(f"{token}apiuser", org, shared=True),
    )
    ServerFactory(
        platform=own,
        name=world.register(f"{token}-own-srv", org, shared=True),
        host=world.register(f"{token}-own.example.net", org, shared=True),
    )
    PhoneNumberFactory(
        number=world.register(world.next_number(token), org, entity=ORG_ONLY),
        organization=org,
        label=world.register(f"{token.title()}poolnum", org, entity=ORG_ONLY),
    )


def _add_number_imports(world: WorldBuilder) -> None:
    """An import of numbers by each reseller's administrator."""
    for token in ("kilox", "limax"):
        org = world.organizations[token]
        ImportRun.objects.create(
            kind=ImportKind.NUMBERS,
            organization=org,
            file_name=world.register(f"{token}numbers.csv", org, entity=ORG_ONLY),
            content=b"number\n+31201234567\n",
            status=ImportStatus.INVALID,
            errors=[[2, "number", world.register(f"{token.title()}numbererror", org, entity=ORG_ONLY)]],
            created_by=world.logins[f"{token}.admin"].user,
        )


def _add_objects_of_other_admins(world: WorldBuilder) -> None:
    """One object for each admin the portal did not write (groups, login attempts, two-factor
    devices), so that their object pages are crawled too. The devices belong to a login that is not
    crawled: a device makes its owner verify a code before every page."""
    Group.objects.create(name="Crawl group")
    limax = world.organizations["limax"]
    attempt = {
        "user_agent": "crawl",
        "ip_address": "127.0.0.9",
        "username": world.register("limaxviewer", limax, shared=True, what="login"),
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)
    owner = world.logins["xrayx.admin"].user
    xrayx = world.organizations["xrayx"]
    TOTPDevice.objects.create(user=owner, name=world.register("Xrayx phone", xrayx, shared=True), confirmed=True)
    StaticDevice.objects.create(user=owner, name=world.register("Xrayx backup codes", xrayx, shared=True))


def _add_acting_sessions(world: WorldBuilder) -> None:
    """A session in which an administrator above each customer acted as the customer's administrator
    (ended: the crawl's logins never act); the customer's dashboard lists it with the actor's name."""
    actors = {"kilox": "kilox.admin", "limax": "limax.admin", "xrayx": "xrayx.admin"}
    started = timezone.now() - timedelta(hours=2)
    for token, kind, parent, _platform in TREE:
        if kind != OrganizationKind.CUSTOMER:
            continue
        actor = world.logins[actors[parent]].user
        ActingSession.objects.create(
            actor=actor,
            actor_name=actor.username,
            organization=world.organizations[token],
            started_at=started,
            ended_at=started + timedelta(minutes=12),
            end_reason=ActingEnd.CLICK,
        )

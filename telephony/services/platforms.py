"""Platforms and servers: only administrators of the owning organization manage them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony import queue
from telephony.backends.base import ServerInfo, TenantInfo
from telephony.backends.errors import BackendError
from telephony.backends.registry import driver_for
from telephony.line_features import refusal
from telephony.models import PbxUser, Platform, Server, Tenant, TenantStatus
from telephony.models.sync import save_changes
from telephony.provisioning.planning import nothing_to_push
from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.models import Organization, OrganizationKind
from tenants.services import organization_create

PLATFORMS_PER_ROUND = 50


@transaction.atomic
def platform_create(*, actor: AbstractBaseUser, platform: Platform) -> Platform:
    access.require_add(actor, Platform, Organization.objects.get(pk=platform.organization_id))
    platform.full_clean()
    platform.save()
    return platform


# Where the stored secret is sent, as whom, and whether the far end must prove who it is: changing
# one of these points a secret the person may never have seen somewhere else, so it needs the same
# re-authentication as typing a new secret.
SECRET_ROUTING_FIELDS = ("base_url", "username", "verify_tls")
REAUTHENTICATE = gettext_lazy("Type your own password to change the platform's credentials or where they are sent.")


@transaction.atomic
def platform_update(
    *,
    actor: AbstractBaseUser,
    platform: Platform,
    new_secret: str | None = None,
    new_app_key: str | None = None,
    actor_password: str | None = None,
) -> Platform:
    """Save a platform; the stored secret and app key are kept unless a new one is given. A new
    secret, or a new address, login or TLS check for a stored one, needs the actor's own password."""
    stored = Platform.objects.select_for_update().get(pk=platform.pk)
    access.require(actor, CHANGE, stored)
    if platform.organization_id != stored.organization_id:
        access.require_add(actor, Platform, Organization.objects.get(pk=platform.organization_id))
    reroutes_secret = bool(stored.secret or stored.app_key) and any(
        getattr(platform, field) != getattr(stored, field) for field in SECRET_ROUTING_FIELDS
    )
    if (new_secret or new_app_key or reroutes_secret) and not actor.check_password(actor_password or ""):
        raise ValidationError({"current_password": REAUTHENTICATE})
    platform.secret = new_secret if new_secret else stored.secret
    platform.app_key = new_app_key if new_app_key else stored.app_key
    platform.full_clean()
    save_changes(platform, stored)
    return platform


@transaction.atomic
def platform_delete(*, actor: AbstractBaseUser, platform: Platform) -> None:
    stored = Platform.objects.select_for_update().get(pk=platform.pk)
    access.require(actor, DELETE, stored)
    servers = stored.servers.count()
    if servers:
        raise ValidationError(
            _("%(name)s still has %(count)s server(s); delete them first.") % {"name": stored.name, "count": servers}
        )
    stored.delete()


@transaction.atomic
def server_create(*, actor: AbstractBaseUser, server: Server) -> Server:
    platform = Platform.objects.select_related("organization").get(pk=server.platform_id)
    access.require(actor, CHANGE, platform)
    server.full_clean()
    server.save()
    return server


@transaction.atomic
def server_update(*, actor: AbstractBaseUser, server: Server) -> Server:
    stored = Server.objects.select_for_update().get(pk=server.pk)
    access.require(actor, CHANGE, stored)
    if server.platform_id != stored.platform_id:
        raise ValidationError({"platform": _("A server cannot move to another platform.")})
    server.full_clean()
    holding = stored.tenants.count()
    if server.capacity_tenants is not None and server.capacity_tenants < holding:
        raise ValidationError(
            {"capacity_tenants": _("The server already holds %(count)s tenants.") % {"count": holding}}
        )
    save_changes(server, stored)
    return server


@transaction.atomic
def server_delete(*, actor: AbstractBaseUser, server: Server) -> None:
    stored = Server.objects.select_for_update().get(pk=server.pk)
    access.require(actor, DELETE, stored)
    tenants = stored.tenants.count()
    if tenants:
        raise ValidationError(
            _("%(name)s still holds %(count)s tenant(s); move or delete them first.")
            % {"name": stored.name, "count": tenants}
        )
    stored.delete()


# --- talking to a platform (run by Celery tasks, never inside a web request) ----------------------


def platform_check(*, platform_id: int) -> Platform:
    """Ask the backend for its version; record the answer or the error in plain words."""
    platform = Platform.objects.get(pk=platform_id)
    driver = driver_for(platform.connection())
    try:
        info = driver.health()
        ok, message = True, f"{info.version} {info.detail}".strip()
        _refresh_free_slots(platform, driver)
    except BackendError as error:
        ok, message = False, _plain(error)
    finally:
        driver.close()
    Platform.objects.filter(pk=platform.pk).update(
        last_checked_at=timezone.now(), last_check_ok=ok, last_check_message=message[:500]
    )
    platform.refresh_from_db()
    return platform


def _refresh_free_slots(platform: Platform, driver) -> None:
    """The free line slots of the platform's known servers, as listed now (where it reports them)."""
    if not (platform.capabilities.reports_free_slots and platform.capabilities.lists_servers):
        return
    known = _servers_by_key(driver, platform)
    for listed in driver.list_servers():
        server = known.get(driver.claim_key("server", listed.identity))
        if server is not None and listed.remaining_slots is not None:
            Server.objects.filter(pk=server.pk).update(remaining_slots=listed.remaining_slots)


def _servers_by_key(driver, platform: Platform) -> dict[str, Server]:
    """The platform's servers by their driver's canonical key (those the backend has named)."""
    servers = {}
    for server in Server.objects.filter(platform=platform):
        key = driver.claim_key("server", server.backend_ref)
        if key:
            servers[key] = server
    return servers


def servers_import(*, actor: AbstractBaseUser, platform_id: int) -> str:
    """Bring in the servers a platform lists (the XiVOs of an XCU, the servers of a Park Manager)
    and, for a Park Manager, the tenants its key sees. Existing rows are matched by backend identity
    or name and refreshed; nothing is deleted. Returns a one-line summary, also kept on the platform."""
    platform = Platform.objects.select_related("organization").get(pk=platform_id)
    access.require(actor, CHANGE, platform)
    if not platform.capabilities.lists_servers:
        return f"{platform.name} does not list its servers on the API it is set to use: add them by hand."
    driver = driver_for(platform.connection())
    try:
        servers = driver.list_servers()
        tenants = driver.list_tenants() if platform.capabilities.lists_tenants else []
    except BackendError as error:
        message = f"Import failed: {_plain(error)}"
        Platform.objects.filter(pk=platform.pk).update(last_check_message=message[:500], last_checked_at=timezone.now())
        return message
    finally:
        driver.close()
    created, refreshed = _import_servers(actor, platform, servers, driver)
    adopted, skipped = _import_tenants(actor, platform, tenants)
    message = f"Imported {created} new server(s), refreshed {refreshed}" + (
        (f", adopted {adopted} tenant(s)" if tenants else "")
        + (f"; skipped {', '.join(skipped[:5])}" if skipped else "")
    )
    Platform.objects.filter(pk=platform.pk).update(last_check_message=message[:500], last_checked_at=timezone.now())
    return message


@transaction.atomic
def _import_servers(actor: AbstractBaseUser, platform: Platform, servers: list[ServerInfo], driver) -> tuple[int, int]:
    created = refreshed = 0
    known = _servers_by_key(driver, platform)
    for info in servers:
        key = driver.claim_key("server", info.identity)
        existing = known.get(key) if key else None
        existing = existing or Server.objects.filter(platform=platform, name=info.name[:100]).first()
        server = existing or Server(platform=platform, name=info.name[:100])
        server.host = info.host[:255]
        server.backend_ref = info.identity
        server.remaining_slots = info.remaining_slots
        if info.capacity_tenants is not None:
            server.capacity_tenants = info.capacity_tenants
        if info.remaining_slots is not None:
            in_use = PbxUser.objects.filter(tenant__server=server).count() if server.pk else 0
            server.capacity_users = info.remaining_slots + in_use
        if existing is None:
            server_create(actor=actor, server=server)
            created += 1
        else:
            server_update(actor=actor, server=server)
            # what the platform answered, which no form edits: written as the engine writes identities
            Server.objects.filter(pk=server.pk).update(backend_ref=info.identity, remaining_slots=info.remaining_slots)
            refreshed += 1
    return created, refreshed


def _import_tenants(actor: AbstractBaseUser, platform: Platform, tenants: list[TenantInfo]) -> tuple[int, list[str]]:
    """Tenants already running on the platform become portal tenants, each under a new customer
    organization below the platform's owner (staff then move or rename it). One the portal cannot
    hold (a name it does not accept) is skipped and named in the summary; the others still come."""
    adopted, skipped = 0, []
    for info in tenants:
        try:
            with transaction.atomic():
                adopted += _adopt_tenant(actor, platform, info)
        except ValidationError as refusal:
            skipped.append(f"{info.name} ({' '.join(refusal.messages)})")
    return adopted, skipped


def _adopt_tenant(actor: AbstractBaseUser, platform: Platform, info: TenantInfo) -> int:
    server = Server.objects.filter(platform=platform, name=info.server_name[:100]).first()
    server = server or Server.objects.filter(platform=platform).order_by("pk").first()
    if server is None or Tenant.objects.filter(server=server, name=info.name).exists():
        return 0
    owner = platform.organization
    if owner.kind != OrganizationKind.CUSTOMER:
        owner = organization_create(
            actor=actor,
            organization=Organization(name=(info.label or info.name)[:200], kind=OrganizationKind.CUSTOMER),
            parent=owner,
        )
    tenant = Tenant(
        organization=owner,
        server=server,
        name=info.name,
        label=info.label[:200],
        licences=info.licences or 10,
        status=TenantStatus.STOPPED if info.status == "stopped" else TenantStatus.STARTED,
        backend_ref=info.identity,
    )
    tenant.full_clean()
    tenant.save()
    nothing_to_push(tenant)
    return 1


def _plain(error: BackendError) -> str:
    kind = {
        "TransientError": "The platform did not answer properly",
        "AuthenticationError": "The platform refused the credentials",
        "NotFoundError": "The platform does not know this address",
        "UnsafeRequestError": "The request was refused for safety",
    }.get(type(error).__name__, "The platform refused the request")
    return f"{kind}: {error}"


def platform_check_requested(*, actor: AbstractBaseUser, platform: Platform) -> None:
    """Queue a connection test; its answer lands on the platform's "last check" fields. Only those
    who manage the platform may make it receive calls."""
    access.require(actor, CHANGE, platform)
    _send_after_commit(queue.CHECK_PLATFORM, platform.pk)


def platforms_check_due(*, now: datetime | None = None) -> int:
    """Queue a connection test of every active platform not tested for PLATFORM_CHECK_INTERVAL_MINUTES
    (0: only on request), so that each server's free slots and each platform's health stay current
    without anyone asking. Returns how many were queued."""
    minutes = settings.PLATFORM_CHECK_INTERVAL_MINUTES
    if not minutes:
        return 0
    stale = (now or timezone.now()) - timedelta(minutes=minutes)
    due = Platform.objects.filter(is_active=True).filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=stale))
    sent = 0
    for platform_id in due.order_by("last_checked_at", "pk").values_list("pk", flat=True)[:PLATFORMS_PER_ROUND]:
        _send_after_commit(queue.CHECK_PLATFORM, platform_id)
        sent += 1
    return sent


def servers_import_requested(*, actor: AbstractBaseUser, platform: Platform) -> None:
    access.require(actor, CHANGE, platform)
    if not platform.capabilities.lists_servers:
        never = _("%(platform)s does not list its servers.") % {"platform": platform.name}
        why = refusal(platform, "lists_servers", never)
        raise ValidationError(_("%(refusal)s Add its servers by hand.") % {"refusal": why})
    _send_after_commit(queue.IMPORT_SERVERS, platform.pk, actor.pk)


def _send_after_commit(task: str, *args: int) -> None:
    def send() -> None:
        try:
            queue.send(task, *args)
        except Exception as exc:  # the broker is down: say so on the platform instead of failing the page
            Platform.objects.filter(pk=args[0]).update(
                last_check_message=f"Could not queue the request: {exc}"[:500], last_checked_at=timezone.now()
            )

    transaction.on_commit(send)

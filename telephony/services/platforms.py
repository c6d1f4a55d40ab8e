"""Platforms and servers: only administrators of the owning organization manage them."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from telephony.models import Platform, Server
from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.models import Organization


@transaction.atomic
def platform_create(*, actor: AbstractBaseUser, platform: Platform) -> Platform:
    access.require_add(actor, Platform, Organization.objects.get(pk=platform.organization_id))
    platform.full_clean()
    platform.save()
    return platform


@transaction.atomic
def platform_update(
    *, actor: AbstractBaseUser, platform: Platform, new_secret: str | None = None, new_app_key: str | None = None
) -> Platform:
    """Save a platform; the stored secret and app key are kept unless a new one is given."""
    stored = Platform.objects.select_for_update().get(pk=platform.pk)
    access.require(actor, CHANGE, stored)
    if platform.organization_id != stored.organization_id:
        access.require_add(actor, Platform, Organization.objects.get(pk=platform.organization_id))
    platform.secret = new_secret if new_secret else stored.secret
    platform.app_key = new_app_key if new_app_key else stored.app_key
    platform.full_clean()
    platform.save()
    return platform


@transaction.atomic
def platform_delete(*, actor: AbstractBaseUser, platform: Platform) -> None:
    stored = Platform.objects.select_for_update().get(pk=platform.pk)
    access.require(actor, DELETE, stored)
    servers = stored.servers.count()
    if servers:
        raise ValidationError(f"{stored.name} still has {servers} server(s); delete them first.")
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
        raise ValidationError({"platform": "A server cannot move to another platform."})
    server.full_clean()
    holding = stored.tenants.count()
    if server.capacity_tenants is not None and server.capacity_tenants < holding:
        raise ValidationError({"capacity_tenants": f"The server already holds {holding} tenants."})
    server.save()
    return server


@transaction.atomic
def server_delete(*, actor: AbstractBaseUser, server: Server) -> None:
    stored = Server.objects.select_for_update().get(pk=server.pk)
    access.require(actor, DELETE, stored)
    tenants = stored.tenants.count()
    if tenants:
        raise ValidationError(f"{stored.name} still holds {tenants} tenant(s); move or delete them first.")
    stored.delete()

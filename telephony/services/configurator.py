"""Configurator links, the sub-organizations made below them and the credentials kept there. Only
administrators of the linked organization manage them; every change to the Configurator goes
through the outbox."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.models import ConfiguratorCredential, ConfiguratorLink
from telephony.models.sync import save_changes
from telephony.provisioning import configurator_planning as planning
from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.models import Organization

# Changing where the stored key is sent, or whether the far end must prove who it is, points a key
# the person may never have seen somewhere else: it needs the same re-authentication as a new key.
KEY_ROUTING_FIELDS = ("base_url", "verify_tls")
REAUTHENTICATE = gettext_lazy("Type your own password to change the API key or where it is sent.")


@transaction.atomic
def configurator_link_create(*, actor: AbstractBaseUser, link: ConfiguratorLink, api_key: str) -> ConfiguratorLink:
    """Link an organization to its Configurator organization by that organization's API key."""
    organization = Organization.objects.get(pk=link.organization_id)
    access.require_add(actor, ConfiguratorLink, organization)
    if not api_key.strip():
        raise ValidationError({"new_api_key": _("Enter the organization's API key at the Configurator.")})
    if ConfiguratorLink.objects.filter(organization=organization).exists():
        raise ValidationError(
            {
                "organization": _("%(organization)s is already linked to a Configurator.")
                % {"organization": organization}
            }
        )
    link.api_key = api_key.strip()
    link.full_clean()
    link.save()
    planning.link_saved(link, actor=actor)
    return link


@transaction.atomic
def configurator_link_update(
    *, actor: AbstractBaseUser, link: ConfiguratorLink, new_api_key: str = "", actor_password: str = ""
) -> ConfiguratorLink:
    """Save a link; the stored key is kept unless a new one is given. A new key, or a new address or
    TLS check for the stored one, needs the actor's own password and is checked again."""
    stored = ConfiguratorLink.objects.select_for_update().get(pk=link.pk)
    access.require(actor, CHANGE, stored)
    if link.organization_id != stored.organization_id:
        raise ValidationError({"organization": _("A link cannot move to another organization.")})
    reroutes = any(getattr(link, field) != getattr(stored, field) for field in KEY_ROUTING_FIELDS)
    if (new_api_key or reroutes) and not actor.check_password(actor_password or ""):
        raise ValidationError({"current_password": REAUTHENTICATE})
    link.api_key = new_api_key.strip() if new_api_key else stored.api_key
    link.full_clean()
    changed = save_changes(link, stored)
    if new_api_key:
        ConfiguratorLink.objects.filter(pk=link.pk).update(api_key=link.api_key)
    if new_api_key or set(changed) & set(KEY_ROUTING_FIELDS):
        ConfiguratorLink.objects.filter(pk=link.pk).update(backend_ref={})  # the new key may act for another
        planning.link_saved(link, actor=actor)
    return link


@transaction.atomic
def configurator_link_delete(*, actor: AbstractBaseUser, link: ConfiguratorLink) -> None:
    stored = ConfiguratorLink.objects.select_for_update().get(pk=link.pk)
    access.require(actor, DELETE, stored)
    if stored.orders.exists():
        raise ValidationError(_("Orders were placed through this link; it stays as their record."))
    if stored.children.exists():
        raise ValidationError(_("Sub-organizations were made through this link; remove their links first."))
    stored.delete()


@transaction.atomic
def configurator_suborganization_create(
    *, actor: AbstractBaseUser, parent: ConfiguratorLink, organization: Organization, name: str
) -> ConfiguratorLink:
    """Make a sub-organization at the Configurator, with the parent's key, for an organization below
    the parent's in the portal; its own key is kept on the new link (never shown)."""
    parent = ConfiguratorLink.objects.select_for_update().select_related("organization").get(pk=parent.pk)
    access.require(actor, CHANGE, parent)
    organization = Organization.objects.get(pk=organization.pk)
    access.require_add(actor, ConfiguratorLink, organization)
    if organization.pk == parent.organization_id or not organization.path.startswith(parent.organization.path):
        raise ValidationError(
            {
                "organization": _("Choose an organization below %(organization)s.")
                % {"organization": parent.organization}
            }
        )
    if ConfiguratorLink.objects.filter(organization=organization).exists():
        raise ValidationError(
            {
                "organization": _("%(organization)s is already linked to a Configurator.")
                % {"organization": organization}
            }
        )
    link = ConfiguratorLink(
        organization=organization,
        parent=parent,
        name=name.strip(),
        base_url=parent.base_url,
        timeout_seconds=parent.timeout_seconds,
        verify_tls=parent.verify_tls,
    )
    link.full_clean()
    link.save()
    planning.suborganization_requested(link, actor=actor)
    return link


@transaction.atomic
def configurator_credential_store(
    *, actor: AbstractBaseUser, link: ConfiguratorLink, name: str, value: str
) -> ConfiguratorCredential:
    """Keep a third-party credential with the organization at the Configurator (a new value replaces
    the old one; neither can be read back)."""
    link = ConfiguratorLink.objects.select_for_update().get(pk=link.pk)
    access.require(actor, CHANGE, link)
    if not value:
        raise ValidationError({"value": _("Enter the credential's value.")})
    credential = ConfiguratorCredential.objects.filter(link=link, name=name.strip()).first()
    credential = credential or ConfiguratorCredential(link=link, name=name.strip())
    credential.full_clean(exclude=["value"])
    credential.value = value
    credential.save()
    planning.credential_saved(credential, actor=actor)
    return credential

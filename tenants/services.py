"""Every write to the organization tree and its memberships: one function per use case, each in
one transaction, each checking the actor's right to do it (a denied actor gets 404)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.models import Membership, Organization, OrganizationKind, Role, validate_child_kind
from tenants.policy import LINE_RELATION
from tenants.sessions import end_sessions


@transaction.atomic
def organization_create(
    *, actor: AbstractBaseUser, organization: Organization, parent: Organization | None
) -> Organization:
    """Save a new organization below `parent`; only a superuser may start a new tree."""
    organization.full_clean(exclude=["path", "depth", "numchild"])
    if parent is None:
        if not actor.is_superuser:
            raise ValidationError({"parent": _("Choose the organization the new one sits below.")})
        return Organization.objects.add_root(instance=organization)
    parent = Organization.objects.select_for_update().get(pk=parent.pk)
    access.require_add(actor, Organization, parent)
    validate_child_kind(parent, organization.kind)
    return Organization.objects.add_child(parent, instance=organization)


@transaction.atomic
def organization_update(*, actor: AbstractBaseUser, organization: Organization) -> Organization:
    """Save a renamed or re-kinded organization (moving it is `organization_move`)."""
    stored = Organization.objects.select_for_update().get(pk=organization.pk)
    access.require(actor, CHANGE, stored)
    organization.path, organization.depth, organization.numchild = stored.path, stored.depth, stored.numchild
    organization.full_clean(exclude=["path", "depth", "numchild"])
    validate_child_kind(stored.parent, organization.kind)
    if organization.kind == "customer" and stored.numchild:
        raise ValidationError({"kind": _("An organization with organizations below it cannot be a customer.")})
    if stored.kind == "customer" and organization.kind != "customer" and stored.tenants.exists():
        raise ValidationError({"kind": _("This customer owns tenants; it must stay a customer.")})
    organization.save(update_fields=["name", "kind"])
    return organization


@transaction.atomic
def organization_move(*, actor: AbstractBaseUser, organization: Organization, new_parent: Organization) -> Organization:
    """Re-parent an organization with everything below it.

    The actor must be allowed to remove it from where it is (a membership strictly above it) and to
    add below the new parent; a node cannot move below itself.
    """
    stored = Organization.objects.select_for_update().get(pk=organization.pk)
    new_parent = Organization.objects.select_for_update().get(pk=new_parent.pk)
    access.require(actor, DELETE, stored)
    access.require_add(actor, Organization, new_parent)
    if new_parent.path.startswith(stored.path):
        raise ValidationError(
            {"parent": _("An organization cannot move below itself or one of its own organizations.")}
        )
    validate_child_kind(new_parent, stored.kind)
    if (current := stored.parent) is not None and current.pk == new_parent.pk:
        return stored
    Organization.objects.move(stored, new_parent, pos="last-child")
    moved = Organization.objects.get(pk=stored.pk)
    _require_shared_resources_still_reachable(moved)
    return moved


@transaction.atomic
def organization_delete(*, actor: AbstractBaseUser, organization: Organization) -> None:
    stored = Organization.objects.select_for_update().get(pk=organization.pk)
    access.require(actor, DELETE, stored)
    blockers = []
    if stored.numchild:
        blockers.append(_("%(count)s organization(s) below it") % {"count": stored.numchild})
    for relation, label in (
        ("tenants", _("%(count)s tenant(s)")),
        ("platforms", _("%(count)s platform(s)")),
        ("line_templates", _("%(count)s line template(s)")),
        ("phone_numbers", _("%(count)s phone number(s) in its pool")),
    ):
        count = getattr(stored, relation).count()
        if count:
            blockers.append(label % {"count": count})
    if blockers:
        raise ValidationError(
            _("%(name)s still has %(things)s; remove or move them first.")
            % {"name": stored.name, "things": ", ".join(blockers)}
        )
    stored.delete()


@transaction.atomic
def membership_create(*, actor: AbstractBaseUser, membership: Membership) -> Membership:
    """Give a login a role in an organization the actor administers."""
    organization = Organization.objects.get(pk=membership.organization_id)
    access.require_add(actor, Membership, organization)
    _require_manageable_login(actor, membership)
    membership.full_clean()
    membership.save()
    access.forget(membership.user)
    return membership


@transaction.atomic
def membership_update(*, actor: AbstractBaseUser, membership: Membership) -> Membership:
    stored = Membership.objects.select_for_update().select_related("organization").get(pk=membership.pk)
    access.require(actor, CHANGE, stored)
    if membership.organization_id != stored.organization_id:
        access.require_add(actor, Membership, Organization.objects.get(pk=membership.organization_id))
    if membership.user_id != stored.user_id:
        raise ValidationError({"user": _("A membership cannot be handed to another login; create a new one.")})
    membership.full_clean()
    membership.save()
    access.forget(membership.user)
    return membership


@transaction.atomic
def membership_delete(*, actor: AbstractBaseUser, membership: Membership) -> None:
    stored = Membership.objects.select_for_update().get(pk=membership.pk)
    access.require(actor, DELETE, stored)
    stored.delete()
    access.forget(membership.user)
    end_sessions(stored.user)  # the next request logs in again with what is left


def _require_manageable_login(actor: AbstractBaseUser, membership: Membership) -> None:
    """Admins may give roles to logins they manage, or to new logins without any role yet;
    never to a superuser or to someone else's staff."""
    user = membership.user
    if actor.is_superuser:
        return
    if user.is_superuser:
        raise Http404("No user matches the given query.")
    if access.restrict_users(type(user).objects.filter(pk=user.pk), actor, CHANGE).exists():
        return
    # Otherwise only a login that is nobody's yet: no role, no entity grant, no line of its own.
    if user.memberships.exists() or access.has_entity_grants(user) or hasattr(user, LINE_RELATION):
        raise Http404("No user matches the given query.")


@transaction.atomic
def staff_login_create(
    *, actor: AbstractBaseUser, username: str, password: str, email: str, organization: Organization, role: str
) -> AbstractBaseUser:
    """A new admin-site login with its first role, in an organization the actor administers."""
    access.require_add(actor, Membership, organization)
    user_model = get_user_model()
    user = user_model(username=username, email=email, is_staff=True)
    user.set_password(password)
    user.full_clean()
    user.save()
    membership = Membership(user=user, organization=organization, role=role)
    membership.full_clean()
    membership.save()
    return user


@transaction.atomic
def customer_administrator_create(
    *, actor: AbstractBaseUser, organization: Organization, username: str, email: str, first_name: str, last_name: str
) -> AbstractBaseUser:
    """A new self-service login administering a customer the actor administers. It has no password
    yet: its owner sets one through a set-password link (never a password chosen and sent by staff)."""
    if organization.kind != OrganizationKind.CUSTOMER:
        raise ValidationError(_("A customer administrator's login belongs to a customer organization."))
    if not access.administers(actor, organization):
        raise Http404("No organization matches the given query.")
    user_model = get_user_model()
    user = user_model(username=username, email=email, first_name=first_name, last_name=last_name, is_staff=False)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    if not email:
        raise ValidationError({"email": _("The set-password link is mailed to this address; it is required.")})
    user.save()
    return membership_create(
        actor=actor, membership=Membership(user=user, organization=organization, role=Role.ADMIN)
    ).user


@transaction.atomic
def login_update(*, actor: AbstractBaseUser, user: AbstractBaseUser) -> AbstractBaseUser:
    """Save a login the actor manages; only a superuser may grant superuser status."""
    user_model = get_user_model()
    stored = user_model.objects.select_for_update().get(pk=user.pk)
    if not actor.is_superuser:
        if not access.restrict_users(user_model.objects.filter(pk=stored.pk), actor, CHANGE).exists():
            raise Http404("No user matches the given query.")
        if user.is_superuser and not stored.is_superuser:
            raise ValidationError({"is_superuser": _("Only a superuser can make another.")})
    user.full_clean()
    user.save()
    if stored.is_active and not user.is_active:
        end_sessions(user)
    return user


@transaction.atomic
def login_delete(*, actor: AbstractBaseUser, user: AbstractBaseUser) -> None:
    """Remove a login the actor manages (never the actor's own)."""
    user_model = get_user_model()
    if user.pk == actor.pk or (
        not actor.is_superuser
        and not access.restrict_users(user_model.objects.filter(pk=user.pk), actor, CHANGE).exists()
    ):
        raise Http404("No user matches the given query.")
    end_sessions(user)
    user.delete()


def login_unlock(*, actor: AbstractBaseUser, user: AbstractBaseUser) -> int:
    """Clear the failed-login lockouts of a login the actor manages; returns how many were cleared."""
    from axes.utils import reset

    user_model = get_user_model()
    if not access.restrict_users(user_model.objects.filter(pk=user.pk), actor, CHANGE).exists():
        raise Http404("No user matches the given query.")
    return reset(username=user.get_username())


def _require_shared_resources_still_reachable(moved: Organization) -> None:
    """After a move, everything below must still use only what is shared with it from above: the
    platforms of its tenants' servers, the pools of its numbers, the templates of its users."""
    from django.apps import apps

    inside = access.subtree("tenant__organization__path", moved.path)
    checks = (
        (
            "telephony.Tenant",
            "server__platform__organization__path",
            access.subtree("organization__path", moved.path),
            _("tenants on servers of platforms that are not shared with its new place"),
        ),
        (
            "telephony.PhoneNumber",
            "organization__path",
            inside,
            _("numbers from pools that are not shared with its new place"),
        ),
        (
            "telephony.PbxUser",
            "template__organization__path",
            inside,
            _("users with line templates that are not shared with its new place"),
        ),
    )
    problems = []
    for label, owner_path, condition, what in checks:
        model = apps.get_model(label)
        owners = set(model.objects.filter(condition).values_list(owner_path, flat=True).distinct())
        stranded = [path for path in owners if not moved.path.startswith(path)]
        if stranded:
            problems.append(what)
    if problems:
        raise ValidationError(
            {
                "parent": _("%(name)s cannot move there: it has %(problems)s. Move or change them first.")
                % {"name": moved.name, "problems": "; ".join(problems)}
            }
        )

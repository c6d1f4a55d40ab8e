"""What a login may see, and the oracles that say whether a page or a token is one of those things.

The oracles are the portal's own rules: `tenants.access` for the admin (`admin_may`), the
self-service selectors for the self-service site (`selfservice_allows`), and `case_allowed`, which
picks between them for one URL. `leaked_tokens` finds in a response body the world's tokens the
login may not see; `foreign_objects` picks the objects a login may not see, to put their ids into
URLs and forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.db import models

from telephony import selectors_selfservice as selectors
from telephony.line_features import TenantLine
from telephony.models import Entity, PbxUser
from tenants import access, acting
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Membership, Organization
from tests.crawl.urls import Case
from tests.crawl.world import ORG_ONLY, Login, Token

User = get_user_model()


@dataclass
class Sight:
    """What one login may see, worked out once from `tenants.access` (and the self-service selectors)."""

    login: Login
    user: Any
    visible_paths: list[str]  # organizations the login sees (membership scope, or its entity's/line's)
    allowed_org_pks: set[int]
    shared_org_pks: set[int]  # visible ones and their ancestors
    membership_scope: bool  # sees whole organizations (superuser or a membership)
    entity_pks: set[int]
    line_pk: int | None

    def token_allowed(self, token: Token) -> bool:
        if self.login.user is not None and self.login.user.is_superuser:
            return True
        if token.org not in (self.shared_org_pks if token.shared else self.allowed_org_pks):
            return False
        if self.membership_scope:
            return True
        if token.entity == ORG_ONLY:
            return False
        if token.entity is not None and token.entity not in self.entity_pks:
            return False
        return self.line_pk is None or token.user is None or token.user == self.line_pk


def sight_of(login: Login) -> Sight:
    if login.user is None:
        return Sight(login, None, [], set(), set(), False, set(), None)
    user = User.objects.get(pk=login.user.pk)  # a fresh copy: the access caches live on the user object
    if user.is_superuser:
        every = set(Organization.objects.values_list("pk", flat=True))
        return Sight(login, user, [], every, every, True, set(), None)
    entity_pks = set(user.administered_entities.values_list("pk", flat=True))
    line = PbxUser.objects.filter(portal_user=user).select_related("tenant__organization").first()
    if line is not None:
        entity_pks.add(line.entity_id)
    own = list(access.visible_organizations(user))
    own += [
        e.tenant.organization for e in Entity.objects.filter(pk__in=entity_pks).select_related("tenant__organization")
    ]
    if line is not None:
        own.append(line.tenant.organization)
    allowed = {o.pk for o in own}
    ancestor_paths = {p for o in own for p in o.ancestor_paths()}
    shared = allowed | set(Organization.objects.filter(path__in=ancestor_paths).values_list("pk", flat=True))
    return Sight(
        login,
        user,
        [o.path for o in own],
        allowed,
        shared,
        bool(access.memberships(user)),
        entity_pks,
        line.pk if line is not None else None,
    )


def leaked_tokens(body: str, sight: Sight, tokens: list[Token]) -> list[tuple[Token, str]]:
    """Tokens in the (lower-cased) body that the login may not see, each with a snippet around it
    (a token found only inside a longer leaked one is not repeated)."""
    found: list[tuple[Token, int]] = []
    lowered = body.lower()
    for token in tokens:
        position = lowered.find(token.text)
        if position < 0:
            continue
        if not sight.token_allowed(token):
            found.append((token, position))
    found.sort(key=lambda item: -len(item[0].text))
    covered: list[tuple[int, int]] = []
    leaks = []
    for token, position in found:
        starts = [m.start() for m in re.finditer(re.escape(token.text), lowered)]
        if all(any(a <= p and p + len(token.text) <= b for a, b in covered) for p in starts):
            continue
        covered.extend((p, p + len(token.text)) for p in starts)
        start = max(0, position - 80)
        leaks.append((token, re.sub(r"\s+", " ", body[start : position + len(token.text) + 80])))
    return leaks


def admin_may(sight: Sight, action: str, obj: models.Model) -> bool:
    """May the login `action` this object in the admin? `tenants.access` for scoped models,
    `access.restrict_users` for logins, the logged object for audit entries; a model that declares
    no access policy is the superuser's only (nobody in the world holds a Django permission)."""
    user = sight.user
    if user is None or not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    model = type(obj)
    if model is User:
        wanted = VIEW if action == VIEW else CHANGE
        if action == DELETE and obj.pk == user.pk:
            return False
        return access.restrict_users(User.objects.filter(pk=obj.pk), user, wanted).exists()
    if model is LogEntry:
        if action != VIEW:
            return False
        target = logged_object(obj)
        return target is not None and admin_may(sight, VIEW, target)
    if hasattr(model, "access_policy"):
        return access.can(user, action, obj)
    return False


def logged_object(entry: LogEntry) -> models.Model | None:
    """The object an audit entry is about, if it still exists."""
    model = entry.content_type.model_class()
    if model is None:
        return None
    return model._default_manager.filter(pk=entry.object_pk).first()


def selfservice_allows(sight: Sight, case: Case) -> bool:
    """Does the self-service site let the login reach the objects of this URL (its selectors)?"""
    user = sight.user
    if user is None or not user.is_active:
        return False
    name = case.pattern.name
    if name == "webhook":  # the webhooks pages are the customer administrators'
        return selectors.is_customer_admin(user) and access.can(user, VIEW, case.obj("pk"))
    users_of = selectors.users_of(user)
    pbx_user = case.obj("pk")
    if pbx_user is not None:
        if not users_of.filter(pk=pbx_user.pk).exists():
            return False
        changes = name in ("user_edit", "user_line", "user_number_add", "user_number_release", "user_pin_reset")
        if changes and not access.can(user, CHANGE, pbx_user):
            return False
        if name == "user_delete" and not access.can(user, DELETE, pbx_user):
            return False
        if name == "user_line" and not _line_form_has_fields(pbx_user):
            return False
    number = case.obj("number_id")
    if number is not None and number.assigned_user_id != getattr(pbx_user, "pk", None):
        return False
    tenant = case.obj("tenant_id")
    if tenant is not None:
        if not selectors.tenants_of(user).filter(pk=tenant.pk).exists():
            return False
        if not selectors.may_add_to(user, tenant):
            return False
    query_tenant = case.obj("tenant")
    if query_tenant is not None:
        if name == "import_template":
            if query_tenant.pk not in {t.pk for t in selectors.tenants_for_new_users(user)}:
                return False
        elif not selectors.tenants_of(user).filter(pk=query_tenant.pk).exists():
            return False
    organization = case.obj("organization_id")
    if organization is not None and not acting.may_act_as(user, organization):
        return False
    run = case.obj("run_id")
    return run is None or selectors.import_runs_of(user).filter(pk=run.pk).exists()


def _line_form_has_fields(user: PbxUser) -> bool:
    """The line page answers 404 where the tenant's PBX keeps none of its settings per user."""
    line = TenantLine.of(user.tenant_id)
    return not {
        "voicemail_enabled",
        "voicemail_to_email",
        "forward_always",
        "forward_busy",
        "forward_no_answer",
    } <= set(line.fields_not_kept)


def case_allowed(sight: Sight, case: Case) -> bool | None:
    """May the login reach this URL's objects? None for URLs without objects (no object oracle)."""
    if not case.objects:
        return None
    if case.pattern.site == "selfservice":
        return selfservice_allows(sight, case)
    if case.pattern.site == "api":  # a filter on a foreign id lists nothing: only the body is checked
        return _may_view(sight, case.objects[0][1]) if case.pattern.kwargs else None
    if case.pattern.key == "admin:view_on_site":
        return admin_may(sight, VIEW, case.objects[0][1])
    if case.pattern.site == "admin":
        if case.pattern.key in ("admin:telephony_pbxuser_import", "admin:telephony_pbxuser_import_template"):
            return admin_may(sight, VIEW, case.objects[0][1])
        if (case.pattern.name or "").endswith("_changelist"):
            return None  # a filter on a foreign id lists nothing: only the body is checked
        return admin_may(sight, case.action, case.objects[0][1])
    return None


def foreign_objects(sight: Sight, model: type[models.Model], *, limit: int = 2) -> list[models.Model]:
    """Objects of `model` the login may not see, the nearest to its own organizations first (a
    sibling's before the outside tree's)."""
    if model is LogEntry or (model is not User and not hasattr(model, "access_policy")):
        return []
    candidates = [obj for obj in model._default_manager.order_by("pk") if not _may_view(sight, obj)]

    def nearness(obj) -> int:
        path = owner_path(obj)
        return -max((_shared_prefix_length(path, mine) for mine in sight.visible_paths), default=0)

    candidates.sort(key=nearness)
    chosen = candidates[:1]
    if len(candidates) > 1 and limit > 1:
        chosen.append(candidates[-1])  # the farthest too
    return chosen


def _may_view(sight: Sight, obj: models.Model) -> bool:
    user = sight.user
    if user is None:
        return False
    if user.is_superuser:
        return True
    if type(obj) is User:
        return access.restrict_users(User.objects.filter(pk=obj.pk), user, VIEW).exists()
    return access.can(user, VIEW, obj)


def _shared_prefix_length(a: str, b: str) -> int:
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return size


def owner_path(obj: models.Model) -> str:
    """The path of the organization an object belongs to ("" if none): a login's is that of its
    membership, else of the entity it administers, else of its line."""
    if isinstance(obj, User):
        membership = Membership.objects.filter(user=obj).select_related("organization").first()
        if membership is not None:
            return membership.organization.path
        entity = Entity.objects.filter(administrators=obj).select_related("tenant__organization").first()
        if entity is not None:
            return entity.tenant.organization.path
        line = PbxUser.objects.filter(portal_user=obj).select_related("tenant__organization").first()
        return line.tenant.organization.path if line is not None else ""
    policy = access.policy_of(type(obj))
    for lookup in policy.organization_lookups:
        target = obj
        for part in lookup.split("__") if lookup else ():
            target = getattr(target, part, None)
            if target is None:
                break
        if target is not None:
            return target.path
    return ""

"""The permission tree: the one place that says what a portal login may see and do.

A login sees the organizations of its memberships and everything below them; the membership's
role decides the actions there. A superuser sees everything (XCU's `superAdmin`). An entity
administrator (XCU administrator with `entityIds`) sees only the users and numbers of the entities
granted to it. Resources that are shared down the tree (platforms, servers, line templates) can
also be seen and used from below their owner, never changed from there.

Every model that is scoped declares an `AccessPolicy` as its `access_policy` attribute, naming the
lookups from the model to its owning organization. `restrict()` turns a login and an action into a
filter on any queryset: one query for the login's memberships (cached on the user object for the
request), then the filtered query itself. Nothing here imports the models above this floor: the
policy's lookups are plain strings.

Objects outside a login's scope are answered with 404, never 403, so that nobody learns what exists
outside their tree.
"""

from __future__ import annotations

from functools import lru_cache, reduce
from operator import or_
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import IntegerField, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Expression, RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404

from tenants import scanned_in  # noqa: F401  (registers the `__scanned_in` lookup `reaching` writes)
from tenants.compiled_counts import compiled_count, counted_per_link
from tenants.login_scope import (  # noqa: F401  (re-exported: the rest of the portal reads them from here)
    OrganizationViewer,
    entity_grant_paths,
    entity_model_of,
    forget,
    is_narrowed,
    memberships,
    narrow_to_role,
)
from tenants.models import Membership, Organization
from tenants.policy import (  # noqa: F401  (re-exported: models and services import them from here)
    ACTIONS,
    ADD,
    ALL_ROLES,
    CHANGE,
    DELETE,
    ENTITY_GRANTS_RELATION,
    LINE_RELATION,
    ORGANIZATION_MANAGERS,
    PBX_MANAGERS,
    ROLE_VIEWER,
    VIEW,
    AccessPolicy,
    policy_of,
)


def _active(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def _paths_with(user: Any, roles: frozenset[str]) -> list[str]:
    """Membership paths holding one of the roles, without those already covered by an ancestor."""
    kept: list[str] = []
    for path in sorted(path for path, role in memberships(user) if role in roles):
        if not any(path.startswith(parent) for parent in kept):
            kept.append(path)
    return kept


def _next_sibling_path(path: str) -> str | None:
    """The smallest path after every path starting with `path` (None if there is none)."""
    alphabet = Organization.alphabet
    chars = list(path)
    for index in range(len(chars) - 1, -1, -1):
        position = alphabet.index(chars[index])
        if position + 1 < len(alphabet):
            chars[index] = alphabet[position + 1]
            return "".join(chars[: index + 1])
    return None


def subtree(field: str, path: str) -> Q:
    """`field` (a path column) lies in the subtree at `path`.

    Written as a range, not LIKE 'path%': a range uses the plain index on every database and
    collation (SQLite never uses an index for Django's LIKE … ESCAPE).
    """
    upper = _next_sibling_path(path)
    condition = Q(**{f"{field}__gte": path})
    return condition & Q(**{f"{field}__lt": upper}) if upper else condition


def _ancestor_paths(path: str) -> list[str]:
    step = Organization.steplen
    return [path[: i * step] for i in range(1, len(path) // step)]


# --- restricting querysets ---------------------------------------------------------------------


def restrict(
    queryset: QuerySet, user: Any, action: str = VIEW, *, correlated: bool = False, row_by_row: bool = False
) -> QuerySet:
    """The part of `queryset` that the login may `action` (`correlated`: a subquery run once per
    row of an outer list; `row_by_row`: the scope checked on each row read, see `reaching`)."""
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    condition = scope_condition(queryset.model, user, action, correlated=correlated, row_by_row=row_by_row)
    return queryset.filter(condition) if condition is not None else queryset.none()


def scope_condition(
    model: type[Model], user: Any, action: str, *, correlated: bool = False, row_by_row: bool = False
) -> Q | None:
    """The Q object behind `restrict`; None when the login may do nothing of the kind."""
    policy = policy_of(model)
    paths = _paths_with(user, policy.roles_for(action))
    lookups = policy.organization_lookups
    if action in (ADD, DELETE):
        lookups = lookups[:1]
    within: list[Q] = []  # conditions on an organization's own path column
    for path in paths:
        condition = subtree("path", path)
        if action in policy.strict_actions:
            condition &= ~Q(path=path)
        within.append(condition)
    if action == VIEW and policy.shared_down:
        shared = {ancestor for path, _role in memberships(user) for ancestor in _ancestor_paths(path)}
        shared.update(path for path, _role in memberships(user))
        if shared:
            within.append(Q(path__in=sorted(shared)))
    organizations = reduce(or_, within) if within else None
    conditions = []
    if organizations is not None:
        conditions = [
            reaching(model, lookup, organizations, correlated=correlated, row_by_row=row_by_row) for lookup in lookups
        ]
    entity_condition = _entity_condition(model, policy, user, action)
    if entity_condition is not None:
        conditions.append(entity_condition)
    return reduce(or_, conditions) if conditions else None


# Slices an organizations subquery without ever cutting it short (see `reaching`).
_WHOLE = 2**62


def reaching(
    model: type[Model], lookup: str, organizations: Q, *, correlated: bool = False, row_by_row: bool = False
) -> Q:
    """Rows of `model` whose owning organization, through `lookup` (forward relations; "" for an
    organization itself), meets `organizations` (a condition on Organization).

    Written as one `IN (subquery)` per hop, never as joins of the outer query: the condition is then
    a filter on the row's own column that the planner checks against a small hashed set, and it can
    still walk the list's ordering index and stop at the page; joins ORed together (a number's pool
    owner or its tenant's organization) made it join and sort every row of the table instead.

    `correlated`: the condition sits in a subquery run for each row of an outer list (a count
    column). PostgreSQL would pull each hop's subquery up into a join there, and scan the
    organizations again for each row (10 servers' tenant counts: 2.9 ms); sliced (by more rows than
    any table holds, so never cut short), each stays a hashed subplan, read once per query (0.9 ms).

    `row_by_row`: the hop is checked on each row read, never used as SQLite's way in
    (tenants.scanned_in). For a list read in its key's order a page at a time by a login that sees a
    large part of it (tenants.wide_scope), SQLite would otherwise gather all the scope's rows
    through the hop's index and sort them; for a shared resource's count, seek each of the scope's
    organizations in the (link, organization) index instead of reading the link's entries.
    PostgreSQL weighs the ways itself.
    """
    if not lookup:
        return organizations
    first, _, rest = lookup.partition("__")
    sql, params = _owners_sql(model, first, rest, organizations, correlated, connection.vendor)
    owners = RawSQL(sql, params)  # noqa: S611 (compiled by Django, values as parameters)
    return Q(**{f"{first}__{'scanned_in' if row_by_row else 'in'}": owners})


@lru_cache(maxsize=2048)
def _owners_sql(
    model: type[Model], first: str, rest: str, organizations: Q, correlated: bool, vendor: str
) -> tuple[str, tuple[Any, ...]]:
    """The subquery of `reaching`'s hop through `first`, compiled once per model, hop, organizations
    and database: every scoped query of every login with the same memberships carries the same one
    (its building and compiling was most of what a scope added to a query: 1.1 ms of a number
    list's 1.4). Uncorrelated, so its own table names cannot meet the outer query's."""
    related = model._meta.get_field(first).related_model
    # the base manager: the joins this replaces never applied a default manager's filter either
    rows = related._base_manager.filter(reaching(related, rest, organizations, correlated=correlated))
    rows = rows.order_by().values("pk")
    return (rows[:_WHOLE] if correlated else rows).query.sql_with_params()


def _entity_condition(model: type[Model], policy: AccessPolicy, user: Any, action: str) -> Q | None:
    if action not in policy.entity_actions or is_narrowed(user):
        return None
    entity_model = entity_model_of(user)
    if entity_model is None:
        return None
    if not entity_grant_paths(user):
        # no entity granted (one query, cached for the request): no subquery of grants to build,
        # compile and run with every scoped query of a login that holds memberships only
        return None
    if action == VIEW and policy.shared_down:
        grant_paths = entity_grant_paths(user)
        if not grant_paths:
            return None
        shared = {ancestor for path in grant_paths for ancestor in (*_ancestor_paths(path), path)}
        return reaching(model, policy.organization_lookups[0], Q(path__in=sorted(shared)))
    grants = entity_model._meta.get_field(policy.entity_grant_field).remote_field.through
    granted = grants.objects.filter(user_id=user.pk).values(f"{entity_model._meta.model_name}_id")
    if policy.entity_reverse_lookup is not None:
        owners = entity_model._default_manager.filter(pk__in=granted).values(policy.entity_reverse_lookup)
        condition = Q(pk__in=owners)
    elif policy.entity_lookup is None:
        return None
    else:
        condition = Q(**{f"{policy.entity_lookup}__in" if policy.entity_lookup else "pk__in": granted})
    if policy.entity_creator_lookup is not None:
        condition &= Q(**{policy.entity_creator_lookup: user.pk})
    return condition


def visible_count(model: type[Model], link: str, user: Any, *, shared: bool = False) -> Expression:
    """A correlated COUNT, for a list of rows, of the `model` rows pointing at each one through
    `link` that the login may see: a column never counts another organization's objects (a shared
    server's tenants, a shared template's users).

    `shared`: the rows are resources shared down the tree, each counting many rows of many
    customers; their scope is then read once per query (`reaching`'s `correlated`), not once per
    row, and checked on each counted row (`row_by_row`). A list of the login's own objects (its
    tenants' users) is faster the other way: there each row's few counted rows are checked through
    the indexes.

    Compiled once per scope (tenants.compiled_counts): composing it was most of its cost."""
    if not _active(user):
        return Value(0)
    condition = None if user.is_superuser else scope_condition(model, user, VIEW, correlated=shared, row_by_row=shared)
    if condition is None and not user.is_superuser:
        return Value(0)  # nothing of the kind is visible to the login
    return correlated_count(model, link, condition)


def correlated_count(model: type[Model], link: str, condition: Q | None = None) -> Expression:
    """The number of `model` rows meeting `condition` (None: all) whose `link` points at each row
    of a list: a correlated count, worked out for the rows the page shows, not a join grouped over
    them all. Its SQL compiled once where it can be (tenants.compiled_counts), else the ORM's."""
    compiled = compiled_count(model, link, condition)
    if compiled is not None:
        return compiled
    rows = model._default_manager.filter(**{link: OuterRef("pk")})
    if condition is not None:
        rows = rows.filter(condition)
    return Coalesce(Subquery(counted_per_link(rows, link), output_field=IntegerField()), 0)


def can(user: Any, action: str, obj: Model) -> bool:
    """May the login `action` this object? One query (plus the cached membership query)."""
    if obj.pk is None:
        raise ValueError("can() needs a saved object; use can_add() for a new one")
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), user, action).exists()


def require(user: Any, action: str, obj: Model) -> None:
    """Raise 404 unless the login may `action` the object (what a denied login gets everywhere)."""
    if not can(user, action, obj):
        raise Http404(f"No {type(obj)._meta.verbose_name} matches the given query.")


def can_add(user: Any, model: type[Model], organization: Organization, *, entity: Model | None = None) -> bool:
    """May the login create a `model` owned by `organization` (and, for entity administrators,
    inside `entity`)? No query beyond the cached memberships, except the entity grant check."""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    policy = policy_of(model)
    if any(organization.path.startswith(path) for path in _paths_with(user, policy.roles_for(ADD))):
        return True
    if entity is not None and ADD in policy.entity_actions and not is_narrowed(user):
        grants = getattr(entity, policy.entity_grant_field)
        return grants.filter(pk=user.pk).exists()
    return False


def require_add(user: Any, model: type[Model], organization: Organization, *, entity: Model | None = None) -> None:
    if not can_add(user, model, organization, entity=entity):
        raise Http404("No organization matches the given query.")


def administers(user: Any, organization: Organization) -> bool:
    """Does the login hold the admin role over `organization`? Granting rights there (a role, an
    entity to administer) is an administrator's act, never an operator's."""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    return any(organization.path.startswith(path) for path in _paths_with(user, ORGANIZATION_MANAGERS))


def organizations_for(user: Any, model: type[Model], action: str = ADD) -> QuerySet[Organization]:
    """Organizations in which the login may `action` objects of `model` (form choices)."""
    organizations = Organization.objects.all()
    if not _active(user):
        return organizations.none()
    if user.is_superuser:
        return organizations
    paths = _paths_with(user, policy_of(model).roles_for(action))
    if not paths:
        return organizations.none()
    return organizations.filter(reduce(or_, (subtree("path", path) for path in paths)))


def visible_organizations(user: Any) -> QuerySet[Organization]:
    """Every organization the login may see."""
    return restrict(Organization.objects.all(), user, VIEW)


def has_any_scope(user: Any) -> bool:
    """Does the login see anything at all in the admin (a membership, or an entity grant)?"""
    if not _active(user):
        return False
    return bool(user.is_superuser or memberships(user) or has_entity_grants(user))


def has_entity_grants(user: Any) -> bool:
    return bool(entity_grant_paths(user))


# --- portal logins -----------------------------------------------------------------------------
#
# A login holds rights in three ways: memberships, entity grants (it administers entities) and a
# linked PBX line (it manages that line on the self-service site). Each right lies in one
# organization. A login is seen from every organization one of its rights lies in, and governed
# (its password, its details, its deletion, its lockout) only by an administrator of every one of
# them: otherwise an administrator could take over a login that also acts elsewhere.


def _login_rights(login_model: type[Model]) -> list[tuple[QuerySet, str, str]]:
    """(rows, login column, organization path lookup) of each kind of right a login can hold."""
    rights: list[tuple[QuerySet, str, str]] = [(Membership.objects.all(), "user_id", "organization__path")]
    for relation in (ENTITY_GRANTS_RELATION, LINE_RELATION):
        try:
            field = login_model._meta.get_field(relation)
        except FieldDoesNotExist:  # the floor above declares no such relation
            continue
        related = field.related_model
        organization = policy_of(related).organization_lookups[0]
        if field.many_to_many:  # entity grants: the through table of Entity.administrators
            through = field.through
            name = related._meta.model_name
            rights.append((through.objects.all(), "user_id", f"{name}__{organization}__path"))
        else:  # the linked line: PbxUser.portal_user (most lines have no login: never NOT IN a NULL)
            attname = field.field.attname
            rows = related._default_manager.filter(**{f"{attname}__isnull": False})
            rights.append((rows, attname, f"{organization}__path"))
    return rights


def _within(path_lookup: str, paths: list[str]) -> Q:
    return reduce(or_, (subtree(path_lookup, path) for path in paths))


def logins_governed_within(queryset: QuerySet, paths: list[str]) -> QuerySet:
    """Logins of `queryset` that hold at least one right inside the subtrees at `paths` and none
    outside them (never a superuser)."""
    if not paths:
        return queryset.none()
    inside = Q()
    for rows, login_column, path_lookup in _login_rights(queryset.model):
        inside |= Q(pk__in=rows.filter(_within(path_lookup, paths)).values(login_column))
        queryset = queryset.exclude(pk__in=rows.exclude(_within(path_lookup, paths)).values(login_column))
    return queryset.filter(inside, is_superuser=False)


def restrict_users(queryset: QuerySet, user: Any, action: str = VIEW) -> QuerySet:
    """Portal logins the login may see (a right of theirs lies in its subtree) or manage (it
    administers the organization of every right the other login holds; never a superuser)."""
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if action == VIEW:
        visible_paths = _paths_with(user, ALL_ROLES)
        inside = Q(pk=user.pk)
        if visible_paths:
            for rows, login_column, path_lookup in _login_rights(queryset.model):
                inside |= Q(pk__in=rows.filter(_within(path_lookup, visible_paths)).values(login_column))
        return queryset.filter(inside)
    if is_narrowed(user):  # logins are never governed while acting as someone else's administrator
        return queryset.none()
    return logins_governed_within(queryset, _paths_with(user, ORGANIZATION_MANAGERS))

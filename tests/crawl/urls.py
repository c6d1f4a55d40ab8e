"""The URLs the crawl requests: every URL pattern of the admin (`admin.site`, including each
ModelAdmin's own URLs) and of the self-service site (namespace `selfservice`), walked from
`django.urls.get_resolver()`, with every id kwarg substituted by the ids of the right model.

A pattern that cannot be mapped is reported (`UrlMap.unmapped`), so that a URL added later is either
covered automatically or forces an update of the short tables below (`SELFSERVICE_KWARGS`,
`QUERY_IDS`, `ALLOWED_UNMAPPED`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from auditlog.models import LogEntry
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import Resolver404, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.views.generic.base import RedirectView

from telephony.models import ImportRun, PbxUser, PhoneNumber, ProvisioningBatch, ProvisioningJob, Tenant
from telephony.models.webhooks import WebhookEndpoint
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Organization


@dataclass(frozen=True)
class Pattern:
    key: str  # "admin:telephony_pbxuser_change", or the route of an unnamed pattern
    route: str  # the whole route, from the root
    site: str  # "admin" or "selfservice" or "root"
    kwargs: tuple[str, ...]
    callback: Any
    model_admin: Any = None  # the ModelAdmin whose URLs include this pattern
    name: str | None = None

    @property
    def model(self) -> type[models.Model] | None:
        return self.model_admin.model if self.model_admin is not None else None

    @property
    def is_neutral_redirect(self) -> bool:
        """Django's `<object_id>/` → `<object_id>/change/` redirect, which answers the same for any id."""
        return getattr(self.callback, "view_class", None) is RedirectView


def _walk(resolver: URLResolver, prefix: str, namespace: str | None, model_admin: Any) -> Iterator[Pattern]:
    """The patterns under `resolver`; those under `admin/<app>/<model>/` carry that model's ModelAdmin."""
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner_ns = namespace
            if entry.namespace:
                inner_ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            inner_admin = model_admin
            if inner_ns == "admin":
                found = re.fullmatch(r"admin/(\w+)/(\w+)/", route)
                if found:
                    try:
                        model = apps.get_model(found.group(1), found.group(2))
                    except LookupError:
                        model = None
                    inner_admin = admin.site._registry.get(model)
            yield from _walk(entry, route, inner_ns, inner_admin)
            continue
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            kwargs = tuple(pattern.converters)
        elif isinstance(pattern, RegexPattern):
            kwargs = tuple(pattern.regex.groupindex)
        else:  # pragma: no cover
            kwargs = ()
        site = "admin" if route.startswith("admin/") else (namespace or "root")
        key = f"{namespace}:{entry.name}" if entry.name and namespace else (entry.name or "/" + route)
        yield Pattern(key, route, site, kwargs, entry.callback, model_admin, entry.name)


def url_patterns() -> list[Pattern]:
    return list(_walk(get_resolver(), "", None, None))


# Self-service kwargs → model, per pattern (worked out from the views): a new pattern with an id
# must be added here, or the crawl fails naming it.
SELFSERVICE_KWARGS: dict[tuple[str, str], type[models.Model]] = {
    ("user_create", "tenant_id"): Tenant,
    ("user_detail", "pk"): PbxUser,
    ("user_pushes", "pk"): PbxUser,
    ("user_edit", "pk"): PbxUser,
    ("user_line", "pk"): PbxUser,
    ("user_number_add", "pk"): PbxUser,
    ("user_number_release", "pk"): PbxUser,
    ("user_number_release", "number_id"): PhoneNumber,
    ("user_pin_reset", "pk"): PbxUser,
    ("user_delete", "pk"): PbxUser,
    ("import_run", "run_id"): ImportRun,
    ("import_confirm", "run_id"): ImportRun,
    ("import_progress", "run_id"): ImportRun,
    ("import_errors", "run_id"): ImportRun,
    ("import_skipped", "run_id"): ImportRun,
    ("user_cti", "pk"): PbxUser,
    ("user_cti_clear", "pk"): PbxUser,
    ("crm_integration", "tenant_id"): Tenant,
    ("crm_integration_delete", "tenant_id"): Tenant,
    ("acting_start", "organization_id"): Organization,
    ("webhook", "pk"): WebhookEndpoint,
}
# The same for the admin's pages that belong to no ModelAdmin.
ADMIN_PAGE_KWARGS: dict[tuple[str, str], type[models.Model]] = {
    ("webhook", "pk"): WebhookEndpoint,
}
# Query-string ids that pages read (`?tenant=`): crawled with every tenant id as well.
QUERY_IDS: dict[str, dict[str, type[models.Model]]] = {
    "selfservice:user_list": {"tenant": Tenant},
    "selfservice:import_template": {"tenant": Tenant},
    "admin:telephony_pbxuser_import": {"tenant": Tenant},
    "admin:telephony_pbxuser_import_template": {"tenant": Tenant},
    "onboarding_done": {"batch": ProvisioningBatch},
    "onboarding_progress": {"batch": ProvisioningBatch},
}

# Patterns whose kwargs are not object ids: never substituted, and why.
ALLOWED_UNMAPPED = {
    "selfservice:password_reset_confirm": "uidb64/token of a password-reset e-mail, not an object id",
    "configurator-webhook": "an order's public id and callback secret, for the Configurator, not a login "
    "(tests/telephony/test_configurator_orders.py)",
    "/admin/(?P<url>.*)$": "Django's catch-all for unknown paths under /admin/ (404, or a redirect adding the slash)",
}
# Pages that are open without a login (and so may answer 200 to the anonymous visitor).
PUBLIC_PATTERNS = {
    "admin:login",
    "selfservice:login",
    "selfservice:password_reset",
    "selfservice:password_reset_done",
    "selfservice:password_reset_confirm",
    "selfservice:password_reset_complete",
    "/favicon.ico",
}
# Never followed by the crawl's requests as the logged-in visitor (they would end the session).
LOGOUT_PATTERNS = {"admin:logout", "selfservice:logout"}


@dataclass(frozen=True)
class Case:
    """One URL to request: the pattern, the URL, and the objects its ids stand for."""

    pattern: Pattern
    url: str
    objects: tuple[tuple[str, models.Model], ...] = ()  # (kwarg or query name, object)
    action: str = VIEW  # what the page does to its object (for the oracle)

    def obj(self, name: str) -> models.Model | None:
        return dict(self.objects).get(name)

    def __str__(self) -> str:
        described = ", ".join(f"{name}={type(o).__name__}#{o.pk}" for name, o in self.objects)
        return f"{self.pattern.key} {self.url}" + (f" [{described}]" if described else "")


@dataclass
class UrlMap:
    cases: list[Case]
    unmapped: list[str]  # pattern keys that could not be mapped, with why
    patterns: list[Pattern]
    autocomplete: list[Case]
    shadowed: list[str] = field(default_factory=list)  # patterns whose URLs an earlier pattern answers


def _fill(route: str, values: dict[str, Any]) -> str:
    def replace(match: re.Match) -> str:
        return str(values[match.group(2)])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


# What an admin page does to its object (what the oracle asks about), by the end of its URL name.
ADMIN_ACTIONS = {
    "change": VIEW,
    "history": VIEW,
    "delete": DELETE,
    "password_change": CHANGE,
}


def _admin_action(pattern: Pattern) -> str:
    name = pattern.name or ""
    for suffix, action in ADMIN_ACTIONS.items():
        if name.endswith("_" + suffix):
            return action
    return VIEW


def objects_of(model: type[models.Model]) -> list[models.Model]:
    """The objects an id of `model` is substituted with: all of them, except for the audit log and
    the jobs, where one object per owner stands for the others (hundreds say the same): an audit
    entry per (owning organizations, entity) and per model logged; a job per (tenant, platform,
    status, whether it belongs to a batch)."""
    objects = list(model._default_manager.order_by("pk"))
    if model not in (LogEntry, ProvisioningJob):
        return objects
    seen, kept = set(), []
    for obj in objects:
        if model is LogEntry:
            data = obj.additional_data or {}
            keys = [("owner", data.get("org"), data.get("org2"), data.get("entity")), ("model", obj.content_type_id)]
        else:
            keys = [(obj.tenant_id, obj.platform_id, obj.status, obj.batch_id is None)]
        if any(key not in seen for key in keys):
            seen.update(keys)
            kept.append(obj)
    return kept


def enumerate_urls() -> UrlMap:
    """Every crawlable URL of the admin and the self-service site, with every id substituted."""
    patterns = url_patterns()
    cases: list[Case] = []
    unmapped: list[str] = []
    autocomplete: list[Case] = []
    objects = functools.cache(objects_of)
    for pattern in patterns:
        if pattern.site not in ("admin", "selfservice", "root", "api"):
            unmapped.append(f"{pattern.key}: outside the admin, the self-service site and the API")
        elif pattern.site == "api":
            api, missing = _api_cases(pattern, objects)
            cases.extend(api)
            unmapped.extend(missing)
        elif pattern.key in ALLOWED_UNMAPPED:
            if pattern.key == "selfservice:password_reset_confirm":  # a made-up link must not break the page
                cases.append(Case(pattern, _fill(pattern.route, {"uidb64": "MQ", "token": "set-password"})))
            if pattern.key == "configurator-webhook":  # a made-up order: nothing to see, whoever asks
                made_up = {"public_id": "00000000-0000-4000-8000-000000000000", "secret": "made-up"}
                cases.append(Case(pattern, _fill(pattern.route, made_up)))
        elif pattern.key == "admin:autocomplete":
            autocomplete.extend(_autocomplete_cases(pattern))
        elif not pattern.kwargs:
            cases.extend(_cases_without_ids(pattern, objects))
        elif pattern.key == "admin:view_on_site":
            cases.extend(_view_on_site_cases(pattern, objects))
        elif pattern.key == "admin:app_list":
            for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
                cases.append(Case(pattern, f"/admin/{app_label}/"))
        elif pattern.model_admin is not None and len(pattern.kwargs) == 1:
            (kwarg,) = pattern.kwargs
            for obj in objects(pattern.model):
                url = _fill(pattern.route, {kwarg: obj.pk})
                cases.append(Case(pattern, url, ((kwarg, obj),), action=_admin_action(pattern)))
        elif pattern.site == "selfservice" and all((pattern.name, k) in SELFSERVICE_KWARGS for k in pattern.kwargs):
            cases.extend(_selfservice_cases(pattern, objects))
        elif pattern.site == "admin" and all((pattern.name, k) in ADMIN_PAGE_KWARGS for k in pattern.kwargs):
            (kwarg,) = pattern.kwargs
            for obj in objects(ADMIN_PAGE_KWARGS[(pattern.name, kwarg)]):
                cases.append(Case(pattern, _fill(pattern.route, {kwarg: obj.pk}), ((kwarg, obj),)))
        else:
            unmapped.append(f"{pattern.key} ({pattern.route}): kwargs {', '.join(pattern.kwargs)} map to no model")
    reached, shadowed = _reachable(cases)
    return UrlMap(reached, unmapped, patterns, autocomplete, shadowed)


def _api_cases(pattern: Pattern, objects) -> tuple[list[Case], list[str]]:
    """An API endpoint: a list once, and once per object of each id its filters take (`?tenant=`);
    an object's URL (and its actions') once per object of the viewset's model."""
    view = getattr(pattern.callback, "cls", None)
    model = view.serializer_class.Meta.model if getattr(view, "serializer_class", None) else None
    if not pattern.kwargs:
        base = _fill(pattern.route, {})
        cases = [Case(pattern, base)]
        lookups = {name: name for name in getattr(view, "filter_ids", ())}
        lookups.update(getattr(view, "filter_id_lookups", {}))  # `?server=` as scan__server
        for name, lookup in lookups.items():
            related = _related_model(model, lookup)
            cases += [Case(pattern, f"{base}?{urlencode({name: o.pk})}", ((name, o),)) for o in objects(related)]
        return cases, []
    if pattern.kwargs != ("pk",) or model is None:
        return [], [f"{pattern.key} ({pattern.route}): kwargs {', '.join(pattern.kwargs)} map to no model"]
    return [Case(pattern, _fill(pattern.route, {"pk": o.pk}), (("pk", o),)) for o in objects(model)], []


def _related_model(model: type[models.Model], lookup: str) -> type[models.Model]:
    """The model a relation lookup (`tenant`, `scan__server`) ends at."""
    for name in lookup.split("__"):
        model = model._meta.get_field(name).related_model
    return model


def _cases_without_ids(pattern: Pattern, objects) -> list[Case]:
    """The page itself, and once per object of each id it reads from the query string."""
    base = _fill(pattern.route, {})
    cases = [Case(pattern, base)]
    queries = dict(QUERY_IDS.get(pattern.key, {}))
    if pattern.model_admin is not None and (pattern.name or "").endswith("_changelist"):
        queries.update(_relation_filters(pattern.model_admin))
    for query, model in queries.items():
        for obj in objects(model):
            cases.append(Case(pattern, f"{base}?{urlencode({query: obj.pk})}", ((query, obj),)))
    return cases


def _view_on_site_cases(pattern: Pattern, objects) -> list[Case]:
    """`/admin/r/<content type>/<id>/` for the first and the last object of each model of the admin."""
    cases = []
    for model in admin.site._registry:
        content_type = ContentType.objects.get_for_model(model)
        for obj in objects(model)[:1] + objects(model)[-1:]:
            cases.append(Case(pattern, f"/admin/r/{content_type.pk}/{obj.pk}/", (("object_id", obj),)))
    return cases


def _reachable(cases: list[Case]) -> tuple[list[Case], list[str]]:
    """The cases whose URL their own pattern answers, and the keys of the patterns none of whose URLs
    it does. A URL that an earlier pattern answers (ImportRunAdmin's <run_id>/ before Django's
    <object_id>/ redirect) is crawled as that pattern's; the later pattern is unreachable."""
    reached, shadowed = [], set()
    for case in cases:
        if _answered_by(case.url) is case.pattern.callback:
            reached.append(case)
        else:
            shadowed.add(case.pattern.key)
    shadowed -= {case.pattern.key for case in reached}
    return reached, sorted(shadowed)


def _relation_filters(model_admin) -> dict[str, type[models.Model]]:
    """`<relation>__<pk>__exact` of every list_filter on a relation to a scoped model (the filter
    sidebar must not name a foreign object chosen in the URL)."""
    found = {}
    for entry in model_admin.list_filter:
        name = entry[0] if isinstance(entry, tuple) else entry
        if not isinstance(name, str) or "__" in name:
            continue
        try:
            related = model_admin.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if related.is_relation and hasattr(related.related_model, "access_policy"):
            found[f"{name}__{related.related_model._meta.pk.name}__exact"] = related.related_model
    return found


def _answered_by(url: str) -> Any:
    try:
        return resolve(urlsplit(url).path).func
    except Resolver404:
        return None


def _selfservice_cases(pattern: Pattern, objects) -> list[Case]:
    if pattern.kwargs == ("pk", "number_id"):
        # every number with every user would be users × numbers: the number's own holder, plus each
        # user with a number it does not hold (the foreign-number case)
        cases = []
        for user in objects(PbxUser):
            held = [n for n in objects(PhoneNumber) if n.assigned_user_id == user.pk]
            other = [n for n in objects(PhoneNumber) if n.assigned_user_id not in (None, user.pk)][:1]
            for number in held + other:
                url = _fill(pattern.route, {"pk": user.pk, "number_id": number.pk})
                cases.append(Case(pattern, url, (("pk", user), ("number_id", number))))
        return cases
    (kwarg,) = pattern.kwargs
    model = SELFSERVICE_KWARGS[(pattern.name, kwarg)]
    return [Case(pattern, _fill(pattern.route, {kwarg: obj.pk}), ((kwarg, obj),)) for obj in objects(model)]


def _autocomplete_cases(pattern: Pattern) -> list[Case]:
    """`/admin/autocomplete/?app_label=..&model_name=..&field_name=..&term=` for every field of every
    model admin's autocomplete_fields (an empty term lists everything the login may pick), and its
    second page."""
    cases = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            query = {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field_name,
                "term": "",
            }
            cases.append(Case(pattern, f"/admin/autocomplete/?{urlencode(query)}"))
            cases.append(Case(pattern, f"/admin/autocomplete/?{urlencode({**query, 'page': 2})}"))
    return cases

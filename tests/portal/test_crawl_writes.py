"""Issue 11, isolation of writes: POSTs as every role but the superuser (nothing is foreign to it)
never reach an object the login may not see (the machinery: `tests.crawl`).

- Every form the login can open is sent back with its current values and an object the login may
  not see in each select (foreign key, many-to-many, inline row) in turn.
- Every changelist action is run on a foreign id, and on an object the login may only view.
- Every object URL is posted to with a foreign id (and, in the admin, with the id of an object the
  login may only view).

Each POST runs in a savepoint rolled back after the database was fingerprinted: nothing may change;
a POST must not answer 500 nor show a token the login may not see; a POST to a foreign object's URL
must be refused. Before the foreign-id POSTs of a form, the same form is sent back with the login's
own values (rolled back too): if that does not save, it is named in the failure report without being
a failure itself, since the foreign-id POSTs made with that form then prove less.

`CRAWL_DEBUG=1` prints every POST with its answer and the form's errors (see `tests.crawl.replay`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import Resolver404, resolve

from telephony.models import Entity, LineTemplate, PhoneNumber, Tenant
from tenants.access import CHANGE, DELETE, VIEW
from tenants.models import Organization
from tests.crawl import (
    CRAWLED,
    LOGOUT_PATTERNS,
    SUPERUSER,
    Case,
    Failures,
    Form,
    Replayer,
    Sight,
    UrlMap,
    Visitor,
    admin_may,
    build_crawl_world,
    case_allowed,
    enumerate_urls,
    fingerprint,
    foreign_objects,
    pairs_to_data,
    parse_forms,
    sight_of,
)
from tests.crawl.post_data import (
    PASSWORD,
    Pairs,
    admin_form_relations,
    main_admin_form,
    relation_of,
    valid_new_object_data,
    with_value,
    with_values,
)

pytestmark = pytest.mark.django_db

POSTED = [key for key in CRAWLED if key != SUPERUSER]

# What a POST to an admin object URL would do, by the end of its URL name.
ADMIN_POST_ACTIONS = {
    "change": CHANGE,
    "delete": DELETE,
    "password_change": CHANGE,
    "confirm": CHANGE,
    "retry": CHANGE,
    "cancel": CHANGE,
}
SELFSERVICE_FORM_RELATIONS = {
    "entity": Entity,
    "template": LineTemplate,
    "number": PhoneNumber,
    "tenant": Tenant,
    "organization": Organization,  # a webhook's
}
# The admin's pages outside a ModelAdmin whose forms take ids.
ADMIN_PAGE_FORMS = {"/admin/webhooks/": {"organization": Organization}}
ADMIN_IMPORT_RELATIONS = {"tenant": Tenant, "template": LineTemplate, "organization": Organization}
SKIPPED_FORM_ACTIONS = {"selfservice:logout", "admin:logout", "selfservice:login", "selfservice:password_change"}
CSV_FILE = b"first_name;last_name;username;exten;number\nCrawl;Row;crawl.row;2150;+31999000222\n"


@pytest.mark.parametrize("login_key", POSTED)
def test_forms_actions_and_object_urls_never_reach_a_foreign_object(login_key):
    world = build_crawl_world()
    urls = enumerate_urls()
    login = world.login(login_key)
    sight = sight_of(login)
    failures = Failures(str(login))
    baseline = fingerprint()
    harvested: dict[str, Pairs] = {}  # pattern key → form data of an allowed page, to post to foreign ones
    with Visitor(login) as visitor:
        replay = Replayer(visitor, sight, failures, baseline, world)
        if sight.user is not None and sight.user.is_staff:
            _replay_admin(replay, sight, harvested)
            _replay_admin_imports(replay, sight, harvested)
            _replay_admin_pages(replay, sight, harvested)
        if sight.user is not None:
            _replay_selfservice(replay, sight, urls, harvested)
        _post_to_object_urls(replay, sight, urls, harvested)
    failures.check()


def _replay_admin(replay: Replayer, sight: Sight, harvested: dict[str, Pairs]) -> None:
    """For each model admin: its add form and the change form of the first object the login may
    change, then its changelist actions."""
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        own = _changeable(sight, model)
        pages = [(f"{base}add/", None)] + ([(f"{base}{own[0].pk}/change/", own[0])] if own else [])
        for url, obj in pages:
            _replay_admin_form(replay, sight, model_admin, url, obj, harvested)
        _replay_changelist_actions(replay, sight, model, base)


def _replay_admin_form(
    replay: Replayer, sight: Sight, model_admin, url: str, obj: models.Model | None, harvested: dict[str, Pairs]
) -> None:
    """An add or change form sent back with a foreign id in each relation field in turn."""
    model = model_admin.model
    kind = "add" if obj is None else "change"
    key = f"admin:{model._meta.app_label}_{model._meta.model_name}_{kind}"
    fetched = replay.visitor.get(url)
    if fetched.status != 200:
        return
    form = main_admin_form(parse_forms(fetched.body), model)
    if form is None:
        return
    pairs = [*form.data(submit="_save"), ("_save", "Save")]
    if kind == "change":
        harvested[key] = pairs
    relations = admin_form_relations(model_admin, sight, obj)
    if kind == "add":
        pairs = with_values(pairs, valid_new_object_data(model, sight), form)
    replays = []
    for form_field in form.fields:
        if "__prefix__" in form_field.name or form_field.kind in ("submit", "button"):
            continue
        related = relation_of(form_field.name, relations)
        if related is None:
            continue
        for foreign in foreign_objects(sight, related, limit=1):
            data = with_value(pairs, form_field.name, str(foreign.pk), multiple=form_field.kind == "select-multiple")
            replays.append((related, pairs_to_data(data), f"{form_field.name}={related.__name__}#{foreign.pk}"))
    if replays:
        replay.control(key, url, pairs_to_data(pairs), f"{kind} form with own values")
    for related, data, what in replays:
        replay.post(key, f"{kind} form with a foreign {related.__name__}", url, data, refused=False, what=what)


def _replay_changelist_actions(replay: Replayer, sight: Sight, model: type[models.Model], url: str) -> None:
    """Each action of the changelist on a foreign object and on an object the login may only view."""
    changelist = replay.visitor.get(url)
    if changelist.status != 200:
        return
    actions = next((f.options for form in parse_forms(changelist.body) for f in form.fields if f.name == "action"), [])
    targets = [(obj, "foreign") for obj in foreign_objects(sight, model, limit=1)]
    targets += [(obj, "view-only") for obj in _view_only(sight, model)[:1]]
    for action in [a for a in actions if a]:
        for obj, what in targets:
            replay.post(
                f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist",
                f"action {action} on a {what} object",
                changelist.url,
                # post=yes: the confirmation of delete_selected, sent at once
                {"action": action, "_selected_action": str(obj.pk), "index": "0", "post": "yes"},
                refused=False,
                what=f"{model.__name__}#{obj.pk} ({what})",
            )


def _replay_admin_imports(replay: Replayer, sight: Sight, harvested: dict[str, Pairs]) -> None:
    """The admin's CSV upload forms (tenant, template, pool or reseller), with a file attached."""
    for model, model_admin in admin.site._registry.items():
        if not hasattr(model_admin, "import_view"):
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/import/"
        fetched = replay.visitor.get(url)
        if fetched.status != 200:
            continue
        for form in parse_forms(fetched.body):
            if any(f.kind == "file" for f in form.fields):
                _replay_plain_form(replay, sight, url, form, ADMIN_IMPORT_RELATIONS, harvested)


def _replay_admin_pages(replay: Replayer, sight: Sight, harvested: dict[str, Pairs]) -> None:
    """The admin's own pages with a form of ids (a webhook's organization), a foreign id in each."""
    for url, relations in ADMIN_PAGE_FORMS.items():
        fetched = replay.visitor.get(url)
        if fetched.status != 200:
            continue
        for form in parse_forms(fetched.body):
            _replay_plain_form(replay, sight, url, form, relations, harvested)


def _replay_selfservice(replay: Replayer, sight: Sight, urls: UrlMap, harvested: dict[str, Pairs]) -> None:
    """Every self-service page the login can open: each of its forms sent back with a foreign id in
    each select. Pages with ids: one allowed object per pattern."""
    seen_patterns: set[str] = set()
    for case in urls.cases:
        key = case.pattern.key
        if case.pattern.site != "selfservice" or key in SKIPPED_FORM_ACTIONS | LOGOUT_PATTERNS:
            continue
        if case_allowed(sight, case) is False or (case.objects and key in seen_patterns):
            continue
        if key.startswith("selfservice:two_factor") or key.startswith("selfservice:password"):
            continue
        fetched = replay.visitor.get(case.url)
        if fetched.status != 200 or not fetched.html:
            continue
        seen_patterns.add(key)
        for form in parse_forms(fetched.body):
            _replay_plain_form(replay, sight, case.url, form, SELFSERVICE_FORM_RELATIONS, harvested)


def _replay_plain_form(
    replay: Replayer,
    sight: Sight,
    page_url: str,
    form: Form,
    relations: dict[str, type[models.Model]],
    harvested: dict[str, Pairs],
) -> None:
    """A form outside the admin's add/change pages: its selects named in `relations` get a foreign
    id in turn (a select of ids it does not know is reported), files get a small CSV."""
    if form.method != "post":
        return
    action = form.action or page_url
    action_key = _pattern_key_of(action)
    if action_key in SKIPPED_FORM_ACTIONS or action_key is None:
        return
    pairs = form.data()
    harvested.setdefault(action_key, pairs)
    files = [f.name for f in form.fields if f.kind == "file"]
    if action_key == "selfservice:user_create":
        pairs = with_values(pairs, {"first_name": "Crawl", "last_name": "New", "username": "crawl.new"}, form)

    def with_files(data: dict[str, Any]) -> dict[str, Any]:
        for name in files:
            data[name] = SimpleUploadedFile("crawl.csv", CSV_FILE, "text/csv")
        return data

    replays = []
    for form_field in form.fields:
        if form_field.kind not in ("select", "select-multiple"):
            continue
        related = relations.get(form_field.name)
        if related is None:
            if any(o.isdigit() for o in form_field.options):
                replay.failures.add(action_key, "unmapped form field", f"select {form_field.name} of {action}")
            continue
        for foreign in foreign_objects(sight, related, limit=1):
            data = with_value(pairs, form_field.name, str(foreign.pk), multiple=form_field.kind == "select-multiple")
            replays.append((related, data, f"{form_field.name}={related.__name__}#{foreign.pk} (form of {page_url})"))
    if replays:
        replay.control(action_key, action, with_files(pairs_to_data(pairs)), f"form of {page_url} with own values")
    for related, data, what in replays:
        replay.post(
            action_key,
            f"form with a foreign {related.__name__}",
            action,
            with_files(pairs_to_data(data)),
            refused=False,
            what=what,
        )


def _post_to_object_urls(replay: Replayer, sight: Sight, urls: UrlMap, harvested: dict[str, Pairs]) -> None:
    """POST to the object URLs with foreign ids (two per pattern: the nearest and the farthest), and
    to the admin's object URLs of an object the login may only view (one per pattern)."""
    by_pattern: dict[str, list[Case]] = defaultdict(list)
    for case in urls.cases:
        if case.objects and case.pattern.key not in LOGOUT_PATTERNS:
            by_pattern[case.pattern.key].append(case)

    @functools.cache
    def foreign_pks(model) -> set[int]:
        return {o.pk for o in foreign_objects(sight, model, limit=2)}

    for key, cases in by_pattern.items():
        if key == "admin:view_on_site" or cases[0].pattern.is_neutral_redirect:
            continue
        chosen = [
            c
            for c in cases
            if case_allowed(sight, c) is False and any(o.pk in foreign_pks(type(o)) for _n, o in c.objects)
        ]
        if not chosen:
            chosen = [c for c in cases if case_allowed(sight, c) is False][:1]
        # two foreign ids where the login gets past the site's door, one where it is turned away there
        site = cases[0].pattern.site
        inside = sight.user is not None and (site == "selfservice" or sight.user.is_staff)
        for case in chosen[: 2 if inside else 1]:
            replay.post(
                key,
                "object URL with a foreign id",
                case.url,
                _object_post_data(case, harvested),
                refused=True,
                what=str(case),
            )
        action = _post_action(cases[0]) if cases[0].pattern.site == "admin" else None
        if action is None or sight.user is None:
            continue
        view_only = [
            c
            for c in cases
            if admin_may(sight, VIEW, c.objects[0][1]) and not admin_may(sight, action, c.objects[0][1])
        ]
        for case in view_only[:1]:
            replay.post(
                key,
                "object URL of a view-only object",
                case.url,
                _object_post_data(case, harvested),
                refused=False,
                what=str(case),
            )


def _changeable(sight: Sight, model) -> list[models.Model]:
    return [obj for obj in model._default_manager.order_by("pk") if admin_may(sight, CHANGE, obj)]


def _view_only(sight: Sight, model) -> list[models.Model]:
    return [
        obj
        for obj in model._default_manager.order_by("pk")
        if admin_may(sight, VIEW, obj) and not admin_may(sight, CHANGE, obj)
    ]


def _post_action(case: Case) -> str | None:
    """What a POST to this admin object URL would do to its object (None: nothing ADMIN_POST_ACTIONS knows)."""
    name = case.pattern.name or ""
    for suffix, action in ADMIN_POST_ACTIONS.items():
        if name.endswith("_" + suffix):
            return action
    return None


def _object_post_data(case: Case, harvested: dict[str, Pairs]) -> Any:
    """What a POST to an object URL sends: a confirmation, a new password, or the data of the same
    page of an allowed object, so that the foreign id is the only thing wrong with it."""
    name = case.pattern.name or ""
    if name.endswith("_delete") and case.pattern.site == "admin":
        return {"post": "yes"}
    if name.endswith("_password_change"):
        return {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    return pairs_to_data(harvested.get(case.pattern.key, []))


def _pattern_key_of(url: str) -> str | None:
    """The key the URL's pattern has in `tests.crawl.urls` (None for a URL no pattern answers)."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return f"{match.namespace}:{match.url_name}" if match.namespace and match.url_name else match.route

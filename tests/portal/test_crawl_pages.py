"""Issue 11, isolation: a crawl of every page of the admin and of the self-service site, as every
role, with the id of every object in every URL (the machinery: `tests.crawl`).

Wherever `tenants.access` (or, on the self-service site, its selectors) says the login may not see
the object, the answer is 404 or 403 (405 for a POST-only page; a redirect to the login page for a
visitor who is not signed in or not staff); never a 500; and no page that answers 200 shows a word
of an organization the login may not see (`tests.crawl.world.Token`). A URL pattern added later is
crawled too, or fails `test_every_url_pattern_is_crawled_with_the_ids_of_its_model`.

The POSTs are replayed by test_crawl_writes.py. The logins crawled are `tests.crawl.CRAWLED`.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib import admin

from tests.crawl import (
    CRAWLED,
    DENIED_STATUSES,
    LOGOUT_PATTERNS,
    PUBLIC_PATTERNS,
    Case,
    CrawlWorld,
    Failures,
    Fetched,
    Sight,
    Visitor,
    build_crawl_world,
    case_allowed,
    enumerate_urls,
    is_login_redirect,
    record_leaks,
    sight_of,
)

pytestmark = pytest.mark.django_db

# The superuser and a distributor's administrator see (nearly) everything: their pages of objects
# they may see are crawled for a few objects per pattern (a 500 shows with any object of a model),
# every object they may not see is crawled.
SAMPLED_ALLOWED = {"superuser", "distributor_admin"}
ALLOWED_SAMPLE = 4


@pytest.mark.parametrize("login_key", CRAWLED)
def test_every_page_as_every_login_shows_only_what_the_login_may_see(login_key):
    world = build_crawl_world()
    urls = enumerate_urls()
    login = world.login(login_key)
    sight = sight_of(login)
    failures = Failures(str(login))
    allowed_per_pattern: Counter = Counter()
    with Visitor(login) as visitor:
        for case in [*urls.cases, *urls.autocomplete]:
            if login.user is not None and case.pattern.key in LOGOUT_PATTERNS:
                continue  # it would end the session (it answers 405 to a GET anyway)
            if login.role in SAMPLED_ALLOWED and case.objects and case_allowed(sight, case) is not False:
                allowed_per_pattern[case.pattern.key] += 1
                if allowed_per_pattern[case.pattern.key] > ALLOWED_SAMPLE:
                    continue
            fetched = visitor.get(case.url)
            failures.requests += 1
            check_get(failures, case, fetched, sight, world)
    failures.check()


def check_get(failures: Failures, case: Case, fetched: Fetched, sight: Sight, world: CrawlWorld) -> None:
    key = case.pattern.key
    if fetched.status >= 500:
        failures.add(key, "500", f"{case}: {fetched.status} {fetched.error}")
        return
    allowed = case_allowed(sight, case)
    if case.pattern.is_neutral_redirect:
        # Django's <id>/ → <id>/change/ redirect answers the same for every id, existing or not
        (_name, obj), *_ = case.objects
        if not (is_login_redirect(fetched.response) or fetched.location.endswith(f"/{obj.pk}/change/")):
            failures.add(key, "not refused", f"{case}: {fetched.status} → {fetched.location}")
    elif allowed is False:
        if not (fetched.status in DENIED_STATUSES or is_login_redirect(fetched.response)):
            where = f" → {fetched.location}" if fetched.location else ""
            failures.add(key, "not refused", f"{case}: answered {fetched.status}{where} (expected 404/403)")
    elif sight.user is None and key not in PUBLIC_PATTERNS and fetched.status == 200:
        failures.add(key, "open to anonymous", f"{case}: answered 200 without a login")
    record_leaks(failures, key, case, fetched, sight, world)


def test_every_url_pattern_is_crawled_with_the_ids_of_its_model():
    """A URL added later is either covered automatically (its ids map to a model) or fails here."""
    build_crawl_world()
    urls = enumerate_urls()
    assert not urls.unmapped, "URL patterns the crawl cannot map to a model:\n" + "\n".join(urls.unmapped)
    crawled = {case.pattern.key for case in [*urls.cases, *urls.autocomplete]}
    never = [
        p.key
        for p in urls.patterns
        if p.key not in crawled and p.key not in urls.shadowed and p.key != "/admin/(?P<url>.*)$"
    ]
    assert not never, f"patterns with no URL to crawl (no object of their model in the world?): {never}"
    every_admin = {type(model_admin).__name__ for model_admin in admin.site._registry.values()}
    with_urls = {type(p.model_admin).__name__ for p in urls.patterns if p.model_admin is not None}
    assert every_admin <= with_urls, f"model admins whose URLs were not found: {every_admin - with_urls}"

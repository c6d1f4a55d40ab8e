"""Shared machinery of the isolation crawl (tests/portal/test_crawl_*.py) and the hostile-payload
crawl (tests/portal/test_payload_rendering.py): a generated world with one login per role, every URL
of the admin and the self-service site with every id substituted, and oracles that say what each
login may see.

- `world`, `build`, `customers`: the world, its tokens and logins (`CRAWL_LOGINS`: see `world`);
- `urls`: the URL patterns walked and the URLs to request (`Case`, `enumerate_urls`);
- `sight`: what a login may see, the oracles, and the objects it may not see;
- `visits`: the test client of one login and what it fetched;
- `forms`, `post_data`: the forms of a page and what the crawl sends back in them;
- `fingerprint`, `replay`: POSTs that must leave the database as it was (`CRAWL_DEBUG`: see `replay`);
- `failures`: the failures of one login's crawl, reported together.

The names the tests use are importable from `tests.crawl` itself.
"""

from tests.crawl.build import build_crawl_world
from tests.crawl.failures import Failures, record_leaks
from tests.crawl.fingerprint import fingerprint
from tests.crawl.forms import Form, pairs_to_data, parse_forms
from tests.crawl.replay import Replayer
from tests.crawl.sight import Sight, User, admin_may, case_allowed, foreign_objects, sight_of
from tests.crawl.urls import LOGOUT_PATTERNS, PUBLIC_PATTERNS, Case, UrlMap, enumerate_urls
from tests.crawl.visits import DENIED_STATUSES, Fetched, Visitor, is_login_redirect
from tests.crawl.world import CRAWLED, SUPERUSER, CrawlWorld

__all__ = [
    "CRAWLED",
    "DENIED_STATUSES",
    "LOGOUT_PATTERNS",
    "PUBLIC_PATTERNS",
    "SUPERUSER",
    "Case",
    "CrawlWorld",
    "Failures",
    "Fetched",
    "Form",
    "Replayer",
    "Sight",
    "UrlMap",
    "User",
    "Visitor",
    "admin_may",
    "build_crawl_world",
    "case_allowed",
    "enumerate_urls",
    "fingerprint",
    "foreign_objects",
    "is_login_redirect",
    "pairs_to_data",
    "parse_forms",
    "record_leaks",
    "sight_of",
]

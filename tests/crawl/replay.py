"""Replaying POSTs as one login without changing the world: each POST runs in a savepoint that is
rolled back once the database was fingerprinted, and fails when it answers 500, changed anything,
was not refused where it had to be, or shows a token the login may not see.

Setting `CRAWL_DEBUG=1` in the environment prints every POST with its answer and the page's form
errors (run pytest with `-s` to see them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from tests.crawl.failures import Failures, record_leaks
from tests.crawl.fingerprint import fingerprint, fingerprint_diff
from tests.crawl.forms import form_errors
from tests.crawl.sight import Sight
from tests.crawl.visits import DENIED_STATUSES, Visitor, is_login_redirect
from tests.crawl.world import CrawlWorld

DEBUG = bool(os.environ.get("CRAWL_DEBUG"))


@dataclass
class Replayer:
    """Sends POSTs for one login, each in a savepoint rolled back after the database was fingerprinted."""

    visitor: Visitor
    sight: Sight
    failures: Failures
    baseline: dict  # the fingerprint of the world before any POST
    world: CrawlWorld

    def post(self, key: str, category: str, url: str, data: Any, *, refused: bool, what: str) -> None:
        """POST `data` to `url`; `refused`: the login must be turned away (403, 404, 405 or the
        login page), not merely leave the database as it was."""
        with transaction.atomic():
            fetched = self.visitor.post(url, data)
            changed = fingerprint_diff(self.baseline, fingerprint())
            transaction.set_rollback(True)
        self.visitor.keep_session()
        self.failures.requests += 1
        if DEBUG:
            print(f"  POST {fetched.status} {url} {category} {what} {fetched.location} {form_errors(fetched.body)}")
        if fetched.status >= 500:
            self.failures.add(key, "500 on POST", f"POST {url} ({what}): {fetched.error}")
        if changed:
            self.failures.add(
                key,
                f"{category}: database changed",
                f"POST {url} ({what}) answered {fetched.status}{' → ' + fetched.location if fetched.location else ''}"
                f" and changed {'; '.join(changed)}",
            )
        turned_away = fetched.status in DENIED_STATUSES or is_login_redirect(fetched.response)
        if refused and not turned_away and fetched.status < 500:
            self.failures.add(
                key,
                f"{category}: not refused",
                f"POST {url} ({what}) answered {fetched.status}"
                + (f" → {fetched.location}" if fetched.location else ""),
            )
        record_leaks(self.failures, key, f"POST {url} ({what})", fetched, self.sight, self.world)

    def control(self, key: str, url: str, data: Any, what: str) -> None:
        """The same form sent back as it is (own objects only) should save: else the foreign-id POSTs
        made with it would be refused for another reason, and prove less. Not a failure: it is noted
        in the failure report, and printed with CRAWL_DEBUG."""
        with transaction.atomic():
            fetched = self.visitor.post(url, data)
            transaction.set_rollback(True)
        self.visitor.keep_session()
        if DEBUG:
            print(f"  control POST {fetched.status} {url} {what} {form_errors(fetched.body)}")
        if fetched.status != 302:
            self.failures.notes.append(
                f"control {key}: {what} answered {fetched.status}, not a redirect: {form_errors(fetched.body)}"
            )

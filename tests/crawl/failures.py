"""The failures of one login's crawl, grouped by pattern and kind, and reported at the end in one
message: a crawl makes hundreds of requests, and one broken view would otherwise fail them one at a
time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.crawl.sight import Sight, leaked_tokens
from tests.crawl.visits import Fetched
from tests.crawl.world import CrawlWorld

SNIPPETS_PER_GROUP = 3


@dataclass
class Failures:
    login: str
    groups: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0
    notes: list[str] = field(default_factory=list)  # not failures, but they explain some

    def add(self, pattern: str, category: str, detail: str) -> None:
        self.groups[(pattern, category)].append(detail)

    def report(self) -> str:
        lines = [
            f"{sum(len(v) for v in self.groups.values())} failure(s) for {self.login} in {self.requests} requests:"
        ]
        for (pattern, category), details in sorted(self.groups.items()):
            lines.append(f"- [{category}] {pattern}: {len(details)} time(s)")
            shown = list(dict.fromkeys(details))[:SNIPPETS_PER_GROUP]
            lines.extend(f"    {detail}" for detail in shown)
        if self.notes:
            lines.append("Not failures:")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines)

    def check(self) -> None:
        if self.groups:
            pytest.fail(self.report(), pytrace=False)


def record_leaks(failures: Failures, key: str, case: Any, fetched: Fetched, sight: Sight, world: CrawlWorld) -> None:
    """A failure for each token of the page (if it answered 200) that the login may not see."""
    if fetched.status != 200:
        return
    for token, snippet in leaked_tokens(fetched.body, sight, world.tokens):
        failures.add(key, "leak", f"{case}: shows {token.text!r} ({token.what or 'token'}): …{snippet}…")

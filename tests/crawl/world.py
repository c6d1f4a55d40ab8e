"""The generated world of the crawl: two organization trees, every kind of object in each, one login
per role.

The world is built by `tests.crawl.build.build_crawl_world`; this module says what it is made of.
The main tree is a distributor (zulux) with two resellers (kilox, limax) and two customers each; a
small outside tree (xrayx, with the customer yankeex) holds what even the distributor's administrator
may not see. Every object carries its organization's token in its names, registered in
`CrawlWorld.tokens` with the scope in which it may be shown, so that a response body can be searched
for what the login may not see. Only factories and the planning functions (jobs) are used, so no
service refuses anything and every object is exactly as described here.

`CRAWLED` is one login of each role (both customer platforms, since their forms differ). Setting
`CRAWL_LOGINS=all` in the environment crawls every login of the world instead (about twice as long).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telephony.models import LineTemplate, Server
from tenants.models import Organization, OrganizationKind
from tests.factories import MembershipFactory, UserFactory

if TYPE_CHECKING:
    from tests.crawl.customers import Customer

# A token's entity scope: only logins that see the whole organization may see it (an entity
# administrator or an end user never does: a free number, an import of the customer administrator).
ORG_ONLY = "org-only"
SUPERUSER = "rootcrawl"

# name token, kind, parent token, platform kind of its tenant (customers)
TREE = [
    ("zulux", OrganizationKind.DISTRIBUTOR, None, None),
    ("kilox", OrganizationKind.RESELLER, "zulux", None),
    ("limax", OrganizationKind.RESELLER, "zulux", None),
    ("mikex", OrganizationKind.CUSTOMER, "kilox", "xc5"),
    ("novemx", OrganizationKind.CUSTOMER, "kilox", "xcu"),
    ("oscarx", OrganizationKind.CUSTOMER, "limax", "xc5"),
    ("papax", OrganizationKind.CUSTOMER, "limax", "xcu"),
    # the outside tree
    ("xrayx", OrganizationKind.DISTRIBUTOR, None, None),
    ("yankeex", OrganizationKind.CUSTOMER, "xrayx", "xcu"),
]
CRAWLED = [
    "anonymous",
    SUPERUSER,
    "zulux.admin",
    "kilox.admin",
    "kilox.operator",
    "kilox.viewer",
    "mikex.admin",  # customer administrator, XC5 tenant
    "novemx.admin",  # customer administrator, XiVO XCU tenant (other forms)
    "mikex.entadmin",
    "mikex.enduser",
]
if os.environ.get("CRAWL_LOGINS") == "all":
    CRAWLED = [
        "anonymous",
        SUPERUSER,
        "zulux.admin",
        *(f"{token}.{role}" for token in ("kilox", "limax") for role in ("admin", "operator", "viewer")),
        *(
            f"{token}.{role}"
            for token in ("mikex", "novemx", "oscarx", "papax")
            for role in ("admin", "entadmin", "enduser")
        ),
    ]


@dataclass(frozen=True)
class Token:
    """A word that only the objects of one scope carry (lower case; bodies are searched lower-cased).

    org: pk of the organization whose object carries it. shared: also allowed to a login that sees
    an organization below `org` (resources shared down show their owner; names of the organizations
    above). entity: pk of the entity the object belongs to, ORG_ONLY, or None (organization-wide).
    user: pk of the PBX user (line) the object belongs to, or None.
    """

    text: str
    org: int
    shared: bool = False
    entity: int | str | None = None
    user: int | None = None
    what: str = ""


@dataclass
class Login:
    """One login of the world; `user` is None for the anonymous visitor.

    role: anonymous, superuser, distributor_admin, reseller_admin, reseller_operator,
    reseller_viewer, customer_admin, entity_admin or end_user.
    """

    key: str  # e.g. "kilox.operator"
    role: str
    user: Any

    def __str__(self) -> str:
        return f"{self.role} {self.key}"


@dataclass
class CrawlWorld:
    logins: dict[str, Login]  # by key
    tokens: list[Token]

    def login(self, key: str) -> Login:
        return self.logins[key]


class WorldBuilder:
    """What the steps of `build_crawl_world` share: the organizations, logins and tokens made so far."""

    def __init__(self) -> None:
        self.tokens: list[Token] = []
        self.organizations: dict[str, Organization] = {}
        self.logins: dict[str, Login] = {"anonymous": Login("anonymous", "anonymous", None)}
        self.servers: dict[tuple[str, str], Server] = {}  # by (distributor token, platform kind)
        self.templates: dict[str, LineTemplate] = {}  # the standard template of each distributor and reseller
        self.customers: dict[str, Customer] = {}
        self._numbers_issued: defaultdict[str, int] = defaultdict(int)

    def register(
        self, text: str, org: Organization, *, shared: bool = False, entity: Any = None, user: Any = None, what=""
    ) -> str:
        """Record `text` as a token of `org` (see Token) and return it, to be used as the object's value."""
        entity_key = entity if entity in (None, ORG_ONLY) else entity.pk
        self.tokens.append(Token(text.lower(), org.pk, shared, entity_key, getattr(user, "pk", None), what))
        return text

    def next_number(self, token: str) -> str:
        """A phone number unique in the world whose digits tell the organization apart."""
        self._numbers_issued[token] += 1
        index = [row[0] for row in TREE].index(token) + 1
        return f"+3197{index:02d}{self._numbers_issued[token]:04d}"

    def add_login(
        self,
        key: str,
        role: str,
        organization=None,
        *,
        member_role=None,
        is_staff=True,
        token_org=None,
        token_entity=None,
        **fields,
    ) -> Any:
        """A user named after `key`; a member of `organization` with `member_role` if given. With
        `token_org` (and `token_entity`), its username is a token of that scope."""
        user = UserFactory(
            username=key.replace(".", ""),
            first_name=f"{key.split('.')[0].title()}first",
            last_name=f"{key.replace('.', '').title()}last",
            email=f"{key.replace('.', '')}@example.net",
            is_staff=is_staff,
            **fields,
        )
        if organization is not None and member_role is not None:
            MembershipFactory(user=user, organization=organization, role=member_role)
        if token_org is not None:
            self.register(user.username, token_org, shared=True, entity=token_entity, what="login")
        self.logins[key] = Login(key, role, user)
        return user

"""Substring search over PBX users that an index serves, on PostgreSQL and on SQLite alike; and
over the jobs and numbers lists (tenants.text_search: on PostgreSQL and on SQLite alike too).

A search text is split into words; a user matches when every word is part of one of its searched
columns, in any case (as Django's `icontains` and DRF's SearchFilter mean it). The indexes are made
by migration 0028: on PostgreSQL a trigram GIN index on the columns joined by spaces (a word has no
space, so it never matches across two columns), compared with LIKE; on SQLite an FTS5 trigram table
that answers which rows hold the word. A word shorter than three characters has no trigram: it is
compared row by row (still correct, only not indexed).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from telephony.models import PbxUser, PhoneNumber, ProvisioningJob, Tenant
from tenants.audit import ENTRY_TEXT
from tenants.text_search import TRIGRAM, SearchedColumns, admin_search_words, any_of, fts_phrase, search_words

USER_COLUMNS = ("username", "first_name", "last_name", "email", "internal_number")
# The rows of the FTS5 table (migration 0028) that hold a phrase; the phrase is a parameter.
MATCHING = "SELECT rowid FROM telephony_pbxuser_search WHERE telephony_pbxuser_search MATCH %s"


# The searched columns as the PostgreSQL index holds them (migration 0028, unquoted there).
USER_TEXT = SearchedColumns(PbxUser, USER_COLUMNS)


def _word_condition(word: str, using: str) -> Q | RawSQL:
    vendor = connections[using].vendor
    if vendor == "postgresql":
        return USER_TEXT.holds(word, using)
    if len(word) < TRIGRAM or vendor != "sqlite":
        return reduce(or_, (Q(**{f"{column}__icontains": word}) for column in USER_COLUMNS))
    return Q(pk__in=RawSQL(MATCHING, [fts_phrase(word)]))  # noqa: S611  (a constant statement, the word a parameter)


# What the jobs and numbers lists search on their own tables (indexed by migration 0030 on PostgreSQL;
# on SQLite by FTS tables: the numbers' kept by triggers (0031), the jobs' trailing (0032), since a
# bulk import writes a job per user).
JOB_TEXT = SearchedColumns(
    ProvisioningJob,
    ("target_label", "operation", "last_error"),
    fts="telephony_provisioningjob_search",
    trailing=True,
)
NUMBER_TEXT = SearchedColumns(PhoneNumber, ("number", "label"), fts="telephony_phonenumber_search")


def search_users(queryset: QuerySet, text: str, *, tenant_names: bool = False) -> QuerySet:
    """The users of `queryset` whose searched columns hold every word of `text`; with
    `tenant_names`, a word may also be part of the user's tenant's name (the admin's search), found
    through the tenants whose name holds it, so that the users' index still serves the rest."""
    for word in search_words(text):
        condition = Q(_word_condition(word, queryset.db))
        if tenant_names:
            condition = any_of(queryset, [condition, Q(tenant_id__in=_tenants_named(word))])
        queryset = queryset.filter(condition)
    return queryset


def search_jobs(queryset: QuerySet, text: str) -> QuerySet:
    """Jobs whose object, operation or last error holds every term of `text` (the admin's words)."""
    for word in admin_search_words(text):
        queryset = queryset.filter(JOB_TEXT.holds(word, queryset.db))
    return queryset


def search_numbers(queryset: QuerySet, text: str) -> QuerySet:
    """Numbers whose digits or label, tenant's name or user's last name holds every term of `text`
    (the admin's words)."""
    for word in admin_search_words(text):
        users = PbxUser.objects.filter(_word_condition(word, queryset.db), last_name__icontains=word)
        ways = [
            NUMBER_TEXT.holds(word, queryset.db),
            Q(tenant_id__in=_tenants_named(word)),
            Q(assigned_user_id__in=users.order_by().values("pk")),
        ]
        queryset = queryset.filter(any_of(queryset, ways))
    return queryset


def _tenants_named(word: str) -> QuerySet:
    return Tenant.objects.filter(name__icontains=word).order_by().values("pk")


def catch_up_indexes() -> dict[str, int]:
    """Index what was written since the last time in the trailing search tables (the jobs', the
    audit log's; SQLite only): rows indexed per table."""
    return {searched.fts: searched.catch_up() for searched in (JOB_TEXT, ENTRY_TEXT)}

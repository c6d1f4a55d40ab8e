"""Data is never code (DESIGN §7): every text a user, an import or a PBX read-back can put into the
database is shown escaped and never evaluated as a template.

Every user-editable text field of every model of `tenants` and `telephony` (CharField, TextField,
EmailField … that is editable, has no choices and holds no secret), the logins' username, names and
e-mail address, the backend-written messages (sync and connection-check messages) and the JSON an
import or a job keeps (preview rows, row errors, HTTP exchanges, job payloads) get a hostile payload,
written straight into the database with `QuerySet.update()` (no validator stops it), and the audit
entries are rewritten to carry the same values. Then every page the crawler enumerates (admin
lists, change pages, history, delete confirmations, self-service pages, JSON endpoints, exports) is
requested as the superuser, a reseller administrator, customer administrators (an XC5 and an XCU
tenant), an entity administrator and end users (XC5 and XCU). It fails when
- a page answers 500;
- a body holds `pwnedxq`: the `{{"PWNEDXQ"|lower}}` piece was evaluated as a template;
- an HTML body holds `<img src=x onerror` unescaped;
- a payload-bearing field is shown nowhere (escaped) while it is not on `NEVER_DISPLAYED`: the crawl
  must notice when a field is no longer covered.

Each payload ends with a tag `~q<code>` (and `.<row>` where a unique constraint needs it) naming its
field, so a finding names the field it came from; a field too short for the tag keeps the pieces.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.html import escape

from telephony.models import ImportRun, JobAttempt, Platform, ProvisioningJob
from telephony.models.sync import MirroredModel
from tests.crawl import SUPERUSER, Visitor, build_crawl_world, case_allowed, enumerate_urls, sight_of

pytestmark = pytest.mark.django_db

PIECES = ('{{"PWNEDXQ"|lower}}', "<img src=x onerror=alert(1)>", "{%if%}")
EVALUATED = "pwnedxq"
UNESCAPED = "<img src=x onerror"
TAG = re.compile(r"~q([0-9a-z]{2})")
SHORTEST = 6  # fields that cannot hold even "{%if%}" are left alone

LOGINS = [
    SUPERUSER,
    "kilox.admin",
    "mikex.admin",  # customer administrator, XC5 tenant
    "novemx.admin",  # customer administrator, XiVO XCU tenant (its forms say what XCU keeps)
    "mikex.entadmin",
    "mikex.enduser",  # end user, XC5
    "novemx.enduser",  # end user, XiVO XCU
    "oscarx.admin",  # customer administrator of a tenant whose number plan holds the payload
]

User = get_user_model()

# Not written: keys the portal looks rows up by, not text anyone types or reads.
NOT_WRITTEN = {
    "tenants.Organization.path",  # the tree's materialized path: a payload would break every subtree query
    "telephony.ProvisioningJob.target_key",  # "model:pk" by which a line finds its jobs
    "telephony.JobDependency.target_key",  # the same key, by which the engine finds the jobs waiting for it
}
SECRET_NAMES = {"password", "secret", "app_key", "voicemail_pin"}
# Fields the portal never displays anywhere (so their payload cannot show), each with the reason.
NEVER_DISPLAYED = {
    "telephony.BackendClaim.key": "a driver's canonical key of a claimed PBX object: no page lists claims",
    "telephony.WebhookEvent.subject": "the portal's own model:id, copied to each delivery, whose copy the log shows",
    "telephony.ServerHealthState.health": "the health follower's note of a server's last health: the dashboard "
    "works health out afresh, no page lists the note",
}
# A number plan that is not digits makes the pages that work out the next free number answer 500
# (reported as such, on the other reseller's tenants); the customers crawled here keep their plans,
# so that their user forms still render and are checked.
SOME_ROWS_ONLY = {
    "telephony.NumberInterval": lambda row: not row.entity.tenant.organization.name.startswith(("Mikex", "Novemx")),
}


@dataclass
class PayloadField:
    model: type[models.Model]
    name: str
    code: str
    max_length: int | None
    unique_with: tuple[str, ...] | None  # None: not unique; else the other fields of its unique set
    kind: str = "text"  # "text", "backend" (written by the portal from a PBX answer) or "json"
    values: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.name}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _pieces(limit: int) -> str:
    out = ""
    for piece in PIECES:
        if len(out) + len(piece) <= limit:
            out += piece
    return out


def payload(pf: PayloadField, pk: int) -> str:
    """The pieces in priority order that fit the column, then the field's tag if it fits too."""
    limit = pf.max_length or 10_000
    tag = f"~q{pf.code}" + (f".{_base36(pk)}" if pf.unique_with is not None else "")
    full = _pieces(limit)
    if len(full) + len(tag) <= limit:
        return full + tag
    if pf.unique_with is not None:
        shorter = _pieces(limit - len(tag))
        if shorter:
            return shorter + tag
    return full


def _unique_sets(model: type[models.Model], name: str) -> tuple[str, ...] | None:
    model_field = model._meta.get_field(name)
    if model_field.unique:
        return ()
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and name in constraint.fields:
            return tuple(f for f in constraint.fields if f != name)
    for together in model._meta.unique_together:
        if name in together:
            return tuple(f for f in together if f != name)
    return None


def payload_fields() -> list[PayloadField]:
    chosen: list[tuple[type[models.Model], str, str]] = []
    models_ = [*apps.get_app_config("tenants").get_models(), *apps.get_app_config("telephony").get_models()]
    for model in models_:
        for model_field in model._meta.concrete_fields:
            if not isinstance(model_field, models.CharField | models.TextField):
                continue
            if "Encrypted" in type(model_field).__name__ or model_field.name in SECRET_NAMES:
                continue
            if model_field.choices or f"{model._meta.label}.{model_field.name}" in NOT_WRITTEN:
                continue
            if model_field.max_length is not None and model_field.max_length < SHORTEST:
                continue
            if model_field.editable:
                chosen.append((model, model_field.name, "text"))
            elif issubclass(model, MirroredModel) and model_field.name == "sync_message":
                chosen.append((model, model_field.name, "backend"))  # the PBX's own words
            elif (model, model_field.name) == (Platform, "last_check_message"):
                chosen.append((model, model_field.name, "backend"))
    chosen += [(User, name, "text") for name in ("username", "first_name", "last_name", "email")]
    chosen += [
        (ImportRun, "preview", "json"),
        (ImportRun, "errors", "json"),
        (JobAttempt, "exchanges", "json"),
        (ProvisioningJob, "payload", "json"),
    ]
    fields = []
    for index, (model, name, kind) in enumerate(chosen):
        max_length = None if kind == "json" else model._meta.get_field(name).max_length
        unique = None if kind == "json" else _unique_sets(model, name)
        fields.append(PayloadField(model, name, _base36(index + 36)[-2:], max_length, unique, kind))
    return fields


def _poison_json(value: Any, text: str) -> Any:
    """Every string leaf (and the values of rows) of a JSON value replaced by the payload."""
    if isinstance(value, str):
        return text
    if isinstance(value, list):
        return [_poison_json(v, text) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("row", "status", "duration_ms") else _poison_json(v, text)) for k, v in value.items()}
    return value


def write_payloads(fields: list[PayloadField]) -> None:
    """QuerySet.update() on every row: what an import or a PBX read-back could leave there."""
    by_model: dict[type, list[PayloadField]] = defaultdict(list)
    for pf in fields:
        by_model[pf.model].append(pf)
    skipped = {  # decided before any name is overwritten
        (model, row.pk)
        for model in by_model
        for row in model._default_manager.all()
        if not SOME_ROWS_ONLY.get(model._meta.label, lambda row: True)(row)
    }
    for model, model_fields in by_model.items():
        taken: dict[str, set] = defaultdict(set)
        for row in model._default_manager.order_by("pk"):
            if (model, row.pk) in skipped:
                continue
            values = {}
            for pf in model_fields:
                if pf.kind == "json":
                    text = payload(pf, row.pk)
                    values[pf.name] = _poison_json(getattr(row, pf.name), text)
                    pf.values[row.pk] = text
                    continue
                text = payload(pf, row.pk)
                if pf.unique_with is not None and TAG.search(text) is None:
                    # no room for a distinguishing suffix: one row per unique set gets the payload
                    group = tuple(getattr(row, f + "_id", getattr(row, f, None)) for f in pf.unique_with)
                    if group in taken[pf.name]:
                        continue
                    taken[pf.name].add(group)
                values[pf.name] = text
                pf.values[row.pk] = text
            if values:
                model._default_manager.filter(pk=row.pk).update(**values)
    _rewrite_audit_entries(fields)


def _rewrite_audit_entries(fields: list[PayloadField]) -> None:
    """Audit entries as an import of these values would have written them: the payloads as the
    values set, and the objects' names as they read now."""
    by_field = {(pf.model, pf.name): pf for pf in fields if pf.kind != "json"}
    for entry in LogEntry.objects.select_related("content_type"):
        model = entry.content_type.model_class()
        target = model._default_manager.filter(pk=entry.object_pk).first() if model else None
        changes = dict(entry.changes or {})
        for name, values in changes.items():
            pf = by_field.get((model, name))
            if pf is not None and isinstance(values, list) and len(values) == 2:
                text = pf.values.get(int(entry.object_pk)) if str(entry.object_pk).isdigit() else None
                if text:
                    changes[name] = [text + "0", text] if entry.action == LogEntry.Action.UPDATE else ["None", text]
            elif isinstance(values, dict) and values.get("type") == "m2m":
                user_pf = by_field[(User, "username")]
                changes[name] = {**values, "objects": [next(iter(user_pf.values.values()))]}
        LogEntry.objects.filter(pk=entry.pk).update(
            changes=changes, object_repr=str(target) if target is not None else entry.object_repr
        )


@dataclass
class Findings:
    groups: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, where: str, what: str, detail: str) -> None:
        self.groups[(what, where)].append(detail)

    def report(self) -> str:
        lines = []
        for (what, where), details in sorted(self.groups.items()):
            lines.append(f"- [{what}] {where}: {len(details)} time(s)")
            lines.extend(f"    {d}" for d in list(dict.fromkeys(details))[:3])
        return "\n".join(lines)


def _snippet(body: str, position: int, length: int) -> str:
    return re.sub(r"\s+", " ", body[max(0, position - 100) : position + length + 60])


def _field_after(body: str, position: int, codes: dict[str, PayloadField]) -> str:
    found = TAG.search(body, position, position + 80)
    return codes[found.group(1)].label if found and found.group(1) in codes else "?"


def test_hostile_text_is_shown_escaped_and_never_evaluated():
    started = time.monotonic()
    world = build_crawl_world()
    fields = payload_fields()
    write_payloads(fields)
    codes = {pf.code: pf for pf in fields}
    untagged = [pf for pf in fields if pf.values and not any(TAG.search(v) for v in pf.values.values())]
    urls = enumerate_urls()
    findings = Findings()
    seen_codes: set[str] = set()
    seen_untagged: set[str] = set()
    requests = 0
    for key in LOGINS:
        login = world.login(key)
        sight = sight_of(login)
        with Visitor(login) as visitor:
            for case in [*urls.cases, *urls.autocomplete]:
                if case.pattern.key in ("admin:logout", "selfservice:logout") or case_allowed(sight, case) is False:
                    continue
                fetched = visitor.get(case.url)
                requests += 1
                where = f"{case.pattern.key} as {login.role}"
                body = fetched.body
                if fetched.status >= 500:
                    findings.add(where, "500", f"{case.url}: {fetched.error}")
                    continue
                position = body.find(EVALUATED)
                if position >= 0:
                    snippet = _snippet(body, position, len(EVALUATED))
                    findings.add(
                        where,
                        "evaluated as a template",
                        f"{case.url} [{_field_after(body, position, codes)}]: …{snippet}…",
                    )
                if fetched.html:
                    position = body.find(UNESCAPED)
                    if position >= 0:
                        findings.add(
                            where,
                            "not escaped",
                            f"{case.url} [{_field_after(body, position, codes)}]: …{_snippet(body, position, 40)}…",
                        )
                content_type = fetched.response.get("Content-Type", "")
                if fetched.html or content_type.startswith("application/json"):
                    seen_codes.update(TAG.findall(body))
                    for pf in untagged:
                        if pf.code not in seen_untagged and _shows(body, pf, fetched.html):
                            seen_untagged.add(pf.code)
    shown = seen_codes | seen_untagged
    missing = [pf.label for pf in fields if pf.code not in shown and pf.label not in NEVER_DISPLAYED]
    stale = [pf.label for pf in fields if pf.code in shown and pf.label in NEVER_DISPLAYED]
    print(f"\n{len(fields)} payload fields, {requests} pages in {time.monotonic() - started:.1f}s")
    message = []
    if findings.groups:
        message.append(f"Pages that broke on, evaluated or did not escape hostile text:\n{findings.report()}")
    if missing:
        message.append(
            "Payload-bearing fields shown on no page (escaped), or with no row in the world — cover them "
            "or list them in NEVER_DISPLAYED with the reason:\n  " + "\n  ".join(missing)
        )
    if stale:
        message.append("Fields on NEVER_DISPLAYED that are displayed after all:\n  " + "\n  ".join(stale))
    assert not message, "\n\n".join(message)


def _shows(body: str, pf: PayloadField, html: bool) -> bool:
    for value in set(pf.values.values()):
        needle = escape(value) if html else json.dumps(value)[1:-1]
        if needle in body:
            return True
    return False

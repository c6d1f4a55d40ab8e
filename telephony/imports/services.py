"""The life of a CSV import: upload → check (the preview) → confirm → commit → its jobs' progress.

Small files are checked and committed inside the request; larger ones by a Celery task, the page
following them on the same progress bar. Either way the commit re-checks every row inside its
transaction (things may have changed since the preview) and writes nothing if one row fails.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telephony import queue
from telephony.imports import export, progress
from telephony.imports.base import Outcome, describe_error
from telephony.imports.numbers import NumberImport
from telephony.imports.organizations import OrganizationImport
from telephony.imports.reading import FileProblem, read_csv
from telephony.imports.users import UserImport
from telephony.models import (
    Entity,
    ImportKind,
    ImportMode,
    ImportRun,
    ImportStatus,
    JobStatus,
    LineTemplate,
    PbxUser,
    PhoneNumber,
    ProvisioningBatch,
    ProvisioningJob,
    Tenant,
)
from telephony.webhooks import events as webhook_events
from tenants import access
from tenants.access import ADD, CHANGE, VIEW
from tenants.languages import language_for
from tenants.models import Organization, OrganizationKind

logger = logging.getLogger("telephony.imports")

MAX_FILE_BYTES = getattr(settings, "IMPORT_MAX_FILE_BYTES", 32 * 1024 * 1024)
# Above this size a file is checked and committed by a worker, not inside the request.
BACKGROUND_BYTES = getattr(settings, "IMPORT_BACKGROUND_BYTES", 200 * 1024)
PROGRESS_WRITE_EVERY = 2000


class _Refused(Exception):
    """Rolls back a commit that found errors; carries what it found."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome


# --- upload ------------------------------------------------------------------------------------------


def import_run_create(
    *,
    actor: AbstractBaseUser,
    kind: str,
    mode: str,
    data: bytes,
    file_name: str,
    encoding: str = "",
    tenant: Tenant | None = None,
    template: LineTemplate | None = None,
    organization: Organization | None = None,
) -> ImportRun:
    """Keep an uploaded file for checking; refuse a target outside the actor's reach (404)."""
    if kind not in ImportKind.values or mode not in ImportMode.values:
        raise ValidationError(_("Unknown kind of import or mode."))
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)s MB; split it.") % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    options: dict[str, Any] = {}
    if kind == ImportKind.USERS:
        if tenant is None:
            # Each row names its tenant (an unfiltered export coming back): the import belongs to
            # the highest organization the actor may add users in, and rows may name its tenants.
            owner = _users_import_owner(actor)
            if owner is None:
                raise ValidationError({"tenant": _("Choose the tenant the users go into.")})
        else:
            access.require(actor, VIEW, tenant)
            owner = tenant.organization
            if not _may_import_users(actor, tenant):
                raise Http404("No tenant matches the given query.")
        if template is not None:
            access.require(actor, VIEW, template)
            options["template"] = template.pk
    elif kind == ImportKind.NUMBERS:
        if organization is None:
            raise ValidationError({"organization": _("Choose the organization whose pool the numbers go into.")})
        access.require_add(actor, PhoneNumber, organization)
        owner = organization
    else:
        if organization is None:
            raise ValidationError({"organization": _("Choose the reseller the customers go below.")})
        access.require_add(actor, Organization, organization)
        if organization.kind == OrganizationKind.CUSTOMER:
            raise ValidationError({"organization": _("A customer cannot have customers below it; choose a reseller.")})
        owner = organization
    return ImportRun.objects.create(
        kind=kind,
        mode=mode,
        organization=owner,
        tenant=tenant if kind == ImportKind.USERS else None,
        options=options,
        file_name=file_name[:255],
        content=data,
        encoding=encoding,
        created_by=actor,
    )


def _users_import_owner(actor: Any) -> Organization | None:
    organizations = access.organizations_for(actor, PbxUser, ADD)
    return organizations.order_by("depth", "path").first()


def _may_import_users(actor: Any, tenant: Tenant) -> bool:
    """Staff who may add users to the tenant's organization, or an administrator of one of its
    entities (whose rows are then checked against their own entities only)."""
    if access.can_add(actor, PbxUser, tenant.organization):
        return True
    granted = Entity.objects.filter(tenant=tenant, administrators__pk=actor.pk).first()
    return granted is not None and access.can_add(actor, PbxUser, tenant.organization, entity=granted)


def runs_for(actor: Any):
    return access.restrict(ImportRun.objects.all(), actor, VIEW)


def in_background(run: ImportRun) -> bool:
    return len(run.content) > BACKGROUND_BYTES


def import_run_start_check(*, run: ImportRun) -> ImportRun:
    """Check now, or hand the file to a worker when it is large."""
    if in_background(run):
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.VALIDATING)
        run.status = ImportStatus.VALIDATING
        _queue(run, "check")
        return run
    return import_run_check(run_id=run.pk)


# --- checking and committing ---------------------------------------------------------------------------


def _importer(run: ImportRun, actor: Any):
    if run.kind == ImportKind.USERS:
        template = LineTemplate.objects.filter(pk=run.options.get("template")).first()
        within = run.organization if run.tenant_id is None else None
        return UserImport(actor=actor, mode=run.mode, tenant=run.tenant, template=template, within=within)
    if run.kind == ImportKind.NUMBERS:
        return NumberImport(actor=actor, mode=run.mode, organization=run.organization)
    return OrganizationImport(actor=actor, mode=run.mode, parent=run.organization)


def _read(run: ImportRun):
    csv_file = read_csv(bytes(run.content), encoding=run.encoding)
    ImportRun.objects.filter(pk=run.pk).update(encoding=csv_file.encoding, delimiter=csv_file.delimiter)
    run.encoding, run.delimiter = csv_file.encoding, csv_file.delimiter
    return csv_file


def _progress_writer(run: ImportRun):
    def write(done: int, total: int, *, step: str = "check") -> None:
        ImportRun.objects.filter(pk=run.pk).update(progress_done=done, progress_total=total)

    return write


def import_run_check(*, run_id: int) -> ImportRun:
    """Check every row without writing anything; store the preview (counts, first rows, errors)."""
    run = ImportRun.objects.select_related("tenant", "organization", "created_by").get(pk=run_id)
    if run.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATING):
        return run  # a task delivered twice: the first one did it
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.VALIDATING, progress_done=0)
    importer = _importer(run, run.created_by)
    refused: list = []
    try:
        csv_file = _read(run)
        outcome = importer.run(
            csv_file, progress=_progress_writer(run) if in_background(run) else None, refused=refused
        )
    except FileProblem as problem:
        return _unreadable(run, problem)
    _store_columns(run, importer)
    run.skipped_rows = skipped_rows_csv(csv_file.header, refused, importer.columns, importer.column_map)
    status = ImportStatus.INVALID if outcome.error_total else ImportStatus.VALIDATED
    keep = status == ImportStatus.INVALID and outcome.passing and not outcome.file_errors
    return _store(run, outcome, status=status, keep_file=bool(keep))


def import_run_confirm(*, actor: AbstractBaseUser, run: ImportRun, skip_invalid: bool = False) -> ImportRun:
    """The actor confirms the preview: commit now, or queue the commit for a worker. With
    `skip_invalid` (offered when some rows fail) the rows that pass are written and the others
    skipped; without it, as by default, every row or none."""
    access.require(actor, CHANGE, run)
    if skip_invalid:
        run.refresh_from_db()
        if not run.may_commit_partially:
            raise ValidationError(_("This import has no rows to skip, or nothing that passes; check it again."))
        ready = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.INVALID)
    else:
        ready = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.VALIDATED)
    updated = ready.update(status=ImportStatus.COMMITTING, progress_done=0, skip_invalid=skip_invalid)
    if not updated:
        raise ValidationError(_("This import is not ready to be imported (check it again, or it is already imported)."))
    run.status, run.skip_invalid = ImportStatus.COMMITTING, skip_invalid
    if in_background(run):
        _queue(run, "commit")
        return run
    return import_run_commit(run_id=run.pk)


def import_run_commit(*, run_id: int, dispatch: bool = True) -> ImportRun:
    """Re-check and write every row in one transaction with one batch of jobs, or nothing at all."""
    run = ImportRun.objects.select_related("tenant", "organization", "created_by").get(pk=run_id)
    if run.status != ImportStatus.COMMITTING:
        return run  # a task delivered twice: the first one did it
    importer = _importer(run, run.created_by)
    refused_rows: list = []
    try:
        csv_file = _read(run)
        with transaction.atomic():
            batch = ProvisioningBatch.objects.create(
                organization=run.organization,
                label=f"CSV import #{run.pk}: {run.file_name}"[:200],
                created_by=run.created_by,
            )
            outcome = importer.run(
                csv_file,
                commit=True,
                batch=batch,
                dispatch=dispatch,
                progress=_commit_progress(run),
                expected_rows=run.row_count,
                skip_invalid=run.skip_invalid,
                refused=refused_rows,
            )
            if outcome.error_total and (not run.skip_invalid or outcome.file_errors or not outcome.passing):
                raise _Refused(outcome)
    except FileProblem as problem:
        return _unreadable(run, problem)
    except _Refused as refused:
        run.skipped_rows = skipped_rows_csv(csv_file.header, refused_rows, importer.columns, importer.column_map)
        return _store(
            run,
            refused.outcome,
            status=ImportStatus.INVALID,
            message=_("Nothing was imported: some rows no longer pass (the data changed since the preview)."),
        )
    except Exception:
        logger.exception("import #%s failed", run.pk)
        return _store(run, Outcome(), status=ImportStatus.FAILED, message=_("The import failed; nothing was written."))
    finally:
        progress.clear(run.pk)
    ImportRun.objects.filter(pk=run.pk).update(batch=batch)
    run.batch = batch
    run.skipped_rows = skipped_rows_csv(csv_file.header, refused_rows, importer.columns, importer.column_map)
    message = ""
    if outcome.failed_rows:
        message = ngettext(
            "%(count)s row with errors skipped; download them to fix and import again.",
            "%(count)s rows with errors skipped; download them to fix and import again.",
            outcome.failed_rows,
        ) % {"count": outcome.failed_rows}
    return _store(run, outcome, status=ImportStatus.COMMITTED, finished=True, message=message)


def _commit_progress(run: ImportRun):
    """Tells the commit's progress through the progress cache (see progress.py); the run's row
    cannot carry it while the commit's transaction is open."""

    def write(done: int, total: int, *, step: str = "check") -> None:
        progress.report(run.pk, step=step, done=done, total=total)

    return write


def skipped_rows_csv(header: list[str], refused: list, columns: Any, column_map: Any) -> bytes:
    """The refused rows as a CSV to fix and import again: the file's own header and cells, the
    spreadsheet row number it had, and what was wrong. Secret cells (voicemail PINs, CTI secrets)
    are left empty: they are never written out; type them again."""
    if not refused:
        return b""
    secret_names = {c.name for c in columns if c.write_only or (not c.exported and c.in_template)}
    secret_at = {column_map.index[n] for n in secret_names if n in column_map.index}
    width = len(header)
    lines = export.csv_lines(
        [*header, "import_row", "import_error"],
        (
            [
                *("" if at in secret_at and cell.strip() else cell for at, cell in enumerate(_padded(cells, width))),
                number,
                _refusal(problems, secret_left_out=_has_secret(cells, secret_at)),
            ]
            for number, cells, problems in refused
        ),
    )
    return ("\ufeff" + "".join(lines)).encode("utf-8")


def _refusal(problems: list, *, secret_left_out: bool) -> str:
    """What was wrong with a refused row, for its import_error cell."""
    said = "; ".join(f"{column}: {message}" if column else message for column, message in problems)
    if secret_left_out:
        return _("%(problems)s (secret cells were left empty: type them again)") % {"problems": said}
    return said


def _padded(cells: list[str], width: int) -> list[str]:
    return cells[:width] + [""] * (width - len(cells)) if len(cells) < width else cells


def _has_secret(cells: list[str], secret_at: set[int]) -> bool:
    return any(at < len(cells) and cells[at].strip() for at in secret_at)


def _unreadable(run: ImportRun, problem: FileProblem) -> ImportRun:
    """The file as a whole is refused: no row was checked, so there are no counts, and the
    delimiter guessed for a file that is not read as CSV is not claimed either."""
    ImportRun.objects.filter(pk=run.pk).update(delimiter="")
    run.delimiter = ""
    return _store(run, Outcome(), status=ImportStatus.UNREADABLE, message=str(problem))


def _store_columns(run: ImportRun, importer: Any) -> None:
    column_map = getattr(importer, "column_map", None)
    if column_map is not None:
        run.columns = [list(pair) for pair in column_map.understood]
        run.unknown_columns = column_map.unknown
        run.options = {**run.options, "vocabulary": column_map.tool}


def _store(
    run: ImportRun,
    outcome: Outcome,
    *,
    status: str,
    message: str = "",
    finished: bool = False,
    keep_file: bool = False,
) -> ImportRun:
    run.status = status
    run.message = message[:1000]
    run.row_count = outcome.rows
    run.create_count, run.update_count, run.skip_count = outcome.created, outcome.updated, outcome.skipped
    run.error_count = outcome.error_total
    run.failed_row_count = outcome.failed_rows
    run.errors = [list(error) for error in outcome.errors]
    run.error_values = list(outcome.error_values)
    run.preview = outcome.preview
    run.progress_done = run.progress_total = outcome.rows
    if finished:
        run.finished_at = timezone.now()
    fields = [
        "status",
        "message",
        "row_count",
        "create_count",
        "update_count",
        "skip_count",
        "error_count",
        "errors",
        "error_values",
        "preview",
        "progress_done",
        "progress_total",
        "finished_at",
        "columns",
        "unknown_columns",
        "options",
        "failed_row_count",
        "skipped_rows",
        "updated_at",
    ]
    done = (ImportStatus.COMMITTED, ImportStatus.INVALID, ImportStatus.UNREADABLE, ImportStatus.FAILED)
    if status in done and not keep_file:
        # The file is not needed any more, and it may hold voicemail PINs: keep only the outcome.
        run.content = b""
        fields.append("content")
    with transaction.atomic():
        run.save(update_fields=fields)
        if status == ImportStatus.COMMITTED:
            webhook_events.import_completed(run)
    return run


def _queue(run: ImportRun, step: str) -> None:
    run_id = run.pk

    def send() -> None:
        try:
            queue.send(queue.PROCESS_IMPORT, run_id, step)
        except Exception as exc:  # the broker is down: say so on the page instead of spinning forever
            ImportRun.objects.filter(pk=run_id).update(
                status=ImportStatus.FAILED if step == "check" else ImportStatus.VALIDATED,
                message=_("Could not hand the file to a worker (%(error)s); try again in a moment.") % {"error": exc},
            )

    transaction.on_commit(send)


def import_run_process(*, run_id: int, step: str) -> ImportRun:
    """What the Celery task runs, in the language of the login who started the import: no browser
    says one here, and the row errors it stores are that person's to read."""
    run = ImportRun.objects.select_related("created_by").only("pk", "created_by").get(pk=run_id)
    with translation.override(language_for(run.created_by)):
        if step == "check":
            return import_run_check(run_id=run_id)
        return import_run_commit(run_id=run_id)


def described_errors(run: ImportRun, limit: int) -> list[str]:
    """The first `limit` errors as a person reads them: row, column, the value as written, and
    what is wrong or what to do (see base.describe_error)."""
    values = run.error_values or []
    return [describe_error(*error, values[i] if i < len(values) else "") for i, error in enumerate(run.errors[:limit])]


def error_rows(run: ImportRun):
    """Every error as a CSV row: row, column, value, message."""
    values = run.error_values or []
    for i, (row, column, message) in enumerate(run.errors):
        yield [row or "", column, values[i] if i < len(values) else "", message]


# --- progress ------------------------------------------------------------------------------------------


def import_run_progress(run: ImportRun) -> dict[str, Any]:
    """What the progress bar shows: the check or the commit while they run, then the jobs."""
    data: dict[str, Any] = {
        "status": run.status,
        "status_label": run.get_status_display(),
        "busy": run.is_busy,
        "rows": run.row_count,
        "done": run.progress_done,
        "total": run.progress_total,
        "message": run.message,
    }
    if run.status == ImportStatus.COMMITTING:
        state = progress.read(run.pk)
        if state is not None:
            data["done"], data["total"], data["phase"] = progress.overall(state)
    if run.batch_id:
        counts = ProvisioningJob.objects.filter(batch_id=run.batch_id).aggregate(
            total=Count("id"),
            pushed=Count("id", filter=Q(status=JobStatus.SUCCEEDED)),
            failed=Count("id", filter=Q(status=JobStatus.FAILED)),
            cancelled=Count("id", filter=Q(status=JobStatus.CANCELLED)),
        )
        counts["remaining"] = counts["total"] - counts["pushed"] - counts["failed"] - counts["cancelled"]
        data["jobs"] = counts
        data["finished"] = counts["remaining"] == 0
    data["phase_line"] = progress.progress_line(data)  # the script shows it as it is
    return data

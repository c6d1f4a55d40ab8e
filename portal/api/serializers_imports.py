"""How CSV import runs read, and what an upload and a confirmation take: the admin's upload form and
the run page's confirmation, field for field. Every check of the file and its rows is the importer's
(telephony/imports); nothing is checked here but the shape of the request."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from portal.api.serializers import ChoiceLabelField, ScopedRelatedField
from telephony import selectors_api as selectors
from telephony.imports import services as import_services
from telephony.imports.reading import ENCODINGS
from telephony.models import ImportKind, ImportMode, ImportRun
from telephony.selectors_api_imports import SUMMARY_COLUMNS
from tenants import access
from tenants.access import CHANGE

ERRORS_SHOWN = 50  # described on the run itself; every error is at /imports/{id}/errors/

# A run in a list: the columns its selector reads, and its status's label beside its status.
_STATUS = SUMMARY_COLUMNS.index("status") + 1
SUMMARY_FIELDS = [*SUMMARY_COLUMNS[:_STATUS], "status_label", *SUMMARY_COLUMNS[_STATUS:]]


class ImportRunSummarySerializer(serializers.ModelSerializer):
    """A run in a list: what it is, where it stands and its counts."""

    status_label = ChoiceLabelField("status")

    class Meta:
        model = ImportRun
        fields = SUMMARY_FIELDS
        read_only_fields = fields


class ImportRunSerializer(ImportRunSummarySerializer):
    """A run with its preview: the first rows as they will be saved (each with its action: create,
    update or skip), how each column was understood, and its first errors in words."""

    template = serializers.SerializerMethodField(
        help_text=gettext_lazy("The line template chosen for rows that name none (users only).")
    )
    vocabulary = serializers.SerializerMethodField(
        help_text=gettext_lazy("The other tool whose column names the file uses, if any.")
    )
    errors_summary = serializers.SerializerMethodField(
        help_text=gettext_lazy("The first errors as sentences: row, column, the value as written, what is wrong.")
    )
    more_errors = serializers.SerializerMethodField(
        help_text=gettext_lazy("How many errors the summary leaves out (every error is at errors/).")
    )
    may_confirm = serializers.SerializerMethodField(
        help_text=gettext_lazy("Ready to import, and the login may confirm it.")
    )
    may_confirm_partially = serializers.SerializerMethodField(
        help_text=gettext_lazy("Some rows fail and others pass: the login may import those that pass (skip_invalid).")
    )

    class Meta:
        model = ImportRun
        fields = [
            *SUMMARY_FIELDS,
            "encoding",
            "delimiter",
            "template",
            "vocabulary",
            "columns",
            "unknown_columns",
            "errors_summary",
            "more_errors",
            "preview",
            "may_confirm",
            "may_confirm_partially",
            "updated_at",
        ]
        read_only_fields = fields

    def get_template(self, run: ImportRun) -> int | None:
        return (run.options or {}).get("template")

    def get_vocabulary(self, run: ImportRun) -> str:
        return (run.options or {}).get("vocabulary", "")

    def get_errors_summary(self, run: ImportRun) -> list[str]:
        return import_services.described_errors(run, ERRORS_SHOWN)

    def get_more_errors(self, run: ImportRun) -> int:
        return max(0, run.error_count - ERRORS_SHOWN)

    def get_may_confirm(self, run: ImportRun) -> bool:
        return run.may_commit and self._may_change(run)

    def get_may_confirm_partially(self, run: ImportRun) -> bool:
        return run.may_commit_partially and self._may_change(run)

    def _may_change(self, run: ImportRun) -> bool:
        request = self.context.get("request")
        return request is not None and access.can(request.user, CHANGE, run)


class ImportErrorSerializer(serializers.Serializer):
    """One error of a run: where, the value as the file has it (never a secret's), and what is wrong."""

    row = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("The spreadsheet row (the header is row 1); null: the whole file.")
    )
    column = serializers.CharField()
    value = serializers.CharField()
    message = serializers.CharField()


class ImportUploadSerializer(serializers.Serializer):
    """What the admin's upload form takes."""

    file = serializers.FileField(
        allow_empty_file=True,  # the importer says what is wrong with an empty file
        help_text=gettext_lazy("A CSV file: comma, semicolon, tab or pipe separated; UTF-8 or Windows encoding."),
    )
    kind = serializers.ChoiceField(choices=ImportKind.choices, default=ImportKind.USERS)
    mode = serializers.ChoiceField(choices=ImportMode.choices, default=ImportMode.CREATE)
    encoding = serializers.ChoiceField(
        choices=[("", gettext_lazy("Detect it")), *((e, e) for e in ENCODINGS)], default="", allow_blank=True
    )
    tenant = ScopedRelatedField(
        selectors.tenants_for,
        required=False,
        allow_null=True,
        help_text=gettext_lazy(
            "Users: rows without a tenant go into this tenant. Leave it out for a file whose rows name their tenants."
        ),
    )
    template = ScopedRelatedField(
        selectors.line_templates_for,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Users: the line template of rows that name none."),
    )
    organization = ScopedRelatedField(
        selectors.organizations_for,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Numbers: the pool's organization. Customers and tenants: the reseller they go below."),
    )


class ImportConfirmSerializer(serializers.Serializer):
    skip_invalid = serializers.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Import the rows that pass and skip those with errors (offered when may_confirm_partially is true)."
        ),
    )


def upload_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """The validated upload as the service's keyword arguments."""
    upload = data["file"]
    return {
        "kind": data["kind"],
        "mode": data["mode"],
        "data": upload.read(import_services.MAX_FILE_BYTES + 1),
        "file_name": upload.name or "",
        "encoding": data.get("encoding") or "",
        "tenant": data.get("tenant"),
        "template": data.get("template"),
        "organization": data.get("organization"),
    }

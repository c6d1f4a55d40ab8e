"""CSV import and export in the admin: an Import / Export / Template button on the users, numbers
and organizations lists; each import's page shows its preview, takes the confirmation, and follows
the commit and the pushes on a progress bar (polled as JSON by telephony/import-progress.js)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.imports import export, services
from telephony.imports.columns import NUMBER_COLUMNS, ORGANIZATION_COLUMNS, USER_COLUMNS, described
from telephony.imports.reading import ENCODINGS
from telephony.models import (
    ImportKind,
    ImportMode,
    ImportRun,
    ImportStatus,
    LineTemplate,
    PhoneNumber,
    ProvisioningJob,
    Tenant,
)
from tenants import access
from tenants.access import ADD, CHANGE, VIEW
from tenants.admin import OrganizationAdmin
from tenants.admin_scoping import ScopedAdmin, invalid_lookup
from tenants.keys import object_key
from tenants.models import Organization, OrganizationKind

COLUMNS = {
    ImportKind.USERS: USER_COLUMNS,
    ImportKind.NUMBERS: NUMBER_COLUMNS,
    ImportKind.ORGANIZATIONS: ORGANIZATION_COLUMNS,
}
EXPORTERS = {
    ImportKind.USERS: export.export_users,
    ImportKind.NUMBERS: export.export_numbers,
    ImportKind.ORGANIZATIONS: export.export_organizations,
}
KINDS = {ImportKind.USERS: "users", ImportKind.NUMBERS: "numbers"}  # whose other tools' vocabularies apply
ERRORS_SHOWN = 200


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("A CSV file: comma, semicolon, tab or pipe separated; UTF-8 or Windows encoding."),
    )
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.CREATE, label=gettext_lazy("Mode"))
    encoding = forms.ChoiceField(
        choices=[("", gettext_lazy("Detect it"))] + [(e, e) for e in ENCODINGS],
        required=False,
        initial="",
        label=gettext_lazy("Encoding"),
    )

    def __init__(self, *args: Any, kind: str, actor: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if kind == ImportKind.USERS:
            self.fields["tenant"] = forms.ModelChoiceField(
                queryset=access.restrict(Tenant.objects.all(), actor, VIEW).select_related("organization"),
                required=False,
                label=_("Tenant"),
                help_text=_(
                    "Rows without a tenant go into this tenant. Leave it empty for a file whose rows name "
                    "their tenants (the export of this list): each row then goes to the tenant it names, where "
                    "you may add users."
                ),
            )
            self.fields["template"] = forms.ModelChoiceField(
                queryset=access.restrict(LineTemplate.objects.all(), actor, VIEW),
                required=False,
                label=_("Template"),
                help_text=_("Line template of rows that name none."),
            )
        elif kind == ImportKind.NUMBERS:
            self.fields["organization"] = forms.ModelChoiceField(
                queryset=access.organizations_for(actor, PhoneNumber, ADD), label=_("Pool of")
            )
        else:
            self.fields["organization"] = forms.ModelChoiceField(
                queryset=access.organizations_for(actor, Organization, ADD).exclude(kind=OrganizationKind.CUSTOMER),
                label=_("Below the reseller"),
            )


class ImportExportMixin:
    """Adds import/, import/template.csv and export.csv to a ModelAdmin of an importable model."""

    import_kind: str = ""
    change_list_template = "admin/imports/change_list.html"

    def get_urls(self):
        info = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{info}_import"),
            path(
                "import/template.csv",
                self.admin_site.admin_view(self.template_view),
                name=f"{info}_import_template",
            ),
            path("export.csv", self.admin_site.admin_view(self.export_view), name=f"{info}_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        info = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        extra = {
            "import_url": reverse(f"admin:{info}_import") if self.has_add_permission(request) else "",
            "export_url": reverse(f"admin:{info}_export"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def import_view(self, request: HttpRequest) -> Any:
        if not self.has_add_permission(request):
            raise Http404("Nothing to import into.")
        initial = {}
        tenant = self._chosen_tenant(request) if self.import_kind == ImportKind.USERS else None
        if tenant is not None:
            initial["tenant"] = tenant.pk
        form = UploadForm(
            request.POST or None, request.FILES or None, kind=self.import_kind, actor=request.user, initial=initial
        )
        if "tenant" in form.fields and "tenant" not in initial:
            only = list(form.fields["tenant"].queryset.values_list("pk", flat=True)[:2])
            if len(only) == 1:  # the login's one tenant (an entity administrator's, typically)
                form.initial["tenant"] = only[0]
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = services.import_run_create(
                    actor=request.user,
                    kind=self.import_kind,
                    mode=form.cleaned_data["mode"],
                    data=upload.read(services.MAX_FILE_BYTES + 1),
                    file_name=upload.name,
                    encoding=form.cleaned_data["encoding"],
                    tenant=form.cleaned_data.get("tenant"),
                    template=form.cleaned_data.get("template"),
                    organization=form.cleaned_data.get("organization"),
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                services.import_run_start_check(run=run)
                return HttpResponseRedirect(reverse("admin:telephony_importrun_run", args=[run.pk]))
        template_url = reverse(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_import_template")
        chosen = str(form["tenant"].value() or "") if "tenant" in form.fields else ""
        chosen = chosen if object_key(chosen) is not None else ""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import %(objects)s from CSV") % {"objects": self.model._meta.verbose_name_plural},
            "opts": self.model._meta,
            "form": form,
            "columns": described(COLUMNS[self.import_kind], KINDS.get(self.import_kind, "")),
            "template_base": template_url,
            "template_url": f"{template_url}?tenant={chosen}" if chosen else template_url,
            "template_tenant_field": form["tenant"].id_for_label if "tenant" in form.fields else "",
            "media": self.media
            + forms.Media(
                css={"all": ["telephony/imports.css"]}, js=[forms.Script("telephony/import-upload.js", defer=True)]
            ),
        }
        return TemplateResponse(request, "admin/imports/upload.html", context)

    def template_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The native header and an example row: filled from the tenant chosen on the upload form
        (`?tenant=`) for users, else the generic example."""
        tenant = self._chosen_tenant(request) if self.import_kind == ImportKind.USERS else None
        if tenant is not None:
            lines = export.user_template_lines(actor=request.user, tenant=tenant)
        else:
            lines = export.template_lines(COLUMNS[self.import_kind])
        return _csv_response(lines, f"{self.import_kind}-template.csv")

    @staticmethod
    def _chosen_tenant(request: HttpRequest) -> Tenant | None:
        """The tenant `?tenant=` names, among those the login sees (anything else: 404)."""
        wanted = request.GET.get("tenant", "")
        if not wanted:
            return None
        key = object_key(wanted)
        if key is None:
            raise Http404("No tenant matches the given query.")
        return get_object_or_404(access.restrict(Tenant.objects.all(), request.user, VIEW), pk=key)

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        if not self.has_view_permission(request):
            raise Http404("Nothing to export.")
        try:
            changelist = self.get_changelist_instance(request)
        except (IncorrectLookupParameters, OverflowError, DataError):
            # as the list answers it, before a line of the file is sent
            opts = self.model._meta
            return invalid_lookup(request, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        queryset = changelist.get_queryset(request)
        return _csv_response(EXPORTERS[self.import_kind](queryset, request.user), f"{self.import_kind}.csv")


def _in_a_sentence(label: str) -> str:
    """'Phone numbers' → 'phone numbers' mid-sentence, but 'PBX users' keeps its acronym."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _csv_response(lines, file_name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


# The organizations list lives on the floor below (tenants/admin.py), which must not import this
# one: it is registered again here with the import and export added.
admin.site.unregister(Organization)


@admin.register(Organization)
class OrganizationImportAdmin(ImportExportMixin, OrganizationAdmin):
    import_kind = ImportKind.ORGANIZATIONS


@admin.register(ImportRun)
class ImportRunAdmin(ScopedAdmin):
    """Every CSV import: its page is the preview, the confirmation and the progress bar."""

    list_display = ["__str__", "status", "organization", "rows_read", "errors_found", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["organization", "created_by"]
    search_fields = ["file_name"]

    @admin.display(description=gettext_lazy("rows"), ordering="row_count")
    def rows_read(self, run: ImportRun) -> Any:
        return "—" if run.status == ImportStatus.UNREADABLE else run.row_count

    @admin.display(description=gettext_lazy("errors"), ordering="error_count")
    def errors_found(self, run: ImportRun) -> Any:
        return "—" if run.status == ImportStatus.UNREADABLE else run.error_count

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is None else access.can(request.user, CHANGE, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<int:run_id>/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="telephony_importrun_confirm",
            ),
            path(
                "<int:run_id>/progress.json",
                self.admin_site.admin_view(self.progress_view),
                name="telephony_importrun_progress",
            ),
            path(
                "<int:run_id>/errors.csv",
                self.admin_site.admin_view(self.errors_view),
                name="telephony_importrun_errors",
            ),
            path(
                "<int:run_id>/skipped-rows.csv",
                self.admin_site.admin_view(self.skipped_view),
                name="telephony_importrun_skipped",
            ),
            path("<int:run_id>/", self.admin_site.admin_view(self.run_view), name="telephony_importrun_run"),
            *super().get_urls(),
        ]

    def _run(self, request: HttpRequest, run_id: int) -> ImportRun:
        return get_object_or_404(
            self.get_queryset(request).select_related("organization", "tenant", "batch"), pk=run_id
        )

    def run_view(self, request: HttpRequest, run_id: int) -> TemplateResponse:
        run = self._run(request, run_id)
        failures = self._jobs_url(request, run, failed=False)
        preview_columns = list(dict.fromkeys(key for row in run.preview for key in row if key not in ("row", "action")))
        context = {
            **self.admin_site.each_context(request),
            "title": _("CSV import #%(id)s: %(kind)s from %(file)s")
            % {"id": run.pk, "kind": _in_a_sentence(run.get_kind_display()), "file": run.file_name},
            "opts": self.model._meta,
            "run": run,
            "may_confirm": run.may_commit and access.can(request.user, CHANGE, run),
            "may_confirm_partially": run.may_commit_partially and access.can(request.user, CHANGE, run),
            "errors_shown": services.described_errors(run, ERRORS_SHOWN),
            "vocabulary": (run.options or {}).get("vocabulary", ""),
            "more_errors": max(0, run.error_count - ERRORS_SHOWN),
            "preview_columns": preview_columns,
            "preview_rows": [
                (row["row"], row["action"], [row.get(name, "") for name in preview_columns]) for row in run.preview
            ],
            "progress_url": reverse("admin:telephony_importrun_progress", args=[run.pk]),
            "failures_url": failures,
            "jobs_shown": "provisioningjob" in failures,  # else: the users whose push failed, if any
            "failed_pushes": services.import_run_progress(run).get("jobs", {}).get("failed", 0),
            # Deferred: the script is in <head> and needs the progress box the page holds below.
            "media": forms.Media(
                css={"all": ["telephony/admin.css", "telephony/imports.css"]},
                js=[forms.Script("telephony/import-progress.js", defer=True)],
            ),
        }
        return TemplateResponse(request, "admin/imports/run.html", context)

    def confirm_view(self, request: HttpRequest, run_id: int) -> HttpResponseRedirect:
        run = self._run(request, run_id)
        if request.method == "POST":
            skip_invalid = request.POST.get("skip_invalid") == "1"
            try:
                run = services.import_run_confirm(actor=request.user, run=run, skip_invalid=skip_invalid)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                if run.status == "committed":
                    counts = {
                        "created": run.create_count,
                        "updated": run.update_count,
                        "skipped": run.failed_row_count,
                    }
                    if run.skip_invalid:
                        done = _("Imported: %(created)s created, %(updated)s updated, %(skipped)s skipped with errors.")
                    else:
                        done = _("Imported: %(created)s created, %(updated)s updated.")
                    messages.success(request, done % counts)
        return HttpResponseRedirect(reverse("admin:telephony_importrun_run", args=[run.pk]))

    def progress_view(self, request: HttpRequest, run_id: int) -> JsonResponse:
        run = self._run(request, run_id)
        data = services.import_run_progress(run)
        if run.batch_id:
            data["failures_url"] = self._jobs_url(request, run, failed=True)
        return JsonResponse(data)

    def _jobs_url(self, request: HttpRequest, run: ImportRun, *, failed: bool) -> str:
        """The import's jobs (or its failed ones); an entity administrator, who does not see jobs,
        gets the users whose push failed instead."""
        if not run.batch_id:
            return ""
        jobs_admin = self.admin_site._registry.get(ProvisioningJob)
        if jobs_admin is not None and jobs_admin.has_view_permission(request):
            url = reverse("admin:telephony_provisioningjob_changelist") + f"?batch__id__exact={run.batch_id}"
            return url + "&status__exact=failed" if failed else url
        if run.kind == ImportKind.USERS:
            return reverse("admin:telephony_pbxuser_changelist") + "?sync_state__exact=failed"
        return ""

    def errors_view(self, request: HttpRequest, run_id: int) -> StreamingHttpResponse:
        run = self._run(request, run_id)
        lines = export.csv_lines(["row", "column", "value", "message"], services.error_rows(run))
        return _csv_response(lines, f"import-{run.pk}-errors.csv")

    def skipped_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        """The rows that did not pass, with the file's own columns and an error column: fix them
        and import this file again."""
        run = self._run(request, run_id)
        if not run.skipped_rows:
            raise Http404("This import skipped no rows.")
        response = HttpResponse(bytes(run.skipped_rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-rows-to-fix.csv"'
        return response

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        key = object_key(object_id)
        if key is None:
            raise Http404("No CSV import matches the given query.")
        run = self._run(request, key)
        return HttpResponseRedirect(reverse("admin:telephony_importrun_run", args=[run.pk]))

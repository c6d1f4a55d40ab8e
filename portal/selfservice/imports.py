"""Import / export for customer administrators: the bulk CSV importer (`telephony.imports`) on the
self-service site, for the users of their own tenants.

Nothing of the importer is repeated here: the upload, the check (the preview), the all-or-nothing
commit and the progress all come from `telephony.imports.services`; the export and the template from
`telephony.imports.export`; the progress bar is the importer's own script. These views only scope it
to the login's customers (another organization's import run is a 404) and render it with the site's
pages.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.selfservice.guards import customer_admin_required
from portal.selfservice.views.common import add_service_error, page
from telephony import selectors_selfservice as selectors
from telephony.imports import export
from telephony.imports import services as import_services
from telephony.imports.columns import USER_COLUMNS, described
from telephony.models import ImportKind, ImportMode, ImportRun, LineTemplate, Tenant
from tenants import access
from tenants.access import CHANGE

ERRORS_SHOWN = 50


class UserImportForm(forms.Form):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.none(), empty_label=None, help_text=gettext_lazy("Where the users go.")
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=gettext_lazy(
            "Comma, semicolon, tab or pipe separated; UTF-8 or Windows encoding. Exports of other PBX "
            "tools are understood (firstname, exten, EmailAddress …)."
        ),
    )
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.CREATE)
    template = forms.ModelChoiceField(
        queryset=LineTemplate.objects.none(),
        required=False,
        empty_label=gettext_lazy("The one named in each row"),
        help_text=gettext_lazy("Line template of the rows that name none."),
    )

    def __init__(self, *args: Any, login: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        tenants = selectors.tenants_for_new_users(login)
        self.fields["tenant"].queryset = Tenant.objects.filter(pk__in=[t.pk for t in tenants]).order_by("name")
        self.fields["template"].queryset = selectors.templates_for_tenants(login, tenants)
        only = list(self.fields["template"].queryset[:2])
        if len(only) == 1:  # the one template there is: a file without a template column just works
            self.fields["template"].initial = only[0].pk
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.layout = Layout("tenant", "file", "mode", "template", Submit("check", _("Check the file")))


def _run_of(login: Any, run_id: int) -> ImportRun:
    run = selectors.import_runs_of(login).select_related("tenant", "batch").filter(pk=run_id).first()
    if run is None:
        raise Http404("No CSV import matches the given query.")
    return run


@customer_admin_required
@require_http_methods(["GET", "POST"])
def imports_home(request: HttpRequest) -> HttpResponse:
    may_import = selectors.may_manage_users(request.user)
    form = UserImportForm(request.POST or None, request.FILES or None, login=request.user) if may_import else None
    if request.method == "POST":
        if form is None:
            raise Http404("Nothing to import into.")
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = import_services.import_run_create(
                    actor=request.user,
                    kind=ImportKind.USERS,
                    mode=form.cleaned_data["mode"],
                    data=upload.read(import_services.MAX_FILE_BYTES + 1),
                    file_name=upload.name,
                    tenant=form.cleaned_data["tenant"],
                    template=form.cleaned_data.get("template"),
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                import_services.import_run_start_check(run=run)
                return redirect("selfservice:import_run", run_id=run.pk)
    context = {
        "form": form,
        "runs": list(selectors.import_runs_of(request.user)[:10]),
        "columns": described(USER_COLUMNS, "users"),
        "template_tenant": form["tenant"].value() if form is not None else "",
    }
    return page(request, "selfservice/imports.html", context)


@customer_admin_required
@require_GET
def import_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_of(request.user, run_id)
    preview_columns = list(dict.fromkeys(key for row in run.preview for key in row if key not in ("row", "action")))
    context = {
        "run": run,
        "may_confirm": run.may_commit and access.can(request.user, CHANGE, run),
        "may_confirm_partially": run.may_commit_partially and access.can(request.user, CHANGE, run),
        "errors_shown": import_services.described_errors(run, ERRORS_SHOWN),
        "vocabulary": (run.options or {}).get("vocabulary", ""),
        "more_errors": max(0, run.error_count - ERRORS_SHOWN),
        "preview_columns": preview_columns,
        "preview_rows": [(r["row"], r["action"], [r.get(name, "") for name in preview_columns]) for r in run.preview],
    }
    return page(request, "selfservice/import_run.html", context)


@customer_admin_required
@require_POST
def import_confirm(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_of(request.user, run_id)
    skip_invalid = request.POST.get("skip_invalid") == "1"
    try:
        run = import_services.import_run_confirm(actor=request.user, run=run, skip_invalid=skip_invalid)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if run.status == "committed":
            counts = {"created": run.create_count, "updated": run.update_count, "skipped": run.failed_row_count}
            if run.skip_invalid:
                message = _("Imported: %(created)s created, %(updated)s updated, %(skipped)s skipped with errors.")
            else:
                message = _("Imported: %(created)s created, %(updated)s updated.")
            messages.success(request, message % counts)
    return redirect("selfservice:import_run", run_id=run.pk)


@customer_admin_required
@require_GET
def import_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    run = _run_of(request.user, run_id)
    data = import_services.import_run_progress(run)
    data["failures_url"] = reverse("selfservice:dashboard")  # failed pushes show there with their reason
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


@customer_admin_required
@require_GET
def import_errors(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    run = _run_of(request.user, run_id)
    lines = export.csv_lines(["row", "column", "value", "message"], import_services.error_rows(run))
    return _csv(lines, f"import-{run.pk}-errors.csv")


@customer_admin_required
@require_GET
def import_skipped(request: HttpRequest, run_id: int) -> HttpResponse:
    """The rows that did not pass, the file's own columns and an error column, to fix and import again."""
    run = _run_of(request.user, run_id)
    if not run.skipped_rows:
        raise Http404("This import skipped no rows.")
    response = HttpResponse(bytes(run.skipped_rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-rows-to-fix.csv"'
    return response


@customer_admin_required
@require_GET
def import_template(request: HttpRequest) -> StreamingHttpResponse:
    """The template, its example row filled from the tenant chosen on the form (`?tenant=`, one of
    the login's), else from the login's first tenant; the generic example only if it has none."""
    tenants = sorted(selectors.tenants_for_new_users(request.user), key=lambda t: t.name)  # the form's order
    wanted = request.GET.get("tenant", "")
    if wanted:
        tenant = next((t for t in tenants if str(t.pk) == wanted), None)
        if tenant is None:
            raise Http404("No tenant matches the given query.")
    else:
        tenant = tenants[0] if tenants else None
    return _csv(export.user_template_lines(actor=request.user, tenant=tenant), "users-template.csv")


@customer_admin_required
@require_GET
def users_export(request: HttpRequest) -> StreamingHttpResponse:
    return _csv(export.export_users(selectors.users_of(request.user).prefetch_related(None), request.user), "users.csv")


def _csv(lines: Any, file_name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


urlpatterns = [
    path("", imports_home, name="imports"),
    path("template.csv", import_template, name="import_template"),
    path("export.csv", users_export, name="users_export"),
    path("<int:run_id>/", import_run, name="import_run"),
    path("<int:run_id>/confirm/", import_confirm, name="import_confirm"),
    path("<int:run_id>/progress.json", import_progress, name="import_progress"),
    path("<int:run_id>/errors.csv", import_errors, name="import_errors"),
    path("<int:run_id>/skipped-rows.csv", import_skipped, name="import_skipped"),
]

"""The admin site: Django's own, with autocomplete results labelled as each model admin says.

A choice's label is normally its object's `str()`; a model admin may give a fuller one with
`choice_label(obj)` (an entity with its tenant, since entity names repeat from tenant to tenant),
loading what the label needs with `choice_select_related`. `ScopedAdmin` uses the same label in
its select boxes; this site uses it in autocomplete results.

Apps installed from libraries are headed by what they are for (their own labels read "AXES",
"OTP_STATIC"), and their pages the same way.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class LabelledAutocompleteJsonView(AutocompleteJsonView):
    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result = super().serialize_result(obj, to_field_name)
        choice_label = getattr(self.model_admin, "choice_label", None)
        if choice_label is not None:
            result["text"] = choice_label(obj)
        return result


# What the libraries' apps are for, as the admin heads them.
APP_HEADINGS = {
    "axes": gettext_lazy("Login protection"),
    "auditlog": gettext_lazy("Audit log"),
    "otp_totp": gettext_lazy("Two-factor: authenticator apps"),
    "otp_static": gettext_lazy("Two-factor: backup codes"),
}


class PortalAdminSite(admin.AdminSite):
    # The lists are wide (a PBX user has ten columns, and Dutch and French headers are long): they
    # get the whole width of a laptop screen; the index and the breadcrumbs lead everywhere.
    enable_nav_sidebar = False

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        # Its "available_apps" feed only the navigation sidebar, which is off: not worked out for
        # every page (every model's permissions, URLs and translated names, sorted).
        request.app_list_not_needed = True
        try:
            return super().each_context(request)
        finally:
            del request.app_list_not_needed

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        if getattr(request, "app_list_not_needed", False):
            return []
        apps = super().get_app_list(request, app_label)
        for app in apps:
            app["name"] = APP_HEADINGS.get(app["app_label"], app["name"])
        return apps

    def app_index(self, request: HttpRequest, app_label: str, extra_context: dict[str, Any] | None = None):
        heading = APP_HEADINGS.get(app_label)
        context = {
            **(extra_context or {}),
            **({"title": _("%(heading)s administration") % {"heading": heading}} if heading else {}),
        }
        return super().app_index(request, app_label, context)

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return LabelledAutocompleteJsonView.as_view(admin_site=self)(request)

"""The admin site: Django's own, with autocomplete results labelled as each model admin says.

A choice's label is normally its object's `str()`; a model admin may give a fuller one with
`choice_label(obj)` (an entity with its tenant, since entity names repeat from tenant to tenant),
loading what the label needs with `choice_select_related`. `ScopedAdmin` uses the same label in
its select boxes; this site uses it in autocomplete results.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.http import HttpRequest, HttpResponse


class LabelledAutocompleteJsonView(AutocompleteJsonView):
    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result = super().serialize_result(obj, to_field_name)
        choice_label = getattr(self.model_admin, "choice_label", None)
        if choice_label is not None:
            result["text"] = choice_label(obj)
        return result


class PortalAdminSite(admin.AdminSite):
    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return LabelledAutocompleteJsonView.as_view(admin_site=self)(request)

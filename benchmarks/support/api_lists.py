"""The REST API's side of benchmarks/admin_lists.py: each API list the admin's lists have a twin of,
and beside it a PLAIN Django REST framework viewset of the same model, as a developer gets it out of
the box: a ModelSerializer of every field, page-number pages of the same 50 rows, DRF's SearchFilter
on the same search fields and an exact filter on the same field (what django-filter's
`filterset_fields` does), session login, no rate limit.

The cases are the admin's: the first page, a search, a filter and page 500 (a cursor page for the
API, whose pages are cursors: the one that starts after the same rows as plain's ?page=500, in the
API's id order; the login's last full page where it sees fewer rows).
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

PLAIN_PREFIX = "plain-api/"
# list: (app.model, the API's path, the searched fields, the filter's field and value; a value of
# None is the id of the row the run looks up with `filter_row`)
API_LISTS = {
    "organizations": ("tenants.Organization", "organizations", "kind", "customer"),
    "tenants": ("telephony.Tenant", "tenants", "sync_state", "pending"),
    "entities": ("telephony.Entity", "entities", "sync_state", "pending"),
    "pbx users": ("telephony.PbxUser", "pbx-users", "sync_state", "pending"),
    "phone numbers": ("telephony.PhoneNumber", "phone-numbers", "sync_state", "pending"),
    "jobs": ("telephony.ProvisioningJob", "jobs", "status", "failed"),
    "import runs": ("telephony.ImportRun", "imports", "status", "failed"),
    "servers": ("telephony.Server", "servers", "platform", None),
}


def view_of(path: str) -> Any:
    """The project's viewset class behind an API list."""
    from django.urls import resolve

    return resolve(f"/api/v1/{path}/").func.cls


def plain_api_patterns() -> list:
    """URL patterns of the plain viewsets, one per API list, under PLAIN_PREFIX."""
    from django.apps import apps
    from django.urls import include, path
    from rest_framework import authentication, filters, pagination, permissions, serializers, viewsets
    from rest_framework.routers import DefaultRouter

    class Pages(pagination.PageNumberPagination):
        page_size = 50

    class FieldEquals(filters.BaseFilterBackend):
        """?field=value on the view's filterset_fields, as django-filter's exact filters."""

        def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
            wanted = {f: request.query_params[f] for f in view.filterset_fields if f in request.query_params}
            return queryset.filter(**wanted)

    router = DefaultRouter()
    for model_name, api_path, field, _value in API_LISTS.values():
        model = apps.get_model(model_name)
        meta = type("Meta", (), {"model": model, "fields": "__all__"})
        serializer = type(f"Plain{model.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta})
        attributes = {
            "queryset": model._default_manager.order_by("pk"),
            "serializer_class": serializer,
            "pagination_class": Pages,
            "filter_backends": [FieldEquals, filters.SearchFilter],
            "filterset_fields": [field],
            "search_fields": list(view_of(api_path).search_fields),
            "authentication_classes": [authentication.SessionAuthentication],
            "permission_classes": [permissions.IsAuthenticated],
            "throttle_classes": [],
        }
        viewset = type(f"Plain{model.__name__}ViewSet", (viewsets.ReadOnlyModelViewSet,), attributes)
        router.register(api_path, viewset, basename=f"plain-{api_path}")
    return [path(PLAIN_PREFIX, include(router.urls))]


def cursor_after(position: int) -> str:
    """The cursor of the page that starts after id `position`, as DRF's CursorPagination encodes it."""
    return base64.b64encode(urlencode({"p": position}).encode("ascii")).decode("ascii")


def api_orders(logins: dict, rare: str, page_rows: int) -> dict[str, tuple[str, str, dict, int | None]]:
    """`api <list>/<login>/<case>`: (login, URL, parameters, page number) for the project's API as
    the superuser and the reseller, and for the plain viewset as the superuser."""
    from django.apps import apps

    orders = {}
    for name, (model_name, api_path, field, value) in API_LISTS.items():
        model = apps.get_model(model_name)
        if value is None:  # the servers' platform: the second one (Xelion), by id
            value = str(model._meta.get_field(field).related_model.objects.order_by("pk").values_list("pk")[1][0])
        for login in ("superuser", "reseller", "plain"):
            if login == "plain":
                url, rows = f"/{PLAIN_PREFIX}{api_path}/", model._default_manager.order_by("pk")
            else:
                url, rows = f"/api/v1/{api_path}/", view_of(api_path).selector(logins[login]).order_by("pk")
            ids = list(rows.values_list("pk", flat=True))
            page = min(500, max(1, len(ids) // page_rows))  # a full page, as the admin's
            deep = {"page": page} if login == "plain" else {"cursor": cursor_after(ids[(page - 1) * page_rows - 1])}
            params = {
                "default": {},
                "search": {"search": rare.lower()},
                "filter": {field: value},
                "page500": deep if page > 1 else {},
            }
            for case, given in params.items():
                asked = "superuser" if login == "plain" else login
                orders[f"api {name}/{login}/{case}"] = (asked, url, given, page if case == "page500" else None)
    return orders


def api_rows(body: bytes) -> int:
    """How many rows an API page holds."""
    return len(json.loads(body)["results"])

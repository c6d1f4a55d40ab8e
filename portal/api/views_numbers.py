"""Phone numbers (DDIs) and their pools (a PBX user's own numbers are under the user: views.py).
Reads are the scoped selectors (telephony/selectors_api_numbers.py); every write runs the service
the admin's number pages run (telephony/services/number_ranges.py): the same checks, the same
history, the same jobs to the PBX. A refused request changes nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers_numbers as serializers
from portal.api.views import IndexedColumnsSearch, ScopedFilters, ScopedReadViewSet
from telephony import selectors_api_numbers as selectors
from telephony.search import NUMBER_TEXT
from telephony.services import number_ranges as ranges


class NumberFilters(ScopedFilters):
    """The shared filters, and `?status=free|allocated|assigned` (the admin's "allocation")."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        queryset = super().filter_queryset(request, queryset, view)
        value = request.query_params.get("status")
        if value is None:
            return queryset
        if value not in selectors.NUMBER_STATUSES:
            raise ValidationError(
                {"status": [_("One of: %(choices)s.") % {"choices": ", ".join(selectors.NUMBER_STATUSES)}]}
            )
        return selectors.phone_numbers_with_status(queryset, value)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": "status",
                "required": False,
                "in": "query",
                "description": _("free: in the pool; allocated: to a tenant, on no user; assigned: to a user."),
                "schema": {"type": "string", "enum": list(selectors.NUMBER_STATUSES)},
            },
        ]


class PhoneNumberViewSet(ScopedReadViewSet):
    """The numbers the login sees. Add a range to a pool, allocate a range or a count to a tenant,
    release numbers in bulk: the admin's number pages, with the same rules."""

    serializer_class = serializers.PhoneNumberSerializer
    lists_ids_only = True
    selector = staticmethod(selectors.phone_numbers_for)
    filter_backends = [NumberFilters, IndexedColumnsSearch]
    search_fields = list(NUMBER_TEXT.columns)
    searched_columns = NUMBER_TEXT
    filter_ids = ("organization", "tenant", "assigned_user")
    filter_values = ("sync_state",)

    def _given(self, serializer_class: type, request: Request) -> dict[str, Any]:
        given = serializer_class(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        return given.validated_data

    @extend_schema(request=serializers.RangeAddSerializer, responses={201: serializers.RangeAddedSerializer})
    @action(detail=False, methods=["post"], url_path="add-range")
    def add_range(self, request: Request) -> Response:
        """Add a range of numbers to an organization's pool (optionally allocated to a tenant at once)."""
        data = self._given(serializers.RangeAddSerializer, request)
        numbers = ranges.parse_range(data["numbers"], data.get("count"))
        tenant = data.get("tenant")
        added = ranges.phone_number_range_add(
            actor=request.user,
            organization=data["organization"],
            numbers=numbers,
            tenant=tenant,
            label=data.get("label", ""),
        )
        answer = {
            "added": added,
            "range": str(numbers),
            "first": numbers.first,
            "last": numbers.last,
            "organization": data["organization"].pk,
            "tenant": tenant.pk if tenant else None,
        }
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.AllocateSerializer, responses=serializers.AllocatedSerializer)
    @action(detail=False, methods=["post"])
    def allocate(self, request: Request) -> Response:
        """Allocate free numbers of a pool to a tenant: a range, or the lowest `count` free ones."""
        data = self._given(serializers.AllocateSerializer, request)
        numbers = ranges.parse_range(data["numbers"]) if data.get("numbers") else None
        allocated = ranges.phone_numbers_allocate(
            actor=request.user,
            organization=data["organization"],
            tenant=data["tenant"],
            numbers=numbers,
            count=data.get("count"),
        )
        answer = {
            "allocated": len(allocated),
            "numbers": allocated,
            "organization": data["organization"].pk,
            "tenant": data["tenant"].pk,
        }
        return Response(answer)

    @extend_schema(request=serializers.ReleaseSerializer, responses=serializers.ReleasedSerializer)
    @action(detail=False, methods=["post"])
    def release(self, request: Request) -> Response:
        """Release numbers in bulk (by id or a range): off their users, and with `to_pool` off their
        tenant too. Refused as a whole when the login may not release one of them."""
        data = self._given(serializers.ReleaseSerializer, request)
        to_pool = data.get("to_pool", False)
        with transaction.atomic():
            if data.get("ids"):
                rows = list(data["ids"])
            else:
                numbers = ranges.parse_range(data["numbers"])
                rows = list(selectors.phone_numbers_in_range(request.user, numbers).order_by("number"))
                if not rows:
                    raise ValidationError(
                        {"numbers": [_("None of your numbers is in %(range)s.") % {"range": numbers}]}
                    )
            released = sorted(row.number for row in rows if row.assigned_user_id or (to_pool and row.tenant_id))
            done = ranges.phone_numbers_release(actor=request.user, numbers=rows, to_pool=to_pool)
        return Response({"from_users": done.from_users, "to_pool": done.to_pool, "numbers": released})


class NumberPoolViewSet(ScopedReadViewSet):
    """Each pool's use, by organization: how many of the numbers the login sees in it are free,
    allocated to a tenant, or assigned to a user (the admin's "pool use" above its numbers list)."""

    serializer_class = serializers.NumberPoolSerializer
    selector = staticmethod(selectors.number_pools_for)
    search_fields = ["name"]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["pool_use"] = selectors.pool_use_of(self.request.user, getattr(self, "_page_objects", []))
        return context

    def paginate_queryset(self, queryset: QuerySet):
        page = super().paginate_queryset(queryset)
        self._page_objects = page if page is not None else list(queryset)
        return page

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._page_objects = [self.get_object()]
        return super().retrieve(request, *args, **kwargs)

"""Drift scans (what a read-back of a PBX found) and the repairs of their findings. Reads are the
scoped selectors (telephony/selectors_api_drift.py); a scan is asked for with the service behind the
admin's "Check against PBX" (telephony/services/drift.py), and each repair runs the service behind
the admin's action of the same name (telephony/services/drift_repairs.py): the same checks (staff
of the organizations that manage the object only; held-back tenants only once confirmed), the same
jobs to the PBX, the same audit trail. A refused request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers_drift as serializers
from portal.api.base import IdempotentCreateMixin
from portal.api.views import ScopedFilters, ScopedReadViewSet
from telephony import selectors_api_drift as selectors
from telephony.models import DriftScan
from telephony.services import drift as drift_services
from telephony.services import drift_repairs as repairs
from tenants import access
from tenants.access import CHANGE


class ScanRequests:
    """POST on the scans list: a scan of a server, or of one tenant of it, queued."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = serializers.ScanRequestSerializer(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        server, tenant = given.validated_data["server"], given.validated_data.get("tenant")
        if not access.can(request.user, CHANGE, tenant or server):  # seen (it was found), not managed
            raise PermissionDenied(_("You may read this object but not change it."))
        which = {"tenants": [tenant]} if tenant is not None else {"servers": [server]}
        queued = drift_services.drift_scan_requested(actor=request.user, **which)
        answer = {"queued": queued, "server": server.pk, "tenant": tenant.pk if tenant else None}
        return Response(answer, status=status.HTTP_202_ACCEPTED)


class DriftScanViewSet(IdempotentCreateMixin, ScanRequests, ScopedReadViewSet):
    """Drift scans of the servers you manage or see: when, who asked, how it went, how many findings
    of each kind (the detail sums up its findings by kind: open and resolved), and which tenants it
    held back (so much changed at once that their findings are repaired only once confirmed).

    POST asks for a scan of a server, or of one tenant on it (`{"server": 3, "tenant": 12}`): queued
    as the admin's "Check against PBX" queues it (202); its report is listed here once it is done.
    Administrators and operators of the server's (or the tenant's) organization only."""

    serializer_class = serializers.DriftScanSerializer
    selector = staticmethod(selectors.drift_scans_for)
    search_fields = ["server__name", "tenant__name"]
    filter_ids = ("server", "tenant")
    filter_values = ("status", "trigger")

    def get_serializer_class(self) -> type:
        if self.action in ("retrieve", "confirm"):
            return serializers.DriftScanDetailSerializer
        return serializers.DriftScanSerializer

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], DriftScan):
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["summary"] = selectors.drift_scan_summary(self.request.user, args[0])
        return super().get_serializer(*args, **kwargs)

    @extend_schema(request=serializers.ScanRequestSerializer, responses={202: serializers.ScanRequestedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(request=None, responses=serializers.DriftScanDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """Confirm that the tenants this scan held back are to be repaired (the admin's "Confirm that
        the tenants these scans held back are to be repaired"): one decision, kept, after which each
        of their findings is repaired as any other. Staff of the server's organizations only."""
        scan = self.get_object()  # outside the scope: 404; seen but not managed: 403
        repairs.drift_scan_confirm(actor=request.user, scan_id=scan.pk)
        return Response(self.get_serializer(self.get_queryset().get(pk=scan.pk)).data)


class FindingFilters(ScopedFilters):
    """The shared filters, `?server=` (the scan's server) and `?state=open|resolved`."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        queryset = super().filter_queryset(request, queryset, view)
        for name, lookup in view.filter_id_lookups.items():
            value = request.query_params.get(name)
            if value is None:
                continue
            if not (value.isascii() and value.isdigit()):
                raise ValidationError({name: [_("An id: a whole number.")]})
            queryset = queryset.filter(**{f"{lookup}_id": int(value)})
        value = request.query_params.get("state")
        if value is None:
            return queryset
        if value not in selectors.FINDING_STATES:
            raise ValidationError(
                {"state": [_("One of: %(choices)s.") % {"choices": ", ".join(selectors.FINDING_STATES)}]}
            )
        return selectors.drift_findings_in_state(queryset, value)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            *[
                {
                    "name": name,
                    "required": False,
                    "in": "query",
                    "description": _("Only those of this %(field)s (its id).") % {"field": name},
                    "schema": {"type": "integer"},
                }
                for name in view.filter_id_lookups
            ],
            {
                "name": "state",
                "required": False,
                "in": "query",
                "description": "open: no repair has dealt with it yet; resolved: one has (see `resolution`).",
                "schema": {"type": "string", "enum": list(selectors.FINDING_STATES)},
            },
        ]


class DriftFindingViewSet(ScopedReadViewSet):
    """What the drift scans found: a line, an entity or a tenant missing on the PBX (`missing`), held
    otherwise there (`differs`: which fields, the portal's value and the PBX's), an object only on
    the PBX (`unmanaged`), a reference that names nothing (`dangling`) or two rows claiming one
    object (`duplicate`). Filters: `scan`, `server`, `tenant`, `kind`, `object_kind`, `state`.

    Each repair is the admin's action of the same name, run by the same service: a person's decision,
    for the staff of the organizations that manage the object (customers read their findings, their
    provider repairs them); a viewer gets 403, a finding already dealt with or of another kind is
    refused with why (400). Where the scan held the finding's tenant back, a repair needs either the
    scan's `confirm` or `{"confirmed": true}` in its body."""

    serializer_class = serializers.DriftFindingSerializer
    selector = staticmethod(selectors.drift_findings_for)
    filter_backends = [FindingFilters, *ScopedReadViewSet.filter_backends[1:]]
    search_fields = ["label", "tenant__name"]
    filter_ids = ("scan", "tenant")
    filter_id_lookups = {"server": "scan__server"}
    filter_values = ("kind", "object_kind")

    def _repaired(self, request: Request, repair: Callable[..., Any]) -> Response:
        finding = self.get_object()  # outside the scope: 404; seen but not managed: 403
        body = serializers.RepairSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        repair(actor=request.user, finding_id=finding.pk, confirmed=body.validated_data["confirmed"])
        return Response(self.get_serializer(self.get_queryset().get(pk=finding.pk)).data)

    @extend_schema(request=serializers.RepairSerializer, responses=serializers.DriftFindingSerializer)
    @action(detail=True, methods=["post"], url_path="push-portal-value", url_name="push-portal-value")
    def push_portal_value(self, request: Request, pk: str | None = None) -> Response:
        """`differs`: send the portal's values to the PBX again (a job converges the line or the
        entity). Answers the finding, resolved."""
        return self._repaired(request, repairs.drift_push_portal_value)

    @extend_schema(request=serializers.RepairSerializer, responses=serializers.DriftFindingSerializer)
    @action(detail=True, methods=["post"], url_path="accept-pbx-value", url_name="accept-pbx-value")
    def accept_pbx_value(self, request: Request, pk: str | None = None) -> Response:
        """`differs`: take the PBX's values into the portal, through the rules of any change (a value
        the portal refuses is answered 400 and stays a finding, with why in `resolution`). Answers the
        finding, resolved."""
        return self._repaired(request, repairs.drift_accept_pbx_value)

    @extend_schema(request=serializers.RepairSerializer, responses=serializers.DriftFindingSerializer)
    @action(detail=True, methods=["post"])
    def recreate(self, request: Request, pk: str | None = None) -> Response:
        """`missing` or `dangling`: make the line, the entity or the whole tenant (with its entities
        and lines) again on the PBX from the portal's values (jobs). Answers the finding, resolved."""
        return self._repaired(request, repairs.drift_recreate)

    @extend_schema(request=serializers.RepairSerializer, responses=serializers.DriftFindingSerializer)
    @action(detail=True, methods=["post"])
    def forget(self, request: Request, pk: str | None = None) -> Response:
        """`missing` or `dangling`, a line gone from the PBX for good: delete its row in the portal,
        sending nothing. Answers the finding, resolved."""
        return self._repaired(request, repairs.drift_forget)

    @extend_schema(request=serializers.AdoptSerializer, responses=serializers.AdoptedSerializer)
    @action(detail=True, methods=["post"])
    def adopt(self, request: Request, pk: str | None = None) -> Response:
        """`unmanaged`, a user only on the PBX: make it a line of `entity` (of a tenant on the server
        where it was found) with `template`, holding the PBX object's reference; nothing is sent (the
        PBX holds it). The rules of any new line apply. Answers the finding, resolved, and the new
        line's id."""
        finding = self.get_object()  # outside the scope: 404; seen but not managed: 403
        body = serializers.AdoptSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = repairs.drift_adopt(
            actor=request.user,
            finding_id=finding.pk,
            entity=data["entity"],
            template=data["template"],
            confirmed=data["confirmed"],
        )
        fresh = self.get_queryset().get(pk=finding.pk)
        return Response({"finding": self.get_serializer(fresh).data, "pbx_user": user.pk})

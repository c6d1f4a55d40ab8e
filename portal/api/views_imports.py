"""CSV imports: upload a file, read its preview, confirm it, follow its progress, read its errors.

Nothing of the importer is repeated here: the upload, the check (the preview), the all-or-nothing
commit and the progress are `telephony.imports.services`, as the admin and the self-service site
call them; these views only scope the runs to the login (another organization's run is a 404, as
an id that does not exist) and answer in JSON.

What an upload answers:
- 201 and the run: a small file, checked in the request and ready to confirm;
- 202 and the run (status "validating"): a large file, which a worker checks; follow it at
  progress/ and read the outcome on the run;
- 400 with the importer's messages under "file", nothing written: the service refused the upload
  (too large, no tenant…), or the file cannot be read as CSV (not a CSV, wrong encoding, empty);
- 400 with the first errors under "file" and the run under "import": some rows are refused (a
  formula cell, a number outside the plan…); nothing is imported, the run keeps its errors (all of
  them at errors/), and when some rows pass it may be confirmed with skip_invalid.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import pagination, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers_imports as import_serializers
from portal.api.base import IdempotentCreateMixin
from portal.api.views import ScopedReadViewSet
from telephony import selectors_api_imports as selectors
from telephony.imports import services as import_services
from telephony.models import ImportRun, ImportStatus

REFUSED_ROWS = inline_serializer(
    "ImportRefused",
    fields={
        "file": serializers.ListField(child=serializers.CharField()),
        "import": import_serializers.ImportRunSerializer(),
    },
)
ERROR_PAGE = inline_serializer(
    "ImportErrorPage",
    fields={
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": import_serializers.ImportErrorSerializer(many=True),
    },
)


class ErrorPages(pagination.LimitOffsetPagination):
    default_limit = 500
    max_limit = 5000


class UploadMixin:
    """The upload: the service keeps the file, then checks it now or hands it to a worker."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = import_serializers.ImportUploadSerializer(data=request.data, context=self.get_serializer_context())
        upload.is_valid(raise_exception=True)
        with transaction.atomic():
            run = import_services.import_run_create(
                actor=request.user, **import_serializers.upload_arguments(upload.validated_data)
            )
            run = import_services.import_run_start_check(run=run)
            if run.status == ImportStatus.UNREADABLE:
                # Not a CSV file: no row was read, nothing is kept (the exception rolls the run back).
                raise ValidationError({"file": [run.message]})
        data = self.detail_of(run)
        if run.status == ImportStatus.INVALID:
            return Response({"file": data["errors_summary"] or [run.message], "import": data}, status=400)
        answer = status.HTTP_202_ACCEPTED if run.is_busy else status.HTTP_201_CREATED
        return Response(data, status=answer, headers={"Location": self.reverse_action("detail", args=[run.pk])})


class ImportRunViewSet(IdempotentCreateMixin, UploadMixin, ScopedReadViewSet):
    """CSV imports of PBX users, phone numbers, or customers and their tenants, as in the admin: the
    same checks, the same all-or-nothing commit, the same batch of jobs to the PBX."""

    serializer_class = import_serializers.ImportRunSerializer
    selector = staticmethod(selectors.import_runs_for)
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    search_fields = ["file_name"]
    filter_ids = ("tenant", "organization")
    filter_values = ("status", "kind")

    def get_queryset(self) -> QuerySet[ImportRun]:
        if self.action in ("retrieve", "confirm"):
            return selectors.import_runs_for(self.request.user)
        return selectors.import_run_summaries_for(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return import_serializers.ImportRunSummarySerializer
        if self.action == "create":
            return import_serializers.ImportUploadSerializer
        if self.action == "confirm":
            return import_serializers.ImportConfirmSerializer
        return import_serializers.ImportRunSerializer

    def detail_of(self, run: ImportRun) -> dict[str, Any]:
        return import_serializers.ImportRunSerializer(run, context=self.get_serializer_context()).data

    @extend_schema(
        request={"multipart/form-data": import_serializers.ImportUploadSerializer},
        responses={
            201: import_serializers.ImportRunSerializer,
            202: import_serializers.ImportRunSerializer,
            400: OpenApiResponse(REFUSED_ROWS),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(
        request=import_serializers.ImportConfirmSerializer,
        responses={
            200: import_serializers.ImportRunSerializer,
            202: import_serializers.ImportRunSerializer,
            409: OpenApiResponse(REFUSED_ROWS),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        """Import the previewed file: committed now (200) or by a worker for a large file (202). A
        run not ready (already imported, has errors without skip_invalid…) is refused with 400; a
        commit that finds rows no longer passing imports nothing and answers 409."""
        run = self.get_object()
        body = import_serializers.ImportConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = import_services.import_run_confirm(
            actor=request.user, run=run, skip_invalid=body.validated_data["skip_invalid"]
        )
        data = self.detail_of(run)
        if run.status == ImportStatus.COMMITTED:
            return Response(data)
        if run.status == ImportStatus.COMMITTING:
            return Response(data, status=status.HTTP_202_ACCEPTED)
        return Response({"file": data["errors_summary"] or [run.message], "import": data}, status=409)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str | None = None) -> Response:
        """What the progress bar reads: the check or the commit while they run, then the jobs."""
        response = Response(import_services.import_run_progress(self.get_object()))
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(responses=ERROR_PAGE)
    @action(detail=True, methods=["get"], pagination_class=ErrorPages)
    def errors(self, request: Request, pk: str | None = None) -> Response:
        """Every error of the run, as its errors CSV has them: row, column, value, message."""
        run = self.get_object()
        rows = [
            {"row": row or None, "column": column, "value": value, "message": message}
            for row, column, value, message in import_services.error_rows(run)
        ]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(import_serializers.ImportErrorSerializer(page, many=True).data)

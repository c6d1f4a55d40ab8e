"""The API's endpoints: thin. Reads are the scoped selectors; writes are the services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import filters, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers, serializers_numbers
from portal.api.base import ETagMixin, IdempotentCreateMixin, idempotent
from telephony import selectors_api as selectors
from telephony.models import PhoneNumber
from telephony.search import JOB_TEXT, USER_COLUMNS, search_users
from telephony.services import jobs as job_services
from telephony.services import users as user_services
from tenants import access
from tenants.access import CHANGE, DELETE
from tenants.text_search import MAX_WORD, MAX_WORDS


class ScopedFilters(filters.BaseFilterBackend):
    """`?tenant=12` on an id (an id outside the login's scope finds nothing, as one that does not
    exist), `?status=failed` on a value; described in the schema from the view's `filter_ids` and
    `filter_values`."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        problems = {}
        for field in getattr(view, "filter_ids", ()):
            value = request.query_params.get(field)
            if value is None:
                continue
            if not (value.isascii() and value.isdigit()):
                problems[field] = [_("An id: a whole number.")]
                continue
            queryset = queryset.filter(**{f"{field}_id": int(value)})
        for field in getattr(view, "filter_values", ()):
            value = request.query_params.get(field)
            if value is not None:
                queryset = queryset.filter(**{field: value[:200]})
        if problems:
            raise ValidationError(problems)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        described = [
            (field, "integer", _("Only those of this %(field)s (its id).") % {"field": field})
            for field in getattr(view, "filter_ids", ())
        ] + [
            (field, "string", _("Only those whose %(field)s is this value.") % {"field": field})
            for field in getattr(view, "filter_values", ())
        ]
        return [
            {"name": name, "required": False, "in": "query", "description": text, "schema": {"type": kind}}
            for name, kind, text in described
        ]


class IndexedUserSearch(filters.SearchFilter):
    """`?search=` over PBX users through the search indexes (telephony.search): every word in one of
    the searched fields, any case, as DRF's SearchFilter means it, without reading every row."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        text = request.query_params.get(self.search_param, "")
        return search_users(queryset, text.replace("\x00", "")) if text.strip() else queryset


class IndexedColumnsSearch(filters.SearchFilter):
    """`?search=` over the view's `searched_columns` (tenants.text_search): every term (a word, or a
    phrase in quotes; commas part words, as DRF's SearchFilter reads them) in one of the columns, in
    any case, through a trigram index on PostgreSQL instead of a scan of the table."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        text = request.query_params.get(self.search_param, "").replace("\x00", "")
        for term in filters.search_smart_split(text)[:MAX_WORDS]:
            queryset = queryset.filter(view.searched_columns.holds(term[:MAX_WORD], queryset.db))
        return queryset


class ScopedQueryset:
    """The selector's queryset: what the login may see, and nothing else."""

    selector: Any = None
    filter_backends = [ScopedFilters, filters.SearchFilter]
    filter_ids: tuple[str, ...] = ()
    filter_values: tuple[str, ...] = ()
    # The list names related objects by their ids alone: its rows are read without the selector's
    # joins (three related objects made per number, say, that the answer never shows), which an
    # object's own answer and the writes keep.
    lists_ids_only = False

    def get_queryset(self) -> QuerySet:
        queryset = type(self).selector(self.request.user)
        if self.lists_ids_only and self.action == "list":
            queryset = queryset.select_related(None)
        return queryset


class ChangeRights:
    """An object the login sees but may not change answers 403 to a write (not 404: it was read)."""

    def get_object(self) -> Any:
        obj = super().get_object()
        action_needed = DELETE if self.request.method == "DELETE" else CHANGE
        if self.request.method not in SAFE_METHODS and not access.can(self.request.user, action_needed, obj):
            raise PermissionDenied(_("You may read this object but not change it."))
        return obj


@contextmanager
def adding_where_seen() -> Iterator[None]:
    """A create whose body named only what the login may see (every id looked up in its scope, by
    the serializer or, on a refusal, by `unseen_ids_first`) and that the service still refuses as
    not found: the login sees the organization but may not add there (a viewer, an operator where
    only administrators may). That is a 403, as for an object it sees but may not change, not the
    404 of something it cannot see."""
    try:
        yield
    except Http404:
        raise PermissionDenied(_("You may see this organization but not add this here.")) from None


@contextmanager
def unseen_ids_first(serializer: Any) -> Iterator[None]:
    """A service that refuses a body whose ids were not looked up beforehand
    (serializers.IdsCheckedOnRefusal): an id the login cannot see is answered as missing, before
    and instead of whatever the service said about it."""
    try:
        yield
    except (DjangoValidationError, ObjectDoesNotExist, Http404, DjangoPermissionDenied):
        if isinstance(serializer, serializers.IdsCheckedOnRefusal):
            serializer.refuse_unseen_ids()
        raise


class ScopedReadViewSet(ScopedQueryset, ChangeRights, ETagMixin, viewsets.ReadOnlyModelViewSet):
    """Lists and objects the login may see; anything else answers 404 as a missing id does. Read
    only: PUT, PATCH and DELETE answer 405 (POST only reaches the viewset's own actions)."""

    http_method_names = ["get", "post", "head", "options"]


class OrganizationViewSet(ScopedReadViewSet):
    """Organizations the login sees: its own and everything below (and the ones above that share
    platforms or templates with it are not listed: they are not its to read)."""

    serializer_class = serializers.OrganizationSerializer
    selector = staticmethod(selectors.organizations_for)
    search_fields = ["name"]
    filter_values = ("kind",)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        paths = {org.path[: -org.steplen] for org in getattr(self, "_page_objects", [])}
        context["parents"] = dict(
            selectors.organizations_for(self.request.user).filter(path__in=paths).values_list("path", "id")
        )
        return context

    def paginate_queryset(self, queryset: QuerySet):
        page = super().paginate_queryset(queryset)
        self._page_objects = page if page is not None else list(queryset)
        return page

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._page_objects = [self.get_object()]
        return super().retrieve(request, *args, **kwargs)


class TenantViewSet(ScopedReadViewSet):
    serializer_class = serializers.TenantSerializer
    lists_ids_only = True
    selector = staticmethod(selectors.tenants_for)
    search_fields = ["name", "label"]
    filter_ids = ("organization", "server")
    filter_values = ("status", "sync_state")


class EntityViewSet(ScopedReadViewSet):
    serializer_class = serializers.EntitySerializer
    lists_ids_only = True
    selector = staticmethod(selectors.entities_for)
    search_fields = ["name", "display_name"]
    filter_ids = ("tenant",)
    filter_values = ("sync_state",)


class LineTemplateViewSet(ScopedReadViewSet):
    serializer_class = serializers.LineTemplateSerializer
    lists_ids_only = True
    selector = staticmethod(selectors.line_templates_for)
    search_fields = ["name"]
    filter_ids = ("organization",)


class ServicedViewSet(
    ScopedQueryset,
    ChangeRights,
    IdempotentCreateMixin,
    ETagMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """A writable resource whose writes are the services the admin calls (as the admin's
    `create_service` / `update_service` / `delete_service`, each given `actor=` and the object under
    `service_object_name`): the same checks, the same jobs to the PBX, the same history."""

    service_object_name = ""
    create_service: Any = None
    update_service: Any = None
    delete_service: Any = None

    def perform_create(self, serializer: Any) -> None:
        obj = serializer.Meta.model(**serializer.validated_data)
        with adding_where_seen(), unseen_ids_first(serializer):
            serializer.instance = type(self).create_service(actor=self.request.user, **{self.service_object_name: obj})

    def perform_update(self, serializer: Any) -> None:
        obj = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(obj, field, value)
        with unseen_ids_first(serializer):
            serializer.instance = type(self).update_service(actor=self.request.user, **{self.service_object_name: obj})

    def perform_destroy(self, instance: Any) -> None:
        type(self).delete_service(actor=self.request.user, **{self.service_object_name: instance})


class PbxUserViewSet(ServicedViewSet):
    """PBX users with their line settings and numbers. Creating, changing and deleting run the same
    services as the admin: the same checks, the same jobs to the PBX, the same history. A user's
    external numbers are under it: `numbers/`, `numbers/assign/`, `numbers/release/`."""

    serializer_class = serializers.PbxUserSerializer
    lists_ids_only = True
    selector = staticmethod(selectors.pbx_users_for)
    filter_backends = [ScopedFilters, IndexedUserSearch]
    search_fields = list(USER_COLUMNS)
    filter_ids = ("tenant", "entity", "template")
    filter_values = ("sync_state", "internal_number", "username")
    service_object_name = "user"
    create_service = user_services.pbx_user_create
    update_service = user_services.pbx_user_update
    delete_service = user_services.pbx_user_delete

    def perform_create(self, serializer: Any) -> None:
        super().perform_create(serializer)
        # A user made this instant holds no numbers (a number is assigned to a user that exists): the
        # answer lists none without asking the database (the prefetch cache DRF's own update resets).
        serializer.instance._prefetched_objects_cache = {"phone_numbers": PhoneNumber.objects.none()}

    # --- the user's external numbers (DDI): /pbx-users/{id}/numbers/ ------------------------------

    def _numbers_of(self, user_id: int) -> Response:
        user = self.get_queryset().get(pk=user_id)  # read again: the numbers as they are now
        return Response(serializers_numbers.PbxUserNumbersSerializer(user).data)

    def _number_given(self, request: Request) -> Any:
        """The number in the body, one the login sees (another organization's reads as missing)."""
        given = serializers_numbers.NumberReferenceSerializer(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        return given.validated_data["number"]

    @extend_schema(responses=serializers_numbers.PbxUserNumbersSerializer)
    @action(detail=True, methods=["get"])
    def numbers(self, request: Request, pk: str | None = None) -> Response:
        """The external numbers (DDI) the user holds."""
        return Response(serializers_numbers.PbxUserNumbersSerializer(self.get_object()).data)

    @extend_schema(
        request=serializers_numbers.NumberReferenceSerializer, responses=serializers_numbers.PbxUserNumbersSerializer
    )
    @action(detail=True, methods=["post"], url_path="numbers/assign", url_name="numbers-assign")
    @idempotent
    def assign_number(self, request: Request, pk: str | None = None) -> Response:
        """Give the user one of its tenant's free numbers (a push to the PBX); answers its numbers."""
        user = self.get_object()
        user_services.pbx_user_assign_number(actor=request.user, user=user, number=self._number_given(request))
        return self._numbers_of(user.pk)

    @extend_schema(
        request=serializers_numbers.NumberReferenceSerializer, responses=serializers_numbers.PbxUserNumbersSerializer
    )
    @action(detail=True, methods=["post"], url_path="numbers/release", url_name="numbers-release")
    @idempotent
    def release_number(self, request: Request, pk: str | None = None) -> Response:
        """Take a number off the user: back to the tenant's free numbers (a push to the PBX); answers
        its numbers."""
        user = self.get_object()
        user_services.pbx_user_release_number(actor=request.user, user=user, number=self._number_given(request))
        return self._numbers_of(user.pk)


class JobViewSet(ScopedReadViewSet):
    """Provisioning jobs: what was pushed to which PBX, and how it went. Retry and cancel are the
    admin's actions, with the same rules."""

    serializer_class = serializers.JobSerializer
    lists_ids_only = True
    selector = staticmethod(selectors.jobs_for)
    filter_backends = [ScopedFilters, IndexedColumnsSearch]
    search_fields = list(JOB_TEXT.columns)
    searched_columns = JOB_TEXT
    filter_ids = ("tenant", "server", "batch")
    filter_values = ("status", "operation")

    def get_serializer_class(self) -> type:
        return serializers.JobDetailSerializer if self.action == "retrieve" else serializers.JobSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset.prefetch_related("attempt_log") if self.action == "retrieve" else queryset

    @extend_schema(request=None, responses=serializers.JobSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        job = job_services.job_retry(actor=request.user, job=self.get_object())
        return Response(self.get_serializer(job).data)

    @extend_schema(request=None, responses=serializers.JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = job_services.job_cancel(actor=request.user, job=self.get_object())
        return Response(self.get_serializer(job).data)

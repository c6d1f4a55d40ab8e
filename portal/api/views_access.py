"""Who reaches what: platforms and servers (read only, never a secret), memberships (administrators
give, change and take roles through tenants.services) and entity administrators (granted and
withdrawn through telephony.services.tenants). Reads are the scoped selectors; writes the services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import serializers_access as serializers
from portal.api.views import ScopedReadViewSet, ServicedViewSet
from telephony import selectors_api_access as selectors
from telephony.models import Entity
from telephony.services import tenants as tenant_services
from tenants import access
from tenants import services as tenant_tree_services


class PlatformViewSet(ScopedReadViewSet):
    """Platforms (management APIs) you may see, with how their last connection test went. Their
    credentials and full address are never part of an answer."""

    serializer_class = serializers.PlatformSerializer
    selector = staticmethod(selectors.platforms_for)
    search_fields = ["name"]
    filter_ids = ("organization",)
    filter_values = ("kind",)


class ServerViewSet(ScopedReadViewSet):
    """Servers (PBXs) behind the platforms you may see, with their capacity, the free line slots the
    platform last reported and the number of their tenants you may see."""

    serializer_class = serializers.ServerSerializer
    lists_ids_only = True  # the platform by id: not read (nor its secrets decrypted) for each server
    selector = staticmethod(selectors.servers_for)
    search_fields = ["name", "host"]
    filter_ids = ("platform",)


class MembershipViewSet(ServicedViewSet):
    """Roles of portal logins in organizations. Giving, changing and taking a role is an
    administrator's act, with the same checks and history as the admin."""

    serializer_class = serializers.MembershipSerializer
    selector = staticmethod(selectors.memberships_for)
    search_fields = ["user__username", "organization__name"]
    filter_ids = ("organization", "user")
    filter_values = ("role",)
    service_object_name = "membership"
    create_service = tenant_tree_services.membership_create
    update_service = tenant_tree_services.membership_update
    delete_service = tenant_tree_services.membership_delete

    def get_serializer_class(self) -> type:
        if self.action in ("update", "partial_update"):
            return serializers.MembershipUpdateSerializer
        return serializers.MembershipSerializer


class EntityGrantViewSet(ScopedReadViewSet):
    """Entity administrators: logins that manage only one entity's users and numbers. One row per
    entity you may see (its id is the entity's), with its administrators; `grant` and `revoke` add
    or withdraw one login, which only an administrator of the entity's customer may do."""

    serializer_class = serializers.EntityGrantsSerializer
    selector = staticmethod(selectors.entity_grants_for)
    search_fields = ["name", "display_name"]
    filter_ids = ("tenant",)

    @extend_schema(request=serializers.EntityGrantChangeSerializer, responses=serializers.EntityGrantsSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request: Request, pk: str | None = None) -> Response:
        entity, login = self._entity_and_login(request)
        current = list(entity.administrators.all())
        if login.pk in {held.pk for held in current}:
            raise ValidationError({"user": [_("This login already administers this entity.")]})
        tenant_services.entity_set_administrators(actor=request.user, entity=entity, administrators=[*current, login])
        return self._answer(entity)

    @extend_schema(request=serializers.EntityGrantChangeSerializer, responses=serializers.EntityGrantsSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        entity, login = self._entity_and_login(request)
        current = list(entity.administrators.all())
        if login.pk not in {held.pk for held in current}:
            raise ValidationError({"user": [_("This login does not administer this entity.")]})
        kept = [held for held in current if held.pk != login.pk]
        tenant_services.entity_set_administrators(actor=request.user, entity=entity, administrators=kept)
        return self._answer(entity)

    def _entity_and_login(self, request: Request) -> tuple[Entity, Any]:
        entity = self.get_object()  # outside the scope: 404; seen but not changeable: 403
        if not access.administers(request.user, entity.tenant.organization):
            raise PermissionDenied(
                _("Only an administrator of the customer may grant or remove entity administrators.")
            )
        body = serializers.EntityGrantChangeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return entity, body.validated_data["user"]

    def _answer(self, entity: Entity) -> Response:
        fresh = self.get_queryset().get(pk=entity.pk)
        return Response(self.get_serializer(fresh).data)

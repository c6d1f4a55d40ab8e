"""How each resource reads and is written. Related objects given by id are looked up within what
the login may see (a foreign id reads as one that does not exist); writes are checked by the
services, whose messages come back field by field."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from telephony import selectors_api as selectors
from telephony.models import Entity, LineTemplate, PbxUser, ProvisioningJob, Tenant
from tenants.models import Organization


@extend_schema_field(OpenApiTypes.INT)  # an id, whether or not the serializer has a model to tell
class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of an object the login may see; any other id is "does not exist", never "not yours"."""

    def __init__(self, selector: Any = None, **kwargs: Any):
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Organization.objects.none()
        return self.selector(request.user).select_related(None).prefetch_related(None)  # one id: no extras


class OrganizationSerializer(serializers.ModelSerializer):
    parent = serializers.SerializerMethodField(
        help_text=gettext_lazy("The id of the organization above it (null at the top).")
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "parent"]

    def get_parent(self, organization: Organization) -> int | None:
        parent_path = organization.path[: -Organization.steplen]
        return self.context.get("parents", {}).get(parent_path) if parent_path else None


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "organization", "server", "name", "label", "licences", "status", "sync_state", "verified_at"]
        read_only_fields = fields


class EntitySerializer(serializers.ModelSerializer):
    number_plan = serializers.SerializerMethodField(
        help_text=gettext_lazy("The entity's internal number ranges, e.g. 2000-2099.")
    )

    class Meta:
        model = Entity
        fields = ["id", "tenant", "name", "display_name", "presented_number", "number_plan", "sync_state"]
        read_only_fields = fields

    def get_number_plan(self, entity: Entity) -> list[str]:
        return [f"{i.start}-{i.end}" if i.end != i.start else i.start for i in entity.intervals.all()]


class LineTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = LineTemplate
        fields = ["id", "organization", "name", "sync_state"]
        read_only_fields = fields


class PbxUserSerializer(serializers.ModelSerializer):
    tenant = ScopedRelatedField(selectors.tenants_for, help_text=gettext_lazy("A tenant the login may see."))
    entity = ScopedRelatedField(selectors.entities_for, help_text=gettext_lazy("An entity of the tenant."))
    template = ScopedRelatedField(
        selectors.line_templates_for, help_text=gettext_lazy("A line template available to the tenant.")
    )
    numbers = serializers.SerializerMethodField(help_text=gettext_lazy("The external numbers (DDI) the user holds."))

    class Meta:
        model = PbxUser
        fields = [
            "id",
            "tenant",
            "entity",
            "internal_number",
            "template",
            "username",
            "first_name",
            "last_name",
            "display_name",
            "email",
            "mobile_number",
            "voicemail_enabled",
            "forward_always",
            "forward_busy",
            "forward_no_answer",
            "forward_no_answer_timeout",
            "numbers",
            "sync_state",
            "sync_message",
            "verified_at",
        ]
        read_only_fields = ["id", "numbers", "sync_state", "sync_message", "verified_at"]
        # No unique-together validators of DRF's own: the services check a number or a username
        # taken in the tenant (with the tenant locked) and say so in their words, under the field;
        # DRF's would read the same rows again first (2 queries a write) and answer in other words.
        validators: list[Any] = []

    def get_numbers(self, user: PbxUser) -> list[str]:
        return [number.number for number in user.phone_numbers.all()]


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProvisioningJob
        fields = [
            "id",
            "operation",
            "target_label",
            "tenant",
            "server",
            "batch",
            "status",
            "attempts",
            "max_attempts",
            "waiting_for",
            "last_error",
            "error_kind",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

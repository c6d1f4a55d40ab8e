"""How each resource reads and is written. Related objects given by id are looked up within what
the login may see (a foreign id reads as one that does not exist); writes are checked by the
services, whose messages come back field by field."""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from telephony import selectors_api as selectors
from telephony.models import Entity, JobAttempt, LineTemplate, PbxUser, ProvisioningJob, Tenant
from telephony.models.fields import InternationalEmailField
from tenants.choices import choice_label
from tenants.models import Organization


class ChoiceLabelField(serializers.CharField):
    """A choice field's label in the request's language, as `get_<field>_display` gives it, without
    building the field's choices (and translating every label) again for each row of a list."""

    def __init__(self, choice_field: str, **kwargs: Any):
        self.choice_field = choice_field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return choice_label(value, self.choice_field)


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


@extend_schema_field(OpenApiTypes.INT)
class ScopedIdField(ScopedRelatedField):
    """As ScopedRelatedField, for a serializer that hands ids to a service which reads and checks
    the rows itself (IdsCheckedOnRefusal): the id is looked up only if the service refuses."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(str(data))
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not MIN_ID <= pk <= MAX_ID:
            self.fail("does_not_exist", pk_value=pk)
        self.parent.given_ids[self.field_name] = pk
        return pk


MIN_ID, MAX_ID = 1, 2**63 - 1  # what a primary key column holds: beyond it, no row and no overflow


class PortalModelSerializer(serializers.ModelSerializer):
    """A model serializer that checks a field by the model's own rules where DRF would add rules of
    its own: an e-mail address is the model's (letters of any script, as the forms and the CSV
    import take), not also DRF's stricter EmailField, which refused those and said each error twice."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        InternationalEmailField: serializers.CharField,
    }


class FieldsBuiltOnce(PortalModelSerializer):
    """DRF builds a model serializer's fields from the model's on every instance, which is every
    request; these are built once per class and then copied, as DRF copies its declared fields."""

    def get_fields(self) -> dict[str, serializers.Field]:
        built = type(self).__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            type(self)._fields_built = built
        return {name: _fresh(field) for name, field in built.items()}


def _fresh(field: serializers.Field) -> serializers.Field:
    """A field of its own for this serializer: a shallow copy (binding sets only its own attributes),
    unless the field holds others (a list's child, a nested serializer) bound to it."""
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return copy.deepcopy(field)
    return copy.copy(field)


class IdsCheckedOnRefusal(FieldsBuiltOnce):
    """Gives the ids of its ScopedIdFields to the model as `<field>_id`, unchecked: its service
    reads those rows itself and refuses what the login may not use, inside the transaction it rolls
    back. A service that accepts has seen them all in the login's scope. When it refuses, the view
    calls `refuse_unseen_ids()` first, so an id the login cannot see is answered as a missing one
    is, never in the service's words (which could tell that it exists). Looking the ids up before
    the service as well would read each row twice on every write that succeeds."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        self.given_ids: dict[str, int] = {}
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as refused:  # the unseen ids are named with the rest
            raise serializers.ValidationError({**self._unseen_ids(), **refused.detail}) from None
        for name in self.given_ids:
            if name in values:
                values[self.fields[name].source + "_id"] = values.pop(name)
        return values

    def refuse_unseen_ids(self) -> None:
        """Raises "does not exist" under every field whose id the login cannot see."""
        unseen = self._unseen_ids()
        if unseen:
            raise serializers.ValidationError(unseen)

    def _unseen_ids(self) -> dict[str, list[str]]:
        return {
            name: [self.fields[name].error_messages["does_not_exist"].format(pk_value=pk)]
            for name, pk in getattr(self, "given_ids", {}).items()
            if not self.fields[name].get_queryset().filter(pk=pk).exists()
        }


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


class PbxUserSerializer(IdsCheckedOnRefusal):
    tenant = ScopedIdField(selectors.tenants_for, help_text=gettext_lazy("A tenant the login may see."))
    entity = ScopedIdField(selectors.entities_for, help_text=gettext_lazy("An entity of the tenant."))
    template = ScopedIdField(
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


class JobAttemptSerializer(serializers.ModelSerializer):
    calls = serializers.IntegerField(
        source="calls_made", read_only=True, help_text=gettext_lazy("The calls this attempt made to the backend.")
    )

    class Meta:
        model = JobAttempt
        fields = ["number", "started_at", "finished_at", "outcome", "error", "calls"]
        read_only_fields = fields


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


class JobDetailSerializer(JobSerializer):
    """A job with its attempts and the backend calls they made (the list leaves them out)."""

    backend_calls = serializers.SerializerMethodField(help_text=gettext_lazy("The calls all its attempts made."))
    attempt_log = JobAttemptSerializer(many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "backend_calls", "attempt_log"]
        read_only_fields = fields

    def get_backend_calls(self, job: ProvisioningJob) -> int:
        return sum(attempt.calls_made for attempt in job.attempt_log.all())

"""How phone numbers, their pools and a user's numbers read, and what the range actions take and
answer. Ids in a body are looked up within what the login may see (a foreign id reads as one that
does not exist); everything else is checked by the services, whose messages come back field by field."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import ScopedRelatedField
from telephony import selectors_api as selectors
from telephony import selectors_api_numbers as number_selectors
from telephony.models import PbxUser, PhoneNumber
from telephony.services.number_ranges import RANGE_LIMIT
from tenants.models import Organization

ID_LIMIT = 500  # ids in one release (each is looked up); a range for more

RANGE_TEXT = gettext_lazy(
    "A range such as +31 20 123 4500 – 4599 (the end may be just its last digits) or "
    "+31201234500 - +31201234599; or a first number and a count."
)


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(ScopedRelatedField):
    """The id (an integer) of an object the login may see; any other id is "does not exist"."""


def status_of(number: PhoneNumber) -> str:
    if number.assigned_user_id:
        return "assigned"
    return "allocated" if number.tenant_id else "free"


class PhoneNumberSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField(
        help_text=gettext_lazy("free (in the pool), allocated (to a tenant, on no user) or assigned (to a user).")
    )

    class Meta:
        model = PhoneNumber
        fields = [
            "id",
            "number",
            "organization",
            "tenant",
            "assigned_user",
            "is_pilot",
            "label",
            "status",
            "sync_state",
            "sync_message",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"organization": {"help_text": gettext_lazy("The organization whose pool holds the number.")}}

    def get_status(self, number: PhoneNumber) -> str:
        return status_of(number)


class NumberPoolSerializer(serializers.ModelSerializer):
    """An organization's pool: how many of the numbers the login sees are free, allocated, assigned."""

    free = serializers.SerializerMethodField(help_text=gettext_lazy("Numbers in the pool, on no tenant."))
    allocated = serializers.SerializerMethodField(help_text=gettext_lazy("Numbers allocated to a tenant, on no user."))
    assigned = serializers.SerializerMethodField(help_text=gettext_lazy("Numbers assigned to a user."))
    total = serializers.SerializerMethodField(help_text=gettext_lazy("Every number of the pool."))

    class Meta:
        model = Organization
        fields = ["id", "name", "free", "allocated", "assigned", "total"]
        read_only_fields = fields

    def _use(self, organization: Organization) -> Any:
        return self.context.get("pool_use", {}).get(organization.pk)

    def get_free(self, organization: Organization) -> int:
        use = self._use(organization)
        return use.free if use else 0

    def get_allocated(self, organization: Organization) -> int:
        use = self._use(organization)
        return use.allocated if use else 0

    def get_assigned(self, organization: Organization) -> int:
        use = self._use(organization)
        return use.assigned if use else 0

    def get_total(self, organization: Organization) -> int:
        use = self._use(organization)
        return use.total if use else 0


class HeldNumberSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhoneNumber
        fields = ["id", "number", "is_pilot", "label"]
        read_only_fields = fields


class PbxUserNumbersSerializer(serializers.ModelSerializer):
    """A PBX user's external numbers (DDI): what `/pbx-users/{id}/numbers/` and its `assign` and
    `release` answer."""

    user = serializers.IntegerField(source="pk", read_only=True)
    numbers = HeldNumberSerializer(source="phone_numbers", many=True, read_only=True)

    class Meta:
        model = PbxUser
        fields = ["user", "numbers"]
        read_only_fields = fields


# --- what the actions take ----------------------------------------------------------------------


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class NumberReferenceField(serializers.Field):
    """A number given by its id (an integer) or by its digits (a string: +31 20 123 4567)."""

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            raise serializers.ValidationError(_("A number's id or the number itself, e.g. +31 20 123 4567."))
        if isinstance(data, str):
            data = data.strip()[:40]
            if not data:
                raise serializers.ValidationError(_("A number's id or the number itself, e.g. +31 20 123 4567."))
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class NumberReferenceSerializer(serializers.Serializer):
    number = NumberReferenceField(
        help_text=gettext_lazy("The number's id, or the number itself (+31 20 123 4567): one the login sees.")
    )

    def validate_number(self, reference: int | str) -> PhoneNumber:
        found = number_selectors.phone_number_by_id_or_text(self.context["request"].user, reference)
        if found is None:
            raise serializers.ValidationError(_("%(number)s is not one of your numbers.") % {"number": reference})
        return found


class RangeAddSerializer(serializers.Serializer):
    organization = ScopedRelatedField(
        selectors.organizations_for, help_text=gettext_lazy("The organization whose pool the numbers join.")
    )
    numbers = serializers.CharField(max_length=80, help_text=RANGE_TEXT)
    count = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=RANGE_LIMIT,
        help_text=gettext_lazy("With a first number only: how many numbers from it."),
    )
    tenant = ScopedRelatedField(
        selectors.tenants_for,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("Optional: a tenant to allocate them to at once."),
    )
    label = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text=gettext_lazy("Given to every number.")
    )


class AllocateSerializer(serializers.Serializer):
    organization = ScopedRelatedField(
        selectors.organizations_for, help_text=gettext_lazy("The organization whose pool the numbers come from.")
    )
    tenant = ScopedRelatedField(selectors.tenants_for, help_text=gettext_lazy("The tenant to allocate them to."))
    numbers = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("A range of the pool, e.g. +31 20 123 4500 – 4549; empty: the lowest free numbers."),
    )
    count = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=RANGE_LIMIT,
        help_text=gettext_lazy("How many free numbers (inside the range, when one is given)."),
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("numbers") and not data.get("count"):
            raise serializers.ValidationError({"count": _("Give a range of the pool or how many numbers to allocate.")})
        return data


class ReleaseSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=ID_LIMIT,
        help_text=gettext_lazy("The ids of the numbers to release (at most 500; a range for more)."),
    )
    numbers = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("Or a range: every number of it that the login sees, e.g. +31 20 123 4500 – 4549."),
    )
    to_pool = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy(
            "false: off their users only (back to the tenant's free numbers); true: off their tenant too (back "
            "to the pool; the pool's managers only)."
        ),
    )

    def validate_ids(self, ids: list[int]) -> list[PhoneNumber]:
        """The numbers of these ids the login sees (in one query); another one is "no such id"."""
        found = {n.pk: n for n in number_selectors.phone_numbers_for(self.context["request"].user).filter(pk__in=ids)}
        unknown = [pk for pk in dict.fromkeys(ids) if pk not in found]
        if unknown:
            raise serializers.ValidationError([_("No number has the id %(id)s.") % {"id": pk} for pk in unknown[:10]])
        return list(found.values())

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("ids") and data.get("numbers"):
            raise serializers.ValidationError({"numbers": _("Give either the numbers' ids or a range, not both.")})
        if not data.get("ids") and not data.get("numbers"):
            raise serializers.ValidationError({"ids": _("Give the numbers to release: their ids or a range.")})
        return data


# --- what the actions answer (for the schema) ---------------------------------------------------


class RangeAddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text=gettext_lazy("How many numbers were added."))
    range = serializers.CharField()
    first = serializers.CharField()
    last = serializers.CharField()
    organization = serializers.IntegerField()
    tenant = serializers.IntegerField(allow_null=True)


class AllocatedSerializer(serializers.Serializer):
    allocated = serializers.IntegerField(help_text=gettext_lazy("How many numbers were allocated."))
    numbers = serializers.ListField(child=serializers.CharField())
    organization = serializers.IntegerField()
    tenant = serializers.IntegerField()


class ReleasedSerializer(serializers.Serializer):
    from_users = serializers.IntegerField(help_text=gettext_lazy("Numbers taken off their users (each a push)."))
    to_pool = serializers.IntegerField(help_text=gettext_lazy("Numbers back in their pool."))
    numbers = serializers.ListField(
        child=serializers.CharField(), help_text=gettext_lazy("The numbers that were released.")
    )

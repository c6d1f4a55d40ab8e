"""How drift scans and their findings read, and what a scan request and a repair take and answer. Ids
in a body are looked up within what the login may see (a foreign id reads as one that does not
exist); everything else is checked by the drift services, whose messages come back field by field."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.serializers import ScopedRelatedField
from telephony import selectors_api as selectors
from telephony import selectors_api_access as access_selectors
from telephony.models import DriftFinding, DriftScan


class FindingCountSerializer(serializers.Serializer):
    open = serializers.IntegerField()
    resolved = serializers.IntegerField()


class DriftScanSerializer(serializers.ModelSerializer):
    open_findings = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Findings of this scan you may see that no repair has dealt with yet.")
    )

    class Meta:
        model = DriftScan
        fields = [
            "id",
            "server",
            "tenant",
            "trigger",
            "requested_by",
            "status",
            "started_at",
            "finished_at",
            "checked",
            "counts",
            "open_findings",
            "held_back",
            "confirmed_by",
            "confirmed_at",
            "error",
        ]
        read_only_fields = fields


class DriftScanDetailSerializer(DriftScanSerializer):
    """A scan with its findings summed up by kind (those the login may see)."""

    findings = serializers.SerializerMethodField(
        help_text=gettext_lazy("By kind of finding: how many are open and how many resolved.")
    )

    class Meta(DriftScanSerializer.Meta):
        fields = [*DriftScanSerializer.Meta.fields, "findings"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=FindingCountSerializer()))
    def get_findings(self, scan: DriftScan) -> dict[str, dict[str, int]]:
        return self.context.get("summary", {})


class DriftFindingSerializer(serializers.ModelSerializer):
    server = serializers.IntegerField(source="scan.server_id", read_only=True)

    class Meta:
        model = DriftFinding
        fields = [
            "id",
            "scan",
            "server",
            "tenant",
            "kind",
            "object_kind",
            "target_id",
            "label",
            "differences",
            "observed",
            "resolved_at",
            "resolution",
        ]
        read_only_fields = fields


# --- what the actions take ----------------------------------------------------------------------


class ScanRequestSerializer(serializers.Serializer):
    server = ScopedRelatedField(access_selectors.servers_for)
    tenant = ScopedRelatedField(selectors.tenants_for, required=False, allow_null=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        tenant = data.get("tenant")
        if tenant is not None and tenant.server_id != data["server"].pk:
            raise serializers.ValidationError({"tenant": [_("This tenant is not on that server.")]})
        return data


class RepairSerializer(serializers.Serializer):
    confirmed = serializers.BooleanField(required=False, default=False)


class AdoptSerializer(RepairSerializer):
    entity = ScopedRelatedField(selectors.entities_for)
    template = ScopedRelatedField(selectors.line_templates_for)


# --- what the actions answer (for the schema) ---------------------------------------------------


class ScanRequestedSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    server = serializers.IntegerField()
    tenant = serializers.IntegerField(allow_null=True)


class AdoptedSerializer(serializers.Serializer):
    finding = DriftFindingSerializer()
    pbx_user = serializers.IntegerField()

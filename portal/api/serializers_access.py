"""How platforms, servers, memberships and entity administrators read and are written. Fields are
listed one by one: a platform's secret, app key, login name and connection details are never part of
an answer."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from portal.api.serializers import ScopedRelatedField
from telephony import selectors_api as selectors
from telephony import selectors_api_access as access_selectors
from telephony.models import Entity, Platform, Server
from tenants.models import Membership


class PlatformSerializer(serializers.ModelSerializer):
    base_url_host = serializers.SerializerMethodField(
        help_text=gettext_lazy("The host name of the platform's management API (never its full address).")
    )

    class Meta:
        model = Platform
        fields = [
            "id",
            "organization",
            "name",
            "kind",
            "base_url_host",
            "is_active",
            "last_check_ok",
            "last_checked_at",
            "last_check_message",
        ]
        read_only_fields = fields

    def get_base_url_host(self, platform: Platform) -> str:
        try:
            return urlsplit(platform.base_url).hostname or ""
        except ValueError:
            return ""


class ServerSerializer(serializers.ModelSerializer):
    tenant_count = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Tenants on this server that you may see.")
    )

    class Meta:
        model = Server
        fields = [
            "id",
            "platform",
            "name",
            "host",
            "capacity_tenants",
            "capacity_users",
            "remaining_slots",
            "tenant_count",
        ]
        read_only_fields = fields


class MembershipSerializer(serializers.ModelSerializer):
    user = ScopedRelatedField(access_selectors.logins_for, help_text=gettext_lazy("A portal login you may see."))
    username = serializers.CharField(source="user.username", read_only=True)
    organization = ScopedRelatedField(
        selectors.organizations_for,
        help_text=gettext_lazy("The organization of the role; you must be one of its administrators."),
    )

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "organization", "role", "created_at"]
        read_only_fields = ["id", "username", "created_at"]
        validators = []  # one role per login and organization: the service says so, in the reader's language


class MembershipUpdateSerializer(MembershipSerializer):
    """A membership changes its role only: another login or organization is a new membership."""

    class Meta(MembershipSerializer.Meta):
        read_only_fields = ["id", "user", "username", "organization", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        for name in ("user", "organization"):
            fields[name] = serializers.PrimaryKeyRelatedField(read_only=True)
        return fields


class LoginSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class EntityGrantsSerializer(serializers.ModelSerializer):
    administrators = LoginSerializer(
        many=True,
        read_only=True,
        source="shown_administrators",
        help_text=gettext_lazy("Logins that manage only this entity's users and numbers."),
    )

    class Meta:
        model = Entity
        fields = ["id", "tenant", "name", "display_name", "administrators"]
        read_only_fields = fields


class EntityGrantChangeSerializer(serializers.Serializer):
    user = ScopedRelatedField(access_selectors.logins_for, help_text=gettext_lazy("A portal login you may see."))

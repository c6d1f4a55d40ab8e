"""The two-factor devices in the admin (django-otp's own admin classes, registered again).

Nobody browses another login's secret: `OTP_ADMIN_HIDE_SENSITIVE_DATA` keeps keys, QR codes and
backup codes off every admin page, a superuser's included (a login enrols on its own two-factor
page). A device that does not exist answers 404 everywhere, like every other object of the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice


class _MissingIs404:
    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None:
            raise Http404("No device matches the given query.")
        return obj


class PortalTOTPDeviceAdmin(_MissingIs404, TOTPDeviceAdmin):
    def config_view(self, request: HttpRequest, pk: int) -> Any:
        get_object_or_404(TOTPDevice, pk=pk)
        return super().config_view(request, pk)

    def qrcode_view(self, request: HttpRequest, pk: int) -> Any:
        get_object_or_404(TOTPDevice, pk=pk)
        return super().qrcode_view(request, pk)


class PortalStaticDeviceAdmin(_MissingIs404, StaticDeviceAdmin):
    pass


for model, model_admin in ((TOTPDevice, PortalTOTPDeviceAdmin), (StaticDevice, PortalStaticDeviceAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

"""Two-factor sign-in for staff (django-otp): who needs it, enrolment of an authenticator app with
backup codes, and verification. Views and the middleware stay thin and call these."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants import access
from tenants.models import Role

BACKUP_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
BACKUP_NAME = "Backup codes"


def requires_two_factor(user: Any) -> bool:
    """Superusers and administrators of any organization, when PORTAL_REQUIRE_2FA is on."""
    if not settings.PORTAL_REQUIRE_2FA or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or any(role == Role.ADMIN for _path, role in access.memberships(user)))


ENROLLED_SESSION_KEY = "two_factor_enrolled"


def must_verify(request: Any, user: Any) -> bool:
    """Whether this session asks for a code: the login needs two-factor sign-in, or has set it up
    (whether it has is looked up once, at sign-in, and kept in the session)."""
    return requires_two_factor(user) or bool(request.session.get(ENROLLED_SESSION_KEY))


def remember_enrolment(*, request: Any, user: Any) -> None:
    """At sign-in: note in the new session whether the login has a confirmed device."""
    if request is not None and hasattr(request, "session"):
        request.session[ENROLLED_SESSION_KEY] = is_enrolled(user)


def is_enrolled(user: Any) -> bool:
    return user_has_device(user, confirmed=True)


def pending_authenticator(user: Any) -> TOTPDevice:
    """The authenticator being enrolled: an unconfirmed device, made once and kept until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// address as an SVG QR code, inline as a data: URI (no third-party service)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def secret_for_typing(device: TOTPDevice) -> str:
    """The secret in base32, grouped by four, for apps that cannot scan."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def confirm_enrolment(*, user: Any, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the pending authenticator with a code from it; returns the device and fresh backup
    codes (shown once), or None if the code is wrong."""
    device = pending_authenticator(user)
    if not device.verify_token(token.strip().replace(" ", "")):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device, new_backup_codes(user=user)


@transaction.atomic
def new_backup_codes(*, user: Any) -> list[str]:
    """Replace the backup codes; each works once."""
    static, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_NAME, defaults={"confirmed": True})
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


def seconds_before_next_try(user: Any) -> int:
    """After wrong codes django-otp makes each device wait (1, 2, 4 … seconds) before it checks
    another; while every device waits, how long until one checks again (0: a code is checked now)."""
    waits = []
    for device in devices_for_user(user, confirmed=True):
        allowed, details = device.verify_is_allowed()
        if allowed:
            return 0
        locked_until = (details or {}).get("locked_until")
        waits.append((locked_until - timezone.now()).total_seconds() if locked_until else 1)
    return max(1, math.ceil(min(waits))) if waits else 0


def verify(*, user: Any, token: str):
    """The device that accepts the code (authenticator or a backup code), or None."""
    return match_token(user, token.strip().replace(" ", ""))


def enrolled_devices(user: Any) -> list:
    return list(devices_for_user(user, confirmed=True))

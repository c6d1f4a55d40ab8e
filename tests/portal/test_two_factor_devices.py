"""Two-factor devices in the admin: nobody, not even a superuser, sees another login's key, QR code
or backup codes, and a device that does not exist answers 404."""

from __future__ import annotations

from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.models import Role
from tests.factories import UserFactory


def test_nobody_browses_another_logins_device_secret(client, member, tree):
    victim = member(tree.reseller, Role.ADMIN)
    device = TOTPDevice.objects.create(user=victim, name="phone", confirmed=True)
    backup = StaticDevice.objects.create(user=victim, name="backup")
    StaticToken.objects.create(device=backup, token="backup-code-zz1")
    root = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(root)
    for url in (
        reverse("admin:otp_totp_totpdevice_change", args=[device.pk]),
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:otp_static_staticdevice_change", args=[backup.pk]),
    ):
        body = client.get(url).content.decode()
        assert device.key not in body and "backup-code-zz1" not in body, url
    assert client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).status_code == 200
    assert client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk])).status_code in (403, 404)
    assert client.get(reverse("admin:otp_totp_totpdevice_qrcode", args=[device.pk])).status_code in (403, 404)
    for name in (
        "otp_totp_totpdevice_change",
        "otp_totp_totpdevice_config",
        "otp_totp_totpdevice_qrcode",
        "otp_static_staticdevice_change",
    ):
        assert client.get(reverse(f"admin:{name}", args=[987654])).status_code == 404, name

"""API tokens: made, revoked and checked.

A token is `pbx_` + 8 characters of prefix + `_` + 40 random characters. The portal keeps the prefix
(to show) and a SHA-256 of the whole token (to find it): a token carries 240 random bits, so a fast
hash is enough, and the token itself is never stored or shown again after it is made."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import two_factor
from portal.api.models import ApiToken, TokenScope

MAX_DAYS = 365
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, actor: Any, name: str, scope: str, expires_at: datetime, session_verified: bool
) -> tuple[ApiToken, str]:
    """A new token of the actor's own login; returns it and the token text, shown once. Logins that
    must sign in with a second factor make tokens only from a session that did."""
    if two_factor.requires_two_factor(actor) and not session_verified:
        raise PermissionDenied(_("Sign in with your second factor before making an API token."))
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the token a name, so that you know later what uses it.")
    elif len(name) > 100:
        errors["name"] = _("A name of at most 100 characters.")
    elif ApiToken.objects.filter(user=actor, name=name, revoked_at__isnull=True).exists():
        errors["name"] = _("You have a token of that name already.")
    if scope not in TokenScope.values:
        errors["scope"] = _("Choose read only, or read and write.")
    now = timezone.now()
    if expires_at <= now:
        errors["expires_at"] = _("The expiry must be in the future.")
    elif expires_at > now + timedelta(days=MAX_DAYS):
        errors["expires_at"] = _("A token lives at most %(days)s days.") % {"days": MAX_DAYS}
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(4)
    raw = f"pbx_{prefix}_{secrets.token_urlsafe(30)}"
    token = ApiToken.objects.create(
        user=actor, name=name, scope=scope, prefix=f"pbx_{prefix}", key_hash=_hash(raw), expires_at=expires_at
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """The token stops working at once. A login revokes its own; a superuser any."""
    if token.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("This token is not yours to revoke."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_for(raw: str) -> ApiToken | None:
    """The live token this text is, or None (unknown, revoked, expired, or its login inactive)."""
    if not raw.startswith("pbx_") or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(raw)).first()
    if token is None or not token.is_live or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def tokens_of(user: Any):
    """The login's tokens, live ones first."""
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")

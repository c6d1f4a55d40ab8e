"""Authentication backends of the portal."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginProtectionBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every login made through a web request.

    Logins without a request (the shell, a management command, the test client's `login()`) never
    come from an attacker on the network; they go straight to the next backend instead of raising.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request) -> str | None:
    """The address a request came from, for login protection.

    With TRUSTED_PROXY_COUNT = N proxies in front, each appends the address it received the
    request from to X-Forwarded-For, so the client is the Nth entry from the right; anything further
    left was written by the client and is not trusted. Without proxies: REMOTE_ADDR.
    """
    import ipaddress

    from django.conf import settings

    count = settings.TRUSTED_PROXY_COUNT
    candidate = request.META.get("REMOTE_ADDR")
    if count > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None

"""What the API keeps: its tokens, and the answers given to requests made with an Idempotency-Key."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy


class TokenScope(models.TextChoices):
    READ = "read", gettext_lazy("Read only")
    READ_WRITE = "read_write", gettext_lazy("Read and write")


class ApiToken(models.Model):
    """A login's key to the REST API: named, read-only or read-write, valid until it expires or is
    revoked. Only a hash of the token is kept (`prefix` is its first characters, shown so that its
    owner recognises it); the token itself is shown once, when it is made. It acts with exactly the
    rights of its login (`portal.api.tokens`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("login"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=100)
    scope = models.CharField(verbose_name=gettext_lazy("scope"), max_length=20, choices=TokenScope.choices)
    prefix = models.CharField(verbose_name=gettext_lazy("starts with"), max_length=16)
    key_hash = models.CharField(verbose_name=gettext_lazy("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(verbose_name=gettext_lazy("expires at"))
    last_used_at = models.DateTimeField(verbose_name=gettext_lazy("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(verbose_name=gettext_lazy("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("API token")
        verbose_name_plural = gettext_lazy("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_live_of_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class IdempotentRequest(models.Model):
    """A POST made with an `Idempotency-Key`, and the answer it got: a retry with the same key gets
    the same answer instead of making a second object. `status_code` is empty while the first request
    is still being answered; `fingerprint` tells a retry from another request reusing the key."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("login"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(verbose_name=gettext_lazy("key"), max_length=200)
    method = models.CharField(verbose_name=gettext_lazy("method"), max_length=10)
    path = models.CharField(verbose_name=gettext_lazy("path"), max_length=300)
    fingerprint = models.CharField(verbose_name=gettext_lazy("fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(verbose_name=gettext_lazy("status code"), null=True)
    response = models.JSONField(verbose_name=gettext_lazy("response"), null=True)
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("idempotent request")
        verbose_name_plural = gettext_lazy("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_login")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

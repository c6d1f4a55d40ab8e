"""Which portal row holds which backend object: no two rows may ever point at one PBX object."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy

from .platforms import Platform

CLAIM_KINDS = ("tenant", "entity", "template", "user")


class BackendClaim(models.Model):
    """One backend object, held by one portal row (a tenant, an entity, a line template's mirror on a
    platform, a PBX user). The object is named by its driver's canonical key on that platform; the
    unique constraint is what finally stops two rows from claiming one object, even when two
    workers race for it. A claim outlives its row until the row's delete has reached the PBX, so
    that nobody takes over an object that is still on its way out."""

    platform = models.ForeignKey(
        Platform, verbose_name=gettext_lazy("platform"), on_delete=models.CASCADE, related_name="claims"
    )
    kind = models.CharField(
        verbose_name=gettext_lazy("kind"), max_length=20, choices=[(kind, kind) for kind in CLAIM_KINDS]
    )
    key = models.CharField(
        verbose_name=gettext_lazy("key"),
        max_length=255,
        help_text=gettext_lazy("The driver's canonical key of the backend object."),
    )
    target_type = models.ForeignKey(ContentType, verbose_name=gettext_lazy("target type"), on_delete=models.PROTECT)
    target_id = models.BigIntegerField(verbose_name=gettext_lazy("target id"))
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("backend claim")
        verbose_name_plural = gettext_lazy("backend claims")
        constraints = [
            models.UniqueConstraint(fields=["platform", "kind", "key"], name="backend_object_claimed_once"),
            models.UniqueConstraint(
                fields=["platform", "kind", "target_type", "target_id"], name="backend_claim_one_object_per_row"
            ),
        ]
        indexes = [models.Index(fields=["target_type", "target_id"], name="claim_target")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} on {self.platform_id} → {self.target_type_id}:{self.target_id}"

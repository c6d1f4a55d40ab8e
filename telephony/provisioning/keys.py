"""How jobs name their target: "model:pk" (indexed on every job, unlike the generic relation)."""

from __future__ import annotations

from django.db import models


def target_key(obj: models.Model) -> str:
    return f"{obj._meta.model_name}:{obj.pk}"

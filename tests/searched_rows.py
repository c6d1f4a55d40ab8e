"""Rows whose searched columns hold hostile and awkward words (quotes, LIKE's wildcards, template
and HTML syntax, letters beyond ASCII): a PBX user, a number, a job and an audit entry per word, for
the tests that compare a list's search with Django's or DRF's own."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from telephony.models import PbxUser, ProvisioningJob
from tests.factories import EntityFactory, PbxUserFactory, PhoneNumberFactory, UserFactory

WORDS = ["Zwanenburg", "O'Neill", 'Quote"d', "Per%cent", "under_score", "Müller", "{{ x }}", "<img onerror=1>"]


def build_searched_rows() -> None:
    entity = EntityFactory(intervals=[("1000", "1999")])
    user_type = ContentType.objects.get_for_model(PbxUser)
    actors = [UserFactory(username=f"actor-{word.lower()[:20]}") for word in WORDS[:3]]
    for index, word in enumerate(WORDS):
        user = PbxUserFactory(entity=entity, last_name=word, internal_number=str(1100 + index))
        PhoneNumberFactory(
            organization=entity.tenant.organization,
            tenant=entity.tenant if index % 2 else None,
            assigned_user=user if index % 2 else None,
            label=WORDS[-1 - index] if index % 3 == 0 else "",
        )
        ProvisioningJob.objects.create(
            target_type=user_type, target_id=user.pk, target_key=f"pbxuser:{user.pk}", target_label=f"{word} line",
            operation="user.create" if index % 2 else "user.update", last_error="timeout" if index % 4 == 1 else "",
        )  # fmt: skip
        LogEntry.objects.create(
            content_type=user_type, object_pk=str(user.pk), object_id=user.pk, object_repr=f"{word} desk",
            action=LogEntry.Action.UPDATE, cid=f"req-{word}" if index % 2 else None, actor=actors[index % 3],
        )  # fmt: skip

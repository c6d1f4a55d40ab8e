"""The matching rules on their own, free of I/O: one outcome per row, then every unclaimed object."""

from __future__ import annotations

from telephony.drift.matching import VERIFIED, Row, Seen, match
from telephony.models import FindingKind


def row(pk, key, *names):
    return Row("user", 1, pk, 1, f"row {pk}", key, spec=f"spec {pk}", names=names)


def seen(key, *names, state="same"):
    return Seen("user", key, state=state, label=key, names=names)


def differences(r, obj):
    return [] if obj.state == "same" else ["last_name"]


def kinds(outcomes):
    return sorted((o.kind, o.row.pk if o.row else None, o.seen.key if o.seen else None) for o in outcomes)


def test_each_kind_once():
    rows = [row(1, "k1", "ada"), row(2, "k2", "bob"), row(3, "k3", "cy"), row(4, "k4", "dee"), row(5, "k1")]
    objects = [seen("k1"), seen("k2", state="changed"), seen("k9", "cy"), seen("k8", "eve"), seen("k7", "fay")]
    outcomes = list(match(rows, objects, differences, claimed={("user", "k7")}))
    assert kinds(outcomes) == sorted(
        [
            (VERIFIED, 1, "k1"),
            (FindingKind.DIFFERS, 2, "k2"),
            (FindingKind.DANGLING, 3, "k9"),  # gone, but an unclaimed object bears its name
            (FindingKind.MISSING, 4, None),
            (FindingKind.DUPLICATE, 5, "k1"),
            (FindingKind.UNMANAGED, None, "k8"),  # k7 is being pushed for a row right now
        ]
    )


def test_an_object_taken_as_dangling_is_not_also_unmanaged():
    outcomes = list(match([row(1, "gone", "ada")], [seen("new", "ada")], differences))
    assert kinds(outcomes) == [(FindingKind.DANGLING, 1, "new")]

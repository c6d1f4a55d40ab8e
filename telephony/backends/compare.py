"""How a driver tells what the PBX holds otherwise than the portal asks: the fields of a user or an
entity compared as the driver writes them, only those its platform keeps and its read-back tells.
A driver whose platform stores a value differently (a name in one field, busy calls folded into
no-answer) overrides what it must."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the specs live in base, which builds its Driver on this mixin
    from telephony.backends.base import EntitySpec, ForwardingSpec, UserSpec, UserState
    from telephony.backends.capabilities import Capabilities


@dataclass(frozen=True)
class Difference:
    """One field the PBX holds otherwise than the portal: the portal's value and the PBX's."""

    field: str
    portal: Any
    pbx: Any


class ReadBackComparison:
    """Mixin of every driver: differences between a spec and what was read back."""

    features: Capabilities

    def user_differences(self, spec: UserSpec, state: UserState) -> list[Difference]:
        """Where the PBX holds a user otherwise than `spec` asks. Only what this platform keeps per
        user, and what its read-back tells (a None in `state`: not read), is compared, each value as
        the driver writes it."""
        line = self.features.line_features
        pairs: list[tuple[str, Any, Any]] = [
            ("first_name", spec.first_name.strip(), state.first_name),
            ("last_name", spec.last_name.strip(), state.last_name),
            ("internal_number", spec.internal_number.strip(), state.internal_number),
        ]
        if line.email and state.email is not None:
            pairs.append(("email", spec.email.strip(), state.email))
        if state.entity_name is not None and spec.entity is not None:
            pairs.append(("entity", spec.entity.name.strip().lower(), state.entity_name.strip().lower()))
        if line.voicemail and state.voicemail_enabled is not None:
            pairs.append(
                (
                    "voicemail_enabled",
                    spec.voicemail_enabled or spec.template.voicemail_enabled,
                    state.voicemail_enabled,
                )
            )
        if state.forwarding is not None:
            wanted, held = self.expected_forwarding(spec), state.forwarding
            pairs += [
                ("forward_always", wanted.always, held.always),
                ("forward_no_answer", wanted.no_answer, held.no_answer),
            ]
            if wanted.no_answer:
                pairs.append(("forward_no_answer_timeout", wanted.no_answer_timeout, held.no_answer_timeout))
        if line.external_numbers != 0:
            pairs.append(("external_numbers", sorted(spec.external_numbers), sorted(state.external_numbers)))
        if self.features.keeps_pilot and state.pilot_number is not None:
            pairs.append(("pilot_number", spec.pilot_number, state.pilot_number))
        return [Difference(name, portal, pbx) for name, portal, pbx in pairs if portal != pbx]

    def expected_forwarding(self, spec: UserSpec) -> ForwardingSpec:
        """The forwarding the PBX holds once `spec` is pushed (what it keeps of it)."""
        line, asked = self.features.line_features, spec.forwarding
        no_answer = asked.no_answer if line.forward_no_answer else ""
        if line.busy_with_no_answer and not no_answer:
            no_answer = asked.busy
        return dataclasses.replace(
            asked, always=asked.always if line.forward_always else "", busy="", no_answer=no_answer
        )

    def entity_differences(self, spec: EntitySpec, state: EntitySpec) -> list[Difference]:
        """Where the PBX holds an entity otherwise than `spec` asks (its name shown)."""
        wanted = spec.display_name.strip() or spec.name.strip()
        held = state.display_name.strip() or state.name.strip()
        return [Difference("display_name", wanted, held)] if wanted != held else []

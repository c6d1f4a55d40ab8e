"""XCU records in portal terms and back: entities, line templates and users as the driver reads
and writes them (see `xcu` for the mapping of concepts)."""

from __future__ import annotations

from typing import Any

from telephony.backends.base import BackendRef, EntitySpec, IntervalSpec, TemplateSpec, UserState, backend_ref

Record = dict[str, Any]
PRESENTED_NUMBER_DEFAULT = "inbNo"
TEMPLATE_WRITABLE = (
    "name", "xivos", "entities", "peerSipName", "ringingTime", "routedInbound", "routedInboundPrefix",
    "callerIdMode", "customCallerId", "voiceMailEnabled", "voiceMailNumberMode", "voiceMailCustomNumber",
    "voiceMailSendEmail",
)  # fmt: skip

# User fields the drivers send that the document does not list (docs/backend-fidelity.md).
USER_FIELD_EXTENSIONS = frozenset({"mail", "externalNumber"})


def entity_identity(entity: Record) -> BackendRef:
    return backend_ref(xcu_id=entity["id"], xcu_combined_id=entity["combinedId"])


def entity_spec(entity: Record) -> EntitySpec:
    return EntitySpec(
        name=entity["name"],
        display_name=entity.get("displayName") or "",
        intervals=[IntervalSpec(start=i["start"], end=i.get("end") or "") for i in entity.get("intervals", [])],
        presented_number=entity.get("presentedNumber") or "",
        identity=entity_identity(entity),
    )


def template_payload(spec: TemplateSpec) -> Record:
    payload: Record = {
        "name": spec.name,
        "peerSipName": spec.peer_sip_name,
        "ringingTime": spec.ringing_time,
        "routedInbound": spec.routed_inbound,
        "callerIdMode": spec.caller_id_mode,
        "voiceMailEnabled": spec.voicemail_enabled,
        "voiceMailNumberMode": spec.voicemail_number_mode,
        "voiceMailSendEmail": spec.voicemail_send_email,
    }
    # the "compulsory if" fields are sent only with a value: XCU refuses an empty one
    optional = {
        "routedInboundPrefix": spec.routed_inbound_prefix,
        "customCallerId": spec.custom_caller_id,
        "voiceMailCustomNumber": spec.voicemail_custom_number,
    }
    payload.update((key, value) for key, value in optional.items() if value)
    return payload


def template_spec(template: Record) -> TemplateSpec:
    return TemplateSpec(
        name=template["name"],
        peer_sip_name=template.get("peerSipName", "auto"),
        ringing_time=template.get("ringingTime", 30),
        routed_inbound=bool(template.get("routedInbound")),
        routed_inbound_prefix=template.get("routedInboundPrefix") or "",
        caller_id_mode=template.get("callerIdMode", "incomingNo"),
        custom_caller_id=template.get("customCallerId") or "",
        voicemail_enabled=bool(template.get("voiceMailEnabled")),
        voicemail_number_mode=template.get("voiceMailNumberMode") or "short_number",
        voicemail_custom_number=template.get("voiceMailCustomNumber") or "",
        voicemail_send_email=bool(template.get("voiceMailSendEmail")),
        identity=backend_ref(xcu_id=template["id"]),
    )


def user_state(user: Record) -> UserState:
    external = user.get("externalNumber")
    return UserState(
        username=user.get("ctiLogin") or "",
        first_name=user.get("firstName") or "",
        last_name=user.get("lastName") or "",
        internal_number=user["internalNumber"],
        identity=backend_ref(xcu_id=user["id"]),
        email=user.get("mail") or "",
        entity_name=user["entity"]["name"],
        external_numbers=[external] if external else [],
    )

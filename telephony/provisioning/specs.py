"""Model rows → the drivers' portal-terms specs, and back: identities learnt from a backend are
written onto the rows they belong to. Specs travel in job payloads as plain JSON."""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from django.db import models

from telephony.backends.base import (
    BackendRef,
    EntitySpec,
    ForwardingSpec,
    IntervalSpec,
    TemplateSpec,
    TenantRef,
    TenantSpec,
    UserSpec,
)
from telephony.models import Entity, LineTemplate, LineTemplateMirror, PbxUser, PhoneNumber, Platform, Tenant


def identity_of(row: models.Model) -> BackendRef:
    """The backend reference stored on a row (a copy: the caller may add to it)."""
    return dict(getattr(row, "backend_ref", None) or {})


def tenant_ref(tenant: Tenant) -> TenantRef:
    server = tenant.server
    return TenantRef(
        name=tenant.name,
        identity=identity_of(tenant),
        server_name=server.name,
        server_host=server.host,
        server_identity=identity_of(server),
    )


def tenant_spec(tenant: Tenant) -> TenantSpec:
    server = tenant.server
    return TenantSpec(
        name=tenant.name,
        label=tenant.label,
        licences=tenant.licences,
        server_name=server.name,
        server_host=server.host,
        server_identity=identity_of(server),
    )


def entity_spec(entity: Entity, *, intervals: list[tuple[str, str]] | None = None) -> EntitySpec:
    """`intervals`: the entity's (start, end) pairs when the caller has them already."""
    if intervals is None:
        intervals = [(interval.start, interval.end) for interval in entity.intervals.all()]
    return EntitySpec(
        name=entity.name,
        display_name=entity.display_name or entity.name,
        intervals=[IntervalSpec(start=start, end=end) for start, end in intervals],
        presented_number=entity.presented_number,
        identity=identity_of(entity),
    )


def template_spec(
    template: LineTemplate, platform: Platform | None = None, *, mirror: LineTemplateMirror | None = None
) -> TemplateSpec:
    """The template as `platform` should hold it; its identity there from its `mirror` (read when
    not given)."""
    identity: BackendRef = {}
    if platform is not None:
        mirror = mirror or LineTemplateMirror.objects.filter(template=template, platform=platform).first()
        identity = identity_of(mirror) if mirror else {}
    return TemplateSpec(
        name=template.name,
        peer_sip_name=template.peer_sip_name,
        ringing_time=template.ringing_time,
        routed_inbound=template.routed_inbound,
        routed_inbound_prefix=template.routed_inbound_prefix,
        caller_id_mode=template.caller_id_mode,
        custom_caller_id=template.custom_caller_id,
        voicemail_enabled=template.voicemail_enabled,
        voicemail_number_mode=template.voicemail_number_mode,
        voicemail_custom_number=template.voicemail_custom_number,
        voicemail_send_email=template.voicemail_send_email,
        settings=template.settings_for(platform.capabilities) if platform is not None else {},
        identity=identity,
    )


def user_spec(
    user: PbxUser,
    *,
    numbers: list[str] | None = None,
    entity: EntitySpec | None = None,
    template: TemplateSpec | None = None,
    pilot: str = "",
) -> UserSpec:
    """The user as its driver should push it; `numbers` (and which of them is the tenant's `pilot`),
    `entity` and `template` when the caller has them already (a scan builds thousands)."""
    if numbers is None:
        held = list(PhoneNumber.objects.filter(assigned_user=user).values_list("number", "is_pilot"))
        numbers = [number for number, _ in held]
        pilot = next((number for number, is_pilot in held if is_pilot), "")
    return UserSpec(
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        internal_number=user.internal_number,
        entity=entity or entity_spec(user.entity),
        template=template or template_spec(user.template, user.tenant.server.platform),
        email=user.email,
        display_name=user.shown_name,
        mobile_number=user.mobile_number,
        voicemail_enabled=user.voicemail_enabled,
        voicemail_pin="",  # never in a payload (kept for ever): the job reads it from the row when it runs
        forwarding=ForwardingSpec(
            always=user.forward_always,
            busy=user.forward_busy,
            no_answer=user.forward_no_answer,
            no_answer_timeout=user.forward_no_answer_timeout,
        ),
        external_numbers=numbers,
        identity=identity_of(user),
        pilot_number=pilot,
    )


# --- JSON round trip ------------------------------------------------------------------------------


RUNTIME_ONLY = ("first_try", "read_later")  # what the engine sets on a spec when it runs a job: never in a payload


def to_payload(spec: Any) -> dict[str, Any]:
    payload = dataclasses.asdict(spec)
    for name in RUNTIME_ONLY:
        payload.pop(name, None)
    return payload


def from_payload(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a (nested) spec dataclass from its JSON payload."""
    hints = _type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in data:
            continue
        values[field.name] = _convert(hints[field.name], data[field.name])
    return cls(**values)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # evaluates every annotation string: worth doing once per class


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v) for v in value]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        candidates = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(candidates[0], value) if candidates else value
    if dataclasses.is_dataclass(hint):
        return from_payload(hint, value)
    return value

"""What each platform can do, as its driver declares it: the portal asks these (services, forms,
the engine), never a platform's kind. A new vendor is a new driver that declares its own."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

# Where a PBX keeps internal numbers and entity names unique: inside each tenant, or across every
# tenant on the server (a XiVO under XCU: two customers on one XiVO share its numbering).
UNIQUE_PER_TENANT = "tenant"
UNIQUE_PER_SERVER = "server"


@dataclass(frozen=True)
class LineFeatures:
    """What a platform keeps for each user beyond name, internal number and template. The
    portal offers and accepts only these, so that no setting is saved that the PBX would silently
    drop while the portal shows it as pushed."""

    display_name: bool = True
    email: bool = True
    forward_always: bool = True
    forward_busy: bool = True
    forward_no_answer: bool = True
    busy_with_no_answer: bool = False  # busy and unanswered calls share one forwarding destination
    voicemail: bool = True  # on/off per user; without it the line template decides
    voicemail_to_email: bool = False
    voicemail_pin: bool = True
    external_numbers: int | None = None  # the most a user may have; None: no limit


@dataclass(frozen=True)
class TemplateSetting:
    """A line-template value that only some platforms keep (a Xelion role, an XC5 call limit). Their
    drivers declare it; the template form shows it for them, the template stores it under the
    drivers' `settings_group`, and the driver finds it in `TemplateSpec.settings`."""

    name: str
    label: str
    default: bool | int | str
    help_text: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any) -> str:
        """Why `value` will not do (empty: it will)."""
        if isinstance(self.default, bool):
            return "" if isinstance(value, bool) else _("Choose yes or no.")
        if self.choices:
            allowed = [choice for choice, _ in self.choices]
            return "" if value in allowed else _("Choose one of %(choices)s.") % {"choices": ", ".join(allowed)}
        if isinstance(self.default, int):
            if not isinstance(value, int) or isinstance(value, bool):
                return _("Enter a whole number.")
            if self.minimum is not None and value < self.minimum:
                return _("Enter at least %(minimum)s.") % {"minimum": self.minimum}
            if self.maximum is not None and value > self.maximum:
                return _("Enter at most %(maximum)s.") % {"maximum": self.maximum}
        return ""


@dataclass(frozen=True)
class Capabilities:
    """What one kind of platform can do. The portal asks these (services, forms, the engine),
    never the platform's kind: a new vendor is a new driver that declares its own."""

    label: str  # the kind of platform, in forms and lists ("Xelion Park Manager")
    # what is left when the platform is used on its documented API only: a feature missing here for
    # that reason is named as such in messages, not as something the PBX cannot do
    documented_only: bool = False
    withheld: frozenset[str] = frozenset()  # capabilities and line features switched off for that reason
    pbx_name: str = ""  # what people call the PBX behind it, in messages about a line ("Xelion")
    starts_tenants: bool = False  # tenants can be started and stopped
    keeps_templates: bool = False  # line templates are objects of their own on the PBX (named uniquely there)
    number_scope: str = UNIQUE_PER_TENANT  # where internal numbers and entity names are unique
    reports_free_slots: bool = False  # the servers' free line slots are listed with them
    lists_tenants: bool = False  # tenants already on the platform can be brought into the portal
    lists_servers: bool = True  # the platform lists its servers (they can be imported, and their free slots read)
    creates_tenants: bool = True  # a new tenant is made on the PBX (else it must exist there already)
    places_tenants: bool = False  # a new tenant goes onto the server the portal chose (else the platform picks)
    tenants_per_server: int | None = None  # how many tenants a server holds, where the platform says
    # a tenant's server URL, name and a session token can be handed to a Xelion Configurator order
    # (the guide's "Park Provisioning"): the portal can open a tenant by order on this platform
    opens_tenants_by_order: bool = False
    # the form a tenant's name must have on this platform (a regular expression and what it means),
    # checked when the tenant is saved rather than discovered by a failed job; () for no rule beyond the portal's
    tenant_name_rule: tuple[str, str] = ()
    line_features: LineFeatures = LineFeatures()
    needs_username: bool = True  # logs in with a user name and password (not a key alone)
    # line-template values of this platform's own, kept on each template under `settings_group`
    # (drivers of one vendor share a group), shown as "<settings_label> defaults"
    template_settings: tuple[TemplateSetting, ...] = ()
    settings_group: str = ""
    settings_label: str = ""
    connection_fields: frozenset[str] = frozenset()  # optional Connection fields it uses (app_key, ...)
    required_connection_fields: frozenset[str] = frozenset()  # ... of which it cannot do without
    crm_integrations: bool = False  # its tenants can be given a CRM integration on a Xelion CTI service
    # the PBX flags one number as the tenant's pilot (its default presented number) and the portal
    # pushes the flag and reads it back (XC5's "is-pilot"); elsewhere the pilot is the portal's note
    keeps_pilot: bool = False


def documented_subset(full: Capabilities, *, line: dict[str, Any] | None = None, **changes: Any) -> Capabilities:
    """`full` as it is on the documented API alone: the named line features and capabilities set to
    the given values, and remembered as withheld for that reason."""
    line = line or {}
    return dataclasses.replace(
        full,
        documented_only=True,
        line_features=dataclasses.replace(full.line_features, **line),
        withheld=frozenset(line) | frozenset(changes),
        **changes,
    )

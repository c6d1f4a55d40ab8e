"""The header vocabularies of the tools resellers migrate from: which column of theirs is which
column of ours, where the names come from, and how a file is recognized as one tool's export.

Every header listed here for a tool becomes an alias of our column (`columns.match_header` reads
this table), so docs/csv-import.md, the upload page and the importer say the same thing. A header
that two tools use for different things (XiVO's legacy `phonenumber` is the internal number, a
Teams sheet's `PhoneNumber` the external one) is *ambiguous*: it is read as the tool the file is
recognized as means it, and the preview says so; when no tool is recognized it takes the meaning
in `AMBIGUOUS_DEFAULTS` (or is left out) and the preview says that too.

A column of ours "" means: a header the tool writes that the portal knows and does not import
(a SIP password, a dialplan context …); the preview lists it with the reason instead of as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

USERS, NUMBERS = "users", "numbers"


def normalize(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.casefold())


@dataclass(frozen=True)
class Vocabulary:
    tool: str
    source: str  # where the column names were read (a document or a file of the tool's own code)
    kind: str
    headers: tuple[tuple[str, str, str], ...]  # (header as the tool writes it, our column or "", why)
    signature: tuple[str, ...]  # headers only this tool writes: two of them recognize its file

    def meaning(self, normalized: str) -> tuple[str, str] | None:
        for written, column, why in self.headers:
            if normalize(written) == normalized:
                return column, why
        return None


_CONTEXT = gettext_lazy("the dialplan context; the portal places a user by entity and number plan")
_SIP = gettext_lazy("a SIP account setting; the portal's PBX makes the line itself")
_PASSWORD = gettext_lazy("a SIP or login password; the portal never imports it")
_CALLER_ID = gettext_lazy(
    "the presented (caller id) number, often shared by many users: not one user's external number"
)
_VM_ADDRESS = gettext_lazy("the address voicemail is mailed to; the portal mails it to the user's e-mail address")

VOCABULARIES: tuple[Vocabulary, ...] = (
    Vocabulary(
        "Wazo",
        "wazo-confd user import/export (wazo_confd/plugins/user_import/csvparse.py, "
        "wazo_confd/database/user_export.py); uc-doc administration/users/csv_import",
        USERS,
        (
            ("firstname", "first_name", ""),
            ("lastname", "last_name", ""),
            ("email", "email", ""),
            ("mobile_phone_number", "mobile_number", ""),
            ("exten", "internal_number", ""),
            ("incall_exten", "ddi", gettext_lazy("several numbers separated by ; in Wazo's export")),
            ("username", "username", ""),
            ("voicemail_password", "voicemail_pin", ""),
            ("ring_seconds", "forward_no_answer_timeout", ""),
            ("outgoing_caller_id", "", _CALLER_ID),
            ("voicemail_email", "", _VM_ADDRESS),
            ("context", "", _CONTEXT),
            ("incall_context", "", _CONTEXT),
            ("voicemail_context", "", _CONTEXT),
            ("line_protocol", "", _SIP),
            ("sip_username", "", _SIP),
            ("sip_secret", "", _PASSWORD),
            ("password", "", _PASSWORD),
            ("uuid", "", gettext_lazy("Wazo's own identifier")),
            ("entity_id", "", gettext_lazy("Wazo's numeric entity id; name the entity in an entity column instead")),
        ),
        ("exten", "incall_exten", "line_protocol", "sip_secret", "subscription_type", "outgoing_caller_id"),
    ),
    Vocabulary(
        "XiVO (legacy export, before 15.x)",
        "XiVO 'Import users' fields (documentation.xivo.solutions x15.12 administration/users); the old→new "
        "table of Wazo's upgrade notes 15-20/csv (pipe separated)",
        USERS,
        (
            ("firstname", "first_name", ""),
            ("lastname", "last_name", ""),
            ("mobilephonenumber", "mobile_number", ""),
            ("phonenumber", "internal_number", gettext_lazy("XiVO's legacy export writes the internal number here")),
            ("incallexten", "ddi", ""),
            ("username", "username", ""),
            ("voicemailpassword", "voicemail_pin", ""),
            ("voicemailemail", "", _VM_ADDRESS),
            ("outcallerid", "", _CALLER_ID),
            ("context", "", _CONTEXT),
            ("linename", "", _SIP),
            ("linesecret", "", _PASSWORD),
            ("password", "", _PASSWORD),
            ("entityid", "", gettext_lazy("XiVO's numeric entity id; name the entity in an entity column instead")),
        ),
        ("outcallerid", "linename", "linesecret", "enablehint", "enablexfer", "bosssecretary", "agentnumber"),
    ),
    Vocabulary(
        "XiVO (xivo.solutions CSV import, 2017+)",
        "documentation.xivo.solutions ipbx_configuration/users/csv_import (same fields as Wazo's, and labels)",
        USERS,
        (
            ("firstname", "first_name", ""),
            ("lastname", "last_name", ""),
            ("email", "email", ""),
            ("mobile_phone_number", "mobile_number", ""),
            ("exten", "internal_number", ""),
            ("incall_exten", "ddi", ""),
            ("voicemail_password", "voicemail_pin", ""),
            ("ring_seconds", "forward_no_answer_timeout", ""),
            ("outgoing_caller_id", "", _CALLER_ID),
            ("voicemail_email", "", _VM_ADDRESS),
            ("entity_id", "", gettext_lazy("XiVO's numeric entity id; name the entity in an entity column instead")),
        ),
        ("entity_id", "exten", "incall_exten", "line_protocol", "labels"),
    ),
    Vocabulary(
        "Kazoo / Monster UI",
        "2600hz/monster-ui-csv-onboarding (app.js columns, dunderMifflin.csv); Kazoo user documents (presence_id)",
        USERS,
        (
            ("first_name", "first_name", ""),
            ("last_name", "last_name", ""),
            ("email", "email", ""),
            ("email_address", "email", ""),
            ("extension", "internal_number", ""),
            ("extension_number", "internal_number", ""),
            ("presence_id", "internal_number", ""),
            ("username", "username", ""),
            ("notification_email", "", _VM_ADDRESS),
            ("password", "", _PASSWORD),
            ("mac_address", "", gettext_lazy("a phone's MAC address: phones are provisioned on the PBX")),
        ),
        ("mac_address", "brand", "family", "model", "notification_email", "extension_number"),
    ),
    Vocabulary(
        "Kazoo (tasks: number_management)",
        "2600hz/kazoo applications/tasks/src/modules/kt_numbers.erl (list_output_header, import)",
        NUMBERS,
        (
            ("e164", "number", ""),
            ("account_name", "tenant", gettext_lazy("the Kazoo account's name must be the portal tenant's name")),
            ("account_id", "", gettext_lazy("Kazoo's account id")),
            ("cnam.outbound", "label", ""),
        ),
        ("e164", "account_id", "carrier_module", "ported_in", "previously_assigned_to", "used_by"),
    ),
    Vocabulary(
        "FusionPBX / FS PBX",
        "fusionpbx app/extensions/extension_download.php and extension_imports.php (the v_extensions fields of "
        "app/extensions/app_config.php), app/voicemails/voicemail_export.php",
        USERS,
        (
            ("extension", "internal_number", ""),
            ("directory_first_name", "first_name", ""),
            ("directory_last_name", "last_name", ""),
            ("directory_full_name", "full_name", ""),
            ("effective_caller_id_name", "display_name", ""),
            ("call_timeout", "forward_no_answer_timeout", ""),
            ("forward_all_destination", "forward_always", ""),
            ("forward_all_enabled", "forward_always_enabled", ""),
            ("forward_busy_destination", "forward_busy", ""),
            ("forward_busy_enabled", "forward_busy_enabled", ""),
            ("forward_no_answer_destination", "forward_no_answer", ""),
            ("forward_no_answer_enabled", "forward_no_answer_enabled", ""),
            ("voicemail_password", "voicemail_pin", ""),
            ("voicemail_enabled", "voicemail_enabled", ""),
            ("voicemail_mail_to", "", _VM_ADDRESS),
            (
                "effective_caller_id_number",
                "",
                gettext_lazy("the internal caller id; the internal number is in extension"),
            ),
            ("outbound_caller_id_number", "", _CALLER_ID),
            (
                "user_context",
                "",
                gettext_lazy("FusionPBX's domain; choose the portal tenant on the form or in a tenant column"),
            ),
            ("password", "", _PASSWORD),
            ("number_alias", "", gettext_lazy("a second internal number; the portal keeps one per user")),
            ("description", "", gettext_lazy("free text")),
        ),
        ("effective_caller_id_name", "outbound_caller_id_number", "user_context", "number_alias", "toll_allow"),
    ),
    Vocabulary(
        "FreePBX Bulk Handler (extensions)",
        "FreePBX core Core.class.php bulkhandlerGetHeaders/Export('extensions'), voicemail Voicemail.class.php "
        "bulkhandlerGetHeaders; the older bulkextensions module's header (action,extension,name,…)",
        USERS,
        (
            ("extension", "internal_number", ""),
            ("name", "full_name", gettext_lazy("FreePBX keeps one name: it is split into first and last name")),
            ("voicemail_enable", "voicemail_enabled", ""),
            ("voicemail_vmpwd", "voicemail_pin", ""),
            ("ringtimer", "forward_no_answer_timeout", gettext_lazy("0 is FreePBX's default")),
            ("voicemail", "", gettext_lazy("FreePBX writes the voicemail context here (default, novm), not yes/no")),
            ("voicemail_email", "", _VM_ADDRESS),
            ("user", "", gettext_lazy("FreePBX writes the device's extension here, not a username")),
            ("outboundcid", "", _CALLER_ID),
            ("description", "", gettext_lazy("the device's description")),
            ("secret", "", _PASSWORD),
            ("password", "", _PASSWORD),
            ("tech", "", _SIP),
        ),
        ("ringtimer", "outboundcid", "sipname", "cid_masquerade", "noanswer_dest", "voicemail_vmpwd", "devicetype"),
    ),
    Vocabulary(
        "FreePBX User Manager (usermanusers)",
        "FreePBX userman Userman.class.php bulkhandlerGetHeaders/Export('usermanusers')",
        USERS,
        (
            ("username", "username", ""),
            ("default_extension", "internal_number", ""),
            ("fname", "first_name", ""),
            ("lname", "last_name", ""),
            ("displayname", "display_name", ""),
            ("email", "email", ""),
            ("cell", "mobile_number", ""),
            ("department", "", gettext_lazy("User Manager's free-text department, not an entity of the tenant")),
            ("password", "", _PASSWORD),
            ("description", "", gettext_lazy("free text")),
        ),
        ("fname", "lname", "default_extension", "encrypted_password", "primary_group"),
    ),
    Vocabulary(
        "FreePBX Bulk Handler (DIDs)",
        "FreePBX core Core.class.php bulkhandlerGetHeaders/Export('dids')",
        NUMBERS,
        (
            ("extension", "number", gettext_lazy("FreePBX's DIDs export writes the incoming number (DID) here")),
            ("description", "label", ""),
            ("cidnum", "", gettext_lazy("a caller id filter of the inbound route")),
            ("destination", "", gettext_lazy("FreePBX's route destination; assign the number to a user instead")),
        ),
        ("cidnum", "destination", "privacyman", "alertinfo", "grppre", "mohclass"),
    ),
    Vocabulary(
        "3CX",
        "3CX 'Importing extensions in bulk – CSV file structure' (v18) and the v20 Users export/import",
        USERS,
        (
            ("Number", "internal_number", ""),
            ("FirstName", "first_name", ""),
            ("LastName", "last_name", ""),
            ("EmailAddress", "email", ""),
            ("MobileNumber", "mobile_number", ""),
            ("EnableVoicemail", "voicemail_enabled", ""),
            ("PIN", "voicemail_pin", ""),
            ("Department", "entity", ""),
            ("OutboundCallerID", "", _CALLER_ID),
            ("AuthID", "", _SIP),
            ("AuthPassword", "", _PASSWORD),
        ),
        ("AuthID", "AuthPassword", "WebMeetingFriendlyName", "ClickToCall", "OutboundCallerID", "EnableVoicemail"),
    ),
    Vocabulary(
        "Elastix / Issabel (extensions batch)",
        "Elastix/Issabel 'Extensions Batch' module: the CSV header it writes and reads (Display Name, User "
        "Extension, Direct DID …)",
        USERS,
        (
            ("Display Name", "display_name", gettext_lazy("split into first and last name when those are missing")),
            ("User Extension", "internal_number", ""),
            ("Direct DID", "ddi", ""),
            ("Voicemail Status", "voicemail_enabled", ""),
            ("Voicemail Password", "voicemail_pin", ""),
            ("VM Email Address", "", _VM_ADDRESS),
            ("Outbound CID", "", _CALLER_ID),
            ("Secret", "", _PASSWORD),
            ("Context", "", _CONTEXT),
            ("Tech", "", _SIP),
        ),
        ("User Extension", "Direct DID", "Outbound CID", "Voicemail Status", "VM Options", "Callgroup"),
    ),
    Vocabulary(
        "Sangoma PBXact / Switchvox (user import)",
        "Sangoma knowledge base: 'Creating a CSV file' for Users / Extensions (Extension, First Name, Last Name, "
        "Web Username, …)",
        USERS,
        (
            ("Extension", "internal_number", ""),
            ("First Name", "first_name", ""),
            ("Last Name", "last_name", ""),
            ("Web Username", "username", ""),
            ("Email", "email", ""),
            ("Mobile", "mobile_number", ""),
            ("Password", "", _PASSWORD),
            ("Device MAC Address", "", gettext_lazy("a phone's MAC address: phones are provisioned on the PBX")),
        ),
        ("Web Username", "Device MAC Address", "IM"),
    ),
    Vocabulary(
        "Hosted portals (OfficeSuite subscriber import)",
        "OfficeSuite 'Import Users' CSV headings (Type, FirstName, LastName, Email, MobilePhone, Extension, "
        "IncomingDID, OutgoingCLID, VM, PIN …)",
        USERS,
        (
            ("FirstName", "first_name", ""),
            ("LastName", "last_name", ""),
            ("Email", "email", ""),
            ("MobilePhone", "mobile_number", ""),
            ("Extension", "internal_number", ""),
            ("IncomingDID", "ddi", ""),
            ("VM", "voicemail_enabled", ""),
            ("PIN", "voicemail_pin", ""),
            ("OutgoingCLID", "", _CALLER_ID),
        ),
        ("IncomingDID", "OutgoingCLID", "HFAback", "DirAccess", "SysPIN", "KeyProfile"),
    ),
    Vocabulary(
        "Microsoft Teams / Entra (Excel sheets)",
        "Get-CsOnlineUser (DisplayName, UserPrincipalName, LineURI), Microsoft Graph user properties (givenName, "
        "surname, mail, mobilePhone, department), Export-CsAcquiredPhoneNumber (TelephoneNumber)",
        USERS,
        (
            ("GivenName", "first_name", ""),
            ("Surname", "last_name", ""),
            ("DisplayName", "display_name", ""),
            ("Mail", "email", ""),
            (
                "UserPrincipalName",
                "email",
                gettext_lazy("used as the e-mail address when the sheet has no mail column"),
            ),
            ("MobilePhone", "mobile_number", ""),
            ("LineURI", "ddi", gettext_lazy("tel:+31…;ext=… is read as the number")),
            ("PhoneNumber", "ddi", gettext_lazy("Teams sheets put the user's external number here")),
            ("TelephoneNumber", "ddi", ""),
            ("department", "", gettext_lazy("Entra's free-text department, not an entity of the tenant")),
            ("SipAddress", "", _SIP),
        ),
        ("UserPrincipalName", "LineURI", "SipAddress", "OnlineVoiceRoutingPolicy", "EnterpriseVoiceEnabled"),
    ),
    Vocabulary(
        "Microsoft Teams (acquired numbers)",
        "Export-CsAcquiredPhoneNumber properties (TelephoneNumber, NumberType, AssignmentStatus …)",
        NUMBERS,
        (
            ("TelephoneNumber", "number", ""),
            ("PlaceName", "label", ""),
        ),
        ("TelephoneNumber", "OperatorId", "NumberType", "AssignmentStatus", "ActivationState", "CivicAddressId"),
    ),
)

# The meaning of an ambiguous header in a file no tool is recognized in ("" = not imported).
AMBIGUOUS_DEFAULTS: dict[tuple[str, str], str] = {
    (USERS, "phonenumber"): "",  # XiVO legacy: the internal number; Teams: the external one
    (USERS, "voicemail"): "voicemail_enabled",
    (USERS, "user"): "username",
    (USERS, "department"): "entity",
    (NUMBERS, "extension"): "",  # FreePBX's DIDs export: the DID; elsewhere often the user's extension
}

# Headers that give way when the file also has a stronger header for the same column.
WEAK: dict[tuple[str, str], str] = {
    (USERS, "userprincipalname"): "email",
    (USERS, "name"): "full_name",
}

RECOGNIZED_AT = 2  # signature headers present for a file to count as the tool's


def of_kind(kind: str) -> list[Vocabulary]:
    return [v for v in VOCABULARIES if v.kind == kind]


def recognize(normalized_headers: set[str], kind: str) -> Vocabulary | None:
    """The tool whose export this header row most looks like (at least RECOGNIZED_AT of its
    signature headers, and more than any other tool), else None."""
    scored = sorted(
        ((sum(normalize(h) in normalized_headers for h in v.signature), v) for v in of_kind(kind)),
        key=lambda pair: -pair[0],
    )
    if not scored or scored[0][0] < RECOGNIZED_AT:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]


def meanings(kind: str) -> dict[str, dict[str, tuple[str, str]]]:
    """normalized header → {tool: (our column or "", why)} over every vocabulary of the kind."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for vocabulary in of_kind(kind):
        for written, column, why in vocabulary.headers:
            found.setdefault(normalize(written), {})[vocabulary.tool] = (column, why)
    return found

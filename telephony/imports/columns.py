"""Columns: the native name of each importable column, the names other PBX tools give it in their
exports, and how a file's header row is matched against them.

Headers match case-insensitively and ignoring spaces, dashes and underscores, so `FirstName`,
`first_name`, `First name` and `firstname` are one column. A header that matches nothing is
reported as unknown (its cells are not imported); two headers meaning the same column are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from telephony.imports.reading import FileProblem


@dataclass(frozen=True)
class Column:
    name: str
    help: str
    example: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    exported: bool = True  # secrets are importable but never exported
    write_only: bool = False  # exported as an empty column (the value is never written out)


@dataclass
class ColumnMap:
    """Which cell of a row holds which column."""

    index: dict[str, int]
    unknown: list[str] = field(default_factory=list)
    understood: list[tuple[str, str]] = field(default_factory=list)  # (header as written, column)

    def __contains__(self, name: str) -> bool:
        return name in self.index


def normalize(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.casefold())


def match_header(header: list[str], columns: tuple[Column, ...]) -> ColumnMap:
    """Match a header row; raise FileProblem for duplicate or missing required columns."""
    lookup: dict[str, str] = {}
    for column in columns:
        for name in (column.name, *column.aliases):
            lookup[normalize(name)] = column.name
    index: dict[str, int] = {}
    unknown: list[str] = []
    understood: list[tuple[str, str]] = []
    for position, written in enumerate(header):
        if not written:
            unknown.append(f"column {position + 1} (no header)")
            continue
        name = lookup.get(normalize(written))
        if name is None:
            unknown.append(written)
            continue
        if name in index:
            first = header[index[name]]
            raise FileProblem(
                f"Columns {index[name] + 1} ({first!r}) and {position + 1} ({written!r}) both mean {name}; "
                "keep one of them."
            )
        index[name] = position
        understood.append((written, name))
    missing = [column for column in columns if column.required and column.name not in index]
    if missing:
        described = "; ".join(
            f"{column.name}" + (f" (also accepted: {', '.join(column.aliases[:6])})" if column.aliases else "")
            for column in missing
        )
        if not index:
            raise FileProblem(
                f"None of the headers {', '.join(repr(h) for h in header[:8])} is a column this import knows. "
                f"Is the delimiter right? The file needs: {described}."
            )
        raise FileProblem(f"The file has no {described} column.")
    return ColumnMap(index=index, unknown=unknown, understood=understood)


# --- the native formats -----------------------------------------------------------------------------

ACTION = Column(
    "action",
    "create, update or skip; empty: what the import mode says.",
    "",
    ("operation", "op", "import_action"),
)

USER_COLUMNS: tuple[Column, ...] = (
    ACTION,
    Column("tenant", "Tenant name; empty: the tenant chosen on the upload form.", "acmebrick", ("tenant_name",)),
    Column(
        "entity",
        "Entity name; empty: the entity whose number plan holds the internal number.",
        "sales",
        ("entity_name", "department", "entityname"),
    ),
    Column(
        "internal_number",
        "Internal number (1–6 digits) inside the entity's number plan, unique in the tenant. Required.",
        "1701",
        ("exten", "extension", "number", "ext", "internal", "internalnumber", "line_number", "short_number"),
        required=True,
    ),
    Column(
        "first_name", "First name. Required.", "Ada", ("firstname", "given_name", "givenname", "prenom"), required=True
    ),
    Column(
        "last_name", "Last name. Required.", "Lovelace", ("lastname", "surname", "family_name", "nom"), required=True
    ),
    Column(
        "username",
        "Login name (lower case); the key that matches a row to a user (never the internal number). Empty: "
        "taken from the e-mail address, else first.last.",
        "ada.lovelace",
        ("user_name", "login", "userid", "user"),
    ),
    Column("email", "E-mail address.", "ada@example.net", ("emailaddress", "e-mail", "mail", "email_address")),
    Column("display_name", "Name shown on calls; empty: first and last name.", "", ("displayname", "caller_id_name")),
    Column(
        "mobile_number",
        "Mobile number in E.164 (+31612345678).",
        "+31612345678",
        ("mobile_phone_number", "mobilenumber", "mobile", "cell", "cellphone", "mobile_phone"),
    ),
    Column(
        "ddi",
        "External numbers (E.164) from a pool the tenant may use, separated by spaces. In update mode an "
        "empty cell takes the user's numbers away.",
        "+31201234567",
        ("did", "ddis", "external_number", "external_numbers", "phone_numbers", "direct_number"),
    ),
    Column(
        "template",
        "Line template name; empty: the template chosen on the upload form.",
        "Standard",
        ("line_template", "template_name", "profile"),
    ),
    Column(
        "voicemail_enabled",
        "yes/no (also true/false, 1/0, on/off).",
        "yes",
        ("voicemail", "vmenable", "vm_enabled", "voicemail_enable", "has_voicemail"),
    ),
    Column(
        "voicemail_pin",
        "Voicemail PIN, 4–8 digits (needs voicemail on). Never exported.",
        "",
        ("voicemail_password", "vmpin", "vm_pin", "vm_password", "voicemailpin"),
        exported=False,
    ),
    Column(
        "voicemail_to_email",
        "yes/no: e-mail new voicemail (no PBX driver sets it yet: yes is refused).",
        "no",
        ("voicemail_email", "vm_email", "vmemail"),
    ),
    Column("forward_always", "Forward all calls to this number.", "", ("cfu", "forward_unconditional", "call_forward")),
    Column("forward_busy", "Forward when busy to this number.", "", ("cfb", "forward_on_busy")),
    Column("forward_no_answer", "Forward when not answered to this number.", "", ("cfna", "forward_noanswer")),
    Column(
        "forward_no_answer_timeout",
        "Seconds before forwarding an unanswered call (5–120, default 20).",
        "20",
        ("ring_seconds", "no_answer_timeout", "ringtime", "ring_time"),
    ),
    Column(
        "cti_client_id",
        "CTI: the user's OAuth client id at the CRM of the tenant's CRM integration (only for a tenant that has "
        "one). Empty: keeps the stored one (a new user gets the integration's default).",
        "",
        ("crm_client_id", "oauth_client_id"),
    ),
    Column(
        "cti_client_secret",
        "CTI: the user's OAuth client secret. Write-only: the export leaves it empty; an empty cell keeps the "
        "stored one (or the integration's default).",
        "",
        ("crm_client_secret", "oauth_client_secret"),
        write_only=True,
    ),
    Column(
        "cti_refresh_token",
        "CTI: the user's OAuth refresh token. Write-only: the export leaves it empty; an empty cell keeps the "
        "stored one.",
        "",
        ("crm_refresh_token", "oauth_refresh_token"),
        write_only=True,
    ),
    Column(
        "cti_device_code",
        "CTI: the user's OAuth device code. Write-only: the export leaves it empty; an empty cell keeps the "
        "stored one.",
        "",
        ("crm_device_code", "oauth_device_code"),
        write_only=True,
    ),
)

NUMBER_COLUMNS: tuple[Column, ...] = (
    ACTION,
    Column(
        "number",
        "The number in E.164 (+31201234567; 0031… and spaces are accepted). Required; the key.",
        "+31201234567",
        ("ddi", "did", "phone_number", "e164", "external_number", "phonenumber"),
        required=True,
    ),
    Column("tenant", "Tenant to allocate the number to; empty: not allocated.", "acmebrick", ("tenant_name",)),
    Column(
        "assigned_user",
        "Username of the tenant's user to assign it to; empty: not assigned.",
        "ada.lovelace",
        ("username", "user", "assigned_to"),
    ),
    Column("is_pilot", "yes/no: the tenant's pilot (default presented) number.", "no", ("pilot", "pilot_number")),
    Column("label", "Free text.", "Reception", ("description", "name", "comment")),
)

ORGANIZATION_COLUMNS: tuple[Column, ...] = (
    ACTION,
    Column(
        "reseller",
        "The reseller the customer sits below (the one chosen on the form, or one below it); empty: the form's.",
        "Voxline",
        ("parent", "reseller_name", "partner"),
    ),
    Column(
        "organization",
        "Customer organization name (created below the reseller if new). Required.",
        "Acme Bricks",
        ("customer", "company", "customer_name", "organisation", "organization_name"),
        required=True,
    ),
    Column(
        "tenant",
        "Tenant name (lower case, digits, dots, hyphens); empty: only the organization. The key with the server.",
        "acmebrick",
        ("tenant_name", "account"),
    ),
    Column("server", "Server name (one shared with you); needed for a new tenant.", "pbx-1", ("server_name", "pbx")),
    Column("label", "Tenant label.", "Acme Bricks Ltd", ("tenant_label", "description")),
    Column("licences", "Most users the tenant may have (default 10).", "25", ("licenses", "seats", "max_users")),
)

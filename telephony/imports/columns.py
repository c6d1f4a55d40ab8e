"""Columns: the native name of each importable column, the names other PBX tools give it in their
exports, and how a file's header row is matched against them.

Headers match case-insensitively and ignoring spaces, dashes and underscores, so `FirstName`,
`first_name`, `First name` and `firstname` are one column. A header that matches nothing is
reported as unknown (its cells are not imported); two headers meaning the same column are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.imports import vocabularies
from telephony.imports.reading import FileProblem
from telephony.imports.vocabularies import normalize


@dataclass(frozen=True)
class Column:
    name: str
    help: str
    example: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    exported: bool = True  # secrets are importable but never exported
    write_only: bool = False  # exported as an empty column (the value is never written out)
    in_template: bool = True  # False: read when a file has it (other tools' exports), never written
    or_from: tuple[str, ...] = ()  # a required column that these columns can stand in for


@dataclass
class ColumnMap:
    """Which cell of a row holds which column, and what the preview says about the header row."""

    index: dict[str, int]
    unknown: list[str] = field(default_factory=list)
    # (header as written, column[, how an ambiguous header was read])
    understood: list[tuple[str, ...]] = field(default_factory=list)
    tool: str = ""  # the tool whose export the header row was recognized as

    def __contains__(self, name: str) -> bool:
        return name in self.index


def match_header(header: list[str], columns: tuple[Column, ...], *, kind: str = "") -> ColumnMap:
    """Match a header row; raise FileProblem for duplicate or missing required columns.

    `kind` (users, numbers) adds the vocabularies of other tools (see vocabularies.py): their
    headers are aliases, a header that means different things in two tools is read as the tool
    the file is recognized as means it, and either way the preview says how it was read."""
    lookup: dict[str, str] = {}
    native: dict[str, str] = {}
    for column in columns:
        native[normalize(column.name)] = column.name
        for name in (column.name, *column.aliases):
            lookup[normalize(name)] = column.name
    known = {column.name for column in columns}
    written_normalized = [normalize(h) for h in header]
    tool = vocabularies.recognize(set(written_normalized), kind) if kind else None
    meanings = vocabularies.meanings(kind) if kind else {}
    claims: dict[str, list[tuple[int, str, bool]]] = {}  # column → [(position, note, weak)]
    unknown: list[str] = []
    for position, written in enumerate(header):
        if not written:
            unknown.append(_("column %(position)s (no header)") % {"position": position + 1})
            continue
        key = written_normalized[position]
        if key in _OWN_EXTRAS:
            unknown.append(f"{written} ({_OWN_EXTRAS[key]})")
            continue
        name, note = _meaning(key, kind, native, lookup, meanings, tool)
        if name and name not in known:
            name = ""
        if not name:
            unknown.append(f"{written} ({note})" if note else written)
            continue
        claims.setdefault(name, []).append((position, note, vocabularies.WEAK.get((kind, key)) == name))
    index: dict[str, int] = {}
    understood: list[tuple[str, ...]] = []
    for name, claimed in claims.items():
        strong = [claim for claim in claimed if not claim[2]] or claimed[:1]
        if len(strong) > 1:
            (first, *_rest), (second, *_more) = strong[:2]
            raise FileProblem(
                _(
                    "Columns %(first)s (%(first_header)s) and %(second)s (%(second_header)s) both mean %(name)s; "
                    "keep one of them."
                )
                % {
                    "first": first + 1,
                    "first_header": repr(header[first]),
                    "second": second + 1,
                    "second_header": repr(header[second]),
                    "name": name,
                }
            )
        position, note, _weak = strong[0]
        for other, _note, _strong in claimed:
            if other != position:
                unknown.append(
                    _("%(header)s (not imported: %(chosen)s is read as %(name)s)")
                    % {"header": header[other], "chosen": header[position], "name": name}
                )
        index[name] = position
    for name, position in sorted(index.items(), key=lambda item: item[1]):
        note = next(n for p, n, _w in claims[name] if p == position)
        understood.append((header[position], name, note) if note else (header[position], name))
    present = set(index)
    missing = [
        column
        for column in columns
        if column.required and column.name not in present and not present.intersection(column.or_from)
    ]
    if missing:
        described = "; ".join(
            _("%(column)s (also accepted: %(aliases)s)")
            % {"column": column.name, "aliases": ", ".join(column.aliases[:6])}
            if column.aliases
            else column.name
            for column in missing
        )
        if not index:
            raise FileProblem(
                _(
                    "None of the headers %(headers)s is a column this import knows. "
                    "Is the delimiter right? The file needs: %(needed)s."
                )
                % {"headers": ", ".join(repr(h) for h in header[:8]), "needed": described}
            )
        raise FileProblem(_("The file has no %(columns)s column.") % {"columns": described})
    return ColumnMap(index=index, unknown=unknown, understood=understood, tool=tool.tool if tool else "")


# The columns the skipped-rows download adds to a file, read back when it is fixed and imported again.
_OWN_EXTRAS = {
    "importrow": gettext_lazy("the row number in the earlier import; not imported"),
    "importerror": gettext_lazy("what was wrong in the earlier import; not imported"),
}


def _meaning(key, kind, native, lookup, meanings, tool) -> tuple[str, str]:
    """(our column or "", a note for the preview) of one normalized header."""
    if key in native:
        return native[key], ""
    per_tool = meanings.get(key, {})
    if not per_tool:
        return lookup.get(key, ""), ""
    distinct = {column for column, _why in per_tool.values()}
    if key in lookup:
        distinct.add(lookup[key])
    ambiguous = len(distinct) > 1 or (kind, key) in vocabularies.AMBIGUOUS_DEFAULTS
    if not ambiguous:
        column = distinct.pop()
        why = next((why for c, why in per_tool.values() if why), "")
        return column, ("" if column else str(why))
    uses = "; ".join(
        f"{tool_name}: {column or _('not imported')}" + (f" ({why})" if why else "")
        for tool_name, (column, why) in per_tool.items()
    )
    if tool is not None and tool.tool in per_tool:
        column, why = per_tool[tool.tool]
        read = column or _("not imported")
        if why:
            return column, _("read as %(column)s, as in %(tool)s's export (%(why)s); other tools: %(uses)s") % {
                "column": read,
                "tool": tool.tool,
                "why": why,
                "uses": uses,
            }
        return column, _("read as %(column)s, as in %(tool)s's export; other tools: %(uses)s") % {
            "column": read,
            "tool": tool.tool,
            "uses": uses,
        }
    column = vocabularies.AMBIGUOUS_DEFAULTS.get((kind, key), lookup.get(key, ""))
    if column:
        return column, _(
            "read as %(column)s; this header means different things in other tools (%(uses)s): check it"
        ) % {"column": column, "uses": uses}
    return "", _("not imported: it means different things in other tools (%(uses)s); rename it to the column it is") % {
        "uses": uses
    }


def _switch_help_now(name: str) -> str:
    return _(
        "Read only from other tools' exports (FusionPBX): yes/no; no (or empty) leaves %(column)s empty, as those "
        "tools keep a destination that is switched off. Never written."
    ) % {"column": name}


_switch_help = lazy(_switch_help_now, str)


# --- the native formats -----------------------------------------------------------------------------

ACTION = Column(
    "action",
    gettext_lazy("create, update or skip; empty: what the import mode says."),
    "",
    ("operation", "op", "import_action"),
)

USER_COLUMNS: tuple[Column, ...] = (
    ACTION,
    Column(
        "tenant",
        gettext_lazy("Tenant name; empty: the tenant chosen on the upload form."),
        "acmebrick",
        ("tenant_name",),
    ),
    Column(
        "entity",
        gettext_lazy("Entity name; empty: the entity whose number plan holds the internal number."),
        "sales",
        ("entity_name", "department", "entityname"),
    ),
    Column(
        "internal_number",
        gettext_lazy("Internal number (1–6 digits) inside the entity's number plan, unique in the tenant. Required."),
        "1701",
        ("exten", "extension", "number", "ext", "internal", "internalnumber", "line_number", "short_number"),
        required=True,
        or_from=("ddi",),  # a Teams LineURI carries it as ;ext=
    ),
    Column(
        "first_name",
        gettext_lazy("First name. Required (a file without it may have full_name or display_name: it is split)."),
        "Ada",
        ("firstname", "given_name", "givenname", "prenom"),
        required=True,
        or_from=("full_name", "display_name"),
    ),
    Column(
        "last_name",
        gettext_lazy("Last name. Required (a file without it may have full_name or display_name: it is split)."),
        "Lovelace",
        ("lastname", "surname", "family_name", "nom"),
        required=True,
        or_from=("full_name", "display_name"),
    ),
    Column(
        "full_name",
        gettext_lazy(
            "Read only from other tools' exports that keep one name: split into first_name (the first word) and "
            "last_name (the rest; 'Lovelace, Ada' is read last name first) where those are empty. Never written."
        ),
        "",
        ("fullname", "name"),
        exported=False,
        in_template=False,
    ),
    Column(
        "username",
        gettext_lazy(
            "Login name (lower case); the key that matches a row to a user (never the internal number). Empty: "
            "taken from the e-mail address, else first.last."
        ),
        "ada.lovelace",
        ("user_name", "login", "userid", "user"),
    ),
    Column(
        "email", gettext_lazy("E-mail address."), "ada@example.net", ("emailaddress", "e-mail", "mail", "email_address")
    ),
    Column(
        "display_name",
        gettext_lazy("Name shown on calls; empty: first and last name."),
        "",
        ("displayname", "caller_id_name"),
    ),
    Column(
        "mobile_number",
        gettext_lazy("Mobile number: +31 6 1234 5678, or a national number in the tenant's country (06-12345678)."),
        "+31612345678",
        ("mobile_phone_number", "mobilenumber", "mobile", "cell", "cellphone", "mobile_phone"),
    ),
    Column(
        "ddi",
        gettext_lazy(
            "External numbers from a pool the tenant may use, separated by ; or , or a line break (never a space: "
            "+31 20 123 4567 is one number). Spaces, dots, dashes and brackets are allowed, and a national number "
            "((020) 123-4567) is read in the tenant's country. In update mode an empty cell takes the user's numbers "
            "away."
        ),
        "+31201234567",
        ("did", "ddis", "external_number", "external_numbers", "phone_numbers", "direct_number"),
    ),
    Column(
        "template",
        gettext_lazy("Line template name; empty: the template chosen on the upload form."),
        "Standard",
        ("line_template", "template_name", "profile"),
    ),
    Column(
        "voicemail_enabled",
        gettext_lazy("yes/no (also true/false, 1/0, on/off)."),
        "yes",
        ("voicemail", "vmenable", "vm_enabled", "voicemail_enable", "has_voicemail"),
    ),
    Column(
        "voicemail_pin",
        gettext_lazy("Voicemail PIN, 4–8 digits (needs voicemail on). Never exported."),
        "",
        ("voicemail_password", "vmpin", "vm_pin", "vm_password", "voicemailpin"),
        exported=False,
    ),
    Column(
        "voicemail_to_email",
        gettext_lazy("yes/no: e-mail new voicemail (no PBX driver sets it yet: yes is refused)."),
        "no",
        ("email_voicemail", "voicemail_to_mail"),
    ),
    Column(
        "forward_always",
        gettext_lazy("Forward all calls to this number."),
        "",
        ("cfu", "forward_unconditional", "call_forward"),
    ),
    Column("forward_busy", gettext_lazy("Forward when busy to this number."), "", ("cfb", "forward_on_busy")),
    Column(
        "forward_no_answer", gettext_lazy("Forward when not answered to this number."), "", ("cfna", "forward_noanswer")
    ),
    *(
        Column(
            f"{name}_enabled",
            _switch_help(name),
            "",
            exported=False,
            in_template=False,
        )
        for name in ("forward_always", "forward_busy", "forward_no_answer")
    ),
    Column(
        "forward_no_answer_timeout",
        gettext_lazy("Seconds before forwarding an unanswered call (5–120; empty or 0: the default, 20)."),
        "20",
        ("ring_seconds", "no_answer_timeout", "ringtime", "ring_time"),
    ),
    Column(
        "cti_client_id",
        gettext_lazy(
            "CTI: the user's OAuth client id at the CRM of the tenant's CRM integration (only for a tenant that has "
            "one). Empty: keeps the stored one (a new user gets the integration's default)."
        ),
        "",
        ("crm_client_id", "oauth_client_id"),
    ),
    Column(
        "cti_client_secret",
        gettext_lazy(
            "CTI: the user's OAuth client secret. Write-only: the export leaves it empty; an empty cell keeps the "
            "stored one (or the integration's default)."
        ),
        "",
        ("crm_client_secret", "oauth_client_secret"),
        write_only=True,
    ),
    Column(
        "cti_refresh_token",
        gettext_lazy(
            "CTI: the user's OAuth refresh token. Write-only: the export leaves it empty; an empty cell keeps the "
            "stored one."
        ),
        "",
        ("crm_refresh_token", "oauth_refresh_token"),
        write_only=True,
    ),
    Column(
        "cti_device_code",
        gettext_lazy(
            "CTI: the user's OAuth device code. Write-only: the export leaves it empty; an empty cell keeps the "
            "stored one."
        ),
        "",
        ("crm_device_code", "oauth_device_code"),
        write_only=True,
    ),
)

NUMBER_COLUMNS: tuple[Column, ...] = (
    ACTION,
    Column(
        "number",
        gettext_lazy("The number in E.164 (+31201234567; 0031… and spaces are accepted). Required; the key."),
        "+31201234567",
        ("ddi", "did", "phone_number", "e164", "external_number", "phonenumber"),
        required=True,
    ),
    Column(
        "tenant", gettext_lazy("Tenant to allocate the number to; empty: not allocated."), "acmebrick", ("tenant_name",)
    ),
    Column(
        "assigned_user",
        gettext_lazy("Username of the tenant's user to assign it to; empty: not assigned."),
        "ada.lovelace",
        ("username", "user", "assigned_to"),
    ),
    Column(
        "is_pilot",
        gettext_lazy("yes/no: the tenant's pilot (default presented) number."),
        "no",
        ("pilot", "pilot_number"),
    ),
    Column("label", gettext_lazy("Free text."), "Reception", ("description", "name", "comment")),
)

ORGANIZATION_COLUMNS: tuple[Column, ...] = (
    ACTION,
    Column(
        "reseller",
        gettext_lazy(
            "The reseller the customer sits below (the one chosen on the form, or one below it); empty: the form's."
        ),
        "Voxline",
        ("parent", "reseller_name", "partner"),
    ),
    Column(
        "organization",
        gettext_lazy("Customer organization name (created below the reseller if new). Required."),
        "Acme Bricks",
        ("customer", "company", "customer_name", "organisation", "organization_name"),
        required=True,
    ),
    Column(
        "tenant",
        gettext_lazy(
            "Tenant name (lower case, digits, dots, hyphens); empty: only the organization. The key with the server."
        ),
        "acmebrick",
        ("tenant_name", "account"),
    ),
    Column(
        "server",
        gettext_lazy("Server name (one shared with you); needed for a new tenant."),
        "pbx-1",
        ("server_name", "pbx"),
    ),
    Column("label", gettext_lazy("Tenant label."), "Acme Bricks Ltd", ("tenant_label", "description")),
    Column(
        "licences",
        gettext_lazy("Most users the tenant may have (default 10)."),
        "25",
        ("licenses", "seats", "max_users"),
    ),
)


def described(columns: tuple[Column, ...], kind: str = "") -> list[dict]:
    """The columns as the upload pages list them: each with every header accepted for it, its own
    aliases and the headers of other tools' exports (see vocabularies.py)."""
    tools: dict[str, list[str]] = {}
    for vocabulary in vocabularies.of_kind(kind) if kind else ():
        for written, column, _why in vocabulary.headers:
            if column:
                tools.setdefault(column, []).append(written)
    listed = []
    for column in columns:
        seen = {normalize(column.name)}
        accepted = []
        for name in (*column.aliases, *tools.get(column.name, ())):
            if normalize(name) not in seen:
                seen.add(normalize(name))
                accepted.append(name)
        listed.append(
            {
                "name": column.name,
                "required": column.required,
                "help": column.help,
                "example": column.example,
                "aliases": accepted,
            }
        )
    return listed

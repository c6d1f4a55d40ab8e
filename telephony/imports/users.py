"""Importing PBX users into tenants: every row checked with the rules of a single create (field
validators, `PbxUser.clean`, free internal number and username, usable entity, template and DDIs,
licences and server room), then every row written in one transaction with one batch of jobs."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telephony.imports import phones
from telephony.imports.base import (
    CREATE,
    SKIP,
    UPDATE,
    Cells,
    FieldCheck,
    Importer,
    Outcome,
    RowInvalid,
    first_error,
    parse_bool,
    resolve_action,
)
from telephony.imports.columns import USER_COLUMNS
from telephony.imports.reading import CsvFile
from telephony.imports.user_context import TenantState, UserContext
from telephony.imports.user_cti import UserCti
from telephony.imports.user_writes import _BOOLEANS, _NEW_VALUES, _POSITION, FIELDS, UserRow, UserWrites
from telephony.models import Entity, LineTemplate, PbxUser, Tenant
from telephony.models.users import validate_username
from telephony.rules import capacity, numbering, uniqueness
from telephony.validators import validate_e164

_SEVERAL_IN_ONE = re.compile(r"\S\s+\+")  # "+31201234567 +31201234568": two numbers, one space apart
_NAME_SOURCES = ("full_name", "display_name")
_EXTENSION = re.compile(r";\s*ext=(\d{1,6})\b", re.IGNORECASE)
_SWITCHED = ("forward_always", "forward_busy", "forward_no_answer")


class UserImport(UserWrites, Importer):
    """Users into tenants: the tenant of the form, or the one each row names."""

    columns = USER_COLUMNS
    kind = "users"

    def __init__(
        self,
        *,
        actor: Any,
        mode: str,
        tenant: Tenant | None = None,
        template: LineTemplate | None = None,
        within: Any = None,
    ):
        self.actor = actor
        self.within = within  # without a tenant: the organization whose tenants the rows may name
        self.mode = mode
        self.default_tenant = tenant
        self.default_template = template
        self.checks = {name: FieldCheck(PbxUser, name) for name in FIELDS if name not in _BOOLEANS}
        self._scratch: dict[int, PbxUser] = {}

    def prepare(self, csv_file: CsvFile, *, commit: bool) -> None:
        keys = ("internal_number", "username")
        self._present = [name for name in FIELDS if name in self.column_map and name not in keys]
        found = self.referenced(csv_file, "tenant", "ddi")
        numbers = {phones.clean(p) for cell in found["ddi"] for p in phones.split_numbers(cell)}
        self.context = UserContext(
            actor=self.actor,
            default_tenant=self.default_tenant,
            tenant_names=found["tenant"],
            numbers={n for n in numbers if not phones.is_national(n)},
            lock=commit,
            within=self.within,
        )
        national = {n for n in numbers if phones.is_national(n)}
        if national:  # read in the country of each tenant named (usually one): load those too
            regions = {self.context.region_for(state) for state in self.context.states.values()}
            self.context.load_more_numbers({phones.to_e164(n, r) for n in national for r in regions if r})
        if "ddi" in self.column_map:
            self.context.load_current_numbers()
        self.cti = UserCti.of(self.column_map, self.context.states, lock=commit)

    # --- one row ----------------------------------------------------------------------------------

    def check(self, number: int, cells: Cells) -> UserRow:
        state = self.context.state_for(cells.get("tenant"))
        internal = self.checks["internal_number"](self._internal_cell(cells))
        username = cells.get("username").lower()
        # A user is matched by its username only, the one in the row or else the one the row would
        # get: never by internal number, which would silently turn a new person into someone else.
        key = username or self._key_from_cells(cells)
        existing = state.users_by_username.get(key) if key else None
        if existing is not None and not self.context.may_change_user(state, existing):
            existing = None  # another entity's user: as far as this actor knows, it does not exist
        action = resolve_action(cells, self.mode, existing is not None, key=f"username {key!r}" if key else "")
        if action == SKIP:
            return UserRow(number, SKIP, state, None, None, (), existing, None)
        values = self._values(state, cells, existing, internal, username)
        entity = self._entity(state, cells, existing, values[_POSITION["internal_number"]])
        template = self._template(state, cells, existing)
        self._clean(state, entity, template, values)
        self._keeps(state, existing)
        moved = self._claim(state, number, existing, values)
        ddis = self._ddis(state, number, cells, existing) if cells.has("ddi") else None
        if ddis is not None and not state.line.may_add_number(len(ddis) - 1):
            limit = state.line.features.external_numbers
            message = ngettext(
                "%(platform)s keeps %(count)s external number per user.",
                "%(platform)s keeps %(count)s external numbers per user.",
                limit,
            ) % {"platform": state.line.platform, "count": limit}
            raise RowInvalid("ddi", message if limit else state.line.numbers_note)
        cti = self.cti.check(state.tenant, existing, cells) if self.cti is not None else None
        user_changed = True
        if action == UPDATE and self._unchanged(state, existing, entity, template, values, ddis):
            if cti is None:
                action = SKIP
            else:
                user_changed = False  # only its CTI credentials change
        elif action == CREATE:
            state.creating += 1
        if moved:  # only now that the row passes: it lets go of its old number for the rows below
            old, new = moved
            del state.users_by_number[old]
            state.users_by_number[new] = existing
        return UserRow(number, action, state, entity, template, values, existing, ddis, cti, user_changed)

    def _values(
        self, state: TenantState, cells: Cells, existing: PbxUser | None, internal: str, username: str
    ) -> tuple:
        """The row's field values, each cell checked by its model field; every refused cell is
        reported, not only the first."""
        values = [getattr(existing, name) for name in FIELDS] if existing else list(_NEW_VALUES)
        problems: list[tuple[str, str]] = []
        for name in self._present:
            try:
                cell = cells.get(name)
                if name in _BOOLEANS:
                    values[_POSITION[name]] = parse_bool(name, cell)
                    continue
                if cell and name == "mobile_number":
                    cell = self._phone(state, name, cell)
                elif cell and name in _SWITCHED:
                    cell = phones.clean(cell)
                elif name == "forward_no_answer_timeout" and cell == "0":
                    cell = ""  # FreePBX's "default"
                elif not cell and name in ("first_name", "last_name") and any(map(cells.has, _NAME_SOURCES)):
                    continue  # taken from the one name below, or refused there
                values[_POSITION[name]] = self.checks[name](cell)
            except RowInvalid as refused:
                problems.extend(refused.problems)
        for name in _SWITCHED:  # other tools keep a destination that is switched off
            switch = f"{name}_enabled"
            if cells.has(switch):
                try:
                    if not parse_bool(switch, cells.get(switch)):
                        values[_POSITION[name]] = ""
                except RowInvalid as refused:
                    problems.extend(refused.problems)
        if not values[_POSITION["first_name"]] or not values[_POSITION["last_name"]]:
            try:
                self._names_from_one(cells, values)
            except RowInvalid as refused:
                problems.extend(refused.problems)
        if existing is None and not cells.has("voicemail_pin"):
            values[_POSITION["voicemail_pin"]] = None
        if (
            values[_POSITION["voicemail_pin"]]
            and not cells.has("voicemail_enabled")
            and state.line.keeps("voicemail_enabled")
        ):
            values[_POSITION["voicemail_enabled"]] = True  # a tool that exports a mailbox PIN has the mailbox
        values[_POSITION["internal_number"]] = internal
        try:
            if username:
                values[_POSITION["username"]] = self.checks["username"](username)
            elif existing is None:
                values[_POSITION["username"]] = self._derived_username(values)
        except RowInvalid as refused:
            problems.extend(refused.problems)
        if problems:
            raise RowInvalid.of(problems)
        for name in ("first_name", "last_name"):
            if not values[_POSITION[name]]:
                source = next((s for s in _NAME_SOURCES if cells.has(s)), "")
                if source and cells.get(source):
                    message = _(
                        "is empty (%(source)s holds one word only): the PBX needs a first and a last name. For a "
                        "shared line write e.g. Reception in first_name and the company in last_name."
                    ) % {"source": source}
                else:
                    message = _(
                        "is empty: the PBX needs a first and a last name. For a shared line write e.g. "
                        "Reception in first_name and the company in last_name."
                    )
                raise RowInvalid(name, message)
        if values[_POSITION["voicemail_pin"]] == "":
            values[_POSITION["voicemail_pin"]] = None
        return tuple(values)

    def _names_from_one(self, cells: Cells, values: list) -> None:
        """First and last name from a tool that keeps one name (FreePBX's name, Elastix's Display
        Name): the first word and the rest, or `Last, First`."""
        whole = next((cells.get(name) for name in _NAME_SOURCES if cells.has(name) and cells.get(name)), "")
        if not whole:
            return
        if "," in whole:
            last, first = (part.strip() for part in whole.split(",", 1))
        else:
            first, _space, last = whole.partition(" ")
        for name, part in (("first_name", first), ("last_name", last.strip())):
            if not values[_POSITION[name]] and part:
                values[_POSITION[name]] = self.checks[name](part)

    def _phone(self, state: TenantState, column: str, raw: str) -> str:
        """A phone number cell in E.164: written with spaces, dots, dashes or brackets, or national
        in the tenant's country."""
        number = phones.clean(raw)
        if phones.is_national(number):
            region = self.context.region_for(state)
            if region is None:
                raise RowInvalid(column, phones.national_hint(raw, _("tenant %(tenant)s") % {"tenant": state.tenant}))
            number = phones.to_e164(number, region)
        return number

    @staticmethod
    def _internal_cell(cells: Cells) -> str:
        """The internal number: its column, or else the ;ext= of a Teams LineURI (tel:+31…;ext=1701)."""
        if cells.has("internal_number"):
            return cells.get("internal_number")
        found = _EXTENSION.search(cells.get("ddi"))
        if found is None:
            raise RowInvalid(
                "internal_number",
                _("is required: the file has no internal_number column, and the number has no ;ext= to take it from."),
            )
        return found.group(1)

    def _derived_username(self, values: list) -> str:
        email, first, last = (values[_POSITION[name]] for name in ("email", "first_name", "last_name"))
        name = derive_username(email, first, last)
        if not name:
            raise RowInvalid("username", _("is required: it cannot be made from the e-mail address or name."))
        return name

    def _key_from_cells(self, cells: Cells) -> str:
        """The username a row without one gets (as `_derived_username` makes it for a new user);
        empty when it cannot be made, which `_values` reports."""
        try:
            return derive_username(cells.get("email"), cells.get("first_name"), cells.get("last_name"))
        except RowInvalid:
            return ""  # a refused cell: reported when the row's values are checked

    def _entity(self, state: TenantState, cells: Cells, existing: PbxUser | None, internal: str) -> Entity:
        name = cells.get("entity")
        if name:
            entity = state.entities.get(name)
            if entity is None or not self.context.may_use_entity(state, entity):
                raise RowInvalid(
                    "entity",
                    _("%(name)s not found in tenant %(tenant)s.") % {"name": repr(name), "tenant": state.tenant},
                )
            return entity
        if existing is not None and existing.entity.contains_number(internal):
            return existing.entity
        entity = state.entity_for_number(internal)
        if entity is None or not self.context.may_use_entity(state, entity):
            usable = [e for e in state.entities.values() if self.context.may_use_entity(state, e)]
            raise RowInvalid(
                "internal_number",
                _("%(number)s is not inside the number plan of an entity of %(tenant)s (%(plans)s).")
                % {"number": internal, "tenant": state.tenant, "plans": state.plans(usable)},
            )
        return entity

    def _template(self, state: TenantState, cells: Cells, existing: PbxUser | None) -> LineTemplate:
        template = self._chosen_template(state, cells, existing)
        if template.pk in state.templates_unusable and (existing is None or existing.template_id != template.pk):
            raise RowInvalid("template", numbering.TEMPLATE_NAME_NOT_AVAILABLE.format(name=template.name))
        return template

    def _chosen_template(self, state: TenantState, cells: Cells, existing: PbxUser | None) -> LineTemplate:
        name = cells.get("template")
        if name:
            template = state.templates.get(name)
            if template is None:
                raise RowInvalid(
                    "template",
                    _("%(name)s not found among the line templates %(tenant)s may use.")
                    % {"name": repr(name), "tenant": state.tenant},
                )
            return template
        if existing is not None:
            return existing.template
        if self.default_template is None:
            raise RowInvalid(
                "template",
                _(
                    "is empty and no default template was chosen on the form: name a line template here, or "
                    "choose one on the form."
                ),
            )
        if self.default_template.pk not in state.template_ids:
            raise RowInvalid(
                "template",
                _("the default template %(template)s is not usable by %(tenant)s.")
                % {"template": self.default_template, "tenant": state.tenant},
            )
        return state.templates[self.default_template.name]

    def _clean(self, state: TenantState, entity: Entity, template: LineTemplate, values: tuple) -> None:
        """The model's own cross-field rules (number plan, template, voicemail PIN), run on one
        instance per tenant refilled for each row (building a model instance per row costs more
        than the rest of the row's checks)."""
        user = self._scratch.get(state.tenant.id)
        if user is None:
            user = self._scratch[state.tenant.id] = PbxUser(tenant=state.tenant)
        user.__dict__.update(zip(FIELDS, values, strict=True))
        user.entity_id, user.template_id = entity.id, template.id
        user._state.fields_cache.update(entity=entity, template=template)
        try:
            user.clean()
        except ValidationError as error:
            raise RowInvalid(*first_error(error)) from None

    def _keeps(self, state: TenantState, existing: PbxUser | None) -> None:
        """Only settings the tenant's platform keeps per user (checked on the row `_clean` filled)."""
        try:
            state.line.check_settings(self._scratch[state.tenant.id], existing)
        except ValidationError as error:
            raise RowInvalid(*first_error(error)) from None

    def _claim(self, state: TenantState, number: int, existing: PbxUser | None, values: tuple) -> tuple | None:
        """Internal number and username: free in the tenant and not used twice in the file."""
        for name, taken, seen in (
            ("internal_number", state.users_by_number, state.seen_numbers),
            ("username", state.users_by_username, state.seen_usernames),
        ):
            value = values[_POSITION[name]]
            if name == "internal_number" and value in state.numbers_elsewhere:
                raise RowInvalid(name, numbering.NUMBER_NOT_AVAILABLE.format(number=value))
            holder = taken.get(value)
            if holder is not None and holder is not existing:
                shown = holder.username if self.context.may_change_user(state, holder) else ""
                raise RowInvalid(name, uniqueness.taken(value, holder=shown, tenant=state.tenant))
            earlier = seen.setdefault(value, number)
            if earlier != number:
                raise RowInvalid(name, _("%(value)s is also on row %(row)s.") % {"value": value, "row": earlier})
        if existing is not None:  # a user moved by this row lets go of its number (once the row passes)
            old, new = existing.internal_number, values[_POSITION["internal_number"]]
            if old != new and state.users_by_number.get(old) is existing:
                return old, new
        return None

    def _ddis(self, state: TenantState, number: int, cells: Cells, existing: PbxUser | None) -> list[str]:
        wanted = []
        for part in phones.split_numbers(cells.get("ddi")):
            if _SEVERAL_IN_ONE.search(part):
                raise RowInvalid(
                    "ddi",
                    _(
                        "%(cell)s holds several numbers separated by spaces; separate them with ; or , or a line "
                        "break (a space may only stand inside one number: +31 20 123 4567)."
                    )
                    % {"cell": part},
                )
            value = self._phone(state, "ddi", part)
            try:
                validate_e164(value)
            except ValidationError as error:
                raise RowInvalid("ddi", f"{part}: {' '.join(error.messages)}") from None
            found = self.context.numbers.get(value)
            if found is None:
                raise RowInvalid(
                    "ddi",
                    _("%(number)s not found in the number pools you manage: add it to a pool first, or leave it out.")
                    % {"number": value},
                )
            if found.assigned_user_id and (existing is None or found.assigned_user_id != existing.pk):
                raise RowInvalid(
                    "ddi",
                    _("%(number)s is assigned to another user: release it there first, or leave it out.")
                    % {"number": value},
                )
            if found.tenant_id and found.tenant_id != state.tenant.pk:
                raise RowInvalid(
                    "ddi",
                    _("%(number)s is allocated to another tenant: release it there first, or leave it out.")
                    % {"number": value},
                )
            if not state.tenant.organization.is_within(found.organization):
                raise RowInvalid(
                    "ddi",
                    _("%(number)s is in the pool of %(organization)s, which %(tenant)s cannot use.")
                    % {"number": value, "organization": found.organization, "tenant": state.tenant},
                )
            if found.tenant_id is None and not self.context.may_allocate(found):
                raise RowInvalid(
                    "ddi",
                    _("%(number)s is not allocated to %(tenant)s; only the pool's managers may do that.")
                    % {"number": value, "tenant": state.tenant},
                )
            earlier = self.context.seen_numbers.setdefault(value, number)
            if earlier != number:
                raise RowInvalid("ddi", _("%(value)s is also on row %(row)s.") % {"value": value, "row": earlier})
            wanted.append(value)
        return wanted

    def _unchanged(self, state, existing, entity, template, values, ddis) -> bool:
        current = tuple(getattr(existing, name) for name in FIELDS)
        if (existing.entity_id, existing.template_id, current) != (entity.pk, template.pk, values):
            return False
        return ddis is None or sorted(ddis) == sorted(state.numbers_of_user.get(existing.pk, []))

    def finish(self, outcome: Outcome) -> None:
        """Licences of each tenant and lines of each server, for the rows the file adds."""
        states = [s for s in self.context.states.values() if s.creating]
        for state in states:
            current = len(state.users_by_username)
            refused = capacity.licence_shortfall(state.tenant, current=current, adding=state.creating)
            if refused:
                outcome.add_error(0, "licences", refused)
        adding = Counter()
        for state in states:
            adding[state.tenant.server_id] += state.creating
        servers = {s.tenant.server_id: s.tenant.server for s in states}
        counts = (
            self.context.server_user_counts() if any(s.capacity_users is not None for s in servers.values()) else {}
        )
        for server_id, count in adding.items():
            server = servers[server_id]
            refused = capacity.server_shortfall(server, on_server=counts.get(server_id, 0), adding=count)
            if refused:
                outcome.add_error(0, "server", refused)

    def shown(self, row: UserRow) -> dict[str, Any]:
        if row.action == SKIP and row.entity is None:
            return {"tenant": row.state.tenant.name, "username": getattr(row.existing, "username", "")}
        shown = {"tenant": row.state.tenant.name, "entity": row.entity.name, "template": row.template.name}
        shown.update(zip(FIELDS, row.values, strict=True))
        shown["voicemail_pin"] = "••••" if shown["voicemail_pin"] else ""
        if row.ddis is not None:
            shown["ddi"] = "; ".join(row.ddis)
        if self.cti is not None:
            shown.update(UserCti.shown(row.cti))
        return shown


def derive_username(email: str, first_name: str, last_name: str) -> str:
    """The documented username of a row that names none: the e-mail address's local part, else
    (no address, or one in a script that leaves no ASCII letters) first.last, in lower-case ASCII;
    empty when neither is a valid username."""
    candidates = [email.split("@")[0]] if email else []
    candidates.append(f"{first_name}.{last_name}")
    for base in candidates:
        ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode().lower()
        name = re.sub(r"[^a-z0-9._-]", "", ascii_name.replace(" ", ".")).lstrip("._-")[:64]
        try:
            validate_username(name)
        except ValidationError:
            continue
        return name
    return ""

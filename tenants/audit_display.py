"""How audit entries read on a page, for staff in the admin and for customers on the self-service site.

django-auditlog stores raw values: a foreign key as its id, a choice as its stored value, a
boolean as "True". Labels come from auditlog's registry (`mapping_fields`, else the field's verbose
name) and choices are shown by their label, as `LogEntry.changes_display_dict` does; related objects
are named differently, though: `changes_display_dict` looks each one up with a query of its own,
so a page of entries would cost a query per value. Here the names a page needs are fetched with
one query per related model.

Nobody sees the primary key, reverse relations or sync bookkeeping (older entries may still hold
them). Customers see only what means something to them: fields registered `staff_only` (the
backend identities) are shown to staff only, and an update that changed nothing else is left out.
A create (or a delete) shows the values it set (or removed), not "None → value".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants import access
from tenants.models import Organization

STAFF = "staff"
CUSTOMER = "customer"
MASK = "****"
HIDDEN = gettext_lazy("(not available)")  # shown as str(HIDDEN), in the viewer's language
LONGEST_VALUE = 120

_staff_only: dict[type[models.Model], frozenset[str]] = {}


def register(
    model: type[models.Model],
    *,
    staff_only: Iterable[str] = (),
    exclude_fields: Iterable[str] = (),
    **options: Any,
) -> None:
    """Audit `model` with django-auditlog (`options` are auditlog's). The primary key (an entry
    already names its object) and reverse relations (which auditlog would log as "app.Model.None")
    are never logged; `staff_only` fields are logged but shown to staff only."""
    never_logged = [model._meta.pk.name] + [
        relation.name for relation in model._meta.get_fields() if relation.auto_created and not relation.concrete
    ]
    auditlog.register(model, exclude_fields=[*exclude_fields, *never_logged], **options)
    _staff_only[model] = frozenset(staff_only)


@dataclass(frozen=True)
class ShownChange:
    """One field of an entry. `old` is None when the entry states values rather than a change
    (a create shows what it set, a delete what it removed)."""

    label: str
    new: str
    old: str | None = None


@dataclass
class ShownEntry:
    entry: LogEntry
    changes: list[ShownChange] = field(default_factory=list)


def _model_of(entry: LogEntry) -> type[models.Model] | None:
    return ContentType.objects.get_for_id(entry.content_type_id).model_class()


def _options(model: type[models.Model] | None) -> dict[str, Any]:
    if model is None or not auditlog.contains(model):
        return {"exclude_fields": [], "mapping_fields": {}, "mask_fields": []}
    return auditlog.get_model_fields(model)


def _shown_field(model: type[models.Model] | None, name: str, audience: str, options: dict[str, Any]) -> Any:
    """The model field behind a change if this audience sees it, None if it does not; the name
    itself for staff when the field no longer exists."""
    if name in options["exclude_fields"] or (audience == CUSTOMER and name in _staff_only.get(model, ())):
        return None
    try:
        model_field = model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        model_field = None
    if model_field is None:
        return name if audience == STAFF and name != "id" else None
    if model_field.primary_key or (model_field.auto_created and not model_field.concrete):
        return None
    return model_field


def _is_reference(model_field: Any) -> bool:
    return isinstance(model_field, models.Field) and (model_field.many_to_one or model_field.one_to_one)


def _is_empty(raw: Any) -> bool:
    return raw is None or raw in ("", "None")


def _related_pk(model_field: Any, raw: Any) -> Any:
    try:
        return model_field.related_model._meta.pk.to_python(raw)
    except ValidationError:
        return None  # an old entry holding a name rather than an id


class _Names:
    """The names of the related objects a page of entries refers to: one query per model, and one
    more per scoped model for what the viewer may see of them (an object outside the viewer's
    scope is never named: a number's history does not tell who held it before)."""

    def __init__(self, viewer: Any = None) -> None:
        self.viewer = viewer
        self._wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self._found: dict[type[models.Model], dict[Any, str]] = {}
        self._hidden: dict[type[models.Model], set[Any]] = {}

    def want(self, model_field: Any, raw: Any) -> None:
        pk = None if _is_empty(raw) else _related_pk(model_field, raw)
        if pk is not None:
            self._wanted[model_field.related_model].add(pk)

    def fetch(self) -> None:
        for related_model, pks in self._wanted.items():
            objects = related_model._base_manager.filter(pk__in=pks)
            self._found[related_model] = {obj.pk: str(obj) for obj in objects}
            if self.viewer is not None:
                visible = _visible(related_model, set(self._found[related_model]), self.viewer)
                self._hidden[related_model] = set(self._found[related_model]) - visible

    def name(self, model_field: Any, raw: Any, audience: str) -> str:
        pk = _related_pk(model_field, raw)
        if pk is None:
            return str(raw) if self.viewer is None else str(HIDDEN)
        if pk in self._hidden.get(model_field.related_model, ()):
            return str(HIDDEN)
        found = self._found.get(model_field.related_model, {}).get(pk)
        if found is not None:
            return found
        gone = _("deleted %(kind)s") % {"kind": model_field.related_model._meta.verbose_name}
        return f"{gone} #{pk}" if audience == STAFF else gone


def _visible(model: type[models.Model], pks: set[Any], viewer: Any) -> set[Any]:
    """The pks among `pks` of objects the viewer may see (every one, for a model nobody scopes)."""
    if not pks:
        return set()
    if hasattr(model, "access_policy"):
        rows = access.restrict(model._default_manager.filter(pk__in=pks), viewer, access.VIEW)
    elif model is get_user_model():
        rows = access.restrict_users(model._default_manager.filter(pk__in=pks), viewer, access.VIEW)
    else:
        return pks
    return set(rows.values_list("pk", flat=True))


def _shown_value(model_field: Any, raw: Any, names: _Names, audience: str, options: dict[str, Any]) -> str:
    if _is_empty(raw):
        return ""
    name = getattr(model_field, "name", model_field)
    if name in options["mask_fields"]:
        return MASK
    if _is_reference(model_field):
        text = names.name(model_field, raw, audience)
    elif getattr(model_field, "choices", None):
        text = str({str(value): label for value, label in model_field.flatchoices}.get(str(raw), raw))
    elif isinstance(model_field, models.BooleanField):
        text = {"True": _("yes"), "False": _("no")}.get(str(raw), str(raw))
    else:
        text = str(raw)
    return text if len(text) <= LONGEST_VALUE else text[:LONGEST_VALUE] + "…"


def _label(model_field: Any, options: dict[str, Any]) -> str:
    name = getattr(model_field, "name", model_field)
    mapped = options["mapping_fields"].get(name)
    if mapped:
        return str(mapped)
    return str(getattr(model_field, "verbose_name", str(name).replace("_", " ")))


def _m2m_change(label: str, values: dict[str, Any], model_field: Any, viewer: Any) -> ShownChange:
    """auditlog keeps the objects of a many-to-many change by name: logins the viewer may not see
    (an entity's administrators) read "(not available)"."""
    objects = [str(name) for name in values.get("objects", [])]
    related = getattr(model_field, "related_model", None)
    if viewer is not None and related is not None and related is get_user_model():
        visible = access.restrict_users(related._default_manager.filter(username__in=objects), viewer, access.VIEW)
        seen = set(visible.values_list("username", flat=True))
        objects = [name if name in seen else str(HIDDEN) for name in objects]
    elif viewer is not None and hasattr(related, "access_policy"):
        objects = [str(HIDDEN) for _name in objects]  # named only: cannot be checked, so not shown
    if values.get("operation") == "add":
        return ShownChange(label=label, new=_("added: %(objects)s") % {"objects": ", ".join(objects)})
    return ShownChange(label=label, new=_("removed: %(objects)s") % {"objects": ", ".join(objects)})


def shown_entries(entries: Iterable[LogEntry], *, audience: str, viewer: Any) -> list[ShownEntry]:
    """`entries` as `audience` sees them, with the names of related objects fetched in one query
    per related model. Related objects the viewer may not see read "(not available)"; a viewer of
    None is the system itself (no such check)."""
    entries = list(entries)
    names = _Names(viewer)
    plans = []
    for entry in entries:
        model = _model_of(entry)
        options = _options(model)
        fields = []
        for name, values in (entry.changes_dict or {}).items():
            model_field = _shown_field(model, name, audience, options)
            if model_field is None:
                continue
            fields.append((model_field, values))
            if _is_reference(model_field) and isinstance(values, list | tuple):
                for raw in values:
                    names.want(model_field, raw)
        plans.append((entry, options, fields))
    names.fetch()
    shown = []
    for entry, options, fields in plans:
        seen = _seen_before(entry, _model_of(entry), viewer)
        changes = [
            _change(entry, model_field, values, names, audience, options, seen_before=seen)
            for model_field, values in fields
        ]
        changes = [change for change in changes if change is not None]
        if changes or audience == STAFF or entry.action != LogEntry.Action.UPDATE:
            shown.append(ShownEntry(entry, changes))
    return shown


def _change(
    entry: LogEntry,
    model_field: Any,
    values: Any,
    names: _Names,
    audience: str,
    options: dict[str, Any],
    *,
    seen_before: bool = True,
) -> ShownChange | None:
    label = _label(model_field, options)
    if isinstance(values, dict) and values.get("type") == "m2m":
        return _m2m_change(label, values, model_field, names.viewer)
    if not isinstance(values, list | tuple) or len(values) != 2:
        return None
    old, new = (_shown_value(model_field, raw, names, audience, options) for raw in values)
    if entry.action == LogEntry.Action.CREATE:
        left_unset = not new or (isinstance(model_field, models.BooleanField) and values[1] == "False")
        return None if left_unset else ShownChange(label=label, new=new)
    if entry.action == LogEntry.Action.DELETE:
        return ShownChange(label=label, new=old) if old else None
    if old == new:
        return None
    return ShownChange(label=label, new=new, old=old if seen_before or not old else str(HIDDEN))


def _seen_before(entry: LogEntry, model: type[models.Model] | None, viewer: Any) -> bool:
    """Could the viewer see the object before this change? Not when the change moved it into the
    viewer's scope (a number allocated from another customer's tenant): the values it had then
    are another organization's. Costs a query only for an entry that moved its object."""
    if viewer is None or viewer.is_superuser or entry.action != LogEntry.Action.UPDATE:
        return True
    if model is None or not hasattr(model, "access_policy"):
        return True
    policy = access.policy_of(model)
    changes = entry.changes_dict or {}
    data = entry.additional_data or {}
    scoped = [(key, lookup) for key, lookup in zip(("org", "org2"), policy.organization_lookups, strict=False)]
    if policy.entity_lookup:
        scoped.append(("entity", policy.entity_lookup))
    if not any(lookup and lookup.split("__")[0] in changes for _key, lookup in scoped):
        return True  # it stayed where it was: the entry is seen as the object is
    before: dict[str, set[Any]] = {"org": set(), "entity": set()}
    for key, lookup in scoped:
        first, _, rest = lookup.partition("__")
        kind = "entity" if key == "entity" else "org"
        if first not in changes:
            if data.get(key) is not None:
                before[kind].add(data[key])
            continue
        old = changes[first][0] if isinstance(changes[first], list | tuple) else None
        if _is_empty(old):
            continue
        related = model._meta.get_field(first).related_model
        pk = _related_pk(model._meta.get_field(first), old)
        if pk is None:
            continue
        if not rest:
            before[kind].add(pk)
        else:
            before[kind].update(related._base_manager.filter(pk=pk).values_list(f"{rest}__pk", flat=True))
    before = {kind: {pk for pk in pks if pk is not None} for kind, pks in before.items()}
    if before["org"] and access.restrict(Organization.objects.filter(pk__in=before["org"]), viewer).exists():
        return True
    if before["entity"] and policy.entity_lookup:
        entity_model = _model_at(model, policy.entity_lookup)
        return access.restrict(entity_model._default_manager.filter(pk__in=before["entity"]), viewer).exists()
    return False


def _model_at(model: type[models.Model], lookup: str) -> type[models.Model]:
    for part in lookup.split("__"):
        model = model._meta.get_field(part).related_model
    return model

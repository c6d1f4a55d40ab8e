"""Inlines whose rows are saved by services, checked before anything is written.

The admin saves the parent object first and its inlines after; a service refusing a row at that
point could only undo the whole change and report it as a banner, losing what was typed. So, as
`ScopedAdmin` does for the main form, the inline's rows are saved once while the formset is
validated, in a savepoint that is rolled back (on a copy of the parent when it is new), and a
refusal is shown next to the row — and the field — that caused it.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest

from tenants.admin_scoping import ScopedInline, ServiceRefused, add_service_error


class RowRefused(Exception):
    """A service refused one row of an inline."""

    def __init__(self, form: Any, error: ValidationError):
        super().__init__(" ".join(error.messages))
        self.form = form
        self.error = error


class _DryRunFinished(Exception):
    pass


def _candidate(obj: models.Model) -> models.Model:
    """A copy to run a service on without touching the object the form will save later."""
    candidate = copy.copy(obj)
    candidate._state = copy.copy(obj._state)
    return candidate


class ServiceCheckedInline(ScopedInline):
    """An inline saved row by row through services (`save_row`, `delete_row`): deletions first,
    then new and changed rows in the order shown. `service_error_fields` maps a service's error
    keys onto the form's fields (e.g. {"intervals": "number_plan"})."""

    service_error_fields: dict[str, str] = {}

    def save_row(self, request: HttpRequest, obj: models.Model, form: Any) -> None:
        raise NotImplementedError

    def delete_row(self, request: HttpRequest, obj: models.Model) -> None:
        raise NotImplementedError

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset_class = super().get_formset(request, obj, **kwargs)
        inline = self

        class ServiceCheckedFormSet(formset_class):
            def clean(self) -> None:
                super().clean()
                if not any(form.errors for form in self.forms):
                    inline.dry_run(request, self)

            def save_through_services(self) -> None:
                try:
                    inline.save_forms(request, self)
                except RowRefused as refusal:  # a change made meanwhile: the dry run had passed
                    raise ServiceRefused(str(refusal)) from refusal

        ServiceCheckedFormSet.__name__ = formset_class.__name__
        return ServiceCheckedFormSet

    def save_forms(self, request: HttpRequest, formset: Any, *, parent: models.Model | None = None) -> None:
        """Save the rows (and note, as formset.save() would, what changed for the admin's history
        message); with `parent`, a dry run on copies attached to that parent. Raises RowRefused."""
        dry_run = parent is not None
        if not dry_run:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        fk_name = formset.fk.name
        for form in formset.deleted_forms:
            if form.instance.pk:
                obj = _candidate(form.instance) if dry_run else form.instance
                self._row(form, lambda obj=obj: self.delete_row(request, obj))
                if not dry_run:
                    formset.deleted_objects.append(obj)
        for form in formset.forms:
            if form in formset.deleted_forms or not form.has_changed():
                continue
            obj = _candidate(form.instance) if dry_run else form.save(commit=False)
            setattr(obj, fk_name, parent if dry_run else formset.instance)  # a new parent has its id by now
            adding = obj.pk is None
            self._row(form, lambda obj=obj, form=form: self.save_row(request, obj, form))
            if dry_run:
                continue
            if adding:
                formset.new_objects.append(obj)
            else:
                formset.changed_objects.append((obj, form.changed_data))

    @staticmethod
    def _row(form: Any, save: Any) -> None:
        try:
            save()
        except ValidationError as error:
            raise RowRefused(form, error) from error

    def dry_run(self, request: HttpRequest, formset: Any) -> None:
        """Save the rows in a savepoint that is rolled back, to show a refusal next to its row. Only
        once the parent's own form has passed its check (`ScopedAdmin` marks the parent)."""
        parent = formset.instance
        if not getattr(parent, "_service_checked", False):
            return
        try:
            with transaction.atomic():
                if parent.pk is None:
                    parent = _candidate(parent)
                    self.admin_site._registry[self.parent_model].create_object(request, parent, None)
                self.save_forms(request, formset, parent=parent)
                raise _DryRunFinished
        except _DryRunFinished:
            pass
        except RowRefused as refusal:
            add_service_error(refusal.form, refusal.error, aliases=self.service_error_fields)

"""The base of every admin class: everything scoped by `tenants.access`, every write through a service.

- Changelists, change, delete and history views show only what the login may see; anything else
  answers 404 (never a redirect that confirms the object exists). The history is django-auditlog's
  (`tenants.admin_history`).
- Foreign-key and many-to-many choices, autocomplete and actions are restricted the same way.
- Saving and deleting call the model's service, so the admin obeys the same rules as every other
  way in. A form is checked by running its service in a savepoint that is rolled back, so a
  refusal from the service shows next to the form instead of as an error page (inlines saved
  through services: `tenants.admin_inlines`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DataError, models, transaction
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants import access, audit
from tenants.access import ADD, CHANGE, DELETE, VIEW
from tenants.admin_history import AuditHistoryMixin, render_history
from tenants.admin_rows import QuickRowsMixin
from tenants.audit_display import STAFF, shown_entries
from tenants.models import Organization
from tenants.pagination import LongListMixin

_request_user: ContextVar[Any] = ContextVar("admin_request_user", default=None)


@contextlib.contextmanager
def rendering_for(user: Any) -> Iterator[None]:
    """Render admin fields for `user` outside a change form (a section fetched on its own)."""
    token = _request_user.set(user)
    try:
        yield
    finally:
        _request_user.reset(token)


def current_user() -> Any:
    """The login of the admin request being rendered (read-only fields get only the object)."""
    return _request_user.get()


class _DryRunFinished(Exception):
    """Raised to roll back a service call made only to validate a form."""


class ServiceRefused(Exception):
    """A service refused a change at save time (after the form had validated)."""


def add_service_error(form: Any, error: ValidationError, *, aliases: dict[str, str] | None = None) -> None:
    """Attach a service's ValidationError to a form: field errors next to their field when the
    form shows it (`aliases` maps a service's key onto the form's field), the rest at the top."""
    if hasattr(error, "error_dict"):
        for key, errors in error.message_dict.items():
            field = (aliases or {}).get(key, key)
            target = field if field in form.fields else None
            for message in errors:
                form.add_error(
                    target,
                    message if target else f"{field.replace('_', ' ')}: {message}" if field != "__all__" else message,
                )
    else:
        for message in error.messages:
            form.add_error(None, message)


class ScopedAdmin(LongListMixin, QuickRowsMixin, AuditHistoryMixin, admin.ModelAdmin):
    """A ModelAdmin whose every read and write goes through the permission tree and a service.

    Subclasses set `create_service`, `update_service`, `delete_service` (callables taking
    `actor=` and the object under the keyword `service_object_name`), or override
    `create_object` / `update_object` / `delete_object`.
    """

    create_service: Callable[..., Any] | None = None
    update_service: Callable[..., Any] | None = None
    delete_service: Callable[..., Any] | None = None
    service_object_name: str = "obj"
    list_per_page = 50
    # No "(N in all)" beside a search or filter: it would count every row the login sees a second
    # time on each page, the largest query of a filtered page at 100,000 users.
    show_full_result_count = False

    # --- querysets and permissions ---------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return access.restrict(super().get_queryset(request), request.user, VIEW)

    def _policy(self):
        return access.policy_of(self.model)

    def _may_manage_somewhere(self, request: HttpRequest, action: str = CHANGE) -> bool:
        """Whether the login may do `action` on some object of this model (changelist actions and
        buttons are offered on that)."""
        user = request.user
        if user.is_superuser:
            return True
        roles = self._policy().roles_for(action)
        if any(role in roles for _path, role in access.memberships(user)):
            return True
        return bool(action in self._policy().entity_actions and access.has_entity_grants(user))

    def _sees_anything(self, request: HttpRequest) -> bool:
        user = request.user
        if not access.has_any_scope(user):
            return False
        if user.is_superuser or access.memberships(user):
            return True
        return bool(self._policy().entity_actions)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._sees_anything(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self._sees_anything(request)
        return access.can(request.user, VIEW, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if user.is_superuser:
            return True
        policy = self._policy()
        if any(role in policy.roles_for(ADD) for _path, role in access.memberships(user)):
            return True
        return bool(ADD in policy.entity_actions and access.has_entity_grants(user))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self._may_manage_somewhere(request)
        return access.can(request.user, CHANGE, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self._may_manage_somewhere(request, DELETE)
        return access.can(request.user, DELETE, obj)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} matches the given query.")
        return obj

    # --- change history (audited models) ------------------------------------------------------------

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and self._audited():
            fields.append("change_history")
        return fields

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and self._audited():
            shown = {name for _title, options in fieldsets for name in _flatten(options.get("fields", []))}
            if "change_history" not in shown:
                fieldsets.append((_("Change history"), {"fields": ["change_history"], "classes": ["collapse"]}))
        return fieldsets

    @admin.display(description=gettext_lazy("change history"))
    def change_history(self, obj: Any) -> str:
        viewer = current_user()
        return render_history(shown_entries(audit.entries_for(obj, viewer), audience=STAFF, viewer=viewer))

    # --- choices ---------------------------------------------------------------------------------

    def scoped_choices(
        self, request: HttpRequest, related_model: type[models.Model], field_name: str
    ) -> models.QuerySet:
        """What a login may pick for a relation of this model."""
        user = request.user
        if related_model is Organization:
            return access.organizations_for(user, self.model, ADD)
        if related_model is get_user_model():
            return access.restrict_users(related_model.objects.all(), user, CHANGE)
        if hasattr(related_model, "access_policy"):
            return access.restrict(related_model._default_manager.all(), user, VIEW)
        return related_model._default_manager.all()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related_admin = self.admin_site._registry.get(db_field.related_model)
        choice_label = getattr(related_admin, "choice_label", None)
        if "queryset" not in kwargs:
            kwargs["queryset"] = self.scoped_choices(request, db_field.related_model, db_field.name)
            if choice_label is not None:
                kwargs["queryset"] = kwargs["queryset"].select_related(*related_admin.choice_select_related)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and choice_label is not None:
            field.label_from_instance = choice_label  # as its autocomplete results say (tenants.admin_site)
        return field

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            kwargs["queryset"] = self.scoped_choices(request, db_field.related_model, db_field.name)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- writes through services -----------------------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceCheckedForm(form_class):
            def _post_clean(self) -> None:
                super()._post_clean()
                if self.errors:
                    return
                model_admin.dry_run(request, self, change=bool(self.instance.pk))
                # Inlines saved through services check their rows only once their parent passed.
                self.instance._service_checked = not self.errors

        ServiceCheckedForm.__name__ = form_class.__name__
        return ServiceCheckedForm

    def dry_run(self, request: HttpRequest, form: Any, *, change: bool) -> None:
        """Run the service on a copy of the form's object and roll it back, to show its refusal."""
        candidate = copy.copy(form.instance)
        candidate._state = copy.copy(form.instance._state)
        try:
            with transaction.atomic():
                if change:
                    self.update_object(request, candidate, form)
                else:
                    self.create_object(request, candidate, form)
                raise _DryRunFinished
        except _DryRunFinished:
            pass
        except ValidationError as error:
            add_service_error(form, error)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            if change:
                self.update_object(request, obj, form)
            else:
                self.create_object(request, obj, form)
        except ValidationError as error:
            raise ServiceRefused(" ".join(error.messages)) from error

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        save_through_services = getattr(formset, "save_through_services", None)  # tenants.admin_inlines
        if save_through_services is not None:
            save_through_services()
        else:
            super().save_formset(request, form, formset, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            self.delete_object(request, obj)
        except ValidationError as error:
            raise ServiceRefused(" ".join(error.messages)) from error

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        try:
            with transaction.atomic():
                for obj in queryset:
                    self.delete_object(request, obj)
        except ValidationError as error:
            raise ServiceRefused(" ".join(error.messages)) from error

    def _service_kwargs(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {"actor": request.user, self.service_object_name: obj}

    def create_object(self, request: HttpRequest, obj: Any, form: Any) -> None:
        if self.create_service is None:
            raise ValidationError(_("Objects of this kind are not created here."))
        type(self).create_service(**self._service_kwargs(request, obj))

    def update_object(self, request: HttpRequest, obj: Any, form: Any) -> None:
        if self.update_service is None:
            raise ValidationError(_("Objects of this kind are not changed here."))
        type(self).update_service(**self._service_kwargs(request, obj))

    def delete_object(self, request: HttpRequest, obj: Any) -> None:
        if self.delete_service is None:
            raise ValidationError(_("Objects of this kind are not deleted here."))
        type(self).delete_service(**self._service_kwargs(request, obj))

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """A page with nothing to edit (every field read-only, no inline row to add or change) says
        "View" and offers no Save button, whatever the login's rights on the object."""
        change, obj = kwargs.get("change", False), kwargs.get("obj")
        if len(args) >= 2:
            change = args[1]
        if len(args) >= 4:
            obj = args[3]
        if change and obj is not None and _nothing_to_edit(context):
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
            context["title"] = _("View %(name)s") % {"name": self.model._meta.verbose_name}
        return super().render_change_form(request, context, *args, **kwargs)

    # A refusal that only shows at save time (a race with another change) becomes a message.
    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> Any:
        token = _request_user.set(request.user)
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # while the login is known to the read-only fields
            return response
        except ServiceRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(request.get_full_path())
        finally:
            _request_user.reset(token)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        try:
            return super().changelist_view(request, extra_context)
        except ServiceRefused as refusal:
            messages.error(request, str(refusal))
            return HttpResponseRedirect(request.get_full_path())
        except (OverflowError, DataError):
            return invalid_lookup(request)


def invalid_lookup(request: HttpRequest, list_url: str = "") -> HttpResponseRedirect:
    """What Django's admin answers a list's parameter it cannot use (the list, "?e=1"), for one the
    database cannot even compare: a key past any it can hold (?tenant=10**30)."""
    return HttpResponseRedirect(f"{list_url or request.path}?{ERROR_FLAG}=1")


def _nothing_to_edit(context: dict[str, Any]) -> bool:
    adminform = context.get("adminform")
    if adminform is None or adminform.form.fields:
        return False
    return not any(
        inline.has_add_permission or inline.has_change_permission or inline.has_delete_permission
        for inline in context.get("inline_admin_formsets", [])
    )


class ScopedInline(admin.TabularInline):
    """An inline whose rows are scoped like everything else; what may be edited follows the
    login's right to change the parent object."""

    extra = 0

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return access.restrict(super().get_queryset(request), request.user, VIEW)

    def _may_change_parent(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or access.can(request.user, CHANGE, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or access.can(request.user, VIEW, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change_parent(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change_parent(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change_parent(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if "queryset" not in kwargs and hasattr(related, "access_policy"):
            kwargs["queryset"] = access.restrict(related._default_manager.all(), request.user, VIEW)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _flatten(fields: Any) -> list[str]:
    flat = []
    for item in fields:
        flat.extend(item if isinstance(item, (list, tuple)) else [item])
    return flat

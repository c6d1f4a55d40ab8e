"""PBX users."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.imports import ImportExportMixin
from telephony.admin.sync import SyncStateAdminMixin, badge
from telephony.models import ImportKind, PbxUser, PhoneNumber
from telephony.search import search_users
from telephony.services import number_ranges
from telephony.services import users as services
from tenants import access
from tenants.access import CHANGE
from tenants.admin_scoping import ScopedAdmin

NUMBERS_PER_SAVE = 100  # numbers assigned from one user form at most
FREE_NUMBERS_LISTED = 200  # free numbers offered as suggestions under the field


class NumberSuggestions(forms.TextInput):
    """A text field with the tenant's first free numbers as suggestions (an HTML datalist: no script)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.suggestions: list[str] = []

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> str:
        listed = f"{(attrs or {}).get('id') or name}-free"
        field = super().render(name, value, {**(attrs or {}), "list": listed}, renderer)
        options = format_html_join("", '<option value="{}"></option>', ((number,) for number in self.suggestions))
        return format_html('{}<datalist id="{}">{}</datalist>', field, listed, options)


def free_numbers_for(actor: Any, tenant_id: int | None):
    """The numbers of a tenant that no user holds and that this login may give to a user."""
    if not tenant_id:
        return PhoneNumber.objects.none()
    numbers = PhoneNumber.objects.filter(tenant_id=tenant_id, assigned_user__isnull=True)
    return access.restrict(numbers, actor, CHANGE).order_by("number")


def split_numbers(text: str) -> list[str]:
    """Numbers and ranges typed in one field, separated by commas, semicolons or line breaks."""
    return [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]


class PbxUserForm(forms.ModelForm):
    """The voicemail PIN is never shown back: the form says whether one is set and takes a new one."""

    new_voicemail_pin = forms.CharField(
        label=gettext_lazy("Voicemail PIN"),
        required=False,
        max_length=8,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "inputmode": "numeric"}),
    )

    class Meta:
        model = PbxUser
        exclude = ["voicemail_pin"]  # noqa: DJ006  (every other field is edited here; the PIN never is)

    release_numbers = forms.ModelMultipleChoiceField(
        queryset=PhoneNumber.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Release"),
        help_text=gettext_lazy("Tick a number to take it off this user; it goes back to the tenant's free numbers."),
    )
    assign_numbers = forms.CharField(
        required=False,
        label=gettext_lazy("Assign numbers"),
        widget=NumberSuggestions(attrs={"size": 40, "autocomplete": "off"}),
        help_text=gettext_lazy(
            "Free numbers of the tenant, separated by commas, or a range such as +31 20 123 4510 – 4512."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        is_set = bool(self.instance.pk and self.instance.voicemail_pin)
        self.fields["new_voicemail_pin"].help_text = (
            _("A PIN is set. Leave empty to keep it, or type a new one (4 to 8 digits).")
            if is_set
            else _("4 to 8 digits; voicemail must be on.")
        )
        actor = getattr(self, "actor", None)
        if self.instance.pk:
            self.fields["release_numbers"].queryset = self.instance.phone_numbers.order_by("number")
        tenant_id = self.instance.tenant_id if self.instance.pk else None
        free = free_numbers_for(actor, tenant_id) if actor is not None else PhoneNumber.objects.none()
        widget = self.fields["assign_numbers"].widget
        widget.suggestions = list(free.values_list("number", flat=True)[:FREE_NUMBERS_LISTED])
        if self.instance.pk:
            total = free.count()
            self.fields["assign_numbers"].help_text = format_html(  # the tenant's name is data
                _("{help} {tenant} has {count} free; the first {listed} are suggested.")
                if total > FREE_NUMBERS_LISTED
                else _("{help} {tenant} has {count} free."),
                help=self.fields["assign_numbers"].help_text,
                tenant=self.instance.tenant,
                count=f"{total:,}",
                listed=FREE_NUMBERS_LISTED,
            )

    def clean_assign_numbers(self) -> list[PhoneNumber]:
        wanted: list[str] = []
        for part in split_numbers(self.cleaned_data.get("assign_numbers", "")):
            try:
                wanted.extend(number_ranges.parse_range(part, field="assign_numbers").numbers())
            except ValidationError as refused:
                raise ValidationError(refused.messages) from refused
            if len(wanted) > NUMBERS_PER_SAVE:
                raise ValidationError(_("Assign at most %(count)s numbers at a time.") % {"count": NUMBERS_PER_SAVE})
        return wanted  # looked up in clean(), once the tenant is known

    def clean(self):
        cleaned = super().clean()
        wanted = cleaned.get("assign_numbers") or []
        tenant = cleaned.get("tenant") or (self.instance.tenant if self.instance.pk else None)
        if wanted and tenant is not None:
            choices = free_numbers_for(getattr(self, "actor", None), tenant.pk).filter(number__in=wanted)
            free = {n.number: n for n in choices}
            missing = [number for number in wanted if number not in free]
            if missing:
                self.add_error(
                    "assign_numbers",
                    _("%(number)s is not a free number of %(tenant)s that you may assign.")
                    % {"number": missing[0], "tenant": tenant},
                )
            else:
                cleaned["assign_numbers"] = [free[number] for number in dict.fromkeys(wanted)]
        return cleaned


NUMBER_FORM_FIELDS = ("release_numbers", "assign_numbers")


@admin.register(PbxUser)
class PbxUserAdmin(ImportExportMixin, SyncStateAdminMixin, ScopedAdmin):
    form = PbxUserForm
    import_kind = ImportKind.USERS
    list_display = [
        "internal_number",
        "first_name",
        "last_name",
        "username",
        "email",
        "tenant",
        "entity",
        "template",
        "numbers",
        "sync_badge",
    ]
    list_display_links = ["internal_number", "first_name", "last_name"]
    list_filter = ["voicemail_enabled", "tenant__server__platform__kind", "sync_state"]
    list_select_related = ["tenant", "entity", "template"]
    # Searched through the indexes of telephony/search.py (get_search_results), not a scan per field.
    search_fields = ["first_name", "last_name", "username", "email", "internal_number", "tenant__name"]
    autocomplete_fields = ["tenant", "entity", "template", "portal_user"]
    # What the (tenant, internal number) unique index serves: a page never sorts every user the login
    # sees through a join with the tenants, as ordering by the tenant's name did.
    ordering = ["tenant_id", "internal_number"]
    readonly_fields = ["backend_reference", "provisioning", "numbers_held"]
    actions = ["give_free_number", "release_all_numbers"]
    fieldsets = [
        (None, {"fields": ["tenant", "entity", "internal_number", "template"]}),
        (
            gettext_lazy("Person"),
            {"fields": [("first_name", "last_name"), "display_name", "username", "email", "mobile_number"]},
        ),
        (gettext_lazy("Voicemail"), {"fields": ["voicemail_enabled", "new_voicemail_pin", "voicemail_to_email"]}),
        (
            gettext_lazy("Call forwarding"),
            {"fields": ["forward_always", "forward_busy", ("forward_no_answer", "forward_no_answer_timeout")]},
        ),
        (gettext_lazy("External numbers (DDI)"), {"fields": ["numbers_held", "release_numbers", "assign_numbers"]}),
        (gettext_lazy("Self-service"), {"fields": ["portal_user"]}),
        (gettext_lazy("On the PBX"), {"fields": readonly_fields[:1], "classes": ["collapse"]}),
        (gettext_lazy("Provisioning"), {"fields": ["provisioning"]}),
    ]
    service_object_name = "user"
    create_service = services.pbx_user_create
    update_service = services.pbx_user_update
    delete_service = services.pbx_user_delete

    class Media:
        css = {"all": ["telephony/numbers.css"]}
        # after Django's jQuery; it waits for the autocomplete boxes (the form's own media) itself
        js = ["admin/js/jquery.init.js", "telephony/user-form.js"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("phone_numbers")  # the list's numbers column

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """Every word in one of the searched fields, any case, as Django's search means it, through
        the users' search index (and the tenants whose name holds it); the autocomplete boxes that
        search users too."""
        text = search_term.replace("\x00", "")
        if not text.strip():
            return queryset, False
        return search_users(queryset, text, tenant_names=True), False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        form_class = type(form_class.__name__, (form_class,), {"actor": request.user})
        tenant_field = form_class.base_fields.get("tenant")
        if tenant_field is not None:  # the form asks the tenant's plan when the tenant changes
            inner = getattr(tenant_field.widget, "widget", tenant_field.widget)
            inner.attrs["data-plan-url"] = reverse("admin:telephony_tenant_user_plan", args=[0])
        return form_class

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        fieldsets = self._fieldsets_with_login(request, obj)
        if obj is None:  # a new user: numbers can be assigned at once, there is nothing to release
            hidden = {"numbers_held", "release_numbers"}
        elif not access.can(request.user, CHANGE, obj):
            hidden = set(NUMBER_FORM_FIELDS)  # read-only: the numbers held are shown, not offered
        else:
            return fieldsets
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for title, options in fieldsets
        ]

    @admin.display(description=gettext_lazy("numbers"))
    def numbers(self, obj: PbxUser) -> str:
        held = sorted(n.number for n in obj.phone_numbers.all())
        return format_html('<span class="user-numbers">{}</span>', ", ".join(held)) if held else "—"

    @admin.display(description=gettext_lazy("numbers held"))
    def numbers_held(self, obj: PbxUser | None) -> str:
        if obj is None or obj.pk is None:
            return "—"
        held = obj.phone_numbers.order_by("number")
        if not held:
            return _("None yet.")
        return format_html_join(
            " ",
            '<span class="user-numbers"><a href="{}">{}</a>{} {}</span>',
            (
                (
                    reverse("admin:telephony_phonenumber_change", args=[n.pk]),
                    n.number,
                    format_html(" {}", _("(pilot)")) if n.is_pilot else "",
                    badge(n.sync_state, n.get_sync_state_display()),
                )
                for n in held
            ),
        )

    def _apply_numbers(self, request: HttpRequest, obj: PbxUser, form: Any) -> None:
        """Release the ticked numbers, then assign the typed ones: each a push of its own."""
        try:
            for number in form.cleaned_data.get("release_numbers") or []:
                services.pbx_user_release_number(actor=request.user, user=obj, number=number)
            for number in form.cleaned_data.get("assign_numbers") or []:
                services.pbx_user_assign_number(actor=request.user, user=obj, number=number)
        except ValidationError as refused:
            raise ValidationError({"assign_numbers": refused.messages}) from refused

    @admin.action(
        description=gettext_lazy("Give each one without a number a free number of its tenant"), permissions=["change"]
    )
    def give_free_number(self, request: HttpRequest, queryset) -> None:
        given, skipped = [], []
        try:
            with transaction.atomic():
                for user in queryset.select_related("tenant").order_by("tenant__name", "internal_number"):
                    if not access.can(request.user, CHANGE, user):
                        skipped.append(_("%(user)s (not yours to change)") % {"user": user})
                        continue
                    if user.phone_numbers.exists():
                        skipped.append(_("%(user)s (has a number already)") % {"user": user})
                        continue
                    free = free_numbers_for(request.user, user.tenant_id).first()
                    if free is None:
                        skipped.append(
                            _("%(user)s (%(tenant)s has no free number)") % {"user": user, "tenant": user.tenant}
                        )
                        continue
                    services.pbx_user_assign_number(actor=request.user, user=user, number=free)
                    given.append(f"{user}: {free.number}")
        except ValidationError as refused:
            messages.error(request, _("Nothing was assigned: %(reason)s") % {"reason": " ".join(refused.messages)})
            return
        if given:
            shown = "; ".join(given[:10]) + (" …" if len(given) > 10 else "")
            messages.success(
                request,
                _("%(count)s numbers assigned, each pushed to the PBX (%(shown)s).")
                % {"count": len(given), "shown": shown},
            )
        if skipped:
            messages.warning(
                request,
                _("%(count)s users got no number: %(users)s.")
                % {"count": len(skipped), "users": "; ".join(skipped[:10])},
            )

    @admin.action(
        description=gettext_lazy("Release their numbers (back to the tenant's free numbers)"), permissions=["change"]
    )
    def release_all_numbers(self, request: HttpRequest, queryset) -> None:
        numbers = PhoneNumber.objects.filter(assigned_user__in=queryset)
        try:
            done = number_ranges.phone_numbers_release(actor=request.user, numbers=numbers)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
            return
        messages.success(
            request,
            _("%(count)s numbers taken off their users (pushed to the PBX).") % {"count": done.from_users},
        )

    def _with_new_pin(self, obj: PbxUser, form: Any) -> PbxUser:
        if form.cleaned_data.get("new_voicemail_pin"):
            obj.voicemail_pin = form.cleaned_data["new_voicemail_pin"]
        return obj

    def _login_kept(self, request: HttpRequest, obj: PbxUser | None) -> bool:
        """Is the line linked to a login this editor does not manage? Then the link is shown as kept,
        not offered as a choice (an empty choice would unlink it on save)."""
        return (
            obj is not None
            and obj.portal_user_id is not None
            and not services.governs_logins(request.user, obj.portal_user_id)
        )

    def _fieldsets_with_login(self, request: HttpRequest, obj: Any = None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._login_kept(request, obj):
            return fieldsets
        return [
            (
                title,
                {**options, "fields": ["portal_login_kept" if f == "portal_user" else f for f in options["fields"]]},
            )
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "portal_login_kept"] if self._login_kept(request, obj) else fields

    @admin.display(description=gettext_lazy("portal user"))
    def portal_login_kept(self, obj: PbxUser) -> str:
        return _("Linked to a portal login you do not manage; it stays linked.")

    def create_object(self, request: HttpRequest, obj: PbxUser, form: Any) -> None:
        services.pbx_user_create(actor=request.user, user=self._with_new_pin(obj, form))
        self._apply_numbers(request, obj, form)

    def update_object(self, request: HttpRequest, obj: PbxUser, form: Any) -> None:
        changed = set(form.changed_data)
        if not changed or changed - set(NUMBER_FORM_FIELDS):
            services.pbx_user_update(actor=request.user, user=self._with_new_pin(obj, form))
        # only numbers changed: their own jobs push them (an update of the line beside them would be
        # read back while they are still on their way, and the line shown as drifted)
        self._apply_numbers(request, obj, form)

"""Forms of the self-service site (crispy, Bootstrap 5). They only collect and check input; the
views hand the result to a service, and any refusal of the service is shown next to its field."""

from __future__ import annotations

import json
from typing import Any

from crispy_bootstrap5.bootstrap5 import Switch
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row, Submit
from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony import selectors_selfservice as selectors
from telephony.line_features import TenantLine
from telephony.models import PbxUser, PhoneNumber, Tenant
from telephony.models.users import validate_pin

FORWARDING_FIELDS = ("forward_always", "forward_busy", "forward_no_answer", "forward_no_answer_timeout")
PERSON_FIELDS = ("first_name", "last_name", "display_name", "email", "mobile_number")
PLAN_FIELDS = ("entity", "internal_number", "template")


def _helper(submit_label: str, *layout: Any) -> FormHelper:
    helper = FormHelper()
    helper.form_method = "post"
    helper.layout = Layout(*layout, Submit("save", submit_label, css_class="mt-2"))
    return helper


def _drop_fields_not_kept(form: forms.BaseForm, line: TenantLine) -> None:
    """Offer only what the tenant's PBX keeps per user; the rest keeps its stored value."""
    for name in line.fields_not_kept:
        form.fields.pop(name, None)
    if "forward_no_answer" not in form.fields:
        form.fields.pop("forward_no_answer_timeout", None)


class Note:
    """A line of plain text in a form's layout.

    Crispy's own `HTML()` renders its string as a Django template, so a value inside it (a line
    template's name) would be evaluated as template code; a note escapes its values and is never
    a template."""

    def __init__(self, text: str):
        self.text = text  # plain text, or HTML made with format_html from a literal

    def render(self, form: Any, context: Any, template_pack: Any = None, **kwargs: Any) -> str:
        return format_html('<p class="form-text">{}</p>', self.text)


def _not_kept_note(line: TenantLine) -> Note:
    if {"forward_always", "forward_no_answer"} & line.withheld:
        return Note(line.why_not("forward_no_answer"))
    return Note(format_html(_("{platform} keeps no call forwarding per user."), platform=line.platform))


def _forwarding_fieldset(form: forms.BaseForm, line: TenantLine) -> Fieldset:
    present = [name for name in ("forward_always", "forward_busy") if name in form.fields]
    if "forward_no_answer" in form.fields:
        present.append(
            Row(
                Column("forward_no_answer", css_class="col-sm-8"),
                Column("forward_no_answer_timeout", css_class="col-sm-4"),
            )
        )
    if not present:
        return Fieldset(_("Call forwarding"), _not_kept_note(line))
    if line.features.busy_with_no_answer and "forward_busy" in form.fields:
        form.fields["forward_busy"].help_text = format_html(
            _(
                "{platform} forwards busy calls together with unanswered ones: leave empty, "
                "or use the no-answer number."
            ),
            platform=line.platform,
        )
    return Fieldset(_("Call forwarding"), *present)


def _voicemail_fieldset(form: forms.BaseForm, line: TenantLine, *extra: str) -> Fieldset:
    present = [Switch(name) for name in ("voicemail_enabled", "voicemail_to_email") if name in form.fields]
    present += [name for name in extra if name in form.fields]
    if "voicemail_enabled" not in form.fields and "voicemail" in line.withheld:
        return Fieldset(_("Voicemail"), Note(line.why_not("voicemail_enabled")), *present)
    if "voicemail_enabled" not in form.fields:
        return Fieldset(
            _("Voicemail"),
            Note(
                format_html(
                    _("On {platform} voicemail comes from the line template ({template}: on).")
                    if form.instance.template.voicemail_enabled
                    else _("On {platform} voicemail comes from the line template ({template}: off)."),
                    platform=line.platform,
                    template=form.instance.template,
                )
            ),
            *present,
        )
    return Fieldset(_("Voicemail"), *present)


def _present(form: forms.BaseForm, *names: str) -> list[str]:
    return [name for name in names if name in form.fields]


def _columns(form: forms.BaseForm, *names: str) -> list[Column]:
    return [Column(name, css_class="col-sm-6") for name in _present(form, *names)]


def _phone_input(placeholder: str = "") -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "placeholder": placeholder})


class _NumberPlanMixin:
    """Entity, internal number and template of one tenant: choices scoped to it, the next free
    internal number of each entity offered (the page's script follows the chosen entity)."""

    def setup_plan(self, tenant: Tenant, login: Any) -> dict[int, str]:
        self.tenant = tenant
        self.fields["entity"].queryset = selectors.entities_of(tenant)
        self.entities = entities = list(self.fields["entity"].queryset)
        self.fields["entity"].empty_label = None
        self.fields["template"].queryset = selectors.templates_for(login, tenant)
        self.fields["template"].empty_label = None
        next_free = selectors.next_free_internal_numbers(tenant)
        self.fields["entity"].widget.attrs["data-next-numbers"] = json.dumps({str(k): v for k, v in next_free.items()})
        self.fields["internal_number"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        described = [(e, next_free[e.pk]) for e in entities if next_free.get(e.pk)]
        if described:
            # crispy renders help text as HTML: every value in it is escaped
            self.fields["internal_number"].help_text = format_html(
                _("Next free number — {numbers}."), numbers=format_html_join(", ", "{}: {}", described)
            )
        return next_free

    def clean_internal_number(self) -> str:
        number = self.cleaned_data["internal_number"]
        if number and selectors.internal_number_taken(self.tenant, number, except_user_id=self.instance.pk):
            raise forms.ValidationError(
                _("%(number)s is already taken by another user of %(tenant)s.")
                % {"number": number, "tenant": self.tenant}
            )
        return number


class UserCreateForm(_NumberPlanMixin, forms.ModelForm):
    number = forms.ModelChoiceField(
        queryset=PhoneNumber.objects.none(),
        required=False,
        label=gettext_lazy("External number (DDI)"),
        empty_label=gettext_lazy("None for now"),
        help_text=gettext_lazy("One of the tenant's free numbers; more can be added later."),
    )

    class Meta:
        model = PbxUser
        fields = [*PERSON_FIELDS, "username", *PLAN_FIELDS, "voicemail_enabled"]
        widgets = {"mobile_number": _phone_input("+31612345678")}

    def __init__(self, *args: Any, tenant: Tenant, login: Any, **kwargs: Any):
        super().__init__(*args, instance=PbxUser(tenant=tenant), **kwargs)
        line = TenantLine.of(tenant)
        _drop_fields_not_kept(self, line)
        if not line.may_add_number(0):
            self.fields.pop("number")
        next_free = self.setup_plan(tenant, login)
        # Offer the first entity with room, its next free number, and the first usable template.
        entities = self.entities
        entity = next((e for e in entities if next_free.get(e.pk)), entities[0] if entities else None)
        if entity is not None and not self.initial.get("entity"):
            self.initial["entity"] = entity.pk
            self.initial["internal_number"] = next_free.get(entity.pk, "")
        template = next(iter(self.fields["template"].queryset), None)
        if template is not None and not self.initial.get("template"):
            self.initial["template"] = template.pk
        if "number" in self.fields:
            self.fields["number"].queryset = selectors.free_numbers(tenant)
        self.fields["username"].help_text = _("Login name on the PBX, e.g. jane.doe (cannot change later).")
        self.helper = _helper(
            _("Create user"),
            Fieldset(
                _("Person"),
                Row(Column("first_name", css_class="col-sm-6"), Column("last_name", css_class="col-sm-6")),
                *_present(self, "display_name"),
                Row(Column("username", css_class="col-sm-6"), *_columns(self, "email")),
                "mobile_number",
            ),
            Fieldset(
                _("Line"),
                "entity",
                "internal_number",
                "template",
                *_present(self, "number"),
                *[Switch(name) for name in _present(self, "voicemail_enabled")],
            ),
        )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if username and selectors.username_taken(self.tenant, username):
            raise forms.ValidationError(
                _("%(username)s is already a user of %(tenant)s.") % {"username": username, "tenant": self.tenant}
            )
        return username


class UserEditForm(_NumberPlanMixin, forms.ModelForm):
    class Meta:
        model = PbxUser
        fields = [*PERSON_FIELDS, *PLAN_FIELDS]
        widgets = {"mobile_number": _phone_input("+31612345678")}

    def __init__(self, *args: Any, login: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _drop_fields_not_kept(self, TenantLine.of(self.instance.tenant_id))
        self.setup_plan(self.instance.tenant, login)
        self.helper = _helper(
            _("Save changes"),
            Fieldset(
                _("Person"),
                Row(Column("first_name", css_class="col-sm-6"), Column("last_name", css_class="col-sm-6")),
                *_present(self, "display_name", "email"),
                "mobile_number",
            ),
            Fieldset(_("Line"), "entity", "internal_number", "template"),
        )


class _LineForm(forms.ModelForm):
    def _post_clean(self) -> None:
        if not self.cleaned_data.get("voicemail_enabled", self.instance.voicemail_enabled):
            # The service drops the PIN of a line without voicemail; do the same before the model's
            # own check ("Turn voicemail on to set a PIN") sees the stored one.
            self.instance.voicemail_pin = None
        super()._post_clean()


class LineSettingsForm(_LineForm):
    """Voicemail and call forwarding of a line, as a customer administrator changes them."""

    class Meta:
        model = PbxUser
        fields = ["voicemail_enabled", "voicemail_to_email", *FORWARDING_FIELDS]
        widgets = {name: _phone_input(gettext_lazy("e.g. 0612345678")) for name in FORWARDING_FIELDS[:3]}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        line = TenantLine.of(self.instance.tenant_id)
        _drop_fields_not_kept(self, line)
        if "voicemail_enabled" in self.fields:
            self.fields["voicemail_enabled"].help_text = _("Turning voicemail off also removes its PIN.")
        self.helper = _helper(
            _("Save voicemail and forwarding"), _voicemail_fieldset(self, line), _forwarding_fieldset(self, line)
        )


class MyLineForm(_LineForm):
    """What the person on a line may change about it: name shown, e-mail, voicemail, PIN, forwarding."""

    new_pin = forms.CharField(
        label=gettext_lazy("New voicemail PIN"),
        required=False,
        min_length=4,
        max_length=8,
        validators=[validate_pin],
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
        help_text=gettext_lazy("4 to 8 digits. Leave empty to keep the current PIN."),
    )

    class Meta:
        model = PbxUser
        fields = ["display_name", "email", "voicemail_enabled", "voicemail_to_email", *FORWARDING_FIELDS]
        widgets = {name: _phone_input(gettext_lazy("e.g. 0612345678")) for name in FORWARDING_FIELDS[:3]}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        line = TenantLine.of(self.instance.tenant_id)
        _drop_fields_not_kept(self, line)
        if not line.keeps("voicemail_pin"):
            self.fields.pop("new_pin")
        if "voicemail_to_email" in self.fields:
            self.fields["email"].help_text = _("Where voicemail is sent when e-mailing it is on.")
        if "voicemail_enabled" in self.fields:
            self.fields["voicemail_enabled"].help_text = _("Turning voicemail off also removes its PIN.")
        self.helper = _helper(
            _("Save my line"),
            Fieldset(_("About me"), *_present(self, "display_name", "email")),
            _voicemail_fieldset(self, line, "new_pin"),
            _forwarding_fieldset(self, line),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        voicemail_on = cleaned.get("voicemail_enabled", self.instance.voicemail_enabled)
        if cleaned.get("new_pin") and not voicemail_on:
            self.add_error("new_pin", _("Turn voicemail on to set a PIN."))
        return cleaned


class AddNumberForm(forms.Form):
    number = forms.ModelChoiceField(queryset=PhoneNumber.objects.none(), label=gettext_lazy("Add an external number"))

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["number"].queryset = selectors.free_numbers(tenant)
        self.fields["number"].empty_label = _("Choose a free number")
        self.helper = _helper(_("Add number"), "number")

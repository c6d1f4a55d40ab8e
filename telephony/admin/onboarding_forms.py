"""The forms of the onboarding wizard, one per step. Each turns what was typed into the JSON the
wizard keeps in the session (`stored()`), and back (`initial_from`). Their choices come from
`telephony.selectors_onboarding`; the service checks every value again when it writes."""

from __future__ import annotations

import base64
from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony import selectors_onboarding as offered
from telephony.services.onboarding import USERS_CSV_MAX_BYTES
from tenants.models import Organization


class OrganizationStepForm(forms.Form):
    parent = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        label=gettext_lazy("below"),
        help_text=gettext_lazy("The reseller the new customer belongs to."),
    )
    name = forms.CharField(max_length=200, label=gettext_lazy("customer name"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = offered.onboarding_parents(user)

    def stored(self) -> dict[str, Any]:
        return {"parent": self.cleaned_data["parent"].pk, "name": self.cleaned_data["name"]}

    @staticmethod
    def initial_from(step: dict[str, Any]) -> dict[str, Any]:
        return dict(step)


class ServerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, server: Any) -> str:
        values = {"server": server.name, "kind": server.platform.get_kind_display()}
        if server.capacity_tenants is None:
            return _("%(server)s (%(kind)s, no limit)") % values
        return _("%(server)s (%(kind)s, %(free)s free)") % {**values, "free": server.capacity_tenants - server.held}


class TenantStepForm(forms.Form):
    server = ServerChoiceField(
        queryset=Organization.objects.none(),
        label=gettext_lazy("Server"),
        help_text=gettext_lazy("Servers shared with the reseller that have room for another tenant."),
    )
    name = forms.CharField(
        max_length=63,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("The tenant's name on its PBX; it cannot change once created."),
    )
    label = forms.CharField(max_length=200, required=False, label=gettext_lazy("Label"))
    licences = forms.IntegerField(
        min_value=1,
        initial=10,
        label=gettext_lazy("Licences"),
        help_text=gettext_lazy("Most users this tenant may have."),
    )

    def __init__(self, *args: Any, user: Any, parent: Organization, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["server"].queryset = offered.servers_with_room(user, parent)

    def stored(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["server"] = data["server"].pk
        return data

    @staticmethod
    def initial_from(step: dict[str, Any]) -> dict[str, Any]:
        return dict(step)


class EntityStepForm(forms.Form):
    """One entity row; a row left empty is no entity (so a row kept from before can be emptied)."""

    name = forms.CharField(max_length=64, required=False, label=gettext_lazy("Name"))
    display_name = forms.CharField(max_length=200, required=False, label=gettext_lazy("Display name"))
    intervals = forms.CharField(
        max_length=500,
        required=False,
        label=gettext_lazy("number plan"),
        help_text=gettext_lazy("Such as 1700-1799, 1961"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if any(data.get(key) for key in ("name", "display_name", "intervals")):
            for key in ("name", "intervals"):
                if not data.get(key):
                    self.add_error(key, _("Fill this in, or empty the whole row."))
        return data


class BaseEntityFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every row is read, even one equal to what was kept from before (Django skips an unchanged
        # extra row); an empty row is left out by entities_stored.
        return {"empty_permitted": False}


EntityFormSet = forms.formset_factory(EntityStepForm, formset=BaseEntityFormSet, extra=3, max_num=50, validate_max=True)


def entities_stored(formset: Any) -> dict[str, Any]:
    rows = [form.cleaned_data for form in formset.forms if form.cleaned_data.get("name")]
    return {"entities": [{key: row[key] for key in ("name", "display_name", "intervals")} for row in rows]}


class NumbersStepForm(forms.Form):
    numbers = forms.MultipleChoiceField(
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        label=gettext_lazy("Numbers"),
        help_text=gettext_lazy(
            "Free numbers of the pools you manage that are shared with the reseller (hold Ctrl or ⌘ to pick several)."
        ),
    )
    count = forms.IntegerField(
        required=False,
        min_value=1,
        label=gettext_lazy("or the first"),
        help_text=gettext_lazy("free numbers, in order (added to those picked)"),
    )

    def __init__(self, *args: Any, user: Any, parent: Organization, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.free = list(offered.free_numbers(user, parent).values_list("number", flat=True)[: offered.NUMBERS_LISTED])
        self.fields["numbers"].choices = [(n, n) for n in self.free]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        picked = list(data.get("numbers") or [])
        if data.get("count"):
            rest = [n for n in self.free if n not in picked]
            if data["count"] > len(rest):
                raise forms.ValidationError(
                    _("Only %(count)s more free numbers are offered here.") % {"count": len(rest)}
                )
            picked += rest[: data["count"]]
        data["picked"] = picked
        return data

    def stored(self) -> dict[str, Any]:
        return {"numbers": self.cleaned_data["picked"]}

    @staticmethod
    def initial_from(step: dict[str, Any]) -> dict[str, Any]:
        return {"numbers": step.get("numbers", [])}


class AdministratorStepForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        label=gettext_lazy("Username"),
        help_text=gettext_lazy("The customer administrator's login to the self-service site."),
    )
    email = forms.EmailField(
        label=gettext_lazy("Email"),
        help_text=gettext_lazy("A link to choose the password is mailed here once the customer is onboarded."),
    )
    first_name = forms.CharField(max_length=150, required=False, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=150, required=False, label=gettext_lazy("Last name"))

    def stored(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    @staticmethod
    def initial_from(step: dict[str, Any]) -> dict[str, Any]:
        return dict(step)


class UsersStepForm(forms.Form):
    file = forms.FileField(required=False, label=gettext_lazy("users CSV"))
    template = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        label=gettext_lazy("default line template"),
        help_text=gettext_lazy("For rows that name no template."),
    )
    drop = forms.BooleanField(required=False, label=gettext_lazy("onboard without the file kept from before"))

    def __init__(self, *args: Any, user: Any, parent: Organization, kept: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kept = kept
        self.fields["file"].help_text = format_html(
            _(
                "Optional, at most {size} KB, in the users import format (its template is on the import page). "
                "Every row must pass, or nothing is written."
            ),
            size=USERS_CSV_MAX_BYTES // 1024,
        )
        self.fields["template"].queryset = offered.usable_templates(user, parent)
        if not kept:
            del self.fields["drop"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > USERS_CSV_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s KB: onboard without it, then import it on the import page.")
                % {"size": USERS_CSV_MAX_BYTES // 1024}
            )
        return upload

    def stored(self, previous: dict[str, Any]) -> dict[str, Any]:
        template = self.cleaned_data.get("template")
        data: dict[str, Any] = {"template": template.pk if template else None}
        upload = self.cleaned_data.get("file")
        if upload is not None:
            data.update(file_name=upload.name[:255], content=base64.b64encode(upload.read()).decode("ascii"))
        elif previous.get("content") and not self.cleaned_data.get("drop"):
            data.update(file_name=previous["file_name"], content=previous["content"])
        return data

    @staticmethod
    def initial_from(step: dict[str, Any]) -> dict[str, Any]:
        return {"template": step.get("template")}

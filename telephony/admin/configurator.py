"""Configurator links: the API key is never rendered back (the form says whether one is set and
takes a new one with the staff member's own password); a link's page makes sub-organizations and
stores third-party credentials, both write-only and carried out by jobs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony.admin.sync import SyncStateAdminMixin, badge
from telephony.models import ConfiguratorLink
from telephony.models.configurator import CREDENTIAL_NAME
from telephony.services import configurator as services
from tenants import access
from tenants.access import CHANGE
from tenants.admin_scoping import ScopedAdmin, add_service_error, current_user
from tenants.models import Organization

PASSWORD_HELP = gettext_lazy("Needed to replace the key, or to change where it is sent or the TLS check.")


class ConfiguratorLinkForm(forms.ModelForm):
    new_api_key = forms.CharField(
        label=gettext_lazy("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    current_password = forms.CharField(
        label=gettext_lazy("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=PASSWORD_HELP,
    )

    class Meta:
        model = ConfiguratorLink
        fields = ["organization", "name", "base_url", "timeout_seconds", "verify_tls"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        is_set = bool(self.instance.pk and self.instance.api_key)
        self.fields["new_api_key"].help_text = (
            _("A key is set. Leave empty to keep it, or type a new one to replace it.")
            if is_set
            else _("The organization's API key at the Configurator (X-Auth-Key).")
        )


@admin.register(ConfiguratorLink)
class ConfiguratorLinkAdmin(SyncStateAdminMixin, ScopedAdmin):
    form = ConfiguratorLinkForm
    list_display = ["organization", "name", "base_url", "key_set", "made_below", "sync_badge"]
    list_select_related = ["organization", "parent__organization"]
    search_fields = ["name", "organization__name", "base_url"]
    autocomplete_fields = ["organization"]
    readonly_fields = ["parent", "provisioning", "backend_reference", "credentials", "tools"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "base_url", "parent"]}),
        (gettext_lazy("Key"), {"fields": ["new_api_key", "current_password"]}),
        (gettext_lazy("Connection"), {"fields": ["timeout_seconds", "verify_tls"]}),
        (
            gettext_lazy("At the Configurator"),
            {"fields": ["provisioning", "backend_reference", "credentials", "tools"]},
        ),
    ]
    delete_service = services.configurator_link_delete
    service_object_name = "link"

    def get_fieldsets(self, request: HttpRequest, obj: ConfiguratorLink | None = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # what a new link learns comes after it is saved
            return [fs for fs in fieldsets if "tools" not in fs[1]["fields"]]  # the "At the Configurator" one
        return fieldsets

    @admin.display(boolean=True, description=gettext_lazy("key"))
    def key_set(self, obj: ConfiguratorLink) -> bool:
        return obj.has_api_key

    @admin.display(description=gettext_lazy("made below"), ordering="parent__organization__name")
    def made_below(self, obj: ConfiguratorLink) -> str:
        return str(obj.parent.organization) if obj.parent_id else "—"

    @admin.display(description=gettext_lazy("credentials kept there"))
    def credentials(self, obj: ConfiguratorLink) -> str:
        rows = list(obj.credentials.all())
        if not rows:
            return _("None.")
        return format_html_join(
            "",
            "<div><code>{}</code> {} <small>{}</small></div>",
            ((c.name, badge(c.sync_state, c.get_sync_state_display()), c.sync_message) for c in rows),
        )

    @admin.display(description="")
    def tools(self, obj: ConfiguratorLink) -> str:
        if obj is None or obj.pk is None or not access.can(current_user(), CHANGE, obj):
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:telephony_configuratorlink_suborganization", args=[obj.pk]),
            _("Make a sub-organization for an organization below…"),
            reverse("admin:telephony_configuratorlink_credential", args=[obj.pk]),
            _("Store a credential…"),
            reverse("admin:telephony_configuratororder_add") + f"?link={obj.pk}",
            _("Open a customer tenant by order…"),
        )

    def create_object(self, request: HttpRequest, obj: ConfiguratorLink, form: Any) -> None:
        services.configurator_link_create(actor=request.user, link=obj, api_key=form.cleaned_data.get("new_api_key"))

    def update_object(self, request: HttpRequest, obj: ConfiguratorLink, form: Any) -> None:
        services.configurator_link_update(
            actor=request.user,
            link=obj,
            new_api_key=form.cleaned_data.get("new_api_key") or "",
            actor_password=form.cleaned_data.get("current_password") or "",
        )

    # --- sub-organizations and credentials ---------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/suborganization/",
                self.admin_site.admin_view(self.suborganization_view),
                name="telephony_configuratorlink_suborganization",
            ),
            path(
                "<path:object_id>/credential/",
                self.admin_site.admin_view(self.credential_view),
                name="telephony_configuratorlink_credential",
            ),
            *super().get_urls(),
        ]

    def _managed_link(self, request: HttpRequest, object_id: str) -> ConfiguratorLink:
        return get_object_or_404(access.restrict(ConfiguratorLink.objects.all(), request.user, CHANGE), pk=object_id)

    def suborganization_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        link = self._managed_link(request, object_id)
        below = access.organizations_for(request.user, ConfiguratorLink).filter(
            path__startswith=link.organization.path, configurator_link__isnull=True
        )
        form = SuborganizationForm(request.POST or None, organizations=below.exclude(pk=link.organization_id))
        if request.method == "POST" and form.is_valid():
            try:
                child = services.configurator_suborganization_create(
                    actor=request.user, parent=link, organization=form.cleaned_data["organization"],
                    name=form.cleaned_data["name"],
                )  # fmt: skip
            except ValidationError as refused:
                add_service_error(form, refused)
            else:
                messages.success(request, _("The sub-organization is being made; its key stays with the portal."))
                return HttpResponseRedirect(reverse("admin:telephony_configuratorlink_change", args=[child.pk]))
        return self._form_page(request, link, form, _("Make a sub-organization"), _("Make it"))

    def credential_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        link = self._managed_link(request, object_id)
        form = CredentialForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.configurator_credential_store(actor=request.user, link=link, **form.cleaned_data)
            except ValidationError as refused:
                add_service_error(form, refused)
            else:
                messages.success(request, _("The credential is being stored; it cannot be read back."))
                return HttpResponseRedirect(reverse("admin:telephony_configuratorlink_change", args=[link.pk]))
        return self._form_page(request, link, form, _("Store a credential"), _("Store it"))

    def _form_page(self, request: HttpRequest, link: ConfiguratorLink, form: forms.Form, title: str, button: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": link,
            "title": f"{title} ({link})",
            "step": title,
            "form": form,
            "button": button,
        }
        return TemplateResponse(request, "admin/telephony/configurator_form.html", context)


class SuborganizationForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        label=gettext_lazy("Organization"),
        help_text=gettext_lazy(
            "An organization below this one, not linked yet; the new Configurator organization is its."
        ),
    )
    name = forms.CharField(
        max_length=100, label=gettext_lazy("Name"), help_text=gettext_lazy("Its name at the Configurator.")
    )

    def __init__(self, *args: Any, organizations, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations.order_by("path")


class CredentialForm(forms.Form):
    name = forms.CharField(
        max_length=64,
        validators=[CREDENTIAL_NAME],
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("e.g. sip-trunk-password"),
    )
    value = forms.CharField(
        label=gettext_lazy("Value"),
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("Never shown again; storing a name again replaces its value."),
    )

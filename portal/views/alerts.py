"""The alerts page (issue 16, part 6), for the staff admin and for the self-service site: one form,
each site with its own template, audience and page to return to. A login only ever sees and changes
its own choices: the form names no login or subscription, so a POST naming another id changes
nothing but the visitor's own (after it was checked whole)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.alert_choices import OFF, STAFF, alert_choices_save, audience_of, choices_of, recent_notices_of
from portal.models import AlertDelivery, AlertTopic

DELIVERY_CHOICES = [(OFF, gettext_lazy("No mail")), *AlertDelivery.choices]


class AlertChoicesForm(forms.Form):
    """One radio group per topic; each is always sent (one of them is checked), so a POST that
    leaves one out is refused rather than read as "no mail"."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for topic, label in AlertTopic.choices:
            self.fields[topic] = forms.ChoiceField(
                label=label, choices=DELIVERY_CHOICES, widget=forms.RadioSelect, required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for topic in AlertTopic.values:
            if topic not in self.data:
                self.add_error(topic, _("Choose how you want to be told, or No mail."))
        return cleaned


def alert_choices_page(request: HttpRequest, *, template: str, context: dict[str, Any], done: str) -> HttpResponse:
    form = AlertChoicesForm(request.POST if request.method == "POST" else None, initial=choices_of(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            alert_choices_save(actor=request.user, choices=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your alerts are saved."))
            return redirect(done)
    return TemplateResponse(
        request,
        template,
        {
            **context,
            "title": _("Alerts"),
            "form": form,
            "email": request.user.email,
            "digest_time": f"{settings.ALERT_DIGEST_TIME} ({settings.TIME_ZONE})",
            "notices": recent_notices_of(request.user),
        },
    )


def staff_alert_choices(request: HttpRequest) -> HttpResponse:
    """The admin's page, for staff who see provisioning jobs (404 for everyone else)."""
    if audience_of(request.user) != STAFF:
        raise Http404("No such page.")
    return alert_choices_page(
        request, template="admin/alerts.html", context=admin.site.each_context(request), done="alert_choices"
    )

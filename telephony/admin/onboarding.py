"""Onboard a customer in one step: a wizard in the staff admin for administrators of a reseller.

Six steps (the customer, its tenant, entities and number plans, numbers, its administrator's login,
users by CSV), then a confirmation. What each step gathered is kept in the session, and each step is
checked by `onboarding_check` (the writes up to that step, rolled back) before the next one opens;
nothing is written until the confirmation, which writes the whole plan with `customer_onboard` —
checked again from the start, as the session may be stale (another tab, a number taken meanwhile).
The page after it follows the onboarding's batch of jobs on the import pages' progress bar.

Logins that may not onboard anything (no admin role on a reseller or above) get 404 on every page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telephony import selectors_onboarding as offered
from telephony.admin import onboarding_forms as step_forms
from telephony.services.onboarding import (
    OnboardingPlan,
    OnboardingRefused,
    Step,
    customer_onboard,
    onboarding_check,
)
from tenants.models import Organization

SESSION_KEY = "onboarding_wizard"
TEMPLATES = "admin/telephony/onboarding/"

TITLES = {
    Step.ORGANIZATION: gettext_lazy("The customer"),
    Step.TENANT: gettext_lazy("Its tenant"),
    Step.NUMBERING: gettext_lazy("Entities and number plans"),
    Step.NUMBERS: gettext_lazy("Numbers from the pool"),
    Step.ADMINISTRATOR: gettext_lazy("Its administrator"),
    Step.USERS: gettext_lazy("Users by CSV (optional)"),
}
SLUGS = {
    Step.ORGANIZATION: "customer",
    Step.TENANT: "tenant",
    Step.NUMBERING: "entities",
    Step.NUMBERS: "numbers",
    Step.ADMINISTRATOR: "administrator",
    Step.USERS: "users",
}


def _steps(request: HttpRequest) -> dict[str, Any]:
    return request.session.get(SESSION_KEY, {}).get("steps", {})


def _keep(request: HttpRequest, steps: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = {"steps": steps}


def _require_offered(request: HttpRequest) -> None:
    if not offered.onboarding_offered(request.user):
        raise Http404("No page matches the given query.")


def _step_url(step: Step) -> str:
    return reverse(f"onboarding_{SLUGS[step]}")


def _first_missing(steps: dict[str, Any], before: int) -> Step | None:
    return next((step for step in Step if step < before and str(step) not in steps), None)


def _parent(request: HttpRequest, steps: dict[str, Any]) -> Organization:
    """The reseller of step 1, if the login still may onboard below it (else back to step 1)."""
    parent_id = steps.get(str(Step.ORGANIZATION), {}).get("parent")
    parent = offered.onboarding_parents(request.user).filter(pk=parent_id).first()
    if parent is None:
        raise _BackTo(Step.ORGANIZATION)
    return parent


class _BackTo(Exception):
    def __init__(self, step: Step):
        self.step = step


def _form(step: Step, request: HttpRequest, steps: dict[str, Any], data: Any = None, files: Any = None) -> Any:
    stored = steps.get(str(step), {})
    user = request.user
    if step == Step.ORGANIZATION:
        return step_forms.OrganizationStepForm(data, user=user, initial=stored)
    if step == Step.NUMBERING:
        return step_forms.EntityFormSet(data, initial=stored.get("entities", []), prefix="entity")
    if step == Step.ADMINISTRATOR:
        return step_forms.AdministratorStepForm(data, initial=stored)
    parent = _parent(request, steps)
    if step == Step.TENANT:
        return step_forms.TenantStepForm(data, user=user, parent=parent, initial=stored)
    if step == Step.NUMBERS:
        return step_forms.NumbersStepForm(data, user=user, parent=parent, initial={"numbers": stored.get("numbers")})
    kept = stored.get("file_name", "") if stored.get("content") else ""
    return step_forms.UsersStepForm(
        data, files, user=user, parent=parent, kept=kept, initial={"template": stored.get("template")}
    )


def _stored(step: Step, form: Any, previous: dict[str, Any]) -> dict[str, Any]:
    if step == Step.NUMBERING:
        return step_forms.entities_stored(form)
    if step == Step.USERS:
        return form.stored(previous)
    return form.stored()


def _place_refusal(form: Any, refused: OnboardingRefused, step: Step) -> list[str]:
    """Put the service's reasons on the form's fields when this step has them; returns the others,
    shown above the form (those of an earlier step are named after it)."""
    prefix = "" if refused.step == step else f"{TITLES[refused.step]}: "
    fields = form.fields if isinstance(form, forms.Form) and not prefix else {}
    general = []
    if hasattr(refused, "error_dict"):
        for field, errors in refused.message_dict.items():
            for message in errors:
                if field in fields:
                    form.add_error(field, message)
                else:
                    general.append(prefix + message)
    else:
        general = [prefix + message for message in refused.messages]
    return general


def step_view(request: HttpRequest, step: Step) -> HttpResponse:
    _require_offered(request)
    steps = dict(_steps(request))
    missing = _first_missing(steps, step)
    if missing is not None:
        return HttpResponseRedirect(_step_url(missing))
    refusals: list[str] = []
    try:
        if request.method == "POST":
            form = _form(step, request, steps, request.POST, request.FILES)
            if form.is_valid():
                candidate = {**steps, str(step): _stored(step, form, steps.get(str(step), {}))}
                try:
                    onboarding_check(actor=request.user, plan=OnboardingPlan.from_steps(candidate), through=step)
                except OnboardingRefused as refused:
                    refusals = _place_refusal(form, refused, step)
                else:
                    _keep(request, candidate)
                    following = Step(step + 1) if step < Step.USERS else None
                    return HttpResponseRedirect(_step_url(following) if following else reverse("onboarding_confirm"))
        else:
            form = _form(step, request, steps)
    except _BackTo as back:
        messages.warning(request, _("Choose the reseller again: the one chosen is not yours to onboard below."))
        return HttpResponseRedirect(_step_url(back.step))
    kept = steps.get(str(Step.USERS), {}).get("file_name", "") if step == Step.USERS else ""
    return render(request, TEMPLATES + "step.html", _context(request, step, form=form, kept=kept, refusals=refusals))


def confirm_view(request: HttpRequest) -> HttpResponse:
    _require_offered(request)
    steps = _steps(request)
    missing = _first_missing(steps, Step.USERS + 1)
    if missing is not None:
        return HttpResponseRedirect(_step_url(missing))
    plan = OnboardingPlan.from_steps(steps)
    refusal, preview = None, None
    try:
        if request.method == "POST":
            done = customer_onboard(actor=request.user, plan=plan)
            request.session.pop(SESSION_KEY, None)
            messages.success(request, _("The customer is onboarded; its administrator was mailed a set-password link."))
            return HttpResponseRedirect(reverse("onboarding_done") + f"?batch={done.batch.pk}")
        preview = onboarding_check(actor=request.user, plan=plan, through=Step.USERS)
    except OnboardingRefused as refused:
        refusal = refused
    context = _context(
        request,
        None,
        plan=plan,
        preview=preview,
        refusal=refusal,
        refused_url=_step_url(refusal.step) if refusal else "",
        refused_title=TITLES[refusal.step] if refusal else "",
        summary=_summary(request, plan),
    )
    return render(request, TEMPLATES + "confirm.html", context)


def _summary(request: HttpRequest, plan: OnboardingPlan) -> dict[str, Any]:
    """Names for the ids of the plan, as the login may see them (a stale id shows as unknown)."""
    parent = offered.onboarding_parents(request.user).filter(pk=plan.parent_id).first()
    server = offered.servers_with_room(request.user, parent).filter(pk=plan.server_id).first() if parent else None
    template = None
    if parent and plan.users_template_id:
        template = offered.usable_templates(request.user, parent).filter(pk=plan.users_template_id).first()
    return {"parent": parent, "server": server, "template": template}


def start_view(request: HttpRequest) -> HttpResponse:
    """The wizard's entry: the first step not done yet (or the confirmation)."""
    _require_offered(request)
    missing = _first_missing(_steps(request), Step.USERS + 1)
    return HttpResponseRedirect(_step_url(missing) if missing else reverse("onboarding_confirm"))


def cancel_view(request: HttpRequest) -> HttpResponse:
    _require_offered(request)
    if request.method == "POST":
        request.session.pop(SESSION_KEY, None)
        messages.info(request, _("The onboarding was cancelled; nothing was written."))
        return HttpResponseRedirect(reverse("admin:index"))
    return HttpResponseRedirect(reverse("onboarding_confirm"))


def done_view(request: HttpRequest) -> HttpResponse:
    _require_offered(request)
    batch = offered.visible_batch(request.user, request.GET.get("batch"))
    if batch is None:
        raise Http404("No provisioning batch matches the given query.")
    context = _context(
        request,
        None,
        batch=batch,
        progress_url=reverse("onboarding_progress") + f"?batch={batch.pk}",
        jobs_url=reverse("admin:telephony_provisioningjob_changelist") + f"?batch__id__exact={batch.pk}",
        failures_url=reverse("admin:telephony_provisioningjob_changelist")
        + f"?batch__id__exact={batch.pk}&status__exact=failed",
        media=forms.Media(js=[forms.Script("telephony/import-progress.js", defer=True)]),
    )
    return render(request, TEMPLATES + "done.html", context)


def progress_view(request: HttpRequest) -> JsonResponse:
    _require_offered(request)
    batch = offered.visible_batch(request.user, request.GET.get("batch"))
    if batch is None:
        raise Http404("No provisioning batch matches the given query.")
    return JsonResponse(offered.batch_progress(batch))


def _context(request: HttpRequest, step: Step | None, **extra: Any) -> dict[str, Any]:
    steps = _steps(request)
    trail = [
        {"number": int(s), "title": TITLES[s], "url": _step_url(s), "done": str(s) in steps, "current": s == step}
        for s in Step
    ]
    if step:
        title = _("Onboard a customer — %(number)s. %(step)s") % {"number": int(step), "step": TITLES[step]}
    else:
        title = _("Onboard a customer")
    return {**admin.site.each_context(request), "title": title, "trail": trail, "step": step, **extra}


def _step_page(step: Step):
    def view(request: HttpRequest) -> HttpResponse:
        return step_view(request, step)

    view.__name__ = f"onboarding_{SLUGS[step]}"
    view.__doc__ = f"Step {int(step)} of the onboarding wizard: {TITLES[step]}."
    return view


def urlpatterns_for(site: admin.AdminSite) -> list:
    """The wizard's URLs, under /admin/onboarding/, each behind the admin's login (and 2FA) check."""
    pages = [
        path(f"admin/onboarding/{SLUGS[s]}/", site.admin_view(_step_page(s)), name=f"onboarding_{SLUGS[s]}")
        for s in Step
    ]
    return [
        path("admin/onboarding/", site.admin_view(start_view), name="onboarding_start"),
        *pages,
        path("admin/onboarding/confirm/", site.admin_view(confirm_view), name="onboarding_confirm"),
        path("admin/onboarding/cancel/", site.admin_view(cancel_view), name="onboarding_cancel"),
        path("admin/onboarding/done/", site.admin_view(done_view), name="onboarding_done"),
        path("admin/onboarding/progress/", site.admin_view(progress_view), name="onboarding_progress"),
    ]

"""The text of alert mails: plain text built by string formatting. Names in them are data, never a
template (DESIGN §7): a tenant called `{{ 7*7 }}` is mailed as `{{ 7*7 }}`. Each name is put on one
line (its line breaks become spaces), so that no name can write a line of its own into the mail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.alert_choices import STAFF
from portal.models import AlertNotice, AlertTopic
from telephony.models import ProvisioningJob
from tenants.languages import language_for

MAX_LINES = 50  # per topic; a failed import of thousands of lines is named in a count, not a list
# A server's health as the mail names it (the stored value is a code; only these two reach a mail).
HEALTH_WORDS = {"degraded": gettext_lazy("degraded"), "failing": gettext_lazy("failing")}


def one_line(value: Any, *, limit: int = 200) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_line(job: ProvisioningJob) -> str:
    """A notice's line, written in the subscriber's language (the caller sets it; see portal.alerts)."""
    where = ", ".join(
        one_line(part) for part in (job.tenant and job.tenant.name, job.server and job.server.name) if part
    )
    error = one_line(job.last_error, limit=300) or _("no message from the PBX")
    return _("%(target)s: %(operation)s failed (%(where)s): %(error)s") % {
        "target": one_line(job.target_label),
        "operation": job.operation,
        "where": where or _("no tenant"),
        "error": error,
    }


def server_line(row: dict[str, Any]) -> str:
    return _(
        "%(server)s on %(platform)s turned %(health)s: %(failed)s failed and %(blocked)s blocked of your pushes "
        "in 24 hours, %(pending)s waiting"
    ) % {
        "server": one_line(row["server"].name),
        "platform": one_line(row["platform"].name),
        "health": HEALTH_WORDS.get(row["health"], row["health"]),
        "failed": row["failed_24h"],
        "blocked": row["blocked"],
        "pending": row["pending"],
    }


def absolute(path: str) -> str:
    return settings.PORTAL_PUBLIC_URL.rstrip("/") + path


def links(audience: str | None) -> dict[str, str]:
    if audience == STAFF:
        return {
            AlertTopic.FAILED_PUSHES: absolute(reverse("admin:telephony_provisioningjob_changelist"))
            + "?status__exact=failed",
            AlertTopic.SERVER_DEGRADED: absolute(reverse("staff_dashboard")),
            "choices": absolute(reverse("alert_choices")),
        }
    dashboard = absolute(reverse("selfservice:dashboard"))
    return {
        AlertTopic.FAILED_PUSHES: dashboard,
        AlertTopic.SERVER_DEGRADED: dashboard,
        "choices": absolute(reverse("selfservice:alert_choices")),
    }


def subject_of(by_topic: dict[str, list[AlertNotice]], *, digest: bool) -> str:
    counts = []
    if failures := len(by_topic.get(AlertTopic.FAILED_PUSHES, [])):
        counts.append(ngettext("%(count)s failed push", "%(count)s failed pushes", failures) % {"count": failures})
    if servers := len(by_topic.get(AlertTopic.SERVER_DEGRADED, [])):
        counts.append(
            ngettext("%(count)s server turned degraded", "%(count)s servers turned degraded", servers)
            % {"count": servers}
        )
    if digest:
        return _("PBX portal: daily digest, %(counts)s") % {"counts": ", ".join(counts)}
    return _("PBX portal: %(counts)s") % {"counts": ", ".join(counts)}


def compose(login: Any, audience: str | None, by_topic: dict[str, list[AlertNotice]], *, digest: bool) -> EmailMessage:
    """The mail, in the login's own language (its choice, else the site's: no browser asks here)."""
    with translation.override(language_for(login)):
        return EmailMessage(
            subject_of(by_topic, digest=digest), body_of(login, audience, by_topic, digest=digest), to=[login.email]
        )


def body_of(login: Any, audience: str | None, by_topic: dict[str, list[AlertNotice]], *, digest: bool) -> str:
    urls = links(audience)
    lines = [_("Hello %(name)s,") % {"name": one_line(login.get_username())}, ""]
    lines.append(
        _("Your daily digest of alerts:") if digest else _("This has just happened in what you follow on the portal:")
    )
    headings = (
        (AlertTopic.FAILED_PUSHES, _("Failed pushes (%(count)s):")),
        (AlertTopic.SERVER_DEGRADED, _("Servers (%(count)s):")),
    )
    for topic, heading in headings:
        notices = by_topic.get(topic, [])
        if not notices:
            continue
        lines += ["", heading % {"count": len(notices)}]
        lines += [f"- {notice.text}" for notice in notices[:MAX_LINES]]
        if len(notices) > MAX_LINES:
            lines.append(_("- and %(count)s more") % {"count": len(notices) - MAX_LINES})
        lines.append(_("See them: %(url)s") % {"url": urls[topic]})
    lines += [
        "",
        _("You get this mail because you chose alerts by e-mail. Change or stop them: %(url)s")
        % {"url": urls["choices"]},
    ]
    return "\n".join(lines) + "\n"

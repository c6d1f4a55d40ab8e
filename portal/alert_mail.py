"""The text of alert mails: plain text built by string formatting. Names in them are data, never a
template (DESIGN §7): a tenant called `{{ 7*7 }}` is mailed as `{{ 7*7 }}`. Each name is put on one
line (its line breaks become spaces), so that no name can write a line of its own into the mail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse

from portal.alert_choices import STAFF
from portal.models import AlertNotice, AlertTopic
from telephony.models import ProvisioningJob

MAX_LINES = 50  # per topic; a failed import of thousands of lines is named in a count, not a list
SUBJECT_PREFIX = "PBX portal"


def one_line(value: Any, *, limit: int = 200) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_line(job: ProvisioningJob) -> str:
    where = ", ".join(
        one_line(part) for part in (job.tenant and job.tenant.name, job.server and job.server.name) if part
    )
    error = one_line(job.last_error, limit=300) or "no message from the PBX"
    return f"{one_line(job.target_label)}: {job.operation} failed ({where or 'no tenant'}): {error}"


def server_line(row: dict[str, Any]) -> str:
    return (
        f"{one_line(row['server'].name)} on {one_line(row['platform'].name)} turned {row['health']}: "
        f"{row['failed_24h']} failed and {row['blocked']} blocked of your pushes in 24 hours, {row['pending']} waiting"
    )


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
        counts.append(f"{failures} failed push{'es' if failures != 1 else ''}")
    if servers := len(by_topic.get(AlertTopic.SERVER_DEGRADED, [])):
        counts.append(f"{servers} server{'s' if servers != 1 else ''} turned degraded")
    return f"{SUBJECT_PREFIX}: {'daily digest, ' if digest else ''}{', '.join(counts)}"


def compose(login: Any, audience: str | None, by_topic: dict[str, list[AlertNotice]], *, digest: bool) -> EmailMessage:
    urls = links(audience)
    lines = [f"Hello {one_line(login.get_username())},", ""]
    lines.append(
        "Your daily digest of alerts:" if digest else "This has just happened in what you follow on the portal:"
    )
    for topic, heading in ((AlertTopic.FAILED_PUSHES, "Failed pushes"), (AlertTopic.SERVER_DEGRADED, "Servers")):
        notices = by_topic.get(topic, [])
        if not notices:
            continue
        lines += ["", f"{heading} ({len(notices)}):"]
        lines += [f"- {notice.text}" for notice in notices[:MAX_LINES]]
        if len(notices) > MAX_LINES:
            lines.append(f"- and {len(notices) - MAX_LINES} more")
        lines.append(f"See them: {urls[topic]}")
    lines += [
        "",
        f"You get this mail because you chose alerts by e-mail. Change or stop them: {urls['choices']}",
    ]
    return EmailMessage(subject_of(by_topic, digest=digest), "\n".join(lines) + "\n", to=[login.email])

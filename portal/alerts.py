"""Alerts by e-mail (issue 16, part 6): find what each subscriber must be told, and mail it once.

A run (`alerts_run`, every minute from Celery beat) first collects, per subscription, what is new
and writes it as `AlertNotice` rows, then mails the notices of immediate subscriptions and, once a
day after `ALERT_DIGEST_TIME`, those of digest subscriptions.

Nothing is mailed twice, whatever runs at once: a notice's key is unique per subscription (two runs
that find the same failure write one row), a notice is claimed for mailing under a row lock in the
transaction that sends it (on SQLite the write transaction itself serializes the runs), and a day's
digest is one `AlertDigest` row per login. A mail that cannot be sent rolls its claim back, so the
next run tries again.

What a login is told is what it may see (portal.alert_choices): the failed jobs of
`telephony.selectors.jobs_for`, the servers of `telephony.selectors.server_health`, both scoped to
the login, checked when a notice is written and again when it is mailed (a membership may have
ended in between; such a notice is dropped unmailed).
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from portal import alert_mail
from portal.alert_choices import CUSTOMER, audience_of
from portal.models import (
    FAILURE_LOOKBACK,
    AlertDelivery,
    AlertDigest,
    AlertNotice,
    AlertServerState,
    AlertSubscription,
    AlertTopic,
)
from telephony import selectors, selectors_selfservice
from telephony.models import JobStatus, ProvisioningJob
from tenants.languages import language_for

logger = logging.getLogger(__name__)

BAD_HEALTH = ("degraded", "failing")
# A mail is sent inside the transaction that claims its notices (on SQLite: while holding the write
# lock), so a mail server that does not answer must not hold it for long; the next run tries again.
MAIL_TIMEOUT_SECONDS = 20


def jobs_visible_to(login: Any, audience: str) -> QuerySet[ProvisioningJob]:
    jobs = selectors.jobs_for(login)
    if audience == CUSTOMER:  # the self-service site's own narrowing: the customer's own lines
        jobs = jobs.filter(tenant__organization__in=selectors_selfservice.customer_organizations(login))
    return jobs


def server_health_visible_to(login: Any, audience: str) -> list[dict[str, Any]]:
    """The login's servers with their health as its own jobs show it; for a customer administrator
    only the servers its organizations' tenants are on (a server shared down to it may carry none)."""
    rows = selectors.server_health(login)
    if audience == CUSTOMER:
        hosting = set(selectors_selfservice.tenants_of(login).values_list("server_id", flat=True))
        rows = [row for row in rows if row["server"].pk in hosting]
    return rows


def alerts_run(*, now: datetime | None = None) -> dict[str, int]:
    """One run of the periodic task: collect, then mail what is due."""
    now = now or timezone.now()
    written = alerts_collect(now=now)
    mailed = alerts_send(now=now)
    return {"notices": written, **mailed}


def alerts_collect(*, now: datetime) -> int:
    """Write the notices of every subscription (each in a transaction of its own, so that one
    login's trouble does not hold the others back). Returns how many were written."""
    written = 0
    for subscription in AlertSubscription.objects.select_related("user").order_by("pk"):
        audience = audience_of(subscription.user)
        if audience is None:
            continue
        # A notice's line is written once, in the subscriber's language (it is mailed as written).
        with transaction.atomic(), translation.override(language_for(subscription.user)):
            if subscription.topic == AlertTopic.FAILED_PUSHES:
                written += _collect_failures(subscription, audience, now)
            else:
                written += _collect_server_turns(subscription, audience, now)
    return written


def _collect_failures(subscription: AlertSubscription, audience: str, now: datetime) -> int:
    jobs = (
        jobs_visible_to(subscription.user, audience)
        .filter(status=JobStatus.FAILED)
        .filter(finished_at__gt=subscription.read_until - FAILURE_LOOKBACK, finished_at__lte=now)
        .select_related("tenant", "server")
        .order_by("finished_at", "pk")
    )
    notices = [
        AlertNotice(
            subscription=subscription,
            key=f"job:{job.pk}@{job.finished_at.isoformat()}",
            job=job,
            text=alert_mail.failure_line(job),
            occurred_at=job.finished_at,
        )
        for job in jobs
    ]
    before = subscription.notices.count()
    AlertNotice.objects.bulk_create(notices, ignore_conflicts=True, batch_size=500)
    AlertSubscription.objects.filter(pk=subscription.pk, read_until__lt=now).update(read_until=now)
    return subscription.notices.count() - before


def _collect_server_turns(subscription: AlertSubscription, audience: str, now: datetime) -> int:
    """A server turns degraded when its health, as this login sees it, goes from healthy (or
    unknown: nothing had reached it yet) to degraded or failing. One notice per turn; the first
    look at a server only notes its health (a server already failing when the login subscribed is
    no news until it has been healthy again)."""
    seen = {state.server_id: state for state in subscription.server_states.all()}
    new_states, written = [], 0
    for row in server_health_visible_to(subscription.user, audience):
        server, health = row["server"], row["health"]
        state = seen.get(server.pk)
        if state is None:
            new_states.append(AlertServerState(subscription=subscription, server=server, health=health))
            continue
        if health == state.health:
            continue
        turns = state.turns
        if health in BAD_HEALTH and state.health not in BAD_HEALTH:
            turns += 1
            _, created = AlertNotice.objects.get_or_create(
                subscription=subscription,
                key=f"server:{server.pk}#{turns}",
                defaults={"server": server, "text": alert_mail.server_line(row), "occurred_at": now},
            )
            written += int(created)
        AlertServerState.objects.filter(pk=state.pk).update(health=health, turns=turns)
    AlertServerState.objects.bulk_create(new_states, ignore_conflicts=True)
    return written


def alerts_send(*, now: datetime) -> dict[str, int]:
    """Mail the immediate notices, and the digests once the day's digest time has come."""
    pending = AlertNotice.objects.filter(mailed_at__isnull=True)
    immediate_users = pending.filter(subscription__delivery=AlertDelivery.IMMEDIATE).values("subscription__user")
    mails = sum(_send_or_keep(user, AlertDelivery.IMMEDIATE, now) for user in _logins(immediate_users))
    digests = 0
    if timezone.localtime(now).time() >= digest_time():
        digest_users = AlertSubscription.objects.filter(delivery=AlertDelivery.DIGEST).values("user")
        digests = sum(_send_or_keep(user, AlertDelivery.DIGEST, now) for user in _logins(digest_users))
    return {"mails": mails, "digests": digests}


def _send_or_keep(login: Any, delivery: str, now: datetime) -> int:
    """A mail server that refuses one mail leaves its notices (and its digest's day) unclaimed for
    the next run, and the other logins' mails still go."""
    try:
        return _send_to(login, delivery, now)
    except (OSError, smtplib.SMTPException) as error:
        logger.warning("Alert mail to login #%s not sent, tried again next run: %s", login.pk, error)
        return 0


def digest_time() -> time:
    return time.fromisoformat(settings.ALERT_DIGEST_TIME)


def _logins(ids: QuerySet) -> QuerySet:
    return get_user_model().objects.filter(pk__in=ids).order_by("pk")


def _send_to(login: Any, delivery: str, now: datetime) -> int:
    """Mail one login its unmailed notices of one delivery; 1 if a mail went out."""
    audience = audience_of(login)
    with transaction.atomic():
        if delivery == AlertDelivery.DIGEST:
            _, first_today = AlertDigest.objects.get_or_create(
                user=login, day=timezone.localdate(now), defaults={"sent_at": now}
            )
            if not first_today:
                return 0
        claimed = list(
            AlertNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(subscription__user=login, subscription__delivery=delivery, mailed_at__isnull=True)
            .filter(occurred_at__lte=now)
            .order_by("occurred_at", "pk")
        )
        if not claimed:
            return 0
        visible = _still_visible(login, audience, claimed)
        AlertNotice.objects.filter(pk__in=[n.pk for n in claimed if n not in visible]).delete()
        if not visible or not (login.email or "").strip():
            return 0
        by_topic: dict[str, list[AlertNotice]] = defaultdict(list)
        for notice in visible:
            by_topic[notice.subscription.topic].append(notice)
        AlertNotice.objects.filter(pk__in=[n.pk for n in visible]).update(mailed_at=now)
        message = alert_mail.compose(login, audience, by_topic, digest=delivery == AlertDelivery.DIGEST)
        message.connection = get_connection(timeout=MAIL_TIMEOUT_SECONDS)
        message.send()
    return 1


def _still_visible(login: Any, audience: str | None, notices: list[AlertNotice]) -> list[AlertNotice]:
    if audience is None:
        return []
    job_ids = {n.job_id for n in notices if n.job_id}
    # Still visible, whatever became of the job since (a digest tells of a failure retried meanwhile).
    jobs = set(jobs_visible_to(login, audience).filter(pk__in=job_ids).values_list("pk", flat=True))
    server_ids = {n.server_id for n in notices if n.server_id}
    servers = {row["server"].pk for row in server_health_visible_to(login, audience)} if server_ids else set()
    return [n for n in notices if (n.job_id in jobs) or (n.server_id in servers)]

"""Alerts by e-mail (issue 16, part 6), the service: who is told what, once, at once or in a digest.

Times are passed to the service (`now=`) or stored on the rows; nothing waits for the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal import alerts
from portal.alert_choices import OFF, alert_choices_save, audience_of
from portal.models import AlertDelivery, AlertNotice, AlertSubscription, AlertTopic
from telephony.models import JobStatus, PbxUser, ProvisioningJob
from tenants import access
from tenants.models import Membership, Role
from tests.factories import EntityFactory, PbxUserFactory, ServerFactory, TenantFactory

pytestmark = pytest.mark.django_db

HOSTILE = "{{ 7*7 }} <img src=x onerror=alert(1)>"


def job_of(line: PbxUser, *, status: str = JobStatus.FAILED, finished_at: datetime | None = None, label: str = ""):
    return ProvisioningJob.objects.create(
        target_type=ContentType.objects.get_for_model(PbxUser),
        target_id=line.pk,
        target_key=f"pbxuser:{line.pk}",
        target_label=label or str(line),
        operation="user.update",
        status=status,
        tenant=line.tenant,
        server=line.tenant.server,
        platform=line.tenant.server.platform,
        finished_at=finished_at or timezone.now(),
        last_error="the PBX said no" if status == JobStatus.FAILED else "",
    )


def subscribe(login, topic=AlertTopic.FAILED_PUSHES, delivery=AlertDelivery.IMMEDIATE, *, since=None):
    subscription, _ = AlertSubscription.objects.update_or_create(
        user=login,
        topic=topic,
        defaults={"delivery": delivery, "read_until": since or timezone.now() - timedelta(hours=1)},
    )
    return subscription


@pytest.fixture
def staff(tree, member):
    return member(tree.reseller, Role.OPERATOR, username="res.operator", email="ops@reseller.example")


def test_staff_are_mailed_a_failed_push_of_their_customer_at_once_and_never_one_of_another_organization(
    staff, customer, sibling, mailoutbox, settings
):
    subscribe(staff)
    job_of(customer.line, label="acme line")
    job_of(sibling.line, label="globex line")
    result = alerts.alerts_run(now=timezone.now())
    assert result["mails"] == 1
    (mail,) = mailoutbox
    assert mail.to == ["ops@reseller.example"]
    assert mail.subject == "PBX portal: 1 failed push"
    assert "acme line: user.update failed (acme, " in mail.body and "the PBX said no" in mail.body
    assert "globex" not in mail.body
    assert f"{settings.PORTAL_PUBLIC_URL}/admin/telephony/provisioningjob/?status__exact=failed" in mail.body
    assert f"{settings.PORTAL_PUBLIC_URL}/admin/alerts/" in mail.body


def test_a_customer_administrator_is_told_of_its_own_lines_only_and_linked_to_its_dashboard(
    customer, sibling, mailoutbox, settings
):
    customer.admin.email = "admin@acme.example"
    customer.admin.save()
    subscribe(customer.admin)
    job_of(customer.line, label="acme line")
    job_of(sibling.line, label="globex line")
    alerts.alerts_run(now=timezone.now())
    (mail,) = mailoutbox
    assert "acme line" in mail.body and "globex" not in mail.body
    assert f"{settings.PORTAL_PUBLIC_URL}/dashboard/" in mail.body
    assert f"{settings.PORTAL_PUBLIC_URL}/alerts/" in mail.body
    assert "/admin/" not in mail.body


def test_a_second_run_and_a_second_worker_mail_nothing_more(staff, customer, mailoutbox):
    subscribe(staff)
    job_of(customer.line)
    now = timezone.now()
    alerts.alerts_collect(now=now)
    alerts.alerts_collect(now=now)  # a second worker found the same failure: one notice
    assert AlertNotice.objects.count() == 1
    alerts.alerts_send(now=now)
    alerts.alerts_send(now=now)
    alerts.alerts_run(now=now + timedelta(minutes=1))
    assert len(mailoutbox) == 1
    assert AlertNotice.objects.get().mailed_at == now


def test_a_push_that_fails_again_after_a_retry_is_a_new_alert(staff, customer, mailoutbox):
    subscribe(staff)
    job = job_of(customer.line)
    alerts.alerts_run(now=timezone.now())
    ProvisioningJob.objects.filter(pk=job.pk).update(finished_at=job.finished_at + timedelta(seconds=30))
    alerts.alerts_run(now=timezone.now() + timedelta(minutes=1))
    assert len(mailoutbox) == 2


def test_subscribing_does_not_mail_what_failed_before(staff, customer, mailoutbox):
    now = timezone.now()
    job_of(customer.line, finished_at=now - timedelta(hours=2), label="long ago")
    job_of(customer.line, finished_at=now - timedelta(seconds=1), label="just before")
    alert_choices_save(actor=staff, choices={AlertTopic.FAILED_PUSHES: AlertDelivery.IMMEDIATE}, now=now)
    alerts.alerts_run(now=now + timedelta(minutes=1))
    assert mailoutbox == []
    job_of(customer.line, finished_at=now + timedelta(minutes=1, seconds=30), label="after")
    alerts.alerts_run(now=now + timedelta(minutes=2))
    alerts.alerts_run(now=now + timedelta(minutes=30))
    (mail,) = mailoutbox
    assert "- after: " in mail.body and "before" not in mail.body and "long ago" not in mail.body


def test_the_digest_collects_the_days_failures_and_is_sent_once_from_its_time(staff, customer, mailoutbox, settings):
    settings.ALERT_DIGEST_TIME = "07:00"
    settings.TIME_ZONE = "UTC"
    day = datetime(2026, 3, 2, tzinfo=UTC)
    subscribe(staff, delivery=AlertDelivery.DIGEST, since=day - timedelta(hours=12))
    job_of(customer.line, finished_at=day - timedelta(hours=3), label="first")
    job_of(customer.line, finished_at=day + timedelta(hours=5), label="second")
    alerts.alerts_run(now=day + timedelta(hours=6, minutes=59))
    assert mailoutbox == [], "not before the digest's time"
    result = alerts.alerts_run(now=day + timedelta(hours=7, minutes=1))
    assert result["digests"] == 1
    (digest,) = mailoutbox
    assert digest.subject == "PBX portal: daily digest, 2 failed pushes"
    assert "- first: " in digest.body and "- second: " in digest.body
    job_of(customer.line, finished_at=day + timedelta(hours=9), label="third")
    alerts.alerts_run(now=day + timedelta(hours=7, minutes=2))
    alerts.alerts_run(now=day + timedelta(hours=10))
    assert len(mailoutbox) == 1, "one digest a day"
    alerts.alerts_run(now=day + timedelta(days=1, hours=7))
    assert len(mailoutbox) == 2
    assert "- third: " in mailoutbox[1].body and "- first: " not in mailoutbox[1].body


def _server_turns(customer, *, failed: int) -> None:
    """The customer's server, as its jobs of the last day show it: healthy with no failure,
    degraded with one failure among ten, failing with most of them failed."""
    ProvisioningJob.objects.filter(server=customer.tenant.server).delete()
    for _ in range(10 - failed):
        job_of(customer.line, status=JobStatus.SUCCEEDED)
    for _ in range(failed):
        job_of(customer.line)


def test_a_server_turning_degraded_is_mailed_once_per_turn(staff, customer, mailoutbox):
    subscribe(staff, AlertTopic.SERVER_DEGRADED)
    _server_turns(customer, failed=0)
    alerts.alerts_run(now=timezone.now())
    assert mailoutbox == [], "the first look only notes its health"
    _server_turns(customer, failed=1)
    alerts.alerts_run(now=timezone.now())
    alerts.alerts_run(now=timezone.now())
    (mail,) = mailoutbox
    server = customer.tenant.server
    assert mail.subject == "PBX portal: 1 server turned degraded"
    assert f"- {server.name} on {server.platform.name} turned degraded: 1 failed" in mail.body
    _server_turns(customer, failed=8)  # worse, but the same turn
    alerts.alerts_run(now=timezone.now())
    assert len(mailoutbox) == 1
    _server_turns(customer, failed=0)
    alerts.alerts_run(now=timezone.now())
    _server_turns(customer, failed=1)
    alerts.alerts_run(now=timezone.now())
    assert len(mailoutbox) == 2, "healthy in between: a new turn"


def test_a_server_counts_only_what_the_login_may_see(tree, customer, staff, mailoutbox):
    """Another organization's failures on the customer's own server turn nothing for the customer's
    administrator; its reseller's staff, who see both, are told."""
    customer.admin.email = "admin@acme.example"
    customer.admin.save()
    subscribe(customer.admin, AlertTopic.SERVER_DEGRADED)
    subscribe(staff, AlertTopic.SERVER_DEGRADED)
    _server_turns(customer, failed=0)
    alerts.alerts_run(now=timezone.now())
    neighbour = TenantFactory(organization=tree.reseller, server=customer.tenant.server, name="neighbour")
    job_of(PbxUserFactory(entity=EntityFactory(tenant=neighbour), tenant=neighbour))
    alerts.alerts_run(now=timezone.now())
    (mail,) = mailoutbox
    assert mail.to == [staff.email]


def test_a_customer_administrator_is_told_only_of_the_servers_its_lines_are_on(customer, staff, mailoutbox):
    customer.admin.email = "admin@acme.example"
    customer.admin.save()
    other_server = ServerFactory(platform=customer.tenant.server.platform, name="empty-of-acme")
    subscribe(customer.admin, AlertTopic.SERVER_DEGRADED)
    subscribe(staff, AlertTopic.SERVER_DEGRADED)
    _server_turns(customer, failed=0)
    alerts.alerts_run(now=timezone.now())
    platform = other_server.platform
    platform.last_check_ok = False  # every server of the platform fails
    platform.save(update_fields=["last_check_ok"])
    alerts.alerts_run(now=timezone.now())
    assert sorted(mail.to[0] for mail in mailoutbox) == ["admin@acme.example", staff.email]
    (told,) = [mail for mail in mailoutbox if mail.to == ["admin@acme.example"]]
    assert customer.tenant.server.name in told.body and "empty-of-acme" not in told.body
    (staff_mail,) = [mail for mail in mailoutbox if mail.to == [staff.email]]
    assert "empty-of-acme" in staff_mail.body and "2 servers turned degraded" in staff_mail.subject


def test_hostile_names_are_mailed_as_they_are(tree, member, customer, mailoutbox):
    login = member(tree.reseller, Role.ADMIN, username=HOSTILE[:30], email="hostile@reseller.example")
    customer.tenant.name = HOSTILE
    customer.tenant.save()
    subscribe(login)
    job_of(customer.line, label=HOSTILE)
    alerts.alerts_run(now=timezone.now())
    (mail,) = mailoutbox
    assert f"- {HOSTILE}: user.update failed ({HOSTILE}, " in mail.body
    assert f"Hello {HOSTILE[:30].strip()}," in mail.body
    assert "49" not in mail.body


def test_a_notice_the_login_may_no_longer_see_is_dropped_unmailed(staff, customer, mailoutbox):
    subscribe(staff)
    job_of(customer.line)
    alerts.alerts_collect(now=timezone.now())
    Membership.objects.filter(user=staff).delete()
    access.forget(staff)
    alerts.alerts_send(now=timezone.now())
    assert mailoutbox == [] and not AlertNotice.objects.exists()


def test_each_login_chooses_for_itself_only(staff, customer, tree, member):
    other = member(tree.reseller, Role.ADMIN)
    theirs = subscribe(other, delivery=AlertDelivery.DIGEST)
    alert_choices_save(
        actor=staff, choices={AlertTopic.FAILED_PUSHES: AlertDelivery.IMMEDIATE, AlertTopic.SERVER_DEGRADED: OFF}
    )
    alert_choices_save(actor=staff, choices={AlertTopic.FAILED_PUSHES: OFF})
    assert not AlertSubscription.objects.filter(user=staff).exists()
    theirs.refresh_from_db()
    assert theirs.delivery == AlertDelivery.DIGEST


@pytest.mark.parametrize(
    "choices",
    [{AlertTopic.FAILED_PUSHES: "hourly"}, {"everything": AlertDelivery.IMMEDIATE}],
)
def test_a_choice_that_is_not_offered_changes_nothing(staff, choices):
    with pytest.raises(ValidationError):
        alert_choices_save(actor=staff, choices=choices)
    assert not AlertSubscription.objects.exists()


def test_a_login_without_an_address_is_told_so(staff):
    staff.email = ""
    staff.save()
    with pytest.raises(ValidationError, match="no e-mail address"):
        alert_choices_save(actor=staff, choices={AlertTopic.FAILED_PUSHES: AlertDelivery.IMMEDIATE})


def test_end_users_entity_administrators_and_a_login_acting_as_a_customer_get_no_alerts(customer, staff, tree, member):
    entity_admin = member(tree.customer, Role.ADMIN)
    Membership.objects.filter(user=entity_admin).delete()
    customer.sales.administrators.add(entity_admin)
    access.narrow_to_role(staff, customer.organization, Role.ADMIN)
    for login in (customer.end_user, entity_admin, staff):
        assert audience_of(login) is None
        with pytest.raises(PermissionDenied):
            alert_choices_save(actor=login, choices={AlertTopic.FAILED_PUSHES: AlertDelivery.IMMEDIATE})
    assert not AlertSubscription.objects.exists()


def test_the_beat_runs_the_task_every_minute_and_the_task_mails(staff, customer, mailoutbox, settings):
    from portal.tasks import send_alerts

    assert settings.CELERY_BEAT_SCHEDULE["send-alerts"] == {"task": "portal.send_alerts", "schedule": 60.0}
    subscribe(staff)
    job_of(customer.line)
    assert send_alerts()["mails"] == 1 and len(mailoutbox) == 1


def test_a_digest_time_that_is_no_time_of_day_stops_the_start():
    from tests.test_project import run_manage

    result = run_manage("check", DJANGO_DEBUG="true", ALERT_DIGEST_TIME="7 in the morning")
    assert result.returncode != 0 and "ALERT_DIGEST_TIME must be a time of day" in result.stderr
    assert run_manage("check", DJANGO_DEBUG="true", ALERT_DIGEST_TIME="06:30").returncode == 0


def test_a_mail_the_server_refuses_is_sent_by_the_next_run(staff, customer, mailoutbox, monkeypatch):
    from django.core.mail import EmailMessage

    subscribe(staff)
    job_of(customer.line)
    real_send = EmailMessage.send
    monkeypatch.setattr(EmailMessage, "send", lambda self, *a, **k: (_ for _ in ()).throw(OSError("no route")))
    assert alerts.alerts_run(now=timezone.now())["mails"] == 0
    assert AlertNotice.objects.get().mailed_at is None
    monkeypatch.setattr(EmailMessage, "send", real_send)
    assert alerts.alerts_run(now=timezone.now())["mails"] == 1
    assert len(mailoutbox) == 1

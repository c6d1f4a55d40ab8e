"""Alert mails are written in each recipient's own language (its LoginSettings), whatever language the
worker happens to be in: no browser asks when a mail is sent."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from portal import alert_mail, alerts
from portal.models import AlertNotice
from tenants.models import LoginSettings, Role
from tests.portal.test_alerts import job_of, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def languages_seen(monkeypatch):
    """The active language each time a notice line, a subject and a body are rendered."""
    seen: dict[str, list[str]] = {"line": [], "subject": [], "body": []}
    for name, key in (("failure_line", "line"), ("subject_of", "subject"), ("body_of", "body")):
        original = getattr(alert_mail, name)

        def spy(*args, _original=original, _key=key, **kwargs):
            seen[_key].append(translation.get_language())
            return _original(*args, **kwargs)

        monkeypatch.setattr(alert_mail, name, spy)
    return seen


def test_a_login_that_chose_dutch_is_mailed_in_dutch(tree, member, customer, mailoutbox, languages_seen):
    staff = member(tree.reseller, Role.OPERATOR, username="res.nl", email="nl@reseller.example")
    LoginSettings.objects.create(user=staff, language="nl")
    subscribe(staff)
    job_of(customer.line, label="acme line")

    with translation.override("fr"):  # whatever the worker is in, the recipient's own choice counts
        assert alerts.alerts_run(now=timezone.now())["mails"] == 1

    assert languages_seen == {"line": ["nl"], "subject": ["nl"], "body": ["nl"]}
    (mail,) = mailoutbox
    with translation.override("nl"):
        dutch_subject = translation.gettext("PBX portal: %(counts)s")
        dutch_hello = translation.gettext("Hello %(name)s,")
    assert mail.subject.startswith(dutch_subject.split("%(counts)s")[0])
    assert mail.body.startswith(dutch_hello % {"name": "res.nl"})
    if dutch_subject != "PBX portal: %(counts)s":  # the Dutch catalog is there: the mail is not English
        assert mail.subject != "PBX portal: 1 failed push"
    notice = AlertNotice.objects.get(subscription__user=staff)
    assert notice.text in mail.body


def test_a_login_without_a_choice_is_mailed_in_the_sites_language(
    tree, member, customer, mailoutbox, languages_seen, settings
):
    staff = member(tree.reseller, Role.OPERATOR, username="res.en", email="en@reseller.example")
    subscribe(staff)
    job_of(customer.line, label="acme line")

    with translation.override("fr"):
        alerts.alerts_run(now=timezone.now())

    assert languages_seen == {"line": [settings.LANGUAGE_CODE], "subject": ["en"], "body": ["en"]}
    (mail,) = mailoutbox
    assert mail.subject == "PBX portal: 1 failed push"
    assert mail.body.startswith("Hello res.en,\n")
    assert "acme line: user.update failed (acme, " in mail.body

"""The server log says what happened once: a refused or missing page is one line without a
traceback, browsers' /favicon.ico finds the icon, and the embedded broker does not warn about a
host name it never uses."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def handlers_reached(logger_name: str) -> list[logging.Handler]:
    """The handlers a record logged on `logger_name` goes to (pytest's own capture left out)."""
    handlers, logger = [], logging.getLogger(logger_name)
    while logger is not None:
        handlers += [handler for handler in logger.handlers if "pytest" not in type(handler).__module__]
        logger = logger.parent if logger.propagate else None
    return handlers


def test_a_refused_page_is_logged_once_in_one_line(client, caplog):
    client.force_login(UserFactory(username="nobody-in-particular", is_staff=True))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("admin:telephony_platform_changelist"))
    assert response.status_code == 403
    refusals = [record for record in caplog.records if record.name == "django.request"]
    assert len(refusals) == 1 and refusals[0].exc_info is None and "Forbidden" in refusals[0].getMessage()
    assert len(handlers_reached("django.request")) == 1, "one handler (the root's console), not Django's as well"


def test_a_server_error_keeps_its_traceback():
    from portal.log_filters import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), sys.exc_info())
    record.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is not None


def test_favicon_ico_leads_to_the_portal_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("portal/favicon.svg")


def test_the_filesystem_broker_does_not_warn_about_a_host_name(caplog, settings):
    from portal.celery import app

    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        pytest.skip("only the embedded (filesystem) broker")
    with caplog.at_level(logging.WARNING, logger="kombu.connection"), app.connection_for_write() as connection:
        connection.clone().info()
    assert not [record for record in caplog.records if "No hostname" in record.getMessage()]

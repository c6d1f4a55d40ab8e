"""Every page works under the content security policy (nothing inline), loads its assets from the
portal itself (no CDN), is laid out for phones, and is usable with the keyboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from telephony.models import ImportRun
from tests.portal.routes import customer_admin_routes
from tests.portal.test_imports import upload, users_csv

pytestmark = pytest.mark.django_db

ANONYMOUS_PAGES = ["selfservice:login", "selfservice:password_reset", "selfservice:password_reset_done"]
END_USER_PAGES = ["selfservice:my_line", "selfservice:password_change"]
ADMIN_PAGES = ["selfservice:dashboard", "selfservice:user_list", "selfservice:imports", "selfservice:password_change"]


def pages(client, customer):
    for name in ANONYMOUS_PAGES:
        yield name, client.get(reverse(name))
    client.force_login(customer.end_user)
    for name in END_USER_PAGES:
        yield name, client.get(reverse(name))
    client.force_login(customer.admin)
    for name in ADMIN_PAGES:
        yield name, client.get(reverse(name))
    for route in customer_admin_routes(customer):
        if route.method == "get" and "pushes" not in route.name:
            yield str(route), route.call(client)
    yield "PIN reset result", client.post(reverse("selfservice:user_pin_reset", args=[customer.line.pk]))
    upload(client, customer, users_csv(customer, rows=3))
    yield "import preview", client.get(reverse("selfservice:import_run", args=[ImportRun.objects.get().pk]))


def test_no_page_has_inline_scripts_styles_or_event_handlers(client, customer):
    seen = 0
    for name, response in pages(client, customer):
        assert response.status_code == 200, name
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{name}: inline script"
        assert not re.search(r"<style\b", html), f"{name}: style element"
        assert not re.search(r"\sstyle\s*=", html), f"{name}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{name}: inline event handler"
        assert "script-src 'self'" in response["Content-Security-Policy"], name
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], name
        seen += 1
    assert seen >= 15


def test_assets_are_served_by_the_portal_itself(client, customer):
    for name, response in pages(client, customer):
        html = response.content.decode()
        for url in re.findall(r'(?:src|href)="([^"]+\.(?:js|css|svg))"', html):
            assert url.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"), (
                name,
                url,
            )
            assert finders.find(url.split("/static/", 1)[1]), f"{url} is not a static file of the project"
        # no asset from elsewhere (a bare "cdn" may turn up inside a random CSRF token)
        assert not re.search(r'(?:src|href)="[^"]*cdn', html, re.IGNORECASE) and "https://" not in html, name


def test_bootstrap_is_the_vendored_5_3_release():
    css = Path(finders.find("portal/vendor/bootstrap-5.3.9/bootstrap.min.css")).read_text()
    js = Path(finders.find("portal/vendor/bootstrap-5.3.9/bootstrap.bundle.min.js")).read_text()
    assert "Bootstrap  v5.3.9" in css and "Bootstrap v5.3.9" in js


def test_pages_are_laid_out_for_phones_and_the_keyboard(client, customer):
    for name, response in pages(client, customer):
        html = response.content.decode()
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in html, name
        assert 'href="#main"' in html and 'id="main"' in html, f"{name}: skip link"
        assert not re.search(r'tabindex="[1-9]', html), f"{name}: a positive tabindex breaks the keyboard order"
        for field_id in re.findall(r'<(?:input|select|textarea)[^>]*\sid="(id_[^"]+)"', html):
            assert f'for="{field_id}"' in html, f"{name}: {field_id} has no label"

"""Data is never code: names typed by staff or customers reach the self-service pages as text, never
as template code or HTML (a line template's name once rendered a platform's password)."""

from __future__ import annotations

from django.urls import reverse

from telephony.models import Entity, LineTemplate, Platform

SECRET = "distributor-platform-password"
STEALER = "{{ form.instance.tenant.server.platform.secret }}"


def test_a_template_name_is_shown_as_text_on_the_end_users_line(customer, client):
    platform = customer.tenant.server.platform
    Platform.objects.filter(pk=platform.pk).update(kind="xcu")  # voicemail then comes from the template
    platform.refresh_from_db()
    platform.secret = SECRET
    platform.save(update_fields=["secret"])
    LineTemplate.objects.filter(pk=customer.template.pk).update(name=STEALER)

    client.force_login(customer.end_user)
    body = client.get(reverse("selfservice:my_line")).content.decode()
    assert SECRET not in body
    assert "{{ form.instance.tenant.server.platform.secret }}" in body  # shown as typed


def test_a_broken_tag_in_a_template_name_is_text_too(customer, client):
    Platform.objects.filter(pk=customer.tenant.server.platform_id).update(kind="xcu")
    LineTemplate.objects.filter(pk=customer.template.pk).update(name="{% if %}")
    client.force_login(customer.end_user)
    response = client.get(reverse("selfservice:my_line"))
    assert response.status_code == 200
    assert "{% if %}" in response.content.decode()


def test_an_entity_name_in_the_next_free_number_help_is_escaped(customer, client):
    Entity.objects.filter(pk=customer.sales.pk).update(display_name='<img src=x onerror="alert(1)">')
    client.force_login(customer.admin)
    body = client.get(reverse("selfservice:user_create", args=[customer.tenant.pk])).content.decode()
    assert '<img src=x onerror="alert(1)">' not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body

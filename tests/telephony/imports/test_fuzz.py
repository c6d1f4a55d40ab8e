"""Hypothesis writes CSV files (known and unknown headers, any delimiter, any text, any bytes); the
upload and preview pages never answer 500, and a preview writes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.imports.columns import USER_COLUMNS
from telephony.models import ImportRun, PbxUser

pytestmark = pytest.mark.django_db

KNOWN = [name for column in USER_COLUMNS for name in (column.name, *column.aliases[:2])]
cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "1701", "yes", "=1+1", "+31201234567", "a@b.c", "sales", "Standard", "'-x", "12" * 20]),
)


@st.composite
def csv_files(draw):
    header = draw(st.lists(st.one_of(st.sampled_from(KNOWN), st.text(max_size=12)), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = out.getvalue().encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))] + draw(st.binary(max_size=20))
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files())
def test_generated_csv_files_never_make_a_500(world, staff, client, data):
    client.force_login(staff)
    response = client.post(
        reverse("admin:telephony_pbxuser_import"),
        {
            "file": SimpleUploadedFile("fuzz.csv", data),
            "mode": "upsert",
            "encoding": "",
            "tenant": world.tenant.pk,
            "template": world.template.pk,
        },
    )
    assert response.status_code in (200, 302)
    run = ImportRun.objects.order_by("-pk").first()
    if response.status_code == 302:
        assert client.get(response["Location"]).status_code == 200
        assert client.get(reverse("admin:telephony_importrun_errors", args=[run.pk])).status_code == 200
    assert not PbxUser.objects.exists()

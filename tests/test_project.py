"""Project-wide rules: imports flow one way, settings refuse to run insecurely, the demo loads twice."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"portal": 3, "telephony": 2, "tenants": 1}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_imports_flow_one_way(package):
    floor = FLOORS[package]
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        for name in imported_packages(path):
            if FLOORS.get(name, 0) > floor:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean_env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "FIELD_"))}
    clean_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean_env, capture_output=True, text=True, timeout=120
    )


def _deferred_imports(path: Path) -> list[tuple[int, str]]:
    """Imports of the project's own modules made inside a function: each one hides a cycle. Only
    an app's config (`apps.py`, run from `ready()`) may import late: it wires the apps together
    once the registry is loaded."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or function.name == "ready":
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [(node.lineno, name) for name in names if name.split(".")[0] in FLOORS]
    return found


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_no_import_cycle_is_hidden_inside_a_function(package):
    late = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and path.name != "apps.py"
        for line, name in _deferred_imports(path)
    ]
    assert not late, "Project imports inside functions (a cycle dodged, not removed):\n" + "\n".join(late)


def test_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_manage("check", DJANGO_DEBUG="false", FIELD_ENCRYPTION_KEYS="k")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_refuses_to_start_without_field_keys_when_debug_is_off():
    result = run_manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is required" in result.stderr


def test_starts_with_its_development_defaults_when_debug_is_on():
    assert run_manage("check", DJANGO_DEBUG="true").returncode == 0


@pytest.mark.django_db
def test_demo_data_loads_and_loading_again_changes_nothing():
    from django.apps import apps

    from portal.demo import load_demo

    logins = load_demo()
    counts = {model: model.objects.count() for model in apps.get_models()}
    load_demo()
    assert {model: model.objects.count() for model in apps.get_models()} == counts
    assert {demo.role_description for demo, _ in logins} >= {"reseller admin", "reseller operator", "reseller viewer"}


@pytest.mark.django_db
def test_a_demo_end_user_resets_her_password_with_the_address_she_sees(client, mailoutbox):
    from django.contrib.auth import get_user_model

    from portal.demo import load_demo
    from telephony.models import PbxUser

    load_demo()
    alice = get_user_model().objects.get(username="alice")
    line = PbxUser.objects.get(portal_user=alice)
    assert alice.email == line.email, "her login's address is her line's"
    client.post("/password/reset/", {"email": line.email})
    assert [message.to for message in mailoutbox] == [[line.email]]


@pytest.mark.django_db
def test_the_demo_corrects_the_address_an_earlier_version_gave_alice():
    from django.contrib.auth import get_user_model

    from portal.demo import load_demo

    load_demo()
    get_user_model().objects.filter(username="alice").update(email="alice@example.net")
    load_demo()
    assert get_user_model().objects.get(username="alice").email == "alice@acmebrick.example"


PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k3Vq8-production-like-secret-key-with-enough-entropy-9fX2mP7zQ4rT1wY6",
    "FIELD_ENCRYPTION_KEYS": "production-field-key",
    "DJANGO_ALLOWED_HOSTS": "portal.example.net",
}


def test_deploy_checks_are_clean_with_the_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client, superuser):
    client.force_login(superuser)
    policy = client.get("/admin/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy

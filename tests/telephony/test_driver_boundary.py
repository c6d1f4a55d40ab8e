"""The vendors stay behind the driver boundary: outside `telephony/backends/` and
`telephony/sandbox/` no code names a vendor, a vendor's field or a platform kind. A new vendor is
a new driver that declares its capabilities, not an edit of the engine, the services or the models.

What a driver returns is an opaque reference (JSON), stored on the row as `backend_ref`; what a
platform can do is asked of its capabilities."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from telephony.backends.capabilities import Capabilities, TemplateSetting
from telephony.backends.registry import DRIVERS, capabilities_of, settings_groups
from telephony.models import LineTemplate

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENDOR = re.compile(r"xcu|xelion|xc5|xivo|park.?manager", re.IGNORECASE)
# Where vendors belong, and the two places that describe the sandbox's own world by name.
ALLOWED = (
    "telephony/backends/",
    "telephony/sandbox/",
    "telephony/migrations/",  # history: the columns that became backend references
    "telephony/management/commands/pbx_sandbox.py",  # serves the simulators
    "portal/demo.py",  # the demo's platforms are the sandbox's simulators, by name
    "telephony/imports/vocabularies.py",  # the column names of the tools resellers migrate from, by tool
)
KIND_VALUES = set(DRIVERS)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            found.add(id(first.value))
    return found


def _names_in(path: pathlib.Path) -> list[tuple[int, str]]:
    """Every identifier, attribute, keyword and string in the code (docstrings and comments aside:
    they may explain a vendor's ways; code may not depend on them)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.keyword) and node.arg:
            found.append((node.value.lineno, node.arg))
        elif isinstance(node, ast.alias):
            found.append((node.lineno if hasattr(node, "lineno") else 0, node.name))
    return found


def _portal_code() -> list[pathlib.Path]:
    paths = []
    for package in ("telephony", "portal", "tenants"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not any(relative.startswith(allowed) or relative == allowed for allowed in ALLOWED):
                paths.append(path)
    return paths


def test_no_vendor_name_field_or_kind_outside_the_drivers():
    leaks = []
    for path in _portal_code():
        for line, text in _names_in(path):
            if VENDOR.search(text) or text in KIND_VALUES:
                leaks.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}")
    assert not leaks, "Vendor names, fields or kinds outside telephony/backends/:\n" + "\n".join(leaks)


def test_no_page_template_names_a_vendor():
    """What a page says of a platform comes from its driver's capabilities (its label), not the page."""
    pages = [path for path in ROOT.glob("**/templates/**/*.html") if ".venv" not in path.parts]
    assert pages, "the page templates were found"
    leaks = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in pages
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if VENDOR.search(line)
    ]
    assert not leaks, "Page templates that name a vendor:\n" + "\n".join(leaks)


def test_the_check_finds_a_leak(tmp_path):
    """The check above is only worth something if it sees what it looks for."""
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        '"""Docstrings may name Xelion."""\n'
        "def f(row, platform):\n"
        "    # comments may name XCU too\n"
        "    if platform.kind == 'xc5':\n"
        "        return row.xcu_id\n"
    )
    texts = [text for _, text in _names_in(leaky)]
    assert "xc5" in texts and "xcu_id" in texts
    assert not any("Xelion" in text or "XCU" in text for text in texts)


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_every_driver_declares_its_capabilities(kind):
    capabilities = DRIVERS[kind].capabilities
    assert isinstance(capabilities, Capabilities) and capabilities.label
    assert capabilities_of(kind) is capabilities
    if capabilities.template_settings:
        assert capabilities.settings_group and capabilities.settings_label
        for setting in capabilities.template_settings:
            assert setting.check(setting.default) == "", f"{kind} {setting.name}: its default must be valid"


def test_an_unknown_kind_can_do_nothing():
    unknown = capabilities_of("no-such-kind")
    assert not (unknown.starts_tenants or unknown.keeps_templates or unknown.lists_tenants)
    assert unknown.template_settings == ()


def test_template_settings_are_checked_against_their_declaration():
    setting = TemplateSetting("limit", "Limit", 2, minimum=1, maximum=30)
    assert setting.check(31) == "Enter at most 30." and setting.check("2") == "Enter a whole number."
    assert TemplateSetting("on", "On", True).check(1) == "Choose yes or no."
    assert TemplateSetting("role", "Role", "a", choices=(("a", "a"),)).check("b") == "Choose one of a."


@pytest.mark.django_db
def test_a_template_refuses_settings_no_platform_declares(tree):
    from django.core.exceptions import ValidationError

    from tests.factories import LineTemplateFactory

    template = LineTemplateFactory(organization=tree.reseller)
    group, (label, declared) = next(iter(settings_groups().items()))
    for wrong, why in (
        ({"nobody": {}}, "No platform keeps settings called 'nobody'."),
        ({group: {"nothing": 1}}, f"{label} keeps no template setting called 'nothing'."),
        ({group: {declared[0].name: object.__new__(object)}}, declared[0].label),
    ):
        template.platform_settings = wrong
        with pytest.raises(ValidationError) as refused:
            template.full_clean()
        assert why in " ".join(refused.value.message_dict["platform_settings"])


def test_a_templates_settings_reach_the_platforms_that_declare_them():
    template = LineTemplate(platform_settings={})
    for kind, driver in DRIVERS.items():
        capabilities = driver.capabilities
        values = template.settings_for(capabilities)
        assert values == {setting.name: setting.default for setting in capabilities.template_settings}, kind

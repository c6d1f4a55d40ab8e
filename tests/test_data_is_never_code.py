"""Data is never code (DESIGN §7): no value becomes a template, trusted HTML or a help text without
escaping. A static check of the whole code base, so that a cousin of the template-name bug (a
line template's name rendered by crispy's HTML() as template code) cannot come back unnoticed.

- crispy's `HTML()` and Django's `Template()` / `engines[...].from_string()` render their string as a
  template: never used at all;
- `mark_safe` and `SafeString` trust their argument: never used;
- `format_html` / `format_html_join` escape their values, not their format string: the format
  string is always a literal;
- a help text or label set at run time is a literal or a `format_html(...)`, never an f-string,
  a `%`-format, `.format()` or a concatenation (crispy and the admin render help texts unescaped);
- templates never use `|safe`, `{% autoescape off %}` or `{{ x|safeseq }}`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "telephony", "tenants")
NEVER_CALLED = {"HTML", "Template", "mark_safe", "SafeString", "from_string"}
LITERAL_FORMAT = {"format_html", "format_html_join"}
TEXT_ATTRIBUTES = {"help_text", "label", "empty_label"}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_built_string(node: ast.expr) -> bool:
    """An f-string, a %-format, a .format() call or a concatenation: text built from values."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    if isinstance(node, ast.Call) and _name(node.func) == "format":
        return True
    if isinstance(node, ast.IfExp):
        return _is_built_string(node.body) or _is_built_string(node.orelse)
    return False


TRANSLATED = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}


def _is_literal(node: ast.expr) -> bool:
    """A literal, or a literal looked up in the translation catalogs (ours, checked by msgfmt)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.IfExp):
        return _is_literal(node.body) and _is_literal(node.orelse)
    return (
        isinstance(node, ast.Call)
        and _name(node.func) in TRANSLATED
        and all(isinstance(argument, ast.Constant) for argument in node.args)
    )


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    where = path.relative_to(ROOT)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in NEVER_CALLED:
                found.append(f"{where}:{node.lineno} calls {name}()")
            if name in LITERAL_FORMAT and node.args and not _is_literal(node.args[0]):
                found.append(f"{where}:{node.lineno} {name}() with a format string that is not a literal")
            for keyword in node.keywords:
                if keyword.arg in TEXT_ATTRIBUTES and _is_built_string(keyword.value):
                    found.append(f"{where}:{node.lineno} {keyword.arg}= built from values without escaping")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in TEXT_ATTRIBUTES
                    and _is_built_string(node.value)
                ):
                    found.append(f"{where}:{node.lineno} .{target.attr} built from values without escaping")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crispy_forms"):
            for alias in node.names:
                if alias.name == "HTML":
                    found.append(f"{where}:{node.lineno} imports crispy's HTML (renders its string as a template)")
    return found


def test_no_value_becomes_a_template_or_trusted_html():
    found = [offence for path in sources() for offence in offences(path)]
    assert not found, "\n".join(found)


UNSAFE_TEMPLATE = re.compile(r"\|\s*safe(seq)?\b|{%\s*autoescape\s+off\s*%}")


@pytest.mark.parametrize("folder", ["templates", "portal", "telephony", "tenants"])
def test_no_template_turns_off_escaping(folder):
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / folder).rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if UNSAFE_TEMPLATE.search(line)
    ]
    assert not found, found


def test_the_check_itself_notices_each_kind_of_offence(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from crispy_forms.layout import HTML\n"
        "HTML(name)\n"
        "format_html(template_name, x)\n"
        "field.help_text = f'Next — {entity}'\n"
        "forms.CharField(label='Hi ' + name)\n"
        "mark_safe(x)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(offences(bad)) == 6
    finally:
        ROOT = saved

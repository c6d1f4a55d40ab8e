"""Strings a person reads that are not marked for translation, found without running the code.

Python (by its syntax tree): a literal or f-string given as a message (`ValidationError`, the admin's
and the self-service site's `messages.*`, `message_user`), as a label (`verbose_name`, `help_text`,
`label`, `empty_label`, an admin display's or action's `description`, `violation_error_message`,
…), or as a choice's label (`TextChoices`). A call of `gettext`/`gettext_lazy`/`ngettext`/`pgettext` around it marks it.

Templates (by Django's own lexer): text between tags, and the `title`, `alt`, `placeholder`,
`aria-label` and `label` attributes, outside `{% translate %}` / `{% blocktranslate %}` (and comments).

Run `python -m tests.i18n_scan [paths…]` to list what is left; the suite fails on any
(tests/test_translations.py).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
CODE = ["portal", "telephony", "tenants"]
TEMPLATES = ["templates", "portal", "telephony", "tenants"]

MARKERS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy", "npgettext"}
LABEL_KEYWORDS = {
    "verbose_name",
    "verbose_name_plural",
    "help_text",
    "label",
    "empty_label",
    "violation_error_message",
    "empty_value_display",
}
MESSAGE_CALLS = {"success", "error", "warning", "info", "debug", "add_message", "message_user"}
# Words: at least two letters in a row, so "—", "·", "/", "%" and "1366" never count.
WORDS = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
# Strings that are the same in every language: a unit, a code, an example value, a product name.
NEUTRAL = re.compile(
    r"^(\s*(OK|ID|URL|URI|CSV|JSON|API|DDI|PIN|SIP|CTI|CRM|TLS|HTTP|HTTPS|XiVO|XCU|XC5|Xelion|"
    r"[a-z]+(\.[a-z]+)+|https?://\S*|\S+@\S+)\s*)$"
)


def _text(node: ast.AST) -> str | None:
    """The English a literal or an f-string holds (f-string parts outside its braces)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "a " + "b"
        left, right = _text(node.left), _text(node.right)
        return (left or "") + (right or "") if left is not None or right is not None else None
    return None


# Product names, the same in every language.
PRODUCTS = {"XiVO XCU", "XC5-XS", "Xelion Park Manager", "Xelion Configurator", "Xelion CTI", "PBX"}


def _readable(text: str | None) -> bool:
    return bool(text and WORDS.search(text) and not NEUTRAL.match(text) and text.strip() not in PRODUCTS)


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_choices(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Attribute | ast.Name) and "Choices" in ast.unparse(b) for b in node.bases)


def python_findings(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))

    def flag(node: ast.AST | None, why: str) -> Iterator[tuple[int, str]]:
        if node is None:
            return
        if isinstance(node, ast.Dict):
            for value in node.values:
                yield from flag(value, why)
            return
        if isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                yield from flag(element, why)
            return
        text = _text(node)
        if _readable(text):
            yield node.lineno, f"{why}: {text!r}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name in MARKERS:
                continue
            if name == "ValidationError" and node.args:
                yield from flag(node.args[0], "ValidationError")
            if name in MESSAGE_CALLS and isinstance(node.func, ast.Attribute) and len(node.args) >= 2:
                receiver = ast.unparse(node.func.value)
                if receiver in {"messages", "self"}:
                    yield from flag(node.args[-1] if name != "add_message" else node.args[2], f"{receiver}.{name}")
            for keyword in node.keywords:
                if keyword.arg == "description" and name in ("display", "action"):  # the admin's
                    yield from flag(keyword.value, "description")
                if keyword.arg in LABEL_KEYWORDS:
                    yield from flag(keyword.value, keyword.arg)
                if keyword.arg == "error_messages":
                    yield from flag(keyword.value, "error_messages")
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if not isinstance(statement, ast.Assign):
                    continue
                targets = {t.id for t in statement.targets if isinstance(t, ast.Name)}
                if _is_choices(node) and isinstance(statement.value, ast.Tuple) and len(statement.value.elts) >= 2:
                    yield from flag(statement.value.elts[-1], "choice label")
                elif targets & {"verbose_name", "verbose_name_plural", "empty_value_display", "title", "site_header"}:
                    yield from flag(statement.value, "class attribute " + ", ".join(sorted(targets)))


ATTRIBUTES = re.compile(r"""\b(title|alt|placeholder|aria-label|label)\s*=\s*(["'])(.*?)\2""", re.S)
TAGS = re.compile(r"<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<[^>]*>", re.S | re.I)
ENTITIES = re.compile(r"&[#\w]+;")
OPENS = ("translate", "trans", "blocktranslate", "blocktrans")


def _template_text(path: Path) -> str:
    """The template with every tag and variable a placeholder without letters, and the text of
    `{% blocktranslate %}` blanked: what is left is what a reader sees untranslated (line numbers kept)."""
    parts, inside_block = [], False
    for token in Lexer(path.read_text()).tokenize():
        lines = "\n" * token.contents.count("\n")
        if token.token_type == TokenType.TEXT:
            parts.append(re.sub(r"[^\n]", " ", token.contents) if inside_block else token.contents)
            continue
        if token.token_type == TokenType.BLOCK:
            word = (token.contents.split() or [""])[0]
            # translated text, or a {% comment %} for the template's readers
            inside_block = word in ("blocktranslate", "blocktrans", "comment") or (
                inside_block and word not in ("endblocktranslate", "endblocktrans", "endcomment")
            )
        parts.append("\x00" + lines)
    return "".join(parts)


def template_findings(path: Path) -> Iterator[tuple[int, str]]:
    text = _template_text(path)
    for match in ATTRIBUTES.finditer(text):
        if _readable(match.group(3)):
            yield text.count("\n", 0, match.start()) + 1, f"{match.group(1)}=: {match.group(3).strip()!r}"
    visible = TAGS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    visible = ENTITIES.sub(" ", visible)
    for number, line in enumerate(visible.splitlines(), start=1):
        if _readable(line.replace("\x00", " ").strip()):
            yield number, f"text: {line.replace(chr(0), '…').strip()!r}"


def python_files(paths: list[str]) -> Iterator[Path]:
    for base in paths:
        root = ROOT / base
        candidates = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in candidates:
            # not the migrations, the sandbox simulators, the demo's data or the commands' console output
            skipped = {"migrations", "sandbox", "management"} & set(path.parts) or path.name == "demo.py"
            if path.suffix == ".py" and not skipped:
                yield path


def template_files(paths: list[str]) -> Iterator[Path]:
    for base in paths:
        root = ROOT / base
        candidates = [root] if root.is_file() else sorted(root.rglob("*.html")) + sorted(root.rglob("*.txt"))
        for path in candidates:
            if path.suffix in (".html", ".txt") and ("templates" in path.parts or base == "templates"):
                yield path


def findings(paths: list[str] | None = None) -> list[str]:
    found = []
    for path in python_files(paths or CODE):
        found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in python_findings(path)]
    for path in template_files(paths or TEMPLATES):
        found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in template_findings(path)]
    return sorted(dict.fromkeys(found))


if __name__ == "__main__":
    left = findings(sys.argv[1:] or None)
    print("\n".join(left))
    print(f"{len(left)} unmarked", file=sys.stderr)

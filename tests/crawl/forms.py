"""The HTML forms of a page, as a browser would send them back (a small `html.parser` parser), and
the errors a page shows after a POST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class FormField:
    name: str
    kind: str  # input type, "select", "select-multiple" or "textarea"
    values: list[str]
    options: list[str] = field(default_factory=list)
    required: bool = False


@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: list[FormField] = field(default_factory=list)

    def data(self, *, submit: str | None = None) -> list[tuple[str, str]]:
        """What a browser would send with the current values (checked boxes only, no files, the
        `submit` button if named); a required select left on its empty choice gets its first real
        one, as a person would pick one before sending."""
        pairs = []
        for f in self.fields:
            if f.kind in ("submit", "button", "image", "reset", "file"):
                if f.kind == "submit" and f.name and f.name == submit:
                    pairs.append((f.name, f.values[0] if f.values else ""))
                continue
            values = f.values
            if f.kind == "select" and f.required and not any(values):
                values = [o for o in f.options if o][:1] or values
            pairs.extend((f.name, value) for value in values)
        return pairs


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: FormField | None = None
        self._option: dict[str, str] | None = None
        self._option_text = ""
        self._textarea: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower(), a)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                values = [a.get("value", "on")] if "checked" in a else []
            else:
                values = [a.get("value", "")]
            self._form.fields.append(FormField(a["name"], kind, values))
        elif tag == "select" and a.get("name"):
            kind = "select-multiple" if "multiple" in a else "select"
            self._select = FormField(a["name"], kind, [], required="required" in a)
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = a
            self._option_text = ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = FormField(a["name"], "textarea", [""])
            self._form.fields.append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            if self._select is not None and self._select.kind == "select" and not self._select.values:
                self._select.values = self._select.options[:1]  # a browser sends the first option
            self._select = None
        elif tag == "option" and self._option is not None and self._select is not None:
            self._close_option()
        elif tag == "textarea":
            self._textarea = None

    def _close_option(self):
        value = self._option.get("value", self._option_text.strip())
        self._select.options.append(value)
        if "selected" in self._option:
            self._select.values.append(value)
        self._option = None

    def handle_data(self, data):
        if self._option is not None:
            self._option_text += data
        elif self._textarea is not None:
            self._textarea.values[0] += data


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def pairs_to_data(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs as the test client's POST data: a list for a name sent more than once."""
    data: dict[str, list] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return {name: values if len(values) > 1 else values[0] for name, values in data.items()}


def form_errors(body: str) -> list[str]:
    """The first few error messages of a page (Django's error lists, Bootstrap's feedback and alerts)."""
    found = re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>'
        r'|class="invalid-feedback"[^>]*>(.*?)</'
        r'|class="alert[^"]*alert-danger[^"]*"[^>]*>(.*?)</div',
        body,
        re.S,
    )
    return [re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", "".join(parts))).strip()[:200] for parts in found][:6]

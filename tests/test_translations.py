"""Issue 16, part 7: every string a person reads is marked for translation, and the Dutch and French
catalogs hold every one of them, translated, and compiled as they are.

A string added without `gettext` fails the first test (tests/i18n_scan.py says where); one marked
but missing from the catalogs, or left untranslated or fuzzy there, fails the second (`make messages`
adds it; a translator fills it in); a catalog changed without `make messages` fails the third.
"""

from __future__ import annotations

import shutil
from contextlib import chdir
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.i18n_scan import findings
from tests.telephony.provisioning.conftest import service_missing

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
IGNORED = [".venv/*", "var/*", "tests/*", "benchmarks/*", "docs/*"]


def catalog(language: str, root: Path = ROOT) -> polib.POFile:
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))


def keys(po: polib.POFile) -> set[tuple[str, str, str]]:
    return {(entry.msgctxt or "", entry.msgid, entry.msgid_plural or "") for entry in po if not entry.obsolete}


def test_every_string_a_person_reads_is_marked_for_translation():
    left = findings()
    assert left == [], "not marked for translation (python -m tests.i18n_scan):\n" + "\n".join(left[:80])


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """The catalogs as `make messages` would make them from the code as it is now."""
    if not (shutil.which("xgettext") and shutil.which("msgmerge") and shutil.which("msgfmt")):
        service_missing("GNU gettext (xgettext, msgmerge, msgfmt) is missing: apt-get install -y gettext")
    root = tmp_path_factory.mktemp("catalogs")
    # makemessages writes to the `locale` folder it finds under the folder it reads: the code and the
    # catalogs are copied, so that the checkout's own catalogs are never touched (two CI runs read
    # them at once)
    for folder in ("portal", "telephony", "tenants", "templates"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copytree(ROOT / "locale", root / "locale")
    with chdir(root), override_settings(LOCALE_PATHS=[root / "locale"]):
        call_command(
            "makemessages",
            locale=LANGUAGES,
            no_obsolete=True,
            ignore_patterns=IGNORED,
            verbosity=0,
            add_location="file",
        )
    return root


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogs_hold_every_marked_string_translated(regenerated, language):
    committed, fresh = catalog(language), catalog(language, regenerated)
    missing = sorted(keys(fresh) - keys(committed))
    assert not missing, f"marked in the code, not in locale/{language} (run make messages): {missing[:20]}"
    stale = sorted(keys(committed) - keys(fresh))
    assert not stale, f"in locale/{language}, no longer in the code (run make messages): {stale[:20]}"
    untranslated = [entry.msgid for entry in committed.untranslated_entries()]
    assert not untranslated, f"untranslated in {language}: {untranslated[:20]}"
    fuzzy = [entry.msgid for entry in committed.fuzzy_entries()]
    assert not fuzzy, f"fuzzy (to be checked by a translator) in {language}: {fuzzy[:20]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogs_are_the_catalogs(language):
    po = catalog(language)
    mo = polib.mofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.mo"))
    compiled = {(e.msgctxt or "", e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in mo if e.msgid}
    written = {
        (e.msgctxt or "", e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in po.translated_entries()
    }
    assert compiled == written, f"locale/{language}: django.mo is not django.po compiled (run make messages)"

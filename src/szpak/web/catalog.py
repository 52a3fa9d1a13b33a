"""Keep the translation catalogs in step with the templates and code.

    python -m szpak.web.catalog update    extract messages; add new ones to every .po
                                          (English gets its text copied), drop unused ones
    python -m szpak.web.catalog compile   write the .mo files next to the .po files
    python -m szpak.web.catalog check     fail if a message lacks a translation or a .mo is stale

Messages come from the templates (``_``, ``gettext``, ``ngettext``, ``{% trans %}``) and
from ``N_``/``_`` in the web package's Python modules.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from szpak.web.i18n import LANGUAGES, compile_po, po_path

WEB_DIR = Path(__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "plural_samples": (1, 2)}
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}}
PLURAL_FORMS = {
    "pl": "nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "en": "nplurals=2; plural=(n != 1);",
}


def extract() -> Catalog:
    """Every message the web UI can show, with where it is used."""
    template = Catalog(project="Szpak", domain="messages")
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(WEB_DIR), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments)
    return template


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            return read_po(fh, locale=lang)
    return Catalog(locale=lang, project="Szpak", domain="messages")


def update() -> None:
    template = extract()
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog._num_plurals, catalog._plural_expr = None, None  # type: ignore[attr-defined]
        catalog.mime_headers = [(k, v) for k, v in catalog.mime_headers if k != "Plural-Forms"]
        catalog.fuzzy = False
        catalog.project, catalog.version = "Szpak", "0.1"
        catalog.last_translator = catalog.language_team = "Szpak maintainers"
        catalog.msgid_bugs_address = ""
        catalog.header_comment = f"# Szpak web UI: {lang} messages. Edit msgstr; run `python -m szpak.web.catalog compile`."
        if lang == "en":
            for msg in catalog:
                if msg.id and not _translated(msg):
                    msg.string = msg.id if isinstance(msg.id, str) else tuple(msg.id)
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, sort_output=False, include_previous=False, include_lineno=False)
        _set_plural_header(path, lang)


def _set_plural_header(path: Path, lang: str) -> None:
    """Babel writes the plural rule it knows; we want the classic gettext rule spelled out."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    out = [line for line in lines if not line.startswith('"Plural-Forms:')]
    index = next(i for i, line in enumerate(out) if line.startswith('"Content-Type:'))
    out.insert(index, f'"Plural-Forms: {PLURAL_FORMS[lang]}\\n"\n')
    path.write_text("".join(out), encoding="utf-8")


def _translated(msg: Message) -> bool:
    if isinstance(msg.string, (tuple, list)):
        return all(msg.string)
    return bool(msg.string)


def compile_all() -> None:
    for lang in LANGUAGES:
        po = po_path(lang)
        po.with_suffix(".mo").write_bytes(compile_po(po))


def problems() -> list[str]:
    """Messages without a translation in some language, and stale .mo files."""
    found: list[str] = []
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    for lang in LANGUAGES:
        catalog = load(lang)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
        for msgid in sorted(wanted):
            msg = have.get(msgid)
            if msg is None or not _translated(msg) or msg.fuzzy:
                found.append(f"{lang}: untranslated: {msgid!r}")
        mo = po_path(lang).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compile_po(po_path(lang)):
            found.append(f"{lang}: {mo.name} is missing or older than {po_path(lang).name} (run compile)")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        issues = problems()
        for line in issues:
            print(line)
        return 1 if issues else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The bot's own words in the reader's language: gettext catalogs (Babel) in briefbot/locales.

Each update, and each digest, runs in one language: `use()` sets it for the running task (a
context variable, so concurrent updates do not mix), and `_()` / `ngettext()` translate into
it. The English texts in the code are the message ids; a language without a catalog, or a
message a catalog lacks, falls back to English. Placeholders are `{name}` fields, filled by
`.format()` after translation.

    python -m briefbot.bot.i18n          # extract the messages and bring every catalog in step
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_decimal

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LOCALES_DIR = PACKAGE_DIR / "locales"
DOMAIN = "briefbot"
DEFAULT = "en"
# Languages with a complete catalog, as Babel names them; /language lists them.
LANGUAGES = ("en", "ru", "es", "pt_BR", "de", "ar")
# The message ids are found in the source by these calls; the exception classes carry a reason
# template and its values (see articles/text.py), translated where they are shown.
KEYWORDS = {
    "_": None,
    "ngettext": (1, 2),
    "N_": None,
    "fill": None,
    "ArticleRejected": None,
    "FetchError": None,
}

_current: ContextVar[str] = ContextVar("briefbot_language", default=DEFAULT)


def locale_for(code: str | None) -> str:
    """The catalog for a Telegram language_code or a /language choice: 'pt-br' and 'pt' are
    pt_BR, 'de-AT' is de; anything without a catalog is English."""
    if not code:
        return DEFAULT
    wanted = code.replace("-", "_").lower()
    by_lower = {name.lower(): name for name in LANGUAGES}
    if wanted in by_lower:
        return by_lower[wanted]
    base = wanted.split("_")[0]
    return next((name for name in LANGUAGES if name.split("_")[0] == base), DEFAULT)


def telegram_code(locale: str) -> str | None:
    """The language_code setMyCommands takes for a catalog (two letters; None for English,
    the menu shown to every other language)."""
    return None if locale == DEFAULT else locale.split("_", maxsplit=1)[0]


def use(locale: str) -> None:
    """Speak `locale` for the rest of this task (one update or one digest)."""
    _current.set(locale if locale in LANGUAGES else DEFAULT)


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Speak `locale` inside the block only (a digest for one chat, a command menu)."""
    token = _current.set(locale if locale in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def reader_language(locale: str | None = None) -> str:
    """The ISO 639-1 code of `locale` (by default the one spoken now): what summaries are
    written in for this reader where the model can ('pt' for pt_BR)."""
    return (locale or _current.get()).split("_", maxsplit=1)[0]


@cache
def _translations(locale: str) -> gettext.NullTranslations:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    return _translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translations(_current.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark for extraction only")
    return message


def number(value: int | float) -> str:
    """1234567 as '1,234,567', '1 234 567' or '1.234.567', as the language writes it."""
    return format_decimal(value, locale=_current.get())


def fill(template: str, **values: object) -> str:
    """Translate `template` and fill in its fields, numbers written the language's way."""
    shown = {
        key: number(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for key, value in values.items()
    }
    return _(template).format(**shown)


def date_time(moment: datetime, pattern: str) -> str:
    """A date or time in the language: `pattern` is a CLDR skeleton-free pattern such as
    'EEEE d MMMM' or 'HH:mm'."""
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=_current.get())


def format_date(day: date, pattern: str) -> str:
    """A date in the language, e.g. 'EEEE d MMMM': 'Monday 1 December', 'понедельник 1 декабря'."""
    return babel_format_date(day, pattern, locale=_current.get())


def language_in_text(code: str) -> str:
    """A language's name as written inside a sentence of the language spoken now: 'Spanish',
    'испанский', 'Spanisch', 'español'."""
    try:
        return Locale.parse(code).get_display_name(_current.get()) or code
    except (UnknownLocaleError, ValueError):
        return code


def language_name(locale: str) -> str:
    """A language's own name for itself: 'Deutsch', 'Русский', 'Português (Brasil)'."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


# -- keeping the catalogs in step -------------------------------------------------------------


def extract_template() -> Catalog:
    """Every message id in the package's source."""
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="briefbot", domain=DOMAIN)
    package = PACKAGE_DIR
    for filename, lineno, message, comments, context in extract_from_dir(
        package, method_map=[("**.py", "python")], keywords=KEYWORDS, strip_comment_tags=True
    ):
        template.add(
            message,
            None,
            [(f"briefbot/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def _describe(catalog: Catalog, locale: str) -> None:
    english = Locale.parse(locale).get_display_name("en")
    catalog.header_comment = (
        f"# {english} translations of Briefbot's messages.\n"
        "# Distributed under the same license as Briefbot (Apache-2.0).\n"
        "# Kept in step with the source by: python -m briefbot.bot.i18n"
    )
    catalog.project, catalog.version = "briefbot", "1"
    catalog.msgid_bugs_address = "the project's issue tracker"
    catalog.last_translator = catalog.language_team = "Briefbot contributors"
    catalog.fuzzy = False


def update_catalogs() -> list[Path]:
    """Bring every catalog in step with the source: new messages added (untranslated), those
    no longer used dropped. Returns the catalogs whose messages changed."""
    template = extract_template()
    written = []
    for locale in LANGUAGES:
        if locale == DEFAULT:
            continue
        path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, project="briefbot", domain=DOMAIN, fuzzy=False)
        before = {(m.id, m.string) for m in catalog if m.id}
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        if path.exists() and {(m.id, m.string) for m in catalog if m.id} == before:
            continue
        _describe(catalog, locale)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=99, include_lineno=False, sort_output=False)
        written.append(path)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for written_path in update_catalogs():
        logger.info("updated %s", written_path)

"""The language of an article: the one its page or feed declares, else detected from its text.

Detection is py3langid (97 languages, its model ships in the wheel, about 1.5 ms an article);
bench/sentences.py has its accuracy beside the splitters'.
"""

from __future__ import annotations

import re
import threading

from babel import Locale, UnknownLocaleError

_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
_LETTER = re.compile(r"[^\W\d_]")
_SAMPLE_CHARS = 2_000
_MIN_LETTERS = 12
_load_lock = threading.Lock()


def language_code(tag: str | None) -> str | None:
    """'pt-BR', 'en_US' or 'RU' as 'pt', 'en', 'ru'; None for what is no language tag."""
    match = _TAG.match(tag or "")
    if not match:
        return None
    code = match.group(1).lower()
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None
    return code


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The declared language when it is a valid tag, else the detected one; None when the text
    has too few letters to tell."""
    code = language_code(declared)
    if code:
        return code
    sample = text[:_SAMPLE_CHARS]
    if len(_LETTER.findall(sample)) < _MIN_LETTERS:
        return None
    with _load_lock:  # the first call loads the model; later calls only read it
        import py3langid

        detected, _score = py3langid.classify(sample)
    return language_code(str(detected))


def load_detector() -> None:
    """Load the detection model now (about a second), not in the first article's handling."""
    detect_language("The detector reads a sentence of English to load its model.")


def language_name(code: str | None, in_language: str = "en") -> str:
    """'ru' as 'Russian' (or in another language: 'русский' for in_language='ru')."""
    if not code:
        return ""
    try:
        name = Locale.parse(code).get_display_name(in_language) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]

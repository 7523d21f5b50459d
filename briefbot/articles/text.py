"""Text rules shared by every way an article enters the store."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

WORDS_PER_MINUTE = 230
# Chinese and Japanese are read by characters: 255 and 357 a minute read silently (IReST,
# Trauzettel-Klosinski et al. 2012); Han and kana are counted apart from the words around them.
CHARACTERS_PER_MINUTE = {"zh": 255, "ja": 357}
_HAN_OR_KANA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")


class Refusal(ValueError):
    """A reason to show people: an English template with {fields}, and their values. str() is
    the English text; the bot shows it translated (its catalogs take these templates from every
    `ArticleRejected(...)` and `FetchError(...)` in the source)."""

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = values
        english = {
            key: f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
            for key, value in values.items()
        }
        super().__init__(template.format(**english))

    def stored(self) -> str:
        """The reason as stored (a feed's last error), to be shown later in any language."""
        return json.dumps({"reason": self.template, "values": self.values}, ensure_ascii=False)

    @classmethod
    def from_stored(cls, stored: str) -> Refusal | str:
        """A stored reason back; one stored as plain text (before) stays text."""
        try:
            data = json.loads(stored)
            return cls(str(data["reason"]), **dict(data["values"]))
        except (ValueError, TypeError, KeyError, IndexError):
            return stored


class ArticleRejected(Refusal):
    """The text cannot be stored as an article; the message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class TextLimits:
    min_chars: int = 200
    max_chars: int = 200_000
    max_title_chars: int = 300


def clean_text(text: str) -> str:
    """Normalise Unicode (NFC: NFKC would turn Chinese full-width commas and "km²" into ASCII)
    and white space while keeping paragraph breaks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_title(title: str, limits: TextLimits) -> str:
    title = _MARKDOWN_HEADING.sub("", clean_text(title).replace("\n", " ")).strip()
    if len(title) > limits.max_title_chars:
        title = title[: limits.max_title_chars - 1].rstrip() + "…"
    return title


def content_hash(text: str) -> str:
    """Hash of the body that ignores case and spacing, so re-pasted copies match."""
    canonical = " ".join(unicodedata.normalize("NFKC", clean_text(text)).casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def reading_minutes(text: str, language: str | None = None) -> int:
    characters = len(_HAN_OR_KANA.findall(text))
    words = len(_HAN_OR_KANA.sub(" ", text).split()) if characters else len(text.split())
    per_minute = CHARACTERS_PER_MINUTE.get(language or "", CHARACTERS_PER_MINUTE["zh"])
    return max(1, round(words / WORDS_PER_MINUTE + characters / per_minute))


def minimum_chars(text: str, chars: int) -> int:
    """`chars` for most text; a third of it for Chinese or Japanese, whose characters each carry
    about as much as three letters."""
    if len(_HAN_OR_KANA.findall(text[:2_000])) * 2 > len(text[:2_000]):
        return -(-chars // 3)
    return chars


def validate_article(title: str, text: str, limits: TextLimits) -> tuple[str, str]:
    """Return the cleaned (title, text) or raise ArticleRejected."""
    if len(text) > limits.max_chars * 2:
        # Reject before normalising a huge paste: the cleaning itself would cost time.
        raise ArticleRejected(
            "the text is too long ({count} characters; the limit is {limit})",
            count=len(text),
            limit=limits.max_chars,
        )
    body = clean_text(text)
    heading = clean_title(title, limits)
    if not heading:
        raise ArticleRejected("the article has no title")
    needed = minimum_chars(body, limits.min_chars)
    if len(body) < needed:
        raise ArticleRejected(
            "the text is too short to summarize ({count} characters; at least {needed} are "
            "needed)",
            count=len(body),
            needed=needed,
        )
    if len(body) > limits.max_chars:
        raise ArticleRejected(
            "the text is too long ({count} characters; the limit is {limit})",
            count=len(body),
            limit=limits.max_chars,
        )
    return heading, body


def clean_url(url: str | None) -> str | None:
    """An http(s) URL safe to link to, or None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        return None
    return url[:2048]


_SENTENCE_END = re.compile(r"[.!?…。！？](?:\s|$)")
TITLE_WORDS = 12


def title_from_text(text: str) -> str:
    """A title for a text that came without one: its first sentence, or first words."""
    first = clean_text(text).split("\n", 1)[0]
    end = _SENTENCE_END.search(first)
    sentence = first[: end.start() + 1] if end else first
    words = sentence.split()
    if len(words) > TITLE_WORDS:
        return " ".join(words[:TITLE_WORDS]) + "…"
    return sentence


def looks_like_title(line: str) -> bool:
    """Whether a first line is a heading rather than the first sentence of the text."""
    line = line.strip().lstrip("#").strip()
    return 0 < len(line) <= 150 and not _SENTENCE_END.search(line + " ")


def title_and_body(text: str) -> tuple[str, str]:
    """Title and body of a text that came without a title: its first line when that looks
    like a heading, else a title made from its first sentence (the body is then all of it)."""
    first, rest = split_title_and_body(text)
    if rest and looks_like_title(first):
        return first, rest
    return title_from_text(text), text


def split_title_and_body(text: str) -> tuple[str, str]:
    """First non-empty line is the title, the rest is the body."""
    stripped = text.strip()
    if "\n" not in stripped:
        return stripped, ""
    first, rest = stripped.split("\n", 1)
    return first.strip(), rest.strip()

"""Sentences of news text in any script.

Paragraphs (blank lines, list items) first, then sentencex (Wikimedia's segmenter: language
rules and abbreviations for about 250 languages, falling back along language families) within
each paragraph. Thai has no sentence punctuation: a space between Thai words ends a sentence.
bench/sentences.py compares it with pysbd and the English rules Briefbot had before.
"""

from __future__ import annotations

import re

import sentencex

DEFAULT_LANGUAGE = "en"
# Part of the embedded summarizer's cache name: summaries made with other sentence rules
# (version 1: English-only regular expressions) are made again.
SPLITTER_VERSION = 2
_PARAGRAPHS = re.compile(r"\n\s*\n|\n(?=\s*[-*•]\s)")
_THAI_SPACE = re.compile(r"(?<=[\u0E00-\u0E7F])\s+(?=[\u0E00-\u0E7F])")
# Scripts written without spaces between words, and about how many characters make a word.
_UNSPACED = (
    (re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"), 1.5),  # Han, kana
    (re.compile(r"[\u0E00-\u0E7F]"), 5.0),  # Thai
)
_FULL_WIDTH_END = re.compile(r"[。！？」』）]$")


def split_paragraph(paragraph: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    if language == "th":
        return [part for part in _THAI_SPACE.split(paragraph) if part.strip()]
    return [s for s in (part.strip() for part in sentencex.segment(language, paragraph)) if s]


def word_count(sentence: str) -> int:
    """Words, with scripts that do not space them counted by their characters."""
    count = 0.0
    for script, per_word in _UNSPACED:
        found = len(script.findall(sentence))
        if found:
            count += found / per_word
            sentence = script.sub(" ", sentence)
    return round(count) + len(sentence.split())


def join_sentences(sentences: list[str]) -> str:
    """Sentences as one text: a space after each, except after full-width punctuation."""
    return "".join(
        s if i == len(sentences) - 1 or _FULL_WIDTH_END.search(s) else f"{s} "
        for i, s in enumerate(sentences)
    )


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """`language` is an ISO 639-1 code (the article's); None or an unknown one uses English rules,
    which still end sentences at the punctuation of other scripts (。！？ ۔ ؟ ।)."""
    language = (language or DEFAULT_LANGUAGE).split("-")[0].lower()
    sentences: list[str] = []
    for paragraph in _PARAGRAPHS.split(text):
        flat = " ".join(paragraph.split())
        if flat:
            sentences.extend(split_paragraph(flat, language))
    return sentences

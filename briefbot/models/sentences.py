"""A sentence splitter for news text that knows common abbreviations."""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof sr jr st mt gen gov sen rep lt col capt sgt maj cmdr adm rev hon "
        "inc ltd co corp plc llc vs etc no nos fig al approx dept est jan feb mar apr jun jul "
        "aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k u.n e.g i.e a.m p.m"
    ).split()
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_STARTS_SENTENCE = re.compile(r"[\"'“‘(\[]*[A-Z0-9À-Ý]")
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_abbreviation(before: str) -> bool:
    match = _WORD_BEFORE.search(before)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".")
    if word in _ABBREVIATIONS:
        return True
    # Single initials ("J. Smith") and dotted acronyms ("U.S.") are not sentence ends.
    return (len(word) == 1 and word.isalpha()) or bool(re.fullmatch(r"(\w\.)+\w", word))


def split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.end(2)
        rest = paragraph[match.end() :]
        if not rest or not _STARTS_SENTENCE.match(rest):
            continue
        if match.group(1) == "." and _is_abbreviation(paragraph[start : match.start()]):
            continue
        sentence = paragraph[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_sentences(text: str) -> list[str]:
    """Split on paragraph breaks first, then on sentence punctuation within each paragraph."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*[-*•]\s)", text):
        flat = " ".join(paragraph.split())
        if flat:
            sentences.extend(split_paragraph(flat))
    return sentences

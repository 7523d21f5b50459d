"""Sentence splitters compared on public golden sets, per language.

The golden sets are the test files of two segmenters (each biased towards its own library),
taken from their repositories:

    git clone https://github.com/wikimedia/sentencex     # tests/*.txt
    git clone https://github.com/nipunsadvilkar/pySBD    # tests/lang/test_*.py
    python bench/sentences.py --sentencex-tests sentencex/tests --pysbd-tests pySBD/tests/lang

A case counts as right when the splitter returns exactly the expected sentences (whitespace
trimmed). Compared: the regular-expression splitter of Briefbot 0.2 (English rules), sentencex
and pysbd (skipped for languages it lacks), and Briefbot's splitter as it is now. Then how
often the language detector names each text's language.
"""

from __future__ import annotations

import argparse
import ast
import logging
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from briefbot.articles.language import detect_language
from briefbot.models import sentences

log = logging.getLogger("bench.sentences")

Case = tuple[str, list[str]]
Splitter = Callable[[str, str], list[str]]

# pySBD names its files after languages; both sets use ISO 639-1 codes otherwise.
_PYSBD_FILES = {
    "amharic": "am", "arabic": "ar", "armenian": "hy", "bulgarian": "bg", "burmese": "my",
    "chinese": "zh", "danish": "da", "deutsch": "de", "dutch": "nl", "english": "en",
    "french": "fr", "greek": "el", "hindi": "hi", "italian": "it", "japanese": "ja",
    "kazakh": "kk", "marathi": "mr", "persian": "fa", "polish": "pl", "russian": "ru",
    "slovak": "sk", "spanish": "es", "urdu": "ur",
}  # fmt: skip


def sentencex_cases(folder: Path) -> dict[str, list[Case]]:
    cases: dict[str, list[Case]] = {}
    for path in sorted(folder.glob("*.txt")):
        if len(path.stem) != 2:
            continue
        for block in path.read_text(encoding="utf-8").split("\n===\n"):
            if "\n---\n" not in block:
                continue
            text, expected = block.split("\n---\n", 1)
            lines = [line.strip() for line in expected.strip("\n").split("\n") if line.strip()]
            cases.setdefault(path.stem, []).append((text.strip(), lines))
    return cases


def pysbd_cases(folder: Path) -> dict[str, list[Case]]:
    """The module-level lists of (text, [sentences]) pairs in pySBD's language tests."""
    cases: dict[str, list[Case]] = {}
    for path in sorted(folder.glob("test_*.py")):
        lang = _PYSBD_FILES.get(path.stem.removeprefix("test_"))
        if lang is None:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.Assign):
                continue
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            for item in value if isinstance(value, list) else []:
                if (
                    isinstance(item, tuple)
                    and len(item) == 2
                    and isinstance(item[0], str)
                    and isinstance(item[1], list)
                ):
                    expected = [s.strip() for s in item[1] if s.strip()]
                    cases.setdefault(lang, []).append((item[0].strip(), expected))
    return cases


# Briefbot 0.2's splitter, kept here as the baseline.
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_STARTS = re.compile(r"[\"'“‘(\[]*[A-Z0-9À-Ý]")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt gen gov sen rep lt col capt sgt maj cmdr adm rev hon inc ltd "
    "co corp plc llc vs etc no nos fig al approx dept est jan feb mar apr jun jul aug sep sept "
    "oct nov dec mon tue wed thu fri sat sun u.s u.k u.n e.g i.e a.m p.m".split()
)


def regex_splitter(text: str, lang: str) -> list[str]:
    found: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        start = 0
        for match in _BOUNDARY.finditer(flat):
            rest = flat[match.end() :]
            if not rest or not _STARTS.match(rest):
                continue
            word = re.search(r"([\w.]+)$", flat[start : match.start()])
            before = word.group(1).lower().rstrip(".") if word else ""
            if match.group(1) == "." and (
                before in _ABBREVIATIONS
                or (len(before) == 1 and before.isalpha())
                or re.fullmatch(r"(\w\.)+\w", before)
            ):
                continue
            found.append(flat[start : match.end(2)].strip())
            start = match.end()
        if flat[start:].strip():
            found.append(flat[start:].strip())
    return found


def sentencex_splitter(text: str, lang: str) -> list[str]:
    import sentencex

    return [s.strip() for s in sentencex.segment(lang, text) if s.strip()]


def pysbd_splitter(text: str, lang: str) -> list[str]:
    import pysbd

    return [s.strip() for s in pysbd.Segmenter(language=lang, clean=False).segment(text)]


def briefbot_splitter(text: str, lang: str) -> list[str]:
    return sentences.split_sentences(text, lang)


SPLITTERS: dict[str, Splitter] = {
    "regex (0.2)": regex_splitter,
    "sentencex": sentencex_splitter,
    "pysbd": pysbd_splitter,
    "Briefbot now": briefbot_splitter,
}


def score(splitter: Splitter, lang: str, cases: Iterable[Case]) -> tuple[int, int] | None:
    right = total = 0
    for text, expected in cases:
        try:
            got = [s for s in splitter(text, lang) if s]
        except (ValueError, KeyError):
            return None  # the library does not know this language
        total += 1
        # Compare without inner whitespace: golden sets differ on newlines inside sentences.
        right += [" ".join(s.split()) for s in got] == [" ".join(s.split()) for s in expected]
    return right, total


def report(name: str, cases: dict[str, list[Case]], console: Console) -> None:
    table = Table(title=f"{name}: cases split exactly as expected")
    table.add_column("language")
    table.add_column("cases", justify="right")
    for splitter_name in SPLITTERS:
        table.add_column(splitter_name, justify="right")
    totals = {splitter_name: [0, 0] for splitter_name in SPLITTERS}
    for lang, lang_cases in sorted(cases.items()):
        row = [lang, str(len(lang_cases))]
        for splitter_name, splitter in SPLITTERS.items():
            result = score(splitter, lang, lang_cases)
            if result is None:
                row.append("–")
                continue
            right, total = result
            totals[splitter_name][0] += right
            totals[splitter_name][1] += total
            row.append(f"{right}/{total}")
        table.add_row(*row)
    table.add_row(
        "all",
        str(sum(len(c) for c in cases.values())),
        *(
            f"{right}/{total} ({100 * right / max(total, 1):.0f}%)"
            for right, total in totals.values()
        ),
    )
    console.print(table)


def detection(cases: dict[str, list[Case]], console: Console) -> None:
    """How often py3langid names the language of a golden case's text (short texts: one to a
    few sentences, so harder than whole articles)."""
    right = total = 0
    wrong: dict[str, int] = {}
    for lang, lang_cases in cases.items():
        for text, _ in lang_cases:
            total += 1
            if detect_language(text) == lang:
                right += 1
            else:
                wrong[lang] = wrong.get(lang, 0) + 1
    console.print(
        f"Language detection (py3langid) on the same texts: {right}/{total} "
        f"({100 * right / max(total, 1):.1f}%); missed: {dict(sorted(wrong.items()))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentencex-tests", type=Path, help="sentencex's tests/ folder")
    parser.add_argument("--pysbd-tests", type=Path, help="pySBD's tests/lang/ folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    console = Console()
    started = time.perf_counter()
    if args.sentencex_tests:
        cases = sentencex_cases(args.sentencex_tests)
        report("sentencex's golden set", cases, console)
        detection(cases, console)
    if args.pysbd_tests:
        report("pySBD's golden set", pysbd_cases(args.pysbd_tests), console)
    log.info("%.1f s", time.perf_counter() - started)


if __name__ == "__main__":
    main()

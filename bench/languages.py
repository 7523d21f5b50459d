"""Summaries of real news in other languages: whole sentences, the right number of them.

No public test set with reference summaries in Russian, Spanish, Chinese and Arabic can be
fetched here (XL-Sum and MLSUM live on the Hugging Face hub and Google Drive), so this checks
what can be checked without references: sentence boundaries. The news documents of the
Parallel Universal Dependencies treebanks (PUD, the `n…` documents: news sentences in
professional translation, with gold sentence boundaries) are joined into texts; then

- the splitter: texts split exactly into the gold sentences, and boundary F1;
- the first-sentences baseline (Lead-k with Briefbot's splitter): the first k are gold sentences;
- the embedded summarizer at short (1) and standard (3): every sentence of the summary is a
  gold sentence of the text; and how often the standard one has three (it leaves out very
  short sentences, such as "People are dying there.", which these 3-to-5-sentence excerpts
  often hold).

    for l in Russian Spanish Chinese Arabic; do
        git clone https://github.com/UniversalDependencies/UD_$l-PUD
    done
    python bench/languages.py UD_*-PUD/*.conllu
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from briefbot.models import Document, SummaryLength
from briefbot.models.embedded import EmbeddedSummarizer
from briefbot.models.sentences import join_sentences, split_sentences

log = logging.getLogger("bench.languages")


@dataclass
class Text:
    language: str
    sentences: list[str]

    @property
    def text(self) -> str:
        return join_sentences(self.sentences)


def read_news(path: Path, minimum: int) -> list[Text]:
    """The news documents of a PUD file (ids starting with n) of at least `minimum` sentences,
    each document's sentences in their order (some files repeat the document id per sentence)."""
    language = path.name.split("_", maxsplit=1)[0]
    documents: dict[str, Text] = {}
    current = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# newdoc id"):
            current = line.split("=", 1)[1].strip()
        elif line.startswith("# text =") and current.startswith("n"):
            text = documents.setdefault(current, Text(language, []))
            text.sentences.append(line.split("=", 1)[1].strip())
    return [t for t in documents.values() if len(t.sentences) >= minimum]


def whole_sentences(summary: str, gold: list[str]) -> int | None:
    """How many gold sentences `summary` is, in order, joined as Briefbot joins them; None
    when any part of it is not a whole gold sentence."""
    rest, found = summary.strip(), 0
    for sentence in gold:
        if rest.startswith(sentence):
            rest, found = rest[len(sentence) :].lstrip(), found + 1
    return None if rest else found


def boundaries(sentences: list[str]) -> set[int]:
    ends, at = set(), 0
    for sentence in sentences[:-1]:
        at += len(re.sub(r"\s", "", sentence))
        ends.add(at)
    return ends


@dataclass
class Counts:
    texts: int = 0
    sentences: int = 0
    split_exact: int = 0
    true_ends: int = 0
    found_ends: int = 0
    right_ends: int = 0
    lead: int = 0
    short: int = 0
    standard: int = 0
    standard_count: int = 0
    seconds: list[float] = field(default_factory=list)


def measure(texts: list[Text], model: EmbeddedSummarizer) -> Counts:
    counts = Counts()
    for item in texts:
        counts.texts += 1
        counts.sentences += len(item.sentences)
        found = split_sentences(item.text, item.language)
        counts.split_exact += found == item.sentences
        gold_ends, found_ends = boundaries(item.sentences), boundaries(found)
        counts.true_ends += len(gold_ends)
        counts.found_ends += len(found_ends)
        counts.right_ends += len(gold_ends & found_ends)
        counts.lead += whole_sentences(join_sentences(found[:3]), item.sentences) == 3
        document = Document(item.text, "", item.language)
        for length in (SummaryLength.SHORT, SummaryLength.STANDARD):
            started = time.perf_counter()
            [summary] = model.summarize_many([document], length)
            counts.seconds.append(time.perf_counter() - started)
            picked = whole_sentences(summary, item.sentences)
            if length is SummaryLength.SHORT:
                counts.short += picked is not None
            else:
                counts.standard += picked is not None
                counts.standard_count += picked == min(length.sentences, len(item.sentences))
    return counts


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="PUD .conllu files")
    parser.add_argument("--min-sentences", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    model = EmbeddedSummarizer.load(threads=args.threads)
    table = Table(title="Real news in four languages (PUD news documents)")
    for column in (
        "language",
        "texts",
        "sentences",
        "split exactly",
        "boundary F1",
        "Lead-3 whole",
        "embedded short whole",
        "embedded standard whole",
        "standard: 3 sentences",
        "ms/summary",
    ):
        table.add_column(column, justify="right" if column != "language" else "left")
    for path in args.files:
        texts = read_news(path, args.min_sentences)
        counts = measure(texts, model)
        precision = counts.right_ends / counts.found_ends if counts.found_ends else 0.0
        recall = counts.right_ends / counts.true_ends if counts.true_ends else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        median = sorted(counts.seconds)[len(counts.seconds) // 2] * 1000 if counts.seconds else 0
        table.add_row(
            texts[0].language if texts else path.name,
            str(counts.texts),
            str(counts.sentences),
            percent(counts.split_exact, counts.texts),
            f"{100 * f1:.1f}",
            percent(counts.lead, counts.texts),
            percent(counts.short, counts.texts),
            percent(counts.standard, counts.texts),
            percent(counts.standard_count, counts.texts),
            f"{median:.0f}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()

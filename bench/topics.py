"""Tune TOPIC_THRESHOLD: how well a topic's words and meaning pick the articles about it.

    python bench/topics.py [--data ../shared/data/news-dev.jsonl]

The dev articles go into a real SQLite library; each gets its vector through `Meanings.fill`
(the bot's encoder and passage). bench/topics_labels.json names, for 15 topics ("football",
"crime", "climate change", ...), the dev articles about them (labelled by hand from titles and
reference summaries). For each threshold, a topic matches an article as the bot decides it
(`Meanings.matching`): it holds every word of the topic, or their similarity is at least the
threshold. The table gives macro precision, recall and F1 over the topics; the baseline is the
words alone (no meaning), in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from briefbot.articles import Library
from briefbot.articles.meaning import Meanings, Topic
from briefbot.database import Database
from briefbot.models.embedded import SentenceEncoder, bundled_model_path

log = logging.getLogger("bench.topics")
LABELS = Path(__file__).with_name("topics_labels.json")
THRESHOLDS = [0.20, 0.25, 0.275, 0.30, 0.325, 0.35, 0.40, 0.45]


def _rule(threshold: float) -> str:
    return f"words or meaning ≥ {threshold:.3f}"


def scores(predicted: set[int], actual: set[int]) -> tuple[float, float, float]:
    hits = len(predicted & actual)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/news-dev.jsonl"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    records = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    labels = json.loads(LABELS.read_text())["topics"]
    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(f"sqlite:///{folder}/topics.db")
        library = Library(db)
        by_record: dict[str, int] = {}
        for record in records:
            title = record.get("title") or ""
            added = library.add(title or record["text"][:80], record["text"], origin="bench")
            by_record[record["id"]] = added.article.id
        encoder = SentenceEncoder(bundled_model_path())
        meanings = Meanings(db, library, lambda: encoder.encode)
        while meanings.fill(64):
            pass
        ids = sorted(by_record.values())
        rows: dict[str, list[tuple[float, float, float]]] = {"words only": []}
        rows |= {_rule(t): [] for t in THRESHOLDS}
        for name, wanted in labels.items():
            actual = {by_record[r] for r in wanted}
            by_words = meanings.matching([Topic(name, None)], ids)
            rows["words only"].append(scores(by_words, actual))
            similarity = meanings.similarity(meanings.encode([name])[0], ids)
            for t in THRESHOLDS:
                near = {i for i, s in zip(ids, similarity, strict=True) if s >= t}
                rows[_rule(t)].append(scores(by_words | near, actual))
        db.close()
    table = Table(title=f"Topic matching, {len(labels)} topics, {len(records)} dev articles")
    for column in ("rule", "precision", "recall", "F1"):
        table.add_column(column, justify="right" if column != "rule" else "left")
    for rule, values in rows.items():
        p, r, f = (statistics.fmean(v[k] for v in values) for k in range(3))
        table.add_row(rule, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}")
    Console().print(table)
    best = max(THRESHOLDS, key=lambda t: statistics.fmean(v[2] for v in rows[_rule(t)]))
    log.warning("best threshold by macro F1: %.3f", best)


if __name__ == "__main__":
    main()

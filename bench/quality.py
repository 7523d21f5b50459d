"""ROUGE of the embedded summarizer against Lead-3 on the shared news dev set.

    python bench/quality.py [--data ../shared/data/news-dev.jsonl] [--threads 1]

Prints ROUGE-1/2/L F1 (x100, rouge-score with stemming) per source family and the median
latency per article; Lead-3 (the first three sentences) is the baseline computed in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rouge_score import rouge_scorer

from briefbot.models import Document, SummaryLength, load_summarizer
from briefbot.models.sentences import split_sentences

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-dev.jsonl"
METRICS = ("rouge1", "rouge2", "rougeL")


def family(source: str) -> str:
    return "xsum" if source.startswith("xsum") else "cnndm"


def lead3(text: str) -> str:
    return " ".join(split_sentences(text)[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--length", default="standard", choices=[x.value for x in SummaryLength])
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    summarizer = load_summarizer("embedded", threads=args.threads)
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    scores: dict[tuple[str, str], list[dict[str, float]]] = {}
    latencies: list[float] = []
    length = SummaryLength(args.length)
    for row in rows:
        started = time.perf_counter()
        [summary] = summarizer.summarize_many([Document(row["text"], row["title"])], length)
        latencies.append((time.perf_counter() - started) * 1000)
        for system, output in (("embedded", summary), ("lead-3", lead3(row["text"]))):
            result = scorer.score(row["summary"], output)
            scores.setdefault((system, family(row["source"])), []).append(
                {m: result[m].fmeasure * 100 for m in METRICS}
            )
    print(f"{len(rows)} articles, {args.threads} thread(s), length {length.value}")
    print(f"{'system':10} {'part':6} {'R-1':>6} {'R-2':>6} {'R-L':>6}")
    for (system, part), values in sorted(scores.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        means = [statistics.fmean(v[m] for v in values) for m in METRICS]
        print(f"{system:10} {part:6} " + " ".join(f"{x:6.2f}" for x in means))
    print(f"embedded median latency: {statistics.median(latencies):.0f} ms per article")


if __name__ == "__main__":
    main()

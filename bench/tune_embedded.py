"""Grid search for the embedded summarizer's weights on the shared dev set.

    python bench/tune_embedded.py [--data ../shared/data/news-dev.jsonl]

Sentence embeddings are computed once per article; each weight setting then only re-ranks.
Prints the best settings by the mean of R-1/R-2/R-L over both parts, next to Lead-3. With 167
articles this can overfit: prefer settings that win on both parts by a margin.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from dataclasses import replace
from pathlib import Path

from rouge_score import rouge_scorer
from tqdm import tqdm

from briefbot.models.embedded import (
    ExtractiveOptions,
    SentenceEncoder,
    bundled_model_path,
    clean_sentences,
    pick_sentences,
)
from briefbot.models.sentences import split_sentences

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "news-dev.jsonl"
METRICS = ("rouge1", "rouge2", "rougeL")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    rows = [json.loads(x) for x in args.data.read_text().splitlines() if x.strip()]
    encoder = SentenceEncoder(bundled_model_path(), threads=2)
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)

    prepared = []
    for row in tqdm(rows, desc="embedding"):
        sentences = clean_sentences(split_sentences(row["text"]))
        title = row["title"].strip()
        vectors = encoder.encode([*sentences, title] if title else sentences)
        prepared.append(
            (row, sentences, vectors[: len(sentences)], vectors[-1] if title else None)
        )

    cache: dict[tuple[int, tuple[int, ...]], dict[str, float]] = {}

    def score(index: int, chosen: tuple[int, ...]) -> dict[str, float]:
        key = (index, chosen)
        if key not in cache:
            row, sentences = prepared[index][0], prepared[index][1]
            result = scorer.score(row["summary"], " ".join(sentences[i] for i in chosen))
            cache[key] = {m: result[m].fmeasure * 100 for m in METRICS}
        return cache[key]

    def evaluate(opts: ExtractiveOptions | None) -> dict[str, list[float]]:
        parts: dict[str, list[dict[str, float]]] = {"cnndm": [], "xsum": []}
        for index, (row, sentences, vectors, title_vector) in enumerate(prepared):
            part = "xsum" if row["source"].startswith("xsum") else "cnndm"
            if opts is None:
                chosen = tuple(range(min(3, len(sentences))))
            else:
                candidates = [
                    i
                    for i, s in enumerate(sentences)
                    if opts.min_words <= len(s.split()) <= opts.max_words
                ] or list(range(len(sentences)))
                picked = pick_sentences(vectors[candidates], title_vector, candidates, 3, opts)
                chosen = tuple(sorted(candidates[i] for i in picked))
            parts[part].append(score(index, chosen))
        return {
            p: [statistics.fmean(v[m] for v in values) for m in METRICS]
            for p, values in parts.items()
        }

    lead = evaluate(None)
    print("lead-3 (cleaned)", {p: [round(x, 2) for x in v] for p, v in lead.items()})
    base = ExtractiveOptions()
    grid = itertools.product(
        (0.2, 0.35, 0.5, 0.8, 1.2, 2.0),  # position_weight
        (0.1, 0.25, 0.5, 1.0),  # position_decay
        (0.0, 0.2, 0.35, 0.6),  # title_weight
        (0.3, 0.6, 0.9),  # redundancy_weight
        (5, 8),  # min_words
        (50, 70),  # max_words
    )
    results = []
    for pw, pd, tw, rw, lo, hi in tqdm(list(grid), desc="grid"):
        opts = replace(
            base,
            position_weight=pw,
            position_decay=pd,
            title_weight=tw,
            redundancy_weight=rw,
            min_words=lo,
            max_words=hi,
        )
        scores = evaluate(opts)
        results.append((opts, scores))

    def beats_lead(scores: dict[str, list[float]]) -> bool:
        return all(a >= b for a, b in zip(scores["cnndm"], lead["cnndm"], strict=True)) and all(
            a > b for a, b in zip(scores["xsum"], lead["xsum"], strict=True)
        )

    results.sort(key=lambda r: -(sum(r[1]["cnndm"]) + sum(r[1]["xsum"])))
    winners = [r for r in results if beats_lead(r[1])]
    print(f"{len(winners)} of {len(results)} settings beat Lead-3 on every metric of both parts")
    for opts, scores in (winners or results)[: args.top]:
        print(
            f"pw={opts.position_weight} pd={opts.position_decay} tw={opts.title_weight} "
            f"rw={opts.redundancy_weight} words={opts.min_words}-{opts.max_words}",
            {p: [round(x, 2) for x in v] for p, v in scores.items()},
        )


if __name__ == "__main__":
    main()

"""ROUGE evaluation of a summarizer against reference summaries (`briefbot eval`)."""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from briefbot.models.base import Document, Summarizer, SummaryLength
from briefbot.models.sentences import split_sentences

logger = logging.getLogger(__name__)

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


class EvalDataError(ValueError):
    """The evaluation file cannot be used; the message names the line."""


@dataclass(frozen=True, slots=True)
class EvalRecord:
    id: str
    title: str
    text: str
    reference: str
    source: str
    language: str | None = None


@dataclass(slots=True)
class EvalReport:
    scores: dict[str, dict[str, float]]  # source (and "overall") -> metric -> F1 x 100
    counts: dict[str, int]
    median_ms: float
    outputs: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line per article the model failed


def read_records(path: Path) -> list[EvalRecord]:
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalDataError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{path.name}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not row.get("text") or not row.get("summary"):
            raise EvalDataError(f"{path.name}:{number}: needs 'text' and 'summary'")
        records.append(
            EvalRecord(
                id=str(row.get("id", number)),
                title=str(row.get("title") or ""),
                text=str(row["text"]),
                reference=str(row["summary"]),
                source=str(row.get("source") or "all"),
                language=str(row["language"]) if row.get("language") else None,
            )
        )
    if not records:
        raise EvalDataError(f"{path} has no records")
    return records


class WordsOfAnyScript:
    """rouge-score's tokenizer keeps only a-z and 0-9; this one keeps words of every script,
    lower-cased, and each Han, kana or Thai character as a token (no stemming)."""

    def tokenize(self, text: str) -> list[str]:
        return _TOKENS.findall(text.lower())


_TOKENS = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]|[^\W_]+"
)


def _sentences_per_line(text: str, language: str | None) -> str:
    return "\n".join(split_sentences(text, language))


def evaluate(
    summarizer: Summarizer,
    records: list[EvalRecord],
    length: SummaryLength,
    *,
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
) -> EvalReport:
    from rouge_score import rouge_scorer

    english = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    any_script = rouge_scorer.RougeScorer(list(METRICS), tokenizer=WordsOfAnyScript())
    per_article_ms: list[float] = []
    failures: list[str] = []
    outputs: list[tuple[str, str]] = []
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        began = time.perf_counter()
        summaries = _summaries(summarizer, batch, length, failures)
        elapsed_ms = (time.perf_counter() - began) * 1000
        per_article_ms += [elapsed_ms / len(batch)] * len(batch)
        outputs += [(r.id, s) for r, s in zip(batch, summaries, strict=True)]
        if progress is not None:
            progress(len(batch))
    values: dict[str, list[dict[str, float]]] = {}
    for record, (_, summary) in zip(records, outputs, strict=True):
        scorer = english if record.language in (None, "en") else any_script
        result = scorer.score(
            _sentences_per_line(record.reference, record.language),
            _sentences_per_line(summary, record.language),
        )
        row = {m: result[m].fmeasure * 100 for m in METRICS}
        for key in (record.source, "overall"):
            values.setdefault(key, []).append(row)
    scores = {
        key: {m: statistics.fmean(v[m] for v in rows) for m in METRICS}
        for key, rows in values.items()
    }
    counts = {key: len(rows) for key, rows in values.items()}
    return EvalReport(scores, counts, statistics.median(per_article_ms), outputs, failures)


def _summaries(
    summarizer: Summarizer, batch: list[EvalRecord], length: SummaryLength, failures: list[str]
) -> list[str]:
    """Summaries of a batch; when the model fails on it, article by article, and an article
    it fails on scores zero (its error is kept in `failures`)."""
    documents = [Document(r.text, r.title, r.language) for r in batch]
    if len(batch) > 1:
        try:
            return summarizer.summarize_many(documents, length)
        except Exception:  # any model or server failure is a result here
            logger.info("The model failed on a batch; summarizing it article by article")
    summaries = []
    for record, document in zip(batch, documents, strict=True):
        try:
            [summary] = summarizer.summarize_many([document], length)
        except Exception as exc:  # as above
            failures.append(f"{record.id}: {type(exc).__name__}: {exc}")
            summary = ""
        summaries.append(summary)
    return summaries


def save_outputs(path: Path, outputs: Iterable[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for article_id, summary in outputs:
            handle.write(json.dumps({"id": article_id, "summary": summary}) + "\n")

"""Load articles from a JSONL file or a folder of Markdown/text files."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from briefbot.articles.library import ImportReport, Library
from briefbot.articles.text import ArticleRejected, split_title_and_body, title_and_body

logger = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).parent / "samples"
TEXT_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One article read from a source, before validation; `where` names it in reports."""

    where: str
    title: str
    text: str
    url: str | None = None


class ImportSourceError(ValueError):
    """The path cannot be imported at all (missing, wrong kind of file)."""


def read_jsonl(path: Path) -> Iterator[Candidate | tuple[str, str]]:
    """Yield candidates, or (where, error) for lines that are not usable records."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            where = f"{path.name}:{number}"
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, f"not valid JSON ({exc.msg})"
                continue
            if not isinstance(record, dict):
                yield where, "expected a JSON object"
                continue
            title, text, url = record.get("title"), record.get("text"), record.get("url")
            if not isinstance(text, str) or not text.strip():
                yield where, "missing 'text'"
                continue
            if not isinstance(title, str) or not title.strip():
                title, text = title_and_body(text)
            yield Candidate(where, title, text, url if isinstance(url, str) and url else None)


def text_document(data: bytes) -> tuple[str, str]:
    """Title (first line) and body of a text or Markdown file; raises ArticleRejected."""
    if not data.strip():
        raise ArticleRejected("the document is empty")
    if b"\x00" in data[:4096]:
        raise ArticleRejected("looks like a binary file")
    title, body = split_title_and_body(data.decode("utf-8", errors="replace"))
    if not body:
        raise ArticleRejected("it needs a title on the first line and the text below it")
    return title, body


def read_text_file(path: Path) -> Candidate | tuple[str, str]:
    try:
        title, body = text_document(path.read_bytes())
    except OSError as exc:
        return path.name, f"cannot read ({exc.strerror})"
    except ArticleRejected as exc:
        return path.name, str(exc)
    return Candidate(path.name, title, body)


def read_folder(path: Path) -> Iterator[Candidate | tuple[str, str]]:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    for file in files:
        yield read_text_file(file)


def read_source(path: Path) -> Iterator[Candidate | tuple[str, str]]:
    if not path.exists():
        raise ImportSourceError(f"{path} does not exist")
    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return read_jsonl(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        return iter([read_text_file(path)])
    raise ImportSourceError(f"{path}: expected a .jsonl file, a .md/.txt file or a folder of them")


def import_candidates(
    library: Library,
    items: Iterable[Candidate | tuple[str, str]],
    *,
    origin: str = "import",
    progress: Callable[[], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    for item in items:
        if isinstance(item, tuple):
            report.errors.append(item)
        else:
            try:
                result = library.add(item.title, item.text, url=item.url, origin=origin)
            except ArticleRejected as exc:
                report.errors.append((item.where, str(exc)))
            else:
                if result.created:
                    report.added.append(result.article)
                else:
                    report.duplicates.append((item.where, result.article.id))
        if progress is not None:
            progress()
    return report


def load_samples_if_empty(library: Library) -> ImportReport | None:
    """Give a new installation something to read; does nothing once any article exists."""
    if library.count() > 0:
        return None
    report = import_candidates(library, read_folder(SAMPLES_DIR), origin="sample")
    logger.info("Loaded %d sample articles into the empty library", len(report.added))
    return report

"""Search latency at 1k, 10k and 100k articles, on SQLite and PostgreSQL, against a LIKE scan.

    python bench/search.py [--sizes 1000 10000 100000] [--data ../shared/data/news-dev.jsonl]

The library is filled with copies of the real dev articles (each copy's title and text end
with a word of its own, so every copy is a different article), through the same index the
bot writes (`SearchIndex.put`), in bulk. Then each query runs through `Library.search` (one
transaction: the ranked page of ten, the count and the ten articles), several times; the
baseline is what a search without an index does: `title LIKE '%word%' OR text LIKE ...` for
every word, newest first, in the same run. PostgreSQL is a throwaway server started from the
Debian binaries (as the tests do), with fsync off.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import text

from briefbot.articles import Library
from briefbot.articles.search import SearchIndex, searchable
from briefbot.database import Database
from tests.harness import free_port
from tests.postgres import PostgresServer

log = logging.getLogger("bench.search")

QUERIES = {
    "common word": "police",
    "rare word": "gloucester",
    "two words": "police officers",
    "phrase": '"prime minister"',
    "one copy": "copy00042x",
    "no hit": "zebrafish quasar",
}
REPEATS = 7


def load(path: Path) -> list[tuple[str, str]]:
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        title = record.get("title") or record["text"].split(". ")[0][:120]
        articles.append((title, record["text"]))
    return articles


def fill(db: Database, base: list[tuple[str, str]], count: int) -> None:
    index = SearchIndex(db.dialect)
    with db.transaction() as session:
        existing = int(session.scalar(text("SELECT count(*) FROM articles")) or 0)
    for start in track(range(existing, count, 1000), description=f"{db.dialect} to {count:,}"):
        with db.transaction() as session:
            for n in range(start, min(count, start + 1000)):
                title, body = base[n % len(base)]
                marker = f"copy{n:05d}x"
                title, body = f"{title} {marker}", f"{body} {marker}"
                article_id = session.scalar(
                    text(
                        "INSERT INTO articles (title, text, content_hash, added_at, origin) "
                        "VALUES (:title, :body, :hash, CURRENT_TIMESTAMP, 'bench') RETURNING id"
                    ),
                    {"title": title, "body": body, "hash": f"bench{n}"},
                )
                index.put(session, int(article_id), title, body)
    if db.dialect == "postgresql":  # what autovacuum does soon after a bulk load
        with db.transaction() as session:
            session.execute(text("ANALYZE articles"))
            session.execute(text("ANALYZE article_search"))


def like_scan(db: Database, query: str) -> int:
    words = [w for w in searchable(query.replace('"', " ")).split() if w]
    clauses = " AND ".join(
        f"(lower(title) LIKE :w{i} OR lower(text) LIKE :w{i})" for i in range(len(words))
    )
    params = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    with db.transaction() as session:
        rows = session.execute(
            text(f"SELECT id FROM articles WHERE {clauses} ORDER BY id DESC LIMIT 10"),
            params,
        ).all()
    return len(rows)


def timed(call) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/news-dev.jsonl"))
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = load(args.data)

    table = Table(title="Search: median ms per query (LIKE scan in brackets), same run")
    table.add_column("database")
    table.add_column("articles", justify="right")
    for name in QUERIES:
        table.add_column(name, justify="right")
    server = PostgresServer(free_port())
    folder = Path(tempfile.mkdtemp(prefix="briefbot-search-"))
    try:
        for dialect in args.databases:
            url = f"sqlite:///{folder}/search.db"
            if dialect == "postgresql":
                url = server.create_database("bench_search") if server.start() else url
            db = Database.open(url)
            library = Library(db)
            for size in sorted(args.sizes):
                fill(db, base, size)
                row = [dialect, f"{size:,}"]
                for query in QUERIES.values():
                    found = library.search(query)
                    indexed = timed(lambda q=query, lib=library: lib.search(q))
                    scanned = timed(lambda q=query, d=db: like_scan(d, q))
                    row.append(f"{indexed:.1f} ({scanned:.0f}) [{found.total}]")
                table.add_row(*row)
            db.close()
    finally:
        server.stop()
    Console(width=200).print(table)


if __name__ == "__main__":
    main()

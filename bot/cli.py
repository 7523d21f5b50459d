"""The `briefbot` command line: run, console, import, summarize."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from briefbot.bot.config import ConfigError, Settings, load_settings

logger = logging.getLogger("briefbot")

EXIT_FAILURE = 1
EXIT_CONFIG = 2


class CliError(Exception):
    """A failure to report in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.code = code


def _version() -> str:
    try:
        return version("briefbot")
    except PackageNotFoundError:
        return "unknown"


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _services(settings: Settings):
    from briefbot.articles import StoreError
    from briefbot.bot.services import BotServices
    from briefbot.models import ModelLoadError

    try:
        return BotServices.create(settings)
    except StoreError as exc:
        raise CliError(f"BRIEFBOT_DATABASE_URL: {exc}") from None
    except ModelLoadError as exc:
        raise CliError(f"BRIEFBOT_MODEL: {exc}") from None


def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.bot.app import build_application, serve

    settings.require_token()
    services = _services(settings)
    application = build_application(services)
    logger.info("Starting long polling against %s", settings.api_url)
    serve(application)
    return 0


def cmd_console(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.bot.console import ConsoleSession

    # Log lines would interleave with the conversation; keep only warnings.
    logging.getLogger().setLevel(max(logging.getLevelName(settings.log_level), logging.WARNING))
    session = ConsoleSession(_services(settings))
    asyncio.run(session.run())
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from briefbot.articles import ArticleStore, StoreError, TextLimits
    from briefbot.articles.importer import ImportSourceError, import_candidates, read_source

    path = Path(args.path)
    try:
        items = list(read_source(path))
    except ImportSourceError as exc:
        raise CliError(str(exc)) from None
    try:
        store = ArticleStore.open(
            settings.database_url, TextLimits(max_chars=settings.max_article_chars)
        )
    except StoreError as exc:
        raise CliError(f"BRIEFBOT_DATABASE_URL: {exc}") from None
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("Importing", total=len(items))
            report = import_candidates(store, items, progress=lambda: progress.advance(task))
    finally:
        store.close()
    for where, reason in report.errors:
        print(f"skipped {where}: {reason}", file=sys.stderr)
    print(
        f"Imported {len(report.added)} new articles from {path} "
        f"({len(report.duplicates)} already stored, {len(report.errors)} skipped)."
    )
    return 0 if report.added or report.duplicates or not report.errors else EXIT_FAILURE


def cmd_summarize(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.articles.text import split_title_and_body
    from briefbot.models import ModelLoadError, SummaryLength, load_summarizer
    from briefbot.models.base import Document

    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    if not text.strip():
        raise CliError("the input is empty: give a file with the article text, or - for stdin")
    if len(text) > settings.max_article_chars:
        raise CliError(
            f"the input is too long ({len(text):,} characters; the limit is "
            f"{settings.max_article_chars:,}, see BRIEFBOT_MAX_ARTICLE_CHARS)"
        )
    title, body = split_title_and_body(text) if args.title_line else ("", text)
    try:
        summarizer = load_summarizer(settings.model, threads=settings.model_threads)
    except ModelLoadError as exc:
        raise CliError(f"BRIEFBOT_MODEL: {exc}") from None
    [summary] = summarizer.summarize_many([Document(body, title)], SummaryLength(args.length))
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefbot", description="A Telegram bot that summarizes news articles locally."
    )
    parser.add_argument("--version", action="version", version=f"briefbot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (long polling)")
    run.set_defaults(handler=cmd_run)

    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.set_defaults(handler=cmd_console)

    importer = commands.add_parser("import", help="import articles from JSONL or a folder")
    importer.add_argument("path", help="a .jsonl file (title, text, url) or a folder of .md/.txt")
    importer.set_defaults(handler=cmd_import)

    summarize = commands.add_parser("summarize", help="print the summary of a text")
    summarize.add_argument("file", help="a text file, or - to read standard input")
    summarize.add_argument("--length", choices=["short", "standard", "long"], default="standard")
    summarize.add_argument(
        "--title-line",
        action="store_true",
        help="treat the first line as the title",
    )
    summarize.set_defaults(handler=cmd_summarize)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        return args.handler(settings, args)
    except ConfigError as exc:
        print(f"briefbot: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except CliError as exc:
        print(f"briefbot: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `briefbot` command line: run, console, import, summarize."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from briefbot.bot.config import ConfigError, Settings, load_settings
from briefbot.bot.logs import configure_logging

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


def _services(settings: Settings, role: str = "bot"):
    from briefbot.articles import StoreError
    from briefbot.bot.services import BotServices
    from briefbot.models import ModelLoadError

    try:
        return BotServices.create(settings, role=role)
    except StoreError as exc:
        raise CliError(f"BRIEFBOT_DATABASE_URL: {exc}") from None
    except ModelLoadError as exc:
        raise CliError(f"BRIEFBOT_MODEL: {exc}") from None


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.bot.app import build_application, serve
    from briefbot.bot.config import parse_listen

    webhook_url = args.webhook or settings.webhook_url
    listen = args.listen or settings.webhook_listen
    try:
        parse_listen(listen)
    except ValueError as exc:
        raise CliError(f"--listen: {exc}") from None
    settings.require_token()
    services = _services(settings)
    if webhook_url:
        from briefbot.bot.webhook import run_webhook

        application = build_application(services, polling=False)
        logger.info("Starting in webhook mode for %s", webhook_url)
        asyncio.run(run_webhook(application, settings, webhook_url, listen))
        return 0
    application = build_application(services)
    logger.info("Starting long polling against %s", settings.api_url)
    serve(application)
    return 0


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.bot.worker import run_worker

    services = _services(settings, role="worker")
    asyncio.run(run_worker(services))
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
    from briefbot.models import SummaryLength
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
    summarizer = _summarizer(settings, settings.model)
    [summary] = summarizer.summarize_many([Document(body, title)], SummaryLength(args.length))
    print(summary)
    return 0


def _summarizer(settings: Settings, spec: str, setting: str = "BRIEFBOT_MODEL"):
    from briefbot.models import ModelLoadError

    try:
        return settings.load_summarizer(spec)
    except ModelLoadError as exc:
        raise CliError(f"{setting}: {exc}") from None


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from briefbot.models import SummaryLength
    from briefbot.models.evaluation import (
        METRICS,
        EvalDataError,
        evaluate,
        read_records,
        save_outputs,
    )

    try:
        records = read_records(Path(args.file))
    except EvalDataError as exc:
        raise CliError(str(exc)) from None
    if args.limit:
        records = records[: args.limit]
    spec = args.model or settings.model
    summarizer = _summarizer(settings, spec, "--model" if args.model else "BRIEFBOT_MODEL")
    with Progress(transient=True) as progress:
        task = progress.add_task(f"Summarizing with {spec}", total=len(records))
        report = evaluate(
            summarizer,
            records,
            SummaryLength(args.length),
            batch_size=settings.batch_size,
            progress=lambda n: progress.advance(task, n),
        )
    table = Table(title=f"{summarizer.name}, length {args.length} (ROUGE F1 x100, stemmed)")
    table.add_column("source")
    table.add_column("articles", justify="right")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for source in sorted(report.scores, key=lambda s: (s == "overall", s)):
        row = report.scores[source]
        table.add_row(source, str(report.counts[source]), *(f"{row[m]:.2f}" for m in METRICS))
    console = Console()
    console.print(table)
    console.print(f"median {report.median_ms:.0f} ms per article")
    if args.save:
        save_outputs(Path(args.save), report.outputs)
        console.print(f"summaries written to {args.save}")
    return 0


def cmd_models(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.models import ModelLoadError
    from briefbot.models.registry import EMBEDDED_MODEL, local_models, pull_model

    if args.action == "pull":
        if not args.name:
            raise CliError("usage: briefbot models pull NAME (a Hugging Face model name)")
        try:
            target = pull_model(args.name, settings.models_dir)
        except ModelLoadError as exc:
            raise CliError(str(exc), EXIT_FAILURE) from None
        _summarizer(settings, str(target), "models pull")  # proves it loads
        print(f"{args.name} is in {target}; use it with BRIEFBOT_MODEL={args.name}")
        return 0
    active = settings.model
    print(f"{'*' if active == EMBEDDED_MODEL else ' '} {EMBEDDED_MODEL:40} bundled extractive")
    for model in local_models(settings.models_dir):
        mark = "*" if active in (model.name, str(model.path)) else " "
        print(f"{mark} {model.name:40} {model.architecture} ({model.path})")
    if active != EMBEDDED_MODEL and not any(
        active in (m.name, str(m.path)) for m in local_models(settings.models_dir)
    ):
        print(f"* {active:40} (configured; a folder or the Hugging Face cache)")
    return 0


def cmd_doctor(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.bot.doctor import run_checks

    checks = run_checks(settings)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name:14} {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    print("All checks passed." if not failed else f"{len(failed)} check(s) failed.")
    return EXIT_FAILURE if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefbot", description="A Telegram bot that summarizes news articles locally."
    )
    parser.add_argument("--version", action="version", version=f"briefbot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (long polling, or a webhook server)")
    run.add_argument(
        "--webhook", metavar="URL", help="public HTTPS URL for Telegram to post updates to"
    )
    run.add_argument(
        "--listen", metavar="HOST:PORT", help="where the webhook server listens (0.0.0.0:8443)"
    )
    run.set_defaults(handler=cmd_run)

    worker = commands.add_parser(
        "worker", help="run only the summarization queue (the model), sharing the database"
    )
    worker.set_defaults(handler=cmd_worker)

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

    evaluation = commands.add_parser("eval", help="ROUGE of the summarizer on a JSONL file")
    evaluation.add_argument("file", help="JSONL with text, summary and optional id, title, source")
    evaluation.add_argument("--model", help="a model other than BRIEFBOT_MODEL")
    evaluation.add_argument("--length", choices=["short", "standard", "long"], default="standard")
    evaluation.add_argument("--save", help="write one JSON line per article: id, summary")
    evaluation.add_argument("--limit", type=int, help="only the first N articles")
    evaluation.set_defaults(handler=cmd_eval)

    doctor = commands.add_parser("doctor", help="check configuration, database, model, Bot API")
    doctor.set_defaults(handler=cmd_doctor)

    models = commands.add_parser("models", help="list local models or pull one")
    models.add_argument("action", choices=["list", "pull"])
    models.add_argument("name", nargs="?", help="Hugging Face model name, for pull")
    models.set_defaults(handler=cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
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

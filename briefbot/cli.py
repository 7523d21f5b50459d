"""The `briefbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from briefbot.config import ConfigError, Settings, load_settings, parse_listen, parse_user_ids
from briefbot.logs import configure_logging

if TYPE_CHECKING:
    from briefbot.database import Database
    from briefbot.models import Summarizer
    from briefbot.services import Services

logger = logging.getLogger("briefbot")

EXIT_FAILURE, EXIT_CONFIG = 1, 2
# Serving commands log at the configured level; the others print their answer and log only
# warnings, unless BRIEFBOT_LOG_LEVEL asks for more.
SERVING = {"run", "worker"}


class CliError(Exception):
    """A failure to report in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.code = code


def _services(settings: Settings, role: str) -> Services:
    from briefbot.database import StoreError
    from briefbot.models import ModelLoadError
    from briefbot.services import Services

    try:
        return Services.open(settings, role=role)
    except StoreError as exc:
        raise CliError(f"BRIEFBOT_DATABASE_URL: {exc}") from None
    except ModelLoadError as exc:
        raise CliError(f"BRIEFBOT_MODEL: {exc}") from None


def _database(settings: Settings) -> Database:
    from briefbot.database import Database, StoreError

    try:
        return Database.open(settings.database_url)
    except StoreError as exc:
        raise CliError(f"BRIEFBOT_DATABASE_URL: {exc}") from None


def _model(settings: Settings, spec: str, setting: str = "BRIEFBOT_MODEL") -> Summarizer:
    from briefbot.models import ModelLoadError
    from briefbot.services import load_model

    try:
        return load_model(settings, spec)
    except ModelLoadError as exc:
        raise CliError(f"{setting}: {exc}") from None


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.bot.app import StartError, build_application
    from briefbot.bot.runner import Runner
    from briefbot.bot.webhook import WebhookServer

    url, listen = args.webhook or settings.webhook_url, args.listen or settings.webhook_listen
    try:
        parse_listen(listen)
    except ValueError as exc:
        raise CliError(f"--listen: {exc}") from None
    settings.require_token()
    services = _services(settings, "webhook" if url else "polling")
    try:
        application = build_application(services, polling=url is None)
        webhook = WebhookServer(application, url, listen) if url else None
        logger.info("Starting %s", f"in webhook mode for {url}" if url else "long polling")
        return asyncio.run(Runner(application, webhook=webhook).run())
    except StartError as exc:
        raise CliError(str(exc)) from None
    finally:
        services.close()


def cmd_worker(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.worker import run_worker

    services = _services(settings, "worker")
    try:
        asyncio.run(run_worker(services))
    finally:
        services.close()
    return 0


def cmd_console(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.bot.console import ConsoleSession

    services = _services(settings, "console")
    try:
        asyncio.run(ConsoleSession(services).run())
    finally:
        services.close()
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from briefbot.articles import Library, TextLimits
    from briefbot.articles.importer import ImportSourceError, import_candidates, read_source
    from briefbot.bot.views import plural

    path = Path(args.path)
    try:
        items = list(read_source(path))
    except ImportSourceError as exc:
        raise CliError(str(exc)) from None
    db = _database(settings)
    try:
        library = Library(db, TextLimits(max_chars=settings.max_article_chars))
        with Progress(transient=True) as progress:
            task = progress.add_task("Importing", total=len(items))
            report = import_candidates(library, items, progress=lambda: progress.advance(task))
    finally:
        db.close()
    for where, reason in report.errors:
        print(f"skipped {where}: {reason}", file=sys.stderr)
    print(
        f"Imported {plural(len(report.added), 'new article')} from {path} "
        f"({len(report.duplicates):,} already stored, {len(report.errors):,} skipped)."
    )
    return 0 if report.added or report.duplicates or not report.errors else EXIT_FAILURE


def cmd_summarize(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.articles.text import looks_like_title, split_title_and_body
    from briefbot.models import Document, SummaryLength

    try:
        text = (
            sys.stdin.read() if args.file == "-" else Path(args.file).read_text(errors="replace")
        )
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    if not text.strip():
        raise CliError("the input is empty: give a file with the article text, or - for stdin")
    if len(text) > settings.max_article_chars:
        raise CliError(
            f"the input is too long ({len(text):,} characters; the limit is "
            f"{settings.max_article_chars:,}, see BRIEFBOT_MAX_ARTICLE_CHARS)"
        )
    title, body = split_title_and_body(text)
    if args.title_line is False or (args.title_line is None and not looks_like_title(title)):
        title, body = "", text
    model = _model(settings, settings.model)
    [summary] = model.summarize_many([Document(body or title, title)], SummaryLength(args.length))
    print(summary)
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from briefbot.models import SummaryLength, evaluation

    try:
        records = evaluation.read_records(Path(args.file))[: args.limit or None]
    except evaluation.EvalDataError as exc:
        raise CliError(str(exc)) from None
    spec = args.model or settings.model
    model = _model(settings, spec, "--model" if args.model else "BRIEFBOT_MODEL")
    with Progress(transient=True) as progress:
        task = progress.add_task(f"Summarizing with {spec}", total=len(records))
        report = evaluation.evaluate(
            model,
            records,
            SummaryLength(args.length),
            batch_size=settings.batch_size,
            progress=lambda n: progress.advance(task, n),
        )
    table = Table(title=f"{model.label}, length {args.length} (ROUGE F1 x100, stemmed)")
    for column in ("source", "articles", *evaluation.METRICS):
        table.add_column(column, justify="left" if column == "source" else "right")
    for source in sorted(report.scores, key=lambda s: (s == "overall", s)):
        row = report.scores[source]
        table.add_row(
            source, str(report.counts[source]), *(f"{row[m]:.2f}" for m in evaluation.METRICS)
        )
    console = Console()
    if len(report.failures) == len(records):
        raise CliError(
            f"the model failed on every article; first: {report.failures[0]}", EXIT_FAILURE
        )
    console.print(table)
    console.print(f"median {report.median_ms:.0f} ms per article")
    if report.failures:
        console.print(
            f"{len(report.failures)} of {len(records)} articles got no summary (scored as "
            f"zero); first: {report.failures[0]}",
            markup=False,
        )
    if args.save:
        evaluation.save_outputs(Path(args.save), report.outputs)
        console.print(f"summaries written to {args.save}")
    return 0


def cmd_models(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.models import ModelLoadError
    from briefbot.models.registry import EMBEDDED_MODEL, GGUF_SUFFIX, local_models, pull_model

    if args.action == "pull":
        name, file = args.name, args.file
        if name and file is None and name.lower().endswith(GGUF_SUFFIX) and name.count("/") == 2:
            name, _, file = name.rpartition("/")
        if not name or (file is not None and not file.lower().endswith(GGUF_SUFFIX)):
            raise CliError(
                "usage: briefbot models pull OWNER/NAME (a Hugging Face model), or "
                "briefbot models pull OWNER/REPO FILE.gguf (one GGUF file of a repository)"
            )
        try:
            target = pull_model(name, settings.models_dir, file)
        except ModelLoadError as exc:
            raise CliError(str(exc), EXIT_FAILURE) from None
        _model(settings, str(target), "models pull")  # proves it loads
        spec = f"{name}/{file}" if file else name
        print(f"{spec} is in {target}; use it with BRIEFBOT_MODEL={spec}")
        return 0
    active = settings.model
    print(f"{'*' if active == EMBEDDED_MODEL else ' '} {EMBEDDED_MODEL:40} bundled extractive")
    found = local_models(settings.models_dir)
    for model in found:
        mark = "*" if active in (model.name, str(model.path)) else " "
        print(f"{mark} {model.name:40} {model.describe()} ({model.path})")
    if active != EMBEDDED_MODEL and not any(active in (m.name, str(m.path)) for m in found):
        print(f"* {active:40} (configured; a path or the Hugging Face cache)")
    return 0


def cmd_admins(settings: Settings, args: argparse.Namespace) -> int:
    from briefbot.chats import Admins

    db = _database(settings)
    try:
        admins = Admins(db)
        if args.action == "list":
            added = admins.all()
            if not settings.admins and not added:
                print("No admins yet. A private /start to the bot tells you your user id; then")
                print("run: briefbot admins add YOUR_USER_ID")
            for user_id in sorted(settings.admins | added):
                print(
                    f"{user_id} ({'BRIEFBOT_ADMINS' if user_id in settings.admins else 'added'})"
                )
            return 0
        try:
            [user_id] = parse_user_ids(args.user_id or "")
        except ValueError:
            raise CliError(f"usage: briefbot admins {args.action} USER_ID (a number)") from None
        if args.action == "add":
            state = "now" if admins.add(user_id) else "already"
            seconds = settings.instance_lease_seconds / 3
            print(f"{user_id} is {state} a bot admin; a running bot knows within {seconds:.0f} s.")
            return 0
        if user_id in settings.admins:
            raise CliError(f"{user_id} is in BRIEFBOT_ADMINS: remove it there", EXIT_FAILURE)
        state = "is no longer" if admins.remove(user_id) else "was not"
        print(f"{user_id} {state} a bot admin.")
        return 0
    finally:
        db.close()


def cmd_health(settings: Settings, _args: argparse.Namespace) -> int:
    """Exit 0 when a Briefbot process on this host beats its heartbeat (Docker's check)."""
    from briefbot.coordination import Instances
    from briefbot.database import StoreError

    db = _database(settings)
    try:
        probe = Instances(db, role="health", lease_seconds=settings.instance_lease_seconds)
        here = [i for i in probe.live() if i.host == probe.host]
    except StoreError as exc:
        raise CliError(f"unhealthy: {exc}", EXIT_FAILURE) from None
    finally:
        db.close()
    if not here:
        print(f"unhealthy: no Briefbot instance on {probe.host} has beaten its heartbeat lately")
        return EXIT_FAILURE
    print(f"healthy: {', '.join(f'{i.role} {i.id}' for i in here)}")
    return 0


def cmd_doctor(settings: Settings, _args: argparse.Namespace) -> int:
    from briefbot.bot.views import plural
    from briefbot.doctor import run_checks

    checks = run_checks(settings)
    for check in checks:
        print(f"{check.status:5} {check.name:14} {check.detail}")
    failed = sum(c.status == "FAIL" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        print(f"{plural(failed, 'check')} failed.")
    else:
        print("All checks passed" + (f", with {plural(warned, 'warning')}." if warned else "."))
    return EXIT_FAILURE if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="briefbot", description="A Telegram bot that summarizes news articles locally."
    )
    with contextlib.suppress(PackageNotFoundError):  # running from a source tree
        parser.add_argument("--version", action="version", version=version("briefbot"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(handler=handler)
        return sub

    run = command("run", cmd_run, "run the bot (long polling, or a webhook server)")
    run.add_argument("--webhook", metavar="URL", help="public HTTPS URL Telegram posts to")
    run.add_argument("--listen", metavar="HOST:PORT", help="webhook server address (0.0.0.0:8443)")
    command("worker", cmd_worker, "run only the summarization queue (the model)")
    command("console", cmd_console, "chat with the bot in this terminal")
    importer = command("import", cmd_import, "import articles from JSONL or a folder")
    importer.add_argument("path", help="a .jsonl file (title, text, url) or a folder of .md/.txt")
    summarize = command("summarize", cmd_summarize, "print the summary of a text")
    summarize.add_argument("file", help="a text file, or - to read standard input")
    summarize.add_argument("--length", choices=["short", "standard", "long"], default="standard")
    title = summarize.add_mutually_exclusive_group()
    title.add_argument(
        "--title-line",
        action="store_true",
        default=None,
        help="the first line is the title (by default: when it looks like one)",
    )
    title.add_argument("--no-title", dest="title_line", action="store_false")
    evaluation = command("eval", cmd_eval, "ROUGE of the summarizer on a JSONL file")
    evaluation.add_argument("file", help="JSONL with text, summary and optional id, title, source")
    evaluation.add_argument("--model", help="a model other than BRIEFBOT_MODEL")
    evaluation.add_argument("--length", choices=["short", "standard", "long"], default="standard")
    evaluation.add_argument("--save", help="write one JSON line per article: id, summary")
    evaluation.add_argument("--limit", type=int, help="only the first N articles")
    command("doctor", cmd_doctor, "check the configuration and every part")
    command("health", cmd_health, "exit 0 if a bot on this host is running")
    models = command("models", cmd_models, "list local models or pull one")
    models.add_argument("action", choices=["list", "pull"])
    models.add_argument("name", nargs="?", help="Hugging Face model name, for pull")
    models.add_argument("file", nargs="?", help="a .gguf file of that repository, for pull")
    admins = command("admins", cmd_admins, "list, add or remove the bot's admins")
    admins.add_argument("action", choices=["list", "add", "remove"])
    admins.add_argument("user_id", nargs="?", help="a Telegram user id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        level = settings.log_level
        if args.command not in SERVING and "BRIEFBOT_LOG_LEVEL" not in os.environ:
            level = "WARNING"
        token = settings.token.get_secret_value() if settings.token else ""
        configure_logging(level, settings.log_format, secrets=[token])
        code: int = args.handler(settings, args)
        return code
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

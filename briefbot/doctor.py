"""`briefbot doctor`: every part Briefbot needs, checked and reported one line each."""

from __future__ import annotations

import importlib
import multiprocessing
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Literal

import httpx
from sqlalchemy.engine import make_url

from briefbot.config import ConfigError, Settings

SAMPLE = (
    "The town council approved a new footbridge on Tuesday. The bridge will link the market "
    "square with the station. Work starts in spring and should take a year."
)
SAMPLE_PAGE = (
    "<html><head><title>Footbridge approved</title></head><body><article><h1>Footbridge "
    f"approved</h1><p>{SAMPLE}</p><p>Engineers said the steel deck would be lifted into place "
    "in a single night, and that the old stone piers of the ferry landing could be reused, "
    "which keeps the cost below the first estimate.</p><p>Shop owners on the market square "
    "hope the crossing will bring more visitors from the station, while residents asked for "
    "lighting and a ramp for bicycles on the northern side.</p></article></body></html>"
)

Status = Literal["ok", "warn", "FAIL"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str


def check_configuration(settings: Settings) -> list[Check]:
    summary = (
        f"model {settings.model}, time zone {settings.timezone}, "
        f"digest at {settings.digest_time:%H:%M}"
    )
    return [Check("configuration", "ok", summary)]


def check_database(settings: Settings) -> list[Check]:
    from briefbot.chats import Admins
    from briefbot.database import Database, StoreError

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        db = Database.open(settings.database_url)
    except StoreError as exc:
        return [Check("database", "FAIL", f"{shown}: {exc}")]
    try:
        from briefbot.articles import Library

        library = Library(db)
        articles, summaries = library.count(), library.summary_count()
        admins = len(settings.admins | Admins(db).all())
    except StoreError as exc:
        return [Check("database", "FAIL", f"{shown}: {exc}")]
    finally:
        db.close()
    checks = [Check("database", "ok", f"{shown}: {articles:,} articles, {summaries:,} summaries")]
    if admins:
        checks.append(Check("admins", "ok", f"{admins} {'admin' if admins == 1 else 'admins'}"))
    else:
        checks.append(
            Check(
                "admins",
                "warn",
                "no bot admins, so nobody can add articles: send the bot /start in a private "
                "chat to learn your user id, then run: briefbot admins add ID",
            )
        )
    return checks


def check_extraction() -> list[Check]:
    """Links and web documents need trafilatura (and lxml's HTML cleaner) to import."""
    try:
        from briefbot.articles.extract import extract_article

        article = extract_article(SAMPLE_PAGE, "https://example.org/footbridge")
    except ImportError as exc:
        return [Check("extraction", "FAIL", f"page extraction cannot load: {exc}")]
    except Exception as exc:
        return [
            Check("extraction", "FAIL", f"page extraction failed: {type(exc).__name__}: {exc}")
        ]
    return [Check("extraction", "ok", f"links and documents work (read {article.title!r})")]


def check_postgres_driver(settings: Settings) -> list[Check]:
    wanted = make_url(settings.database_url).get_backend_name() == "postgresql"
    try:
        module = importlib.import_module("psycopg")
    except ImportError:
        if wanted:
            return [
                Check("postgres", "FAIL", "psycopg is missing: pip install 'briefbot[postgres]'")
            ]
        return []
    return [Check("postgres", "ok", f"driver psycopg {module.__version__}")]


def check_model(settings: Settings) -> list[Check]:
    if settings.summarizer == "worker":
        return [Check("model", "ok", "runs in `briefbot worker` (BRIEFBOT_SUMMARIZER=worker)")]
    return in_own_process(try_model, settings, "model", settings.model)


def in_own_process(
    check: Callable[[Settings], list[Check]], settings: Settings, name: str, subject: str
) -> list[Check]:
    """Run `check` in a process of its own, so that a crash in native code (a model runtime's
    segmentation fault) is reported as a failed check instead of ending the doctor."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_send_checks, args=(check, settings, sender), daemon=True)
    process.start()
    sender.close()
    try:
        checks: list[Check] | None = receiver.recv()
    except EOFError:
        checks = None
    process.join()
    if checks is not None:
        return checks
    code = process.exitcode or 0
    how = f"exit status {code}"
    if code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"signal {-code}"
    return [Check(name, "FAIL", f"{subject}: it crashed its process ({how})")]


def _send_checks(
    check: Callable[[Settings], list[Check]], settings: Settings, sender: Connection
) -> None:
    sender.send(check(settings))
    sender.close()


def try_model(settings: Settings) -> list[Check]:
    """Load the model and make one summary."""
    from briefbot.models import Document, ModelLoadError, SummaryLength
    from briefbot.services import load_model

    started = time.perf_counter()
    try:
        model = load_model(settings)
        loaded = time.perf_counter()
        [summary] = model.summarize_many([Document(SAMPLE)], SummaryLength.SHORT)
    except ModelLoadError as exc:
        return [Check("model", "FAIL", str(exc))]
    except Exception as exc:  # the model loaded but cannot run: say so, do not crash
        return [Check("model", "FAIL", f"{settings.model}: {type(exc).__name__}: {exc}")]
    took = (time.perf_counter() - loaded) * 1000
    if not summary:
        return [Check("model", "FAIL", f"{model.label} returned an empty summary")]
    detail = f"{model.label}, loaded in {loaded - started:.1f} s, one summary in {took:.0f} ms"
    return [Check("model", "ok", detail)]


def check_bot_api(settings: Settings) -> list[Check]:
    try:
        token = settings.require_token()
    except ConfigError as exc:
        return [Check("Bot API", "FAIL", str(exc))]
    base = settings.api_url
    url = base.format(token=token) if "{token}" in base else f"{base}{token}"
    try:
        response = httpx.get(f"{url}/getMe", timeout=settings.request_timeout)
    except httpx.HTTPError as exc:
        return [Check("Bot API", "FAIL", f"cannot reach {base} ({type(exc).__name__})")]
    if response.status_code in (401, 404):
        return [Check("Bot API", "FAIL", f"{base} rejected the token ({response.status_code})")]
    try:
        payload = response.json()
        username = payload["result"]["username"] if payload.get("ok") else None
    except (ValueError, KeyError, TypeError):
        return [Check("Bot API", "FAIL", f"{base} did not answer like a Bot API server")]
    if username is None:
        return [Check("Bot API", "FAIL", f"{base}: {payload.get('description', 'error')}")]
    return [Check("Bot API", "ok", f"{base}: the token belongs to @{username}")]


def run_checks(settings: Settings) -> list[Check]:
    return [
        *check_configuration(settings),
        *check_database(settings),
        *check_extraction(),
        *check_postgres_driver(settings),
        *check_model(settings),
        *check_bot_api(settings),
    ]

"""`briefbot doctor`: configuration, database, model and Bot API, checked and reported."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import make_url

from briefbot.bot.config import ConfigError, Settings

SAMPLE = (
    "The town council approved a new footbridge on Tuesday. The bridge will link the market "
    "square with the station. Work starts in spring and should take a year."
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database(settings: Settings) -> Check:
    from briefbot.articles import ArticleStore, StoreError

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        store = ArticleStore.open(settings.database_url)
    except StoreError as exc:
        return Check("database", False, f"{shown}: {exc}")
    try:
        stats = store.stats()
    finally:
        store.close()
    return Check(
        "database",
        True,
        f"{shown}: {stats.articles} articles, {stats.chats} chats, {stats.summaries} summaries",
    )


def check_model(settings: Settings) -> Check:
    from briefbot.models import Document, ModelLoadError, SummaryLength

    started = time.perf_counter()
    try:
        model = settings.load_summarizer()
        loaded = time.perf_counter()
        [summary] = model.summarize_many([Document(SAMPLE)], SummaryLength.SHORT)
    except ModelLoadError as exc:
        return Check("model", False, str(exc))
    except Exception as exc:  # the model loaded but cannot run: say so, do not crash
        return Check("model", False, f"{settings.model}: {type(exc).__name__}: {exc}")
    took = (time.perf_counter() - loaded) * 1000
    if not summary:
        return Check("model", False, f"{model.name} returned an empty summary")
    return Check(
        "model",
        True,
        f"{model.name}, loaded in {loaded - started:.1f} s, one summary in {took:.0f} ms",
    )


def check_bot_api(settings: Settings) -> Check:
    try:
        token = settings.require_token()
    except ConfigError as exc:
        return Check("Bot API", False, str(exc))
    base = settings.api_url
    url = base.format(token=token) if "{token}" in base else f"{base}{token}"
    try:
        response = httpx.get(f"{url}/getMe", timeout=settings.request_timeout)
    except httpx.HTTPError as exc:
        return Check("Bot API", False, f"cannot reach {base} ({type(exc).__name__})")
    if response.status_code == 401:
        return Check("Bot API", False, f"{base} rejected the token (401 Unauthorized)")
    try:
        payload = response.json()
    except ValueError:
        return Check("Bot API", False, f"{base} did not answer like a Bot API server")
    if not payload.get("ok"):
        return Check("Bot API", False, f"{base}: {payload.get('description', 'error')}")
    username = payload["result"].get("username", "?")
    return Check("Bot API", True, f"{base}: the token belongs to @{username}")


def run_checks(settings: Settings) -> list[Check]:
    summary = (
        f"model {settings.model}, time zone {settings.timezone}, "
        f"{len(settings.admins)} admins, digest at {settings.digest_time:%H:%M}"
    )
    return [
        Check("configuration", True, summary),
        check_database(settings),
        check_model(settings),
        check_bot_api(settings),
    ]

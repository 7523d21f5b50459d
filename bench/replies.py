"""What an update costs: Briefbot's cached /summary against the floor, a minimal bot.

    python bench/replies.py [--requests 300] [--concurrency 8] [--database sqlite|postgresql]
    python bench/replies.py --steps [--rounds 2]    (where the time goes: bench/stepped_bot.py)

Both bots run as processes of their own against the same Bot API stand-in (real HTTP on
127.0.0.1, in this process). The floor is a python-telegram-bot Application that answers
/summary with a constant, nothing else. Briefbot is `briefbot run`, answering a cached /summary
(the chat, the article and its summary read in one transaction, the chat's place and the
update's done mark written in another, both off the event loop; the update stored first).
Latency is from the update being handed to getUpdates to the stand-in receiving sendMessage.
Each request comes from a chat of its own, so Telegram's per-chat pacing never binds, and the
overall send rate is set above the request rate.

Then a flood: one chat sends 300 messages at once while other chats ask for a cached summary;
their latency, the flooder's replies and the button presses answered late are counted.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.botapi import FakeBotApi
from tests.conftest import ARTICLE_TEXT, Store

MINIMAL_BOT = """
import sys
from telegram.ext import Application, CommandHandler

async def summary(update, context):
    await context.bot.send_message(update.effective_chat.id, "A constant summary.")

builder = Application.builder().token(sys.argv[1]).base_url(sys.argv[2])
app = builder.concurrent_updates(True).build()
app.add_handler(CommandHandler("summary", summary))
app.run_polling(poll_interval=0, timeout=10)
"""


def start(command: list[str], env: dict[str, str], api: FakeBotApi, log: Path, ready: str):
    mark = api.mark()
    with log.open("ab") as stream:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stream)
    api.wait_for(mark, ready, timeout=180)
    return process


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """The CPU time the process has used (user and system, all its threads)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    """Wait until the bot is idle (under 5% of a core for half a second): a bot that just
    started may still be loading its sentence encoder and making the article's vector."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(process)
        time.sleep(0.5)
        if cpu_seconds(process) - before < 0.025:
            return


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def measure(api: FakeBotApi, chats: list[int], concurrency: int) -> list[float]:
    """Each worker sends /summary from its chats one after another, waiting for each reply."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(chats)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                chat_id = queue.pop()
            mark = api.mark()
            started = time.monotonic()
            api.send_text(api.chats[chat_id], chat_id, "/summary")
            [reply] = api.wait_for(mark, "sendMessage", chat_id=chat_id, timeout=60)
            with lock:
                latencies.append(reply.at - started)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def report(name: str, latencies: list[float], seconds: float, cpu: float) -> str:
    q = statistics.quantiles(latencies, n=100)
    return (
        f"{name:30} p50 {q[49] * 1000:6.1f} ms  p90 {q[89] * 1000:6.1f} ms  "
        f"p99 {q[98] * 1000:6.1f} ms  {len(latencies) / seconds:6.1f} replies/s  "
        f"bot CPU {cpu / len(latencies) * 1000:5.2f} ms/reply"
    )


def briefbot_env(api: FakeBotApi, url: str, folder: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")} | {
        "BRIEFBOT_TOKEN": api.token,
        "BRIEFBOT_API_URL": api.url,
        "BRIEFBOT_DATABASE_URL": url,
        "BRIEFBOT_LOAD_SAMPLES": "false",
        "BRIEFBOT_SEND_RATE": "2000",
        "BRIEFBOT_LOG_LEVEL": "WARNING",
        "BRIEFBOT_CONFIG": str(Path(folder) / "none.toml"),
    }


def run(
    name: str,
    command: list[str],
    ready: str,
    api: FakeBotApi,
    env: dict[str, str],
    folder: str,
    chats: list[int],
    levels: list[int],
    requests: int,
    *,
    flooded: bool = False,
) -> list[str]:
    """Start a bot, warm it up, then measure each concurrency level on fresh chats."""
    rows = []
    process = start(command, env, api, Path(folder) / f"{name.split(maxsplit=1)[0]}.log", ready)
    try:
        measure(api, chats[: requests // 10], 1)  # warm up (Briefbot: the summary is cached)
        settle(process)
        for n, concurrency in enumerate(levels):
            batch = chats[(n + 1) * requests : (n + 2) * requests]
            started, cpu = time.monotonic(), cpu_seconds(process)
            latencies = measure(api, batch, concurrency)
            label = f"{name}, {concurrency} at once"
            used = cpu_seconds(process) - cpu
            rows.append(report(label, latencies, time.monotonic() - started, used))
        if flooded:
            rows.append(flood(api))
    finally:
        stop(process)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--database", default="", help="a SQLAlchemy URL (default: SQLite)")
    parser.add_argument("--steps", action="store_true", help="the floor, then Briefbot's parts")
    parser.add_argument("--rounds", type=int, default=2, help="with --steps: runs of each step")
    args = parser.parse_args()
    api = FakeBotApi().start()
    folder = tempfile.mkdtemp()
    url = args.database or f"sqlite:///{folder}/bench.db"
    env = briefbot_env(api, url, folder)
    chats = list(range(100_000, 100_000 + args.requests * (1 + len(args.concurrency))))
    for chat_id in chats:
        api.private_chat(chat_id)
    minimal = Path(folder) / "minimal.py"
    minimal.write_text(MINIMAL_BOT)
    store = Store.open(url)
    store.add("Footbridge opens", ARTICLE_TEXT)
    store.close()
    if args.steps:
        rows = steps(api, env, folder, args.requests, args.rounds)
        api.stop()
        print(f"{args.requests} requests each, one at a time, database {url.split(':')[0]}")
        print("\n".join(rows))
        return
    common = (api, env, folder, chats, args.concurrency, args.requests)
    rows = run("minimal bot", [sys.executable, str(minimal), api.token, api.url],
               "deleteWebhook", *common)  # fmt: skip
    rows += run("briefbot cached /summary", [sys.executable, "-m", "briefbot", "run"],
                "setMyCommands", *common, flooded=True)  # fmt: skip
    api.stop()
    print(f"{args.requests} requests each, database {url.split(':')[0]}")
    print("\n".join(rows))


def steps(api: FakeBotApi, env: dict[str, str], folder: str, requests: int, rounds: int):
    """Each step of bench/stepped_bot.py, then Briefbot itself, one request at a time, on chats
    of their own (every request a first contact, as in the main bench); rounds alternate."""
    from stepped_bot import STEPS

    script = str(Path(__file__).with_name("stepped_bot.py"))
    bots = [(step, [sys.executable, script, api.token, api.url, step], "deleteWebhook")
            for step in STEPS]  # fmt: skip
    bots.append(("briefbot", [sys.executable, "-m", "briefbot", "run"], "setMyCommands"))
    rows = []
    first = 200_000
    for _ in range(rounds):
        for name, command, ready in bots:
            chats = list(range(first, first + 2 * requests))
            first += 2 * requests
            for chat_id in chats:
                api.private_chat(chat_id)
            rows += run(name, command, ready, api, env, folder, chats, [1], requests)
    return rows


def flood(api: FakeBotApi) -> str:
    """One chat sends 300 messages at once; twenty others ask for a cached summary meanwhile,
    0.1 s apart."""
    flooder = api.private_chat(7)
    mark = api.mark()
    for n in range(300):
        api.send_text(flooder, 7, "/summary" if n % 2 else f"hello {n}")
    others = [api.private_chat(uid) for uid in range(900, 920)]
    latencies = []
    for chat in others:
        started = time.monotonic()
        m = api.mark()
        api.send_text(chat, chat["id"], "/summary")
        [reply] = api.wait_for(m, "sendMessage", chat_id=chat["id"], timeout=60)
        latencies.append(reply.at - started)
        time.sleep(0.1)
    time.sleep(15)
    to_flooder = [c for c in api.calls_since(mark, "sendMessage") if c.params["chat_id"] == 7]
    return (
        f"flood of 300 from one chat: others' cached /summary max {max(latencies) * 1000:.0f} ms, "
        f"median {statistics.median(latencies) * 1000:.0f} ms; {len(to_flooder)} replies to the "
        f"flooder; failed Bot API calls {len(api.failed_calls(mark))}"
    )


if __name__ == "__main__":
    main()

"""Scale-out: one vs two `briefbot run --webhook` instances on one PostgreSQL.

    python bench/scale.py [--chats 1000] [--commands 3000] [--users 48] [--digest-chats 10000]
                          [--rate 100] [--database-url postgresql+psycopg://...]

1. /summary (cached): --chats private chats, --users concurrent simulated readers each sending
   /summary to the next chat and waiting for its answer; every update is posted over real
   HTTP to the instances' webhooks (round-robin, as a load balancer would) and answered through
   the Bot API stand-in. Latency: from posting the update to the stand-in receiving the reply.
2. Digest fan-out: --digest-chats subscribed chats due now; the instances start together and
   share the fan-out, each paced at --rate messages/s.

Without --database-url a throwaway PostgreSQL is started from the Debian package's binaries.
Every process (instances, PostgreSQL, the stand-in, the load) shares this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from briefbot.chats import ChatRef
from briefbot.models import ModelOwner, SummaryLength, load_summarizer
from briefbot.summaries import SummaryService
from tests.botapi import FakeBotApi
from tests.conftest import Store
from tests.harness import free_port
from tests.instances import instance_env, start_together
from tests.postgres import PostgresServer

ARTICLE = (
    "The harbour authority opened a new ferry line on Monday. The boats run every twenty "
    "minutes between the old town and the island. Officials expect two thousand passengers a "
    "day in summer. The line replaces a bus route that often stood in traffic."
)


def _prepare_reading(url: str, api: FakeBotApi, chats: list[int]) -> None:
    store = Store.open(url)
    store.add("Ferry line opens", ARTICLE)
    for chat_id in chats:
        api.private_chat(chat_id)
        store.chats.touch(ChatRef(chat_id, "private"))
    # Every summary cached, as the background summarizer leaves them.
    owner = ModelOwner(load_summarizer("embedded"))
    service = SummaryService(store.db, store.library, store.jobs, store.instances, owner)
    asyncio.run(service.summaries_for(store.library.latest(5), SummaryLength.STANDARD))
    owner.close()
    store.close()


def _prepare_digests(url: str, api: FakeBotApi, chats: list[int]) -> None:
    now = datetime.now(UTC)
    offset = (6 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")
    store = Store.open(url)
    since = now - timedelta(days=1)
    for chat_id in chats:
        api.private_chat(chat_id)
        store.chats.touch(ChatRef(chat_id, "private"))
        store.chats.set_schedule(chat_id, digest_time="05:00", timezone=zone, now=since)
    store.add("Ferry line opens", ARTICLE)
    store.close()


def summary_load(
    api: FakeBotApi, chats: list[int], commands: int, users: int
) -> tuple[float, list[float]]:
    """Closed loop: each user sends /summary to its next chat and waits for the answer."""
    latencies: list[float] = []
    lock = threading.Lock()
    turn = iter(range(commands))

    def user() -> None:
        while True:
            with lock:
                n = next(turn, None)
            if n is None:
                return
            chat_id = chats[n % len(chats)]
            mark = api.mark()
            sent = time.perf_counter()
            api.send_text(api.chats[chat_id], chat_id, "/summary")
            api.wait_for(mark, "sendMessage", chat_id=chat_id, timeout=60)
            with lock:
                latencies.append(time.perf_counter() - sent)

    threads = [threading.Thread(target=user) for _ in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def run(instances: int, args: argparse.Namespace, pg: PostgresServer) -> dict:
    results: dict = {"instances": instances}
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        # 1. /summary, cached
        name = f"bench_{uuid.uuid4().hex[:8]}"
        url = pg.create_database(name)
        api = FakeBotApi().start()
        chats = list(range(100_000, 100_000 + args.chats))
        _prepare_reading(url, api, chats)
        env = instance_env(api, url, cwd, send_rate=10_000) | {"BRIEFBOT_PRECOMPUTE": "false"}
        procs = start_together([f"r{i}" for i in range(instances)], env, cwd, api)
        summary_load(api, chats, min(200, args.commands), args.users)  # warm-up
        elapsed, latencies = summary_load(api, chats, args.commands, args.users)
        for proc in procs:
            proc.stop()
        api.stop()
        pg.drop_database(name)
        results |= {
            "summary_commands": len(latencies),
            "summary_per_s": round(len(latencies) / elapsed, 1),
            "summary_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
            "summary_p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        }
        if not args.digest_chats:
            return results
        # 2. digest fan-out
        name = f"bench_{uuid.uuid4().hex[:8]}"
        url = pg.create_database(name)
        api = FakeBotApi().start()
        chats = list(range(200_000, 200_000 + args.digest_chats))
        _prepare_digests(url, api, chats)
        env = instance_env(api, url, cwd, send_rate=args.rate)
        mark = api.mark()
        procs = start_together([f"d{i}" for i in range(instances)], env, cwd, api)
        deadline = time.monotonic() + 3600
        while len(api.sent_counts()) < len(chats) and time.monotonic() < deadline:
            time.sleep(0.2)
        sends = api.calls_since(mark, "sendMessage")
        first, last = sends[0].at, sends[-1].at
        time.sleep(1.0)
        counts = api.sent_counts()
        for proc in procs:
            proc.stop()
        api.stop()
        pg.drop_database(name)
        results |= {
            "digest_chats": len(chats),
            "digest_delivered": sum(1 for c in chats if counts.get(c, 0) >= 1),
            "digest_duplicates": sum(counts.get(c, 0) - 1 for c in chats if counts.get(c, 0) > 1),
            "digest_seconds": round(last - first, 1),
            "digest_per_s": round(len(chats) / (last - first), 1),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--users", type=int, default=48)
    parser.add_argument("--digest-chats", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="send rate per instance")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: throwaway)")
    args = parser.parse_args()
    pg = PostgresServer(free_port())
    if args.database_url:
        pg.url = args.database_url
    elif not pg.available:
        sys.exit("PostgreSQL is not installed: apt-get install postgresql, or --database-url")
    pg.start()
    try:
        for instances in (1, 2):
            print(json.dumps(run(instances, args, pg)), flush=True)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()

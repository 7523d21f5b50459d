"""Several `briefbot run --webhook` processes, as a deployment behind a load balancer runs them
(used by tests/test_instances.py and bench/scale.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.botapi import FakeBotApi
from tests.harness import free_port

PUBLIC_URL = "https://briefbot.example.com/tg"
SUMMARIZED = re.compile(r"Summarized (\d+) articles?")


class Instance:
    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = cwd / f"{name}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "briefbot", "run",
                    "--webhook", PUBLIC_URL, "--listen", f"127.0.0.1:{self.port}",
                ],
                env=env,
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg"

    def summarized(self) -> int:
        return sum(int(n) for n in SUMMARIZED.findall(self.log.read_text()))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=60) == 0, self.log.read_text()[-3000:]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def start_together(names: list[str], env: dict[str, str], cwd: Path, api: FakeBotApi):
    """Start the instances at once (as a deployment does) and wait until all serve."""
    mark = api.mark()
    instances = [Instance(name, env, cwd) for name in names]
    api.wait_for(mark, "setWebhook", count=len(instances), timeout=120)
    api.balance_to = [instance.url for instance in instances]
    return instances


def instance_env(api: FakeBotApi, url: str, tmp_path: Path, send_rate: int) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")} | {
        "BRIEFBOT_TOKEN": api.token,
        "BRIEFBOT_API_URL": api.url,
        "BRIEFBOT_DATABASE_URL": url,
        "BRIEFBOT_LOAD_SAMPLES": "false",
        "BRIEFBOT_SEND_RATE": str(send_rate),
        "BRIEFBOT_BATCH_SIZE": "2",
        "BRIEFBOT_MODEL_THREADS": "1",
        "BRIEFBOT_INSTANCE_LEASE_SECONDS": "5",
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
    }

"""`briefbot doctor` reports each part, never shows the token, and fails when a part does."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from briefbot.cli import main
from briefbot.config import Settings, load_settings
from briefbot.doctor import Check, in_own_process
from tests.test_cli import run_cli


def test_doctor_all_good(database_url: str, api, monkeypatch, capsys):
    monkeypatch.setenv("BRIEFBOT_TOKEN", api.token)
    monkeypatch.setenv("BRIEFBOT_API_URL", api.url)
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", database_url)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    checks = [line.split()[:2] for line in out.splitlines()[:-1]]
    assert checks == [
        ["ok", "configuration"],
        ["ok", "database"],
        ["warn", "admins"],
        ["ok", "extraction"],
        ["ok", "postgres"],
        ["ok", "model"],
        ["ok", "Bot"],
    ]
    assert "briefbot admins add ID" in out
    assert "the token belongs to @briefbot_test_bot" in out
    assert "0 articles" in out and "embedded extractive (all-MiniLM-L6-v2)" in out
    assert out.splitlines()[-1] == "All checks passed, with 1 warning."
    assert api.token not in out and api.token.split(":")[1] not in out


def test_doctor_reports_failures(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("BRIEFBOT_TOKEN", "123:secret-part")
    monkeypatch.setenv("BRIEFBOT_API_URL", "http://127.0.0.1:1/bot")
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/db")
    monkeypatch.setenv("BRIEFBOT_MODEL", str(tmp_path / "no-model"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  database" in out
    assert "pw" not in out.split("FAIL  database", 1)[1].split("\n")[0]
    assert "FAIL  model" in out and "does not exist" in out
    assert "FAIL  Bot API" in out and "cannot reach http://127.0.0.1:1/bot" in out
    assert "secret-part" not in out
    assert "3 checks failed." in out


@pytest.mark.slow
def test_doctor_sees_that_page_extraction_cannot_load(tmp_path: Path):
    # What a stock pip install once did: lxml's HTML cleaner missing, so trafilatura cannot
    # import and no link can be added. The doctor must say so.
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "lxml_html_clean.py").write_text("raise ImportError('lxml_html_clean is missing')")
    result = run_cli(
        "doctor",
        env={
            "PYTHONPATH": str(blocker),
            "BRIEFBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "FAIL  extraction     page extraction cannot load" in result.stdout


def segfault(_settings: Settings) -> list[Check]:
    ctypes.string_at(0)  # reads address 0: a segmentation fault, as in a native runtime
    return []


def test_a_model_that_crashes_its_process_is_a_failed_check(tmp_path: Path, monkeypatch):
    # llama.cpp's AMX kernels once crashed this way on the first summary; the doctor runs the
    # model check in a process of its own and reports the crash instead of dying with it.
    monkeypatch.setenv("BRIEFBOT_CONFIG", str(tmp_path / "none.toml"))
    [check] = in_own_process(segfault, load_settings(), "model", "some.gguf")
    assert check == Check("model", "FAIL", "some.gguf: it crashed its process (signal SIGSEGV)")

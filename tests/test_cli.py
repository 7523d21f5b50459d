"""The command line: bad configuration exits 2 with one line; import and summarize work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from briefbot.cli import main
from briefbot.config import ConfigError, load_settings
from tests.conftest import ARTICLE_TEXT, Store


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "briefbot", *args],
        env=base | (env or {}),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BRIEFBOT_TOKEN is not set"),
        ({"BRIEFBOT_TOKEN": "nonsense"}, "BRIEFBOT_TOKEN does not look like a bot token"),
        ({"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_API_URL": "not a url"}, "BRIEFBOT_API_URL"),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_WEBHOOK_LISTEN": "everywhere"},
            "BRIEFBOT_WEBHOOK_LISTEN: expected HOST:PORT",
        ),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_TIMEZONE": "Mars/Olympus"},
            "BRIEFBOT_TIMEZONE: unknown time zone 'Mars/Olympus'",
        ),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_ADMINS": "12,abc"},
            "BRIEFBOT_ADMINS: expected comma-separated numeric user ids, got 'abc'",
        ),
        ({"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_DIGEST_TIME": "7am"}, "BRIEFBOT_DIGEST_TIME"),
        ({"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_DATABASE_URL": "nonsense"}, "BRIEFBOT_DATABASE_URL"),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_GENERATION": '{"beams": 2}'},
            "BRIEFBOT_GENERATION: unknown setting 'beams'",
        ),
        ({"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_RUNTIME": "onnx"}, "BRIEFBOT_RUNTIME"),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_DATABASE_URL": "postgresql+nodriver://u@h/db"},
            "BRIEFBOT_DATABASE_URL: no database driver for 'postgresql+nodriver'",
        ),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_DATABASE_URL": "mysql://u@h/db"},
            "BRIEFBOT_DATABASE_URL: unsupported database 'mysql'",
        ),
        (
            {"BRIEFBOT_TOKEN": "1:a", "BRIEFBOT_MODEL": "no-such-model"},
            "BRIEFBOT_MODEL: model 'no-such-model' was not found",
        ),
    ],
)
@pytest.mark.slow
def test_invalid_configuration_exits_2_with_one_line(tmp_path: Path, env, message):
    env = {
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
        "BRIEFBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    } | env
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_toml_file_exits_2(tmp_path: Path):
    (tmp_path / "briefbot.toml").write_text("token = [unclosed")
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "briefbot.toml: not valid TOML" in result.stderr


def test_toml_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch):
    config = tmp_path / "custom.toml"
    config.write_text('timezone = "Europe/Berlin"\nadmins = [1, 2]\ndigest_time = "07:30"\n')
    monkeypatch.setenv("BRIEFBOT_CONFIG", str(config))
    settings = load_settings()
    assert settings.timezone == "Europe/Berlin" and settings.admins == {1, 2}
    assert settings.digest_time.hour == 7 and settings.digest_time.minute == 30
    monkeypatch.setenv("BRIEFBOT_TIMEZONE", "Asia/Tokyo")
    assert load_settings().timezone == "Asia/Tokyo"
    monkeypatch.setenv("BRIEFBOT_TIMEZONE", "Nowhere/Special")
    with pytest.raises(ConfigError, match="BRIEFBOT_TIMEZONE"):
        load_settings()


def test_import_command(tmp_path: Path, database_url: str, monkeypatch, capsys):
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", database_url)
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"title": "One", "text": ARTICLE_TEXT}) + "\n" + "broken\n", encoding="utf-8"
    )
    assert main(["import", str(source)]) == 0
    captured = capsys.readouterr()
    assert "Imported 1 new article from" in captured.out
    assert "skipped in.jsonl:2: not valid JSON" in captured.err
    assert main(["import", str(source)]) == 0
    assert "0 new articles" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    store = Store.open(database_url)
    assert [a.title for a in store.library.latest()] == ["One"]
    store.close()


@pytest.mark.slow
def test_one_shot_commands_print_their_answer_and_no_log_lines(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": ARTICLE_TEXT}) + "\n", encoding="utf-8")
    env = {
        "BRIEFBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "BRIEFBOT_CONFIG": str(tmp_path / "none.toml"),
    }
    result = run_cli("import", str(source), env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert (
        result.stdout.strip()
        == f"Imported 1 new article from {source} (0 already stored, 0 skipped)."
    )
    assert result.stderr == ""
    listing = run_cli("admins", "list", env=env, cwd=tmp_path)
    assert "No admins yet" in listing.stdout and listing.stderr == ""


def test_summarize_command(tmp_path: Path, capsys):
    article = tmp_path / "article.txt"
    article.write_text(f"Footbridge opens\n{ARTICLE_TEXT}", encoding="utf-8")
    assert main(["summarize", str(article), "--title-line", "--length", "short"]) == 0
    summary = capsys.readouterr().out.strip()
    assert summary and summary in ARTICLE_TEXT
    # A first line that looks like a heading is taken as the title without being told.
    assert main(["summarize", str(article), "--length", "long"]) == 0
    assert "Footbridge opens" not in capsys.readouterr().out
    assert main(["summarize", str(article), "--no-title", "--length", "long"]) == 0
    assert "Footbridge opens" in capsys.readouterr().out
    assert main(["summarize", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.slow
def test_summarize_from_stdin_and_empty_input():
    result = run_cli("summarize", "-", stdin=ARTICLE_TEXT)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 50
    empty = run_cli("summarize", "-", stdin="  \n")
    assert empty.returncode == 2 and "the input is empty" in empty.stderr

"""`briefbot doctor` reports each part, never shows the token, and fails when a part does."""

from __future__ import annotations

from pathlib import Path

from briefbot.bot.cli import main


def test_doctor_all_good(database_url: str, api, monkeypatch, capsys):
    monkeypatch.setenv("BRIEFBOT_TOKEN", api.token)
    monkeypatch.setenv("BRIEFBOT_API_URL", api.url)
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", database_url)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok  ") == 4
    assert "the token belongs to @briefbot_test_bot" in out
    assert "0 articles" in out and "embedded-minilm" in out
    assert api.token not in out and api.token.split(":")[1] not in out


def test_doctor_reports_failures(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("BRIEFBOT_TOKEN", "123:secret-part")
    monkeypatch.setenv("BRIEFBOT_API_URL", "http://127.0.0.1:1/bot")
    monkeypatch.setenv("BRIEFBOT_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/db")
    monkeypatch.setenv("BRIEFBOT_MODEL", str(tmp_path / "no-model"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL database" in out and "pw" not in out.split("FAIL database", 1)[1].split("\n")[0]
    assert "FAIL model" in out and "does not exist" in out
    assert "FAIL Bot API" in out and "cannot reach http://127.0.0.1:1/bot" in out
    assert "secret-part" not in out
    assert "3 check(s) failed" in out

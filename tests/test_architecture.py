"""The rooms' imports run one way (ARCHITECTURE.md), and no module reaches into a library's
private attributes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "briefbot"
USES = {
    "database": set(),
    "models": set(),
    "articles": {"database"},
    "coordination": {"database"},
    "chats": {"database", "articles", "coordination"},
    "summaries": {"database", "articles", "coordination", "models"},
    "migrations": {"database", "articles", "chats", "coordination"},
    "config": {"articles", "models"},
    "logs": set(),
    "services": {"database", "articles", "chats", "coordination", "models", "summaries", "config"},
}


def _room(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            if name.startswith("briefbot."):
                rooms.add(name.split(".")[1])
    return rooms


def test_imports_run_one_way():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        room = _room(path)
        if room not in USES:
            continue  # bot, cli, worker, doctor may use every room
        for used in _imported_rooms(path) - {room} - USES[room]:
            wrong.append(f"{path.relative_to(PACKAGE)} imports briefbot.{used}")
    assert wrong == []


def test_no_private_attributes_of_libraries_or_trace_events():
    private = re.compile(r"\b(?!self\b|cls\b)[A-Za-z_][A-Za-z0-9_]*\._[A-Za-z][A-Za-z0-9_]*")
    found = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if "trace" in text and "extensions" in text:
            found.append(f"{path.name}: an httpcore trace hook")
        for line in text.splitlines():
            for match in private.finditer(line.split("#")[0]):
                owner = match.group().split(".")[0]
                if owner not in {"context", "cls", "super"}:
                    found.append(f"{path.name}: {match.group()}")
    assert found == []

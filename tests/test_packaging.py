"""`pip install .` must ship every package: the list in pyproject.toml is explicit."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        str(init.parent.relative_to(ROOT))
        for top in ("bot", "models", "articles")
        for init in (ROOT / top).rglob("__init__.py")
    }
    listed = {config["package-dir"][name] for name in config["packages"]}
    assert folders == listed

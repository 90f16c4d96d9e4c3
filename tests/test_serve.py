"""What keeps the app on the machine: no Deploy button, a local page icon."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_deploy_button_is_hidden_and_the_page_icon_is_a_local_file() -> None:
    settings = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["toolbarMode"] == "minimal"
    app_source = (REPO / "app.py").read_text()
    assert ":material/" not in app_source.split("set_page_config", 1)[1].split("\n", 1)[0]
    assert (REPO / "assets" / "page_icon.png").is_file()

"""Shared names: keys are distinct and the stated upload limit is the server's."""

from __future__ import annotations

import tomllib

from dashboard.services import state
from dashboard.services.store import REPO_ROOT


def _values(cls: type) -> list[str]:
    return [v for k, v in vars(cls).items() if k.isupper()]


def test_session_and_widget_keys_are_distinct():
    keys = _values(state.Session) + _values(state.Widget) + [state.Widget.upload(k) for k in state.UPLOAD_KINDS]
    assert len(keys) == len(set(keys))
    assert set(state.SESSION_DEFAULTS) <= set(_values(state.Session))


def test_upload_limit_stated_in_the_app_matches_the_server_config():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == state.MAX_UPLOAD_MB
    assert config["theme"]["chartCategoricalColors"][:2] == ["#64748B", "#1D4ED8"]  # plain, DFF as in figures


def test_show_result_sets_every_result_key_together():
    ss: dict = {}
    state.show_result(ss, "result", "d" * 64, {"training": {}}, opened="/runs/a")
    assert ss == {
        state.Session.RESULT: "result",
        state.Session.RESULT_DIGEST: "d" * 64,
        state.Session.RESULT_CONFIG: {"training": {}},
        state.Session.OPENED_DIR: "/runs/a",
    }
    state.show_result(ss, None, None, None)
    assert set(ss.values()) == {None}

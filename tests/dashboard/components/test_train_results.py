"""The Train page's results: honest training curves and a metrics table with readable, unit-bearing columns."""

from __future__ import annotations

from tests.dashboard.saved_runs import chart, open_run


def test_training_curves_say_what_epoch_zero_is_and_mark_the_kept_epoch(traffic_run):
    at = open_run(traffic_run, "app_pages/train.py")
    fig = chart(at, "curves_chart")
    starts = {t["meta"]["of"]: t["name"] for t in fig["data"] if (t.get("meta") or {}).get("marker") == "start"}
    assert "backbone" in starts["dff"] and "warm start" in starts["dfl"]
    kept = [t for t in fig["data"] if (t.get("meta") or {}).get("marker") == "kept"]
    assert {t["meta"]["of"] for t in kept} == {"dff", "dfl"}
    assert "plain backbone)" not in fig["layout"]["title"]["text"]
    assert any("warm start" in c.value for c in at.caption)


def test_metrics_table_has_readable_columns(traffic_run):
    at = open_run(traffic_run, "app_pages/train.py")
    table = next(d.value for d in at.dataframe if any(str(c).startswith("Mean regret") for c in d.value.columns))
    assert "regret_mean" not in table.columns
    assert "Plain prediction" in list(table.index)


def test_verdict_in_plain_words_matches_the_engines_paired_test(traffic_run):
    at = open_run(traffic_run, "app_pages/train.py")
    assert not at.exception, at.exception
    result = at.session_state["result"]
    alerts = [a.value for a in [*at.success, *at.info, *at.error] if a.value.startswith("**")]
    for method, label in (("dff", "DFF (fine-tuned)"), ("dfl", "End-to-end DFL")):
        v = result.verdict(method)
        line = next(a for a in alerts if a.startswith(f"**{label}:**"))
        assert f"{v.ci_low:+.3g} to {v.ci_high:+.3g}" in line and f"{v.n} paired decisions" in line
        expected = {"better": "lowers regret", "worse": "raises regret"}.get(v.verdict, "No reliable difference")
        assert expected in line


def test_result_figures_and_verdicts_are_built_once_per_run(traffic_run, monkeypatch):
    from dashboard import figures as F
    from dff_core.results import ComparisonResult

    calls: dict[str, int] = {}

    def counted(name, fn):
        def wrapper(*a, **kw):
            calls[name] = calls.get(name, 0) + 1
            return fn(*a, **kw)

        return wrapper

    for name in ("regret_distribution", "paired_regret_scatter", "training_curves"):
        monkeypatch.setattr(F, name, counted(name, getattr(F, name)))
    monkeypatch.setattr(ComparisonResult, "verdict", counted("verdict", ComparisonResult.verdict))
    at = open_run(traffic_run, "app_pages/train.py")
    first = dict(calls)
    assert first["regret_distribution"] == first["training_curves"] == 1 and first["verdict"] >= 1
    at.switch_page("app_pages/data.py").run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    for name in ("regret_distribution", "paired_regret_scatter", "training_curves", "verdict"):
        assert calls[name] == first[name], name  # the page switch redrew them from the session's cache
    assert chart(at, "regret_chart")["data"]  # and the charts are still there

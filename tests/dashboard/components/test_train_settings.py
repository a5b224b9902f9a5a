"""The Train page's settings: only choices that fit the data, the reason for the others, counts end to end."""

from __future__ import annotations

import pytest

from dashboard.services import labels as L
from tests.dashboard.apps import RESULT_PAGES, SAMPLE, count_files, new_app, train, upload

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "readings.csv").is_file(), reason="sample_data/ is missing"),
    pytest.mark.usefixtures("fresh_caches"),
]


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def _expanders(at) -> list[str]:
    return [e.label for e in at.expander]


def test_speeds_allocate_by_delay_and_say_why_counts_are_not_offered():
    at = new_app("app_pages/train.py")
    at.radio(key="cfg_scenario").set_value("allocation").run()
    assert at.radio(key="cfg_alloc_value").options == [L.ALLOCATION_VALUE_LABELS["delay"]]
    assert "Not offered: Allocation by predicted counts needs count readings; the readings are speeds" in _captions(at)
    at.radio(key="cfg_scenario").set_value("traffic").run()
    assert not any("counts" in label for label in _expanders(at))  # BPR assumptions are for counts only


def test_counts_offer_both_scenarios_with_allocation_by_counts_and_the_bpr_assumptions():
    at = upload(new_app(), count_files(), upload_value="count", upload_count_unit="vehicles")
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    scenario = at.radio(key="cfg_scenario")
    assert scenario.options == [L.SCENARIO_LABELS["traffic"], L.SCENARIO_LABELS["allocation"]]
    assert "BPR" in _captions(at)
    bpr = next(e for e in at.expander if "counts" in e.label)
    text = " ".join(m.value for m in bpr.markdown)
    for assumption in ("capacity", "lanes", "free_flow_kmh", "0.15", "× 4"):  # flow = count × 4 per hour
        assert assumption in text, assumption
    scenario.set_value("allocation").run()
    assert at.radio(key="cfg_alloc_value").options == [L.ALLOCATION_VALUE_LABELS["count"]]
    assert at.radio(key="cfg_alloc_value").value == "count"
    assert "Allocation by predicted delay needs speed readings; the readings are counts" in _captions(at)
    assert at.selectbox(key="cfg_horizon").value == "30min"  # a whole multiple of the 15-minute interval


@pytest.mark.parametrize("scenario", ["traffic", "allocation"])
def test_a_count_upload_runs_each_scenario_to_the_result_pages(scenario):
    at = upload(new_app(), count_files(), upload_value="count", upload_count_unit="vehicles")
    at.switch_page("app_pages/train.py").run()
    at.radio(key="cfg_scenario").set_value(scenario).run()
    at = train(at, epochs=2, methods=("two_stage", "dff"))
    result = at.session_state["result"]
    spec = at.session_state["result_config"]["scenario"]
    assert spec["kind"] == scenario and spec["value"] == "count"
    if scenario == "allocation":
        assert spec["alloc_value"] == "count"
    assert set(result.methods) >= {"two_stage", "dff"}
    for page in RESULT_PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])


def test_every_train_setting_explains_itself():
    at = new_app("app_pages/train.py")
    for scenario in ("traffic", "allocation"):
        at.radio(key="cfg_scenario").set_value(scenario).run()
        controls = [*at.radio, *at.selectbox, *at.number_input, *at.slider, *at.multiselect]
        assert len(controls) >= 8
        for control in controls:
            assert control.proto.help.strip(), (scenario, control.label)

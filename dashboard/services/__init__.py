"""The dashboard's link to the engine, by concern.

* :mod:`~dashboard.services.state`: session-state and widget keys, choices, defaults.
* :mod:`~dashboard.services.labels`: words on screen: method, metric and feature names, tooltips, glossary.
* :mod:`~dashboard.services.data`: the sample city or uploaded CSVs (:class:`Loaded`), display tables.
* :mod:`~dashboard.services.network`: an uploaded road network (:class:`RoadView`): its files, checks, matches.
* :mod:`~dashboard.services.config`: run configurations (scenario spec + training options), their
  digest, the scenario they build, the widget values that restore them.
* :mod:`~dashboard.services.session`: switching the session's data (runs on the old data are dropped).
* :mod:`~dashboard.services.store`: finished runs on disk, keyed by data + configuration.
* :mod:`~dashboard.services.jobs`: background jobs and the table sessions find them in.
* :mod:`~dashboard.services.cache`: every Streamlit cache (the only module using ``st.cache_*``).
* :mod:`~dashboard.services.server_gc`: garbage collection in the server (none per script run, so polling stays cheap).
* :mod:`~dashboard.services.training`, :mod:`~dashboard.services.runs` and
  :mod:`~dashboard.services.views`: starting training, opening saved run folders, and what result
  pages draw. They import the training engine (torch), so they are not re-exported here:
  ``import dashboard.services`` stays light for the first page.

Pages use ``from dashboard import services as S`` for what is re-exported here and import
``training``/``runs``/``views`` directly.
"""

from dashboard.services.config import (
    STORE_VERSION,
    candidate_pairs,
    compare_kwargs,
    default_config,
    get_scenario,
    horizon_choices,
    run_config,
    run_config_of,
    run_digest,
    scenario_spec,
    scenario_unit,
    spec_of,
    widget_state,
)
from dashboard.services.data import (
    Loaded,
    digest_bytes,
    issues_frame,
    links_segments,
    load_sample_data,
    load_uploaded_data,
    read_options,
    sample_files,
    sample_paths,
    upload_digest,
)
from dashboard.services.jobs import Job, get_job, poll_interval, poll_slower
from dashboard.services.network import NETWORK_DEFAULTS, NETWORK_KINDS, RoadView, network_options, node_frame
from dashboard.services.session import activate, forget_runs
from dashboard.services.state import (
    ALLOCATION_SOURCES,
    BACKBONE_LABELS,
    DEFAULT_BACKBONE,
    DEFAULT_BUDGET,
    DEFAULT_EPOCHS,
    DEFAULT_EPSILON,
    DEFAULT_HORIZON,
    DEFAULT_METHODS,
    HORIZON_CANDIDATES,
    HORIZONS,
    LOSS_LABELS,
    LOSSES,
    MAX_UPLOAD_MB,
    RUN_DIR_PARAM,
    RUN_PARAM,
    SAMPLE_NAME,
    SCENARIO_LABELS,
    SESSION_DEFAULTS,
    STAGE_LABELS,
    SWEEP_EPSILONS,
    UPLOAD_KINDS,
    Session,
    Widget,
    show_result,
)
from dashboard.services.store import (
    REPO_ROOT,
    cache_dir,
    has_result,
    load_result,
    load_stored,
    model_file,
    run_dir,
    save_result,
    stored_run,
    stored_sweep,
)

__all__ = [
    "ALLOCATION_SOURCES",
    "BACKBONE_LABELS",
    "DEFAULT_BACKBONE",
    "DEFAULT_BUDGET",
    "DEFAULT_EPOCHS",
    "DEFAULT_EPSILON",
    "DEFAULT_HORIZON",
    "DEFAULT_METHODS",
    "HORIZONS",
    "HORIZON_CANDIDATES",
    "LOSSES",
    "LOSS_LABELS",
    "MAX_UPLOAD_MB",
    "NETWORK_DEFAULTS",
    "NETWORK_KINDS",
    "REPO_ROOT",
    "RUN_DIR_PARAM",
    "RUN_PARAM",
    "SAMPLE_NAME",
    "SCENARIO_LABELS",
    "SESSION_DEFAULTS",
    "STAGE_LABELS",
    "STORE_VERSION",
    "SWEEP_EPSILONS",
    "UPLOAD_KINDS",
    "Job",
    "Loaded",
    "RoadView",
    "Session",
    "Widget",
    "activate",
    "cache_dir",
    "candidate_pairs",
    "compare_kwargs",
    "default_config",
    "digest_bytes",
    "forget_runs",
    "get_job",
    "get_scenario",
    "has_result",
    "horizon_choices",
    "issues_frame",
    "links_segments",
    "load_result",
    "load_sample_data",
    "load_stored",
    "load_uploaded_data",
    "model_file",
    "network_options",
    "node_frame",
    "poll_interval",
    "poll_slower",
    "read_options",
    "run_config",
    "run_config_of",
    "run_digest",
    "run_dir",
    "sample_files",
    "sample_paths",
    "save_result",
    "scenario_spec",
    "scenario_unit",
    "show_result",
    "spec_of",
    "stored_run",
    "stored_sweep",
    "upload_digest",
    "widget_state",
]

"""Names shared by the app and its pages: session-state and widget keys, labels, choices and defaults.

Every key the app and several pages read or write is a constant here, so a renamed key cannot
leave one page reading a value another page no longer writes. Keys of elements used in one place
only (a chart, a download button) stay next to their element.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

from dashboard.services.labels import (  # noqa: F401  (re-exported: labels live in one module)
    ALLOCATION_SOURCES,
    BACKBONE_LABELS,
    LOSS_LABELS,
    SCENARIO_LABELS,
    STAGE_LABELS,
)


class Session:
    """Keys of the values the app and its pages keep in ``st.session_state`` (plain strings, so a page may
    also read them by name)."""

    #: This browser tab's id: jobs are visible to the session that started them only.
    ID = "session_id"
    #: The active dataset (:class:`dashboard.services.data.Loaded`), or ``None`` when nothing loads.
    LOADED = "loaded"
    #: Why the sample city could not be loaded (shown instead of the Data page).
    LOAD_ERROR = "load_error"
    #: Id of this session's training job, and of its ε-sweep job.
    JOB_ID = "job_id"
    SWEEP_JOB_ID = "sweep_job_id"
    #: The shown comparison result, its run digest and its run configuration.
    RESULT = "result"
    RESULT_DIGEST = "result_digest"
    RESULT_CONFIG = "result_config"
    #: The folder of a run opened from disk (its results are shown, not the store's), else ``None``.
    OPENED_DIR = "opened_dir"
    #: The folder named in the URL that the Train page tried to open, so it is tried once.
    OPEN_TRIED = "open_tried"
    #: Problems of the last upload, and the digest of the files last validated.
    UPLOAD_ISSUES = "upload_issues"
    UPLOAD_TRIED = "upload_tried"
    #: Set once the run named in the URL has been reopened (a refresh is a new session).
    RESTORED = "restored"
    #: The run the Decisions page's time slider was last positioned for.
    DECISION_RUN = "decision_run"
    #: The last uploaded dataset (:class:`dashboard.services.data.Loaded`), kept while the sample is shown
    #: so that choosing "Upload" again brings it back.
    UPLOADED = "uploaded"
    #: Digest of the dataset the sensor preview's selection belongs to (a new dataset resets it).
    PREVIEW_FOR = "preview_for"
    #: Set by the start page's "Run the sample" button: the Train page starts the default comparison once.
    RUN_SAMPLE = "run_sample"
    #: The live training curve last drawn, with the job and event count it shows (polls without a new
    #: epoch redraw it without rebuilding it).
    LIVE_CURVE = "live_curve"


#: Session values the app starts with ``None`` (the dataset and its error are set when loading).
SESSION_DEFAULTS: Final = (
    Session.JOB_ID,
    Session.RESULT,
    Session.RESULT_DIGEST,
    Session.RESULT_CONFIG,
    Session.OPENED_DIR,
    Session.SWEEP_JOB_ID,
    Session.UPLOAD_ISSUES,
)


#: URL query parameters naming the shown run (its digest in the store, or the folder it was opened from),
#: so a browser refresh reopens it.
RUN_PARAM: Final = "run"
RUN_DIR_PARAM: Final = "run_dir"


def show_result(
    state: MutableMapping[str, Any],
    result: Any,
    digest: str | None,
    config: Mapping[str, Any] | None,
    opened: str | None = None,
) -> None:
    """Make ``result`` the session's shown run (``None`` clears it); ``opened`` is its folder if opened from disk."""
    state[Session.RESULT], state[Session.RESULT_DIGEST] = result, digest
    state[Session.RESULT_CONFIG] = None if config is None else dict(config)
    state[Session.OPENED_DIR] = opened


class Widget:
    """Keys of widgets whose values other code reads, restores or tests drive."""

    # Data page
    DATA_SOURCE: Final = "data_source"
    UPLOAD_VALUE: Final = "upload_value"
    UPLOAD_START: Final = "upload_start"
    UPLOAD_FREQ: Final = "upload_freq"
    UPLOAD_COUNT_UNIT: Final = "upload_count_unit"
    UPLOAD_DUPLICATES: Final = "upload_duplicates"
    UPLOAD_ZERO_SPEEDS: Final = "upload_zero_speeds"
    UPLOAD_CRS: Final = "upload_crs"
    UPLOAD_TIMEZONE: Final = "upload_timezone"
    UPLOAD_NETWORK_CRS: Final = "upload_network_crs"
    UPLOAD_MATCH_DISTANCE: Final = "upload_match_distance"
    PREVIEW_SENSORS: Final = "preview_sensors"
    # Train page: the run configuration
    SCENARIO: Final = "cfg_scenario"
    BACKBONE: Final = "cfg_backbone"
    LOSS: Final = "cfg_loss"
    EPSILON: Final = "cfg_epsilon"
    HORIZON: Final = "cfg_horizon"
    EPOCHS: Final = "cfg_epochs"
    METHODS: Final = "cfg_methods"
    PAIRS: Final = "cfg_pairs"
    SOURCE: Final = "cfg_source"
    ALLOC_VALUE: Final = "cfg_alloc_value"
    BUDGET: Final = "cfg_budget"
    START: Final = "start"
    CANCEL: Final = "cancel"
    RUN_DIR: Final = "open_run_dir"
    OPEN_RUN: Final = "open_run"
    CLOSE_RUN: Final = "close_run"
    # Start page
    RUN_SAMPLE: Final = "start_run_sample"
    # Decisions page
    DECISION_TIME: Final = "decision_i"
    DECISION_PAIR: Final = "decision_pair"
    DECISION_STREET: Final = "decision_street"
    DECISION_VIEW: Final = "decision_view"
    DECISION_METHOD: Final = "decision_method"
    # Interpretability page
    START_SWEEP: Final = "start_sweep"
    CANCEL_SWEEP: Final = "cancel_sweep"
    TOP_K: Final = "correction_top_k"
    CORRECTION_ORDER: Final = "correction_order"
    CORRECTION_SEARCH: Final = "correction_search"
    # Export page
    EXPORT_FIGURE: Final = "export_figure"

    @staticmethod
    def upload(kind: str) -> str:
        """Key of the file uploader for ``kind`` (one of :data:`UPLOAD_KINDS`)."""
        return f"upload_{kind}"


# ------------------------------------------------------------------------------ data page
#: Upload limit in MB, mirrored from .streamlit/config.toml (server.maxUploadSize) for the label.
MAX_UPLOAD_MB: Final = 50
UPLOAD_KINDS: Final = ("readings", "sensors", "links", "allocation")
SAMPLE_NAME: Final = "Sample city"
UPLOADED_NAME: Final = "Uploaded data"

# ------------------------------------------------------------------------------ train page
HORIZONS: Final = ("15min", "30min", "60min")
#: Horizons offered when they are whole multiples of the reading interval (the first four that fit).
HORIZON_CANDIDATES: Final = ("15min", "30min", "60min", "2h", "3h", "6h", "12h", "24h")
DEFAULT_HORIZON: Final = "30min"
DEFAULT_EPSILON: Final = 0.2
#: Epochs of DFF/DFL by default: the CLI's default, so the dashboard reproduces `dff compare`; the sample
#: comparison then takes about 10-20 s on 2 shared cores (early stopping usually ends before 30).
DEFAULT_EPOCHS: Final = 30
DEFAULT_METHODS: Final = ("two_stage", "dff", "dfl")
DEFAULT_BUDGET: Final = 5
#: The first backbone offered (the Train page lists the labelled backbones first).
DEFAULT_BACKBONE: Final = "ridge"
DEFAULT_LOSS: Final = "spo+"
LOSSES: Final = ("spo+", "pfyl", "nce")

# ------------------------------------------------------------------------------ interpretability page
#: Trust-region sizes of the ε trade-off sweep.
SWEEP_EPSILONS: Final = (0.05, 0.1, 0.2, 0.3, 0.5)

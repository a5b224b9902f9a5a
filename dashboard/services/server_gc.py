"""Garbage collection in the server process: never a full collection per script run, and the start-up heap exempt.

Streamlit runs ``gc.collect(2)`` after every script run by default (its hidden option
``runner.postScriptGC``). With the engine loaded (torch, plotly, pandas, geopandas: about 370,000
tracked objects) one full collection holds the GIL for 0.25-0.85 s on two shared cores, and every
training session's progress fragment is a script run a second: with three sessions training, the
server spent most of its time in those collections and the health check took seconds. The
repository's ``.streamlit/config.toml`` turns the option off (Python's own generational collector
still runs); :func:`tune` warns when a server runs without that file, and exempts the objects alive
after start-up (modules, classes, functions, the sample city) from later full collections
(:func:`gc.freeze`), so Python's own occasional full collections stay short too.
"""

from __future__ import annotations

import gc
import threading

import streamlit as st

from dashboard.services import errors

#: The Streamlit option that collects garbage after every script run.
POST_SCRIPT_GC = "runner.postScriptGC"
_FROZEN = threading.Event()  # process-wide: the heap is frozen at most once per process


def freeze_startup_heap() -> int:
    """Collect once, then exempt every object alive now from later collections; returns how many are exempt.

    Only the first call in a process freezes: objects created later (sessions' data and results)
    stay collectable, so cyclic garbage of ended sessions is still freed.
    """
    if not _FROZEN.is_set():
        _FROZEN.set()
        gc.collect()
        gc.freeze()
    return gc.get_freeze_count()


def tune() -> int:
    """Once per server: warn if Streamlit collects after every run, and freeze the start-up heap."""
    if st.get_option(POST_SCRIPT_GC):
        errors.logger().warning(
            "Streamlit collects garbage after every script run (%s = true): the dashboard answers slowly "
            "while sessions train. Start it from the repository root so .streamlit/config.toml is read.",
            POST_SCRIPT_GC,
        )
    return freeze_startup_heap()

"""Process-wide settings of the dashboard's server, applied once per process.

Streamlit runs a full garbage collection after every script run by default; with the engine's modules
(torch, pandas, plotly) loaded that is over a million objects to scan, 0.3-1 s per run, holding the GIL so
no other session is answered meanwhile. ``.streamlit/config.toml`` turns that off
(``runner.postScriptGC = false``) and :func:`freeze_startup_heap` moves the objects that live as long as
the server (modules, classes, caches built at import) out of the collector's view, so the automatic
collections that remain only scan what sessions create.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def freeze_startup_heap() -> bool:
    """Collect once, then freeze everything alive now (``gc.freeze``); only the first call does anything.

    Returns whether this call froze the heap. Called at the end of a script run, when the pages' imports
    are loaded.
    """
    global _frozen
    with _lock:
        if _frozen:
            return False
        gc.collect()
        gc.freeze()
        _frozen = True
        return True

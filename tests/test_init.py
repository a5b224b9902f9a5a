"""The package's entry point: lazy training names, and data/problems importable without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dff_core

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", ["dff_core.data", "dff_core.problems", "dff_core.results", "dff_core.progress"])
def test_light_modules_do_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_training_names_load_on_first_use() -> None:
    from dff_core.baselines import DFL
    from dff_core.comparison import compare, run_comparison
    from dff_core.dff import DFF

    assert dff_core.DFF is DFF and dff_core.DFL is DFL
    assert dff_core.run_comparison is run_comparison and dff_core.compare is compare
    assert {"DFF", "DFL", "run_comparison", "compare"} <= set(dff_core.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        dff_core.nothing  # noqa: B018

"""``dff_core.sweep``: the package is callable as the sweep function, whichever name was imported first."""

from __future__ import annotations

import subprocess
import sys

import pytest

import dff_core.sweep as package
from dff_core.sweep import sweep
from dff_core.sweep.loop import sweep as loop_sweep


def test_the_package_and_its_sweep_name_run_the_same_function():
    assert sweep is loop_sweep
    # The package delegates to sweep(), which checks the backend before anything else.
    with pytest.raises(ValueError, match="backend must be 'local' or 'ray'"):
        package(None, {}, backend="slurm")


@pytest.mark.parametrize(
    "first",
    ["from dff_core import sweep", "import dff_core.sweep.config\nfrom dff_core import sweep"],
    ids=["entry-point-first", "package-first"],
)
def test_dff_core_sweep_is_the_callable_package_in_either_import_order(first):
    code = f"""
import sys
import dff_core
assert "dff_core.sweep" not in sys.modules and "torch" not in sys.modules  # loaded on first use
{first}
import dff_core.sweep.loop
assert sweep is dff_core.sweep is sys.modules["dff_core.sweep"]
assert dff_core.sweep.loop.sweep is dff_core.sweep.sweep
try:
    sweep(None, {{}}, backend="slurm")
except ValueError as exc:
    assert "backend must be" in str(exc), exc
else:
    raise AssertionError("calling dff_core.sweep did not run sweep()")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr

"""The data layer stays light: files can be loaded and checked without the training stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_data_package_does_not_load_torch():
    code = "import sys, dff_core.data; assert 'torch' not in sys.modules, 'importing dff_core.data loaded torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)

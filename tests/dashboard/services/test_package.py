"""The services package's rules: a light first import, one caching module, imports at module top."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[3] / "dashboard"


def _sources() -> list[Path]:
    return sorted(DASHBOARD.rglob("*.py"))


def test_importing_the_services_does_not_load_torch():
    code = "import sys, dashboard.services, dashboard.services.cache; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=DASHBOARD.parent, check=True)
    assert out.stdout.strip() == "False"


def test_only_the_cache_module_uses_streamlit_caches():
    users = [p.relative_to(DASHBOARD).as_posix() for p in _sources() if "cache_resource" in p.read_text()
             or "cache_data" in p.read_text()]  # fmt: skip
    assert users == ["services/cache.py"]


def test_imports_are_at_module_top():
    nested = []
    for path in _sources():
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                nested += [
                    f"{path.name}:{n.lineno}" for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))
                ]
    assert nested == []


def test_modules_stay_small():
    assert {p.name: n for p in _sources() if (n := len(p.read_text().splitlines())) > 500} == {}

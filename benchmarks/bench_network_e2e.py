"""End to end on real road networks: ``compare --scenario traffic --network`` with default settings.

    python benchmarks/bench_network_e2e.py                      # Chicago Sketch, then Philadelphia
    python benchmarks/bench_network_e2e.py --only chicago

For each TNTP network in ``../shared/data`` (skipped when absent): the synthetic generator writes 28
days of 15-minute speeds at 200 sensor links of the network, then the command line runs a default
comparison routing on the whole network (two-stage, DFF, end-to-end DFL). The same readings are also
compared on the sensor graph (no ``--network``), the scenario the tool routed on before networks, and
the ratio of the two wall-clock times is printed with each run's regret, so the cost of routing on
the real network is stated against a reference measured in the same run. Targets: Chicago Sketch in
at most 3 minutes, Philadelphia in at most 15.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dff_core.data import shared_data_dir
from dff_core.data.synthetic import write_network_readings

# Philadelphia's node file is in 0.01-mile units around an unstated origin: a local transverse
# Mercator with that unit, centred on the city, places it (distances are what matching needs).
PHILADELPHIA_CRS = (
    "+proj=tmerc +lat_0=39.95 +lon_0=-75.16 +k=1 +x_0=485669 +y_0=1212159 +to_meter=16.09344 +ellps=GRS80 +no_defs"
)
NETWORKS = {
    "chicago": ("tntp-chicago-sketch", "ChicagoSketch_net.tntp", "EPSG:26771", 180.0),
    "philadelphia": ("tntp-philadelphia", "Philadelphia_net.tntp", PHILADELPHIA_CRS, 900.0),
}


def _compare(args: list[str], out: Path) -> tuple[float, dict]:
    """Run ``python -m dff_core compare`` with ``args``; return wall seconds and the summary."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "dff_core", "compare", *args, "--out", str(out), "--quiet"]
    subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, json.loads((out / "summary.json").read_text())


def _regrets(summary: dict) -> str:
    return ", ".join(f"{m} {v['regret_mean']:.3g}" for m, v in summary["methods"].items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(NETWORKS), help="run one network")
    args = parser.parse_args()
    root = shared_data_dir()
    if root is None:
        print("shared data not found: nothing to measure")
        return
    for name, (folder, net_file, crs, budget) in NETWORKS.items():
        if args.only and name != args.only:
            continue
        net = root / folder / net_file
        if not net.is_file():
            print(f"{name}: {net} not found, skipped")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            paths = write_network_readings(net, Path(tmp) / "data", crs=crs)
            t_gen = time.perf_counter() - t0
            data = ["--readings", str(paths["readings"]), "--sensors", str(paths["sensors"])]
            t_net, s_net = _compare([*data, "--network", str(net), "--network-crs", crs], Path(tmp) / "net")
            t_graph, s_graph = _compare(data, Path(tmp) / "graph")
        verdict = "met" if t_net <= budget else "MISSED"
        print(
            f"{name}: readings written in {t_gen:.0f} s; compare on the road network {t_net:.0f} s "
            f"(target {budget:.0f} s: {verdict}); on the sensor graph {t_graph:.0f} s; "
            f"network / sensor graph = {t_net / t_graph:.1f}x"
        )
        print(f"  regret on the network ({s_net['unit']}): {_regrets(s_net)}")
        print(f"  regret on the sensor graph ({s_graph['unit']}): {_regrets(s_graph)}")


if __name__ == "__main__":
    main()

"""Headless command line: ``python -m dff_core validate|compare ...``.

Subcommands live in :data:`COMMANDS` (see :func:`register`), so new ones (e.g. ``sweep``)
plug in without touching the others. Data problems end with exit code 2 and one line per
problem on stderr; unexpected failures with exit code 1 and a one-line message (the
traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dff_core.errors import DataError, SolverError

EXIT_OK, EXIT_FAILURE, EXIT_DATA = 0, 1, 2


@dataclass
class Command:
    """A subcommand: ``configure(parser)`` adds its arguments, ``run(args) -> exit code``."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: Registered subcommands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {}
#: Modules that add their own subcommand with ``add_<name>_parser(subparsers)`` setting ``func``.
SUBPARSER_HOOKS: list[tuple[str, str]] = [("dff_core.sweep", "add_sweep_parser")]


def register(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]) -> Callable:
    """Decorator registering ``run(args) -> int`` as subcommand ``name``."""

    def deco(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = Command(name, help, configure, run)
        return run

    return deco


# ---------------------------------------------------------------------------- shared arguments
def add_data_arguments(p: argparse.ArgumentParser, *, readings_positional: bool = False) -> None:
    """Input files and their interpretation (shared by validate, compare and later sweep)."""
    if readings_positional:
        p.add_argument(
            "readings", help="readings CSV (long: timestamp,sensor_id,value; or wide: one column per sensor)"
        )
    else:
        src = p.add_argument_group("data (give --readings, --sample or --metr-la)")
        src.add_argument("--readings", help="readings CSV (long or wide)")
        src.add_argument("--sample", action="store_true", help="use the bundled synthetic city")
        src.add_argument(
            "--metr-la",
            nargs="?",
            const="",
            default=None,
            metavar="FOLDER",
            help="use the METR-LA week (default folder: $DFF_SHARED_DATA/metr-la-week or ../shared/data)",
        )
        src.add_argument("--items", help="allocation items CSV (period,item_id,value,features...); 'sample' = bundled")
    p.add_argument("--sensors", help="sensors CSV (sensor_id,latitude,longitude[,name])")
    p.add_argument("--links", help="links CSV (from_id,to_id[,length_km,capacity]); default: nearest neighbours")
    p.add_argument("--value", default=None, choices=("speed_kmh", "speed_mph", "count"), help="what readings measure")
    p.add_argument("--start", help="time of the first row of a wide file without timestamps, e.g. '2012-03-01 00:00'")
    p.add_argument("--freq", help="reading interval, e.g. 5min (or coarser, to average)")


def _load(args: argparse.Namespace) -> Any:
    """The Dataset named by the arguments (``None`` when only items are given)."""
    from dff_core.data import load_dataset, load_metr_la, sample_paths

    chosen = [bool(getattr(args, "readings", None)), bool(getattr(args, "sample", False))]
    chosen.append(getattr(args, "metr_la", None) is not None)
    if sum(chosen) > 1:
        raise ValueError("give only one of --readings, --sample and --metr-la.")
    if getattr(args, "metr_la", None) is not None:
        return load_metr_la(args.metr_la or None)
    kw = {"value": args.value or "speed_kmh", "start": args.start, "freq": args.freq}
    if getattr(args, "sample", False):
        paths = sample_paths()
        if not paths["readings"].exists():
            raise FileNotFoundError(f"sample data not found at {paths['readings'].parent}")
        kw["value"] = "speed_kmh"
        ds, _ = load_dataset(paths["readings"], paths["sensors"], paths["links"], source="sample", **kw)
        return ds
    if not getattr(args, "readings", None):
        if getattr(args, "items", None):
            return None
        raise ValueError("no data: give --readings FILE (with --sensors), --sample or --metr-la.")
    ds, _ = load_dataset(args.readings, args.sensors, args.links, **kw)
    return ds


# ---------------------------------------------------------------------------- validate
def _configure_validate(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p, readings_positional=True)


@register("validate", "check input files and print the validation report", _configure_validate)
def run_validate(args: argparse.Namespace) -> int:
    from dff_core.data import load_dataset

    ds, report = load_dataset(
        args.readings, args.sensors, args.links, value=args.value or "speed_kmh", start=args.start, freq=args.freq
    )
    print(str(report))
    idx = ds.readings.index
    print(
        f"valid: {ds.readings.shape[1]} sensors, {len(idx)} time steps every {_fmt_td(ds.freq)} "
        f"({idx[0]} .. {idx[-1]}), {len(ds.links)} links{' (inferred)' if ds.graph_inferred else ''}, "
        f"values: {ds.value_kind}"
    )
    return EXIT_OK


def _fmt_td(td: Any) -> str:
    minutes = pd.Timedelta(td).total_seconds() / 60
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"


# ---------------------------------------------------------------------------- compare
def _split_arg(text: str) -> tuple[Any, ...]:
    parts = [s.strip() for s in text.split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"--split needs three parts, e.g. 0.6,0.2,0.2 or 5D,1D,1D; got {text!r}")
    try:
        return tuple(float(s) for s in parts)
    except ValueError:
        return tuple(parts)


def _pairs_arg(text: str) -> list[tuple[str, str]]:
    out = []
    for chunk in text.split(","):
        a, sep, b = chunk.strip().partition(":")
        if not sep or not a or not b:
            raise argparse.ArgumentTypeError(
                f"--pairs needs ORIGIN:DESTINATION sensor ids, comma separated; got {text!r}"
            )
        out.append((a, b))
    return out


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", choices=("traffic", "allocation"), default="traffic")
    add_data_arguments(p)
    p.add_argument("--horizon", default="30min", help="how far ahead to predict (default 30min)")
    p.add_argument("--backbone", default="ridge", help="ridge, linear, random_forest, gradient_boosting, mlp, ...")
    p.add_argument("--epsilon", type=float, default=0.2, help="DFF trust region: corrections within ±epsilon")
    p.add_argument("--loss", default="spo+", help="decision loss (default spo+)")
    p.add_argument("--methods", default="two_stage,dff,dfl", help="comma separated (two_stage,dff,dfl)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", type=_split_arg, default=(0.6, 0.2, 0.2), help="train,val,test: 0.6,0.2,0.2 or 5D,1D,1D")
    p.add_argument("--pairs", type=_pairs_arg, help="traffic: trips as ORIGIN:DEST sensor ids, comma separated")
    p.add_argument("--n-pairs", type=int, default=5, help="traffic: number of default long trips")
    p.add_argument("--demand", type=float, default=None, help="traffic: vehicles per trip (default 1)")
    p.add_argument(
        "--capacities", action="store_true", help="traffic: route as one flow under the links' capacity column"
    )
    p.add_argument(
        "--cross-fit",
        action="store_true",
        help="train DFF on out-of-fold backbone predictions (recommended for regression backbones)",
    )
    p.add_argument("--every", default="auto", help="spacing of decision times (default: 15min when finer)")
    p.add_argument("--budget", type=float, default=5, help="allocation: units to allocate")
    p.add_argument("--alloc-value", choices=("delay", "count"), default=None, help="allocation: value to rank by")
    p.add_argument("--corridor-cap", type=float, default=None, help="allocation: cap of units per corridor")
    p.add_argument("--out", required=True, help="output folder for summary.json and per_instance.csv")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


#: Defaults of the scenario options, for callers (e.g. sweeps) that pass a partial namespace.
SCENARIO_DEFAULTS: dict[str, Any] = {
    "scenario": "traffic",
    "readings": None,
    "sample": False,
    "metr_la": None,
    "items": None,
    "sensors": None,
    "links": None,
    "value": None,
    "start": None,
    "freq": None,
    "horizon": "30min",
    "split": (0.6, 0.2, 0.2),
    "pairs": None,
    "n_pairs": 5,
    "demand": None,
    "capacities": False,
    "every": "auto",
    "budget": 5.0,
    "alloc_value": None,
    "corridor_cap": None,
    "seed": 0,
}


def build_scenario(args: argparse.Namespace) -> Any:
    """The scenario described by compare/sweep arguments (missing ones take :data:`SCENARIO_DEFAULTS`)."""
    from dff_core.scenarios import build_allocation_scenario, build_traffic_scenario

    a = argparse.Namespace(**{**SCENARIO_DEFAULTS, **vars(args)})
    every = None if a.every in ("none", "all") else (a.every or "auto")
    if a.scenario == "traffic":
        if a.items:
            raise ValueError("--items is for --scenario allocation; traffic routing needs speed readings.")
        ds = _load(a)
        return build_traffic_scenario(
            ds, horizon=a.horizon, pairs=a.pairs, n_pairs=a.n_pairs, demand=a.demand, capacities=a.capacities,
            split=a.split, seed=a.seed, every=every,
        )  # fmt: skip
    if a.scenario != "allocation":
        raise ValueError(f"--scenario must be traffic or allocation; got {a.scenario!r}.")
    if a.items:
        if a.readings or a.metr_la is not None:
            raise ValueError("give either --items or readings (--readings/--metr-la) for the allocation scenario.")
        items = a.items
        if items == "sample":
            from dff_core.data import sample_paths

            items = sample_paths()["items"]
        return build_allocation_scenario(items=items, budget=a.budget, split=a.split)
    ds = _load(a)
    value = a.alloc_value or ("count" if ds.value_kind == "count" else "delay")
    return build_allocation_scenario(
        ds, budget=a.budget, value=value, corridor_caps=a.corridor_cap, horizon=a.horizon, split=a.split,
        seed=a.seed, every=every,
    )  # fmt: skip


class _Progress:
    """tqdm bar on stderr fed by ``on_progress`` events of any shape (dicts, strings, epoch numbers)."""

    def __init__(self, total: int, disable: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, file=sys.stderr, disable=disable, unit="epoch", dynamic_ncols=True)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        ev: dict[str, Any] = {}
        for a in args:
            if isinstance(a, dict):
                ev.update(a)
            elif isinstance(a, str):
                ev.setdefault("method" if "method" not in ev else "stage", a)
            elif isinstance(a, int) and "epoch" not in ev:
                ev["epoch"] = a
        ev.update(kwargs)
        label = ev.get("stage") or ev.get("method")
        if label:
            self.bar.set_description(str(label), refresh=False)
        epoch = ev.get("epoch")
        trained = label in ("dff", "dfl")
        if trained and isinstance(epoch, int) and epoch > 0 and self.bar.n < self.bar.total:
            self.bar.update(1)

    def close(self, finished: bool = False) -> None:
        """Close the bar; ``finished`` fills it (early stopping ends training before the last epoch)."""
        if finished and not self.bar.disable:
            self.bar.set_description("done", refresh=False)
            self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


@register("compare", "compare two-stage, DFF and end-to-end DFL on a scenario; write summary.json", _configure_compare)
def run_compare(args: argparse.Namespace) -> int:
    from dff_core.scenarios import compare

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    out = Path(args.out)
    t0 = time.perf_counter()
    scenario = build_scenario(args)
    t_data = time.perf_counter() - t0 - scenario.timings.get("features", 0.0)
    if not args.quiet:
        print(scenario.describe(), file=sys.stderr)
    trained = sum(m in ("dff", "dfl") for m in methods)
    progress = _Progress(total=max(1, trained * args.epochs), disable=args.quiet)
    finished = False
    try:
        result = compare(
            scenario,
            backbone=args.backbone,
            epsilon=args.epsilon,
            methods=methods,
            seed=args.seed,
            loss=args.loss,
            epochs=args.epochs,
            on_progress=progress,
            cross_fit=args.cross_fit,
        )
        finished = True
    finally:
        progress.close(finished)
    result.timings = {"data": max(0.0, t_data), **result.timings}
    summary = result.summary()
    summary["seconds"] = time.perf_counter() - t0
    summary["scenario_description"] = scenario.describe()
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    result.per_instance.to_csv(out / "per_instance.csv", index=False)
    print(_table(summary))
    print(f"wrote {out / 'summary.json'} and {out / 'per_instance.csv'}")
    return EXIT_OK


def _table(summary: dict[str, Any]) -> str:
    unit = summary.get("unit") or ""
    lines = [
        f"{'method':<12}{'regret':>12}{'norm.regret':>13}{'mse':>12}{'mae':>10}  ({unit}, test n={summary['n_test']})"
    ]
    for name, m in summary["methods"].items():

        def f(k: str, fmt: str = "{:.4g}", m: dict = m) -> str:
            v = m.get(k)
            return "-" if v is None else fmt.format(v)

        lines.append(f"{name:<12}{f('regret_mean'):>12}{f('normalized_regret'):>13}{f('mse'):>12}{f('mae'):>10}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dff_core", description="DFF Studio: decision-focused fine-tuning from the command line."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    for module, fn in SUBPARSER_HOOKS:
        try:
            add = getattr(importlib.import_module(module), fn)
        except (ImportError, AttributeError):
            continue  # an optional subcommand that is not installed
        add(sub)
    return parser


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 unexpected failure, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    debug = bool(getattr(args, "debug", False))
    try:
        run = getattr(args, "_run", None) or args.func
        return int(run(args))
    except DataError as exc:
        for w in getattr(exc, "warnings", []) or []:
            _err(f"warning: {w}")
        for p in exc.problems:
            _err(f"error: {p}")
        return EXIT_DATA
    except (ValueError, SolverError, FileNotFoundError) as exc:
        msg = str(exc).strip().strip("'\"") or type(exc).__name__
        for line in msg.splitlines():
            _err(f"error: {line}")
        if debug:
            traceback.print_exc()
        return EXIT_DATA
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # one line for users; the traceback is for --debug
        _err(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
        if debug:
            traceback.print_exc()
        else:
            _err("run again with --debug for the traceback")
        return EXIT_FAILURE

"""Headless command line: ``python -m dff_core validate|compare|sweep ...``.

Subcommands live in :data:`COMMANDS` (see :func:`register`), so new ones plug in without
touching the others. Data problems end with exit code 2 and one line per problem on stderr;
unexpected failures with exit code 1 and a one-line message (the traceback only with
``--debug``).
"""

from __future__ import annotations

import argparse
import errno
import sys
import tempfile
import time
import traceback
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dff_core.comparison import available_methods, compare
from dff_core.data.parsing import format_duration
from dff_core.errors import DataError, SolverError
from dff_core.presets import resolve_preset
from dff_core.progress import ProgressBar
from dff_core.results import RUN_FILES, ComparisonResult
from dff_core.scenarios.spec import DATA_FIELDS, ScenarioSpec, build, load_data, spec_fields
from dff_core.selection import EPSILON_GRID, LR_GRID, is_auto
from dff_core.summary_text import summary_table
from dff_core.sweep import GRID_KEYS, GROUP_KEYS, SweepBusyError, SweepConfigError, SweepInterrupted, load_config, sweep

EXIT_OK, EXIT_FAILURE, EXIT_DATA = 0, 1, 2
#: ``OSError`` numbers of a full disk, quota or file size limit: reported (exit 2), not "unexpected".
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


@dataclass
class Command:
    """A subcommand: ``configure(parser)`` adds its arguments, ``run(args) -> exit code``."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None


#: Registered subcommands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {}


def register(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None], description: str | None = None
) -> Callable:
    """Decorator registering ``run(args) -> int`` as subcommand ``name`` (``description`` defaults to ``help``)."""

    def deco(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = Command(name, help, configure, run, description)
        return run

    return deco


# ---------------------------------------------------------------------------- scenario arguments
#: Flags whose name differs from ``--<field-name>`` of :class:`ScenarioSpec`.
FLAG_NAMES = {"kind": "--scenario"}


def flag_of(name: str) -> str:
    """The command-line flag of spec field ``name``."""
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def add_spec_arguments(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, names: tuple[str, ...] | None = None
) -> None:
    """One flag per :class:`ScenarioSpec` field (all, or ``names``); unset flags keep the spec's default.

    Values are parsed by the spec itself, so the command line accepts exactly what a sweep config
    or the dashboard does.
    """
    for name, info in spec_fields(names):
        kw: dict[str, Any] = {"dest": name, "default": None}
        default = info.get_default()
        help_text = info.description or ""
        if info.annotation is bool:
            kw["action"] = "store_true"
        else:
            choices = _literal_choices(info.annotation)
            if choices:
                kw["choices"] = choices
            if name == "metr_la":
                kw.update(nargs="?", const="", metavar="FOLDER")
            if default not in (None, False):
                shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
                help_text += f" (default {shown})"
        p.add_argument(flag_of(name), help=help_text, **kw)


def _literal_choices(annotation: Any) -> tuple[str, ...] | None:
    """The values of a ``Literal[...]`` (or ``Literal[...] | None``) annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(typing.get_args(annotation))
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal:
        return tuple(typing.get_args(args[0]))
    return None


def spec_from_args(args: argparse.Namespace, names: tuple[str, ...] | None = None) -> ScenarioSpec:
    """The scenario spec given by parsed arguments (flags left unset keep the spec's defaults)."""
    given = {name: getattr(args, name) for name, _ in spec_fields(names) if getattr(args, name, None) is not None}
    try:
        return ScenarioSpec(**given)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{flag_of(field)}: {msg}" if field else msg)
        raise ValueError("\n".join(lines)) from None


# ---------------------------------------------------------------------------- validate
def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("readings", help="readings CSV (long: timestamp,sensor_id,value; or wide: one column per sensor)")
    add_spec_arguments(p, tuple(n for n in DATA_FIELDS if n not in ("readings", "sample", "metr_la", "items")))


def _print_quality(report: Any) -> None:
    """What loading changed, first and short (the full report follows or is one flag away)."""
    if report is None:
        return
    lines = report.summary_lines()
    print("data quality: " + ("data used as given" if not lines else "loading changed the data"))
    for line in lines:
        print(f"  - {line}")


@register("validate", "check input files and print the validation report", _configure_validate)
def run_validate(args: argparse.Namespace) -> int:
    ds, report = load_data(spec_from_args(args, DATA_FIELDS))
    if ds is None:  # the positional readings file makes this unreachable; kept as a clear message
        raise DataError(f"validate: no readings were loaded from {args.readings!r}; give a readings CSV.")
    _print_quality(report)
    print(str(report))
    idx = ds.readings.index
    print(
        f"valid: {ds.readings.shape[1]} sensors, {len(idx)} time steps every {format_duration(ds.freq)} "
        f"({idx[0]} .. {idx[-1]}), {len(ds.links)} links{' (inferred)' if ds.graph_inferred else ''}, "
        f"values: {ds.value_kind} ({ds.unit})"
    )
    return EXIT_OK


# ---------------------------------------------------------------------------- compare
def _configure_compare(p: argparse.ArgumentParser) -> None:
    data = p.add_argument_group("data (give --readings, --sample, --metr-la or --items)")
    add_spec_arguments(data, DATA_FIELDS)
    scenario = p.add_argument_group("scenario")
    add_spec_arguments(scenario, tuple(n for n, _ in spec_fields() if n not in DATA_FIELDS and n != "seed"))
    p.add_argument("--backbone", default="ridge", help="ridge, linear, random_forest, gradient_boosting, mlp, ...")
    p.add_argument(
        "--preset",
        choices=tuple(PRESET_HELP),
        default="fast",
        help="; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()) + " (default fast)",
    )
    p.add_argument(
        "--epsilon",
        type=_epsilon_arg,
        default=None,
        help="DFF trust region: corrections within ±epsilon, or 'auto' (chosen on validation data); "
        "default from --preset (fast: 0.2)",
    )
    p.add_argument("--loss", default="spo+", help="decision loss (default spo+)")
    p.add_argument(
        "--methods",
        default="two_stage,dff,dfl",
        help="comma separated: two_stage, dff, dfl, dfl_backbone, dfl_scratch (linear/mlp backbones), "
        "dff_unbounded, or 'all' (every one that applies to the backbone); default two_stage,dff,dfl",
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs of every trained method (default from --preset)")
    p.add_argument("--lr", type=_lr_arg, default=None, help="learning rate or 'auto' (default from --preset)")
    p.add_argument("--members", type=int, default=None, help="fits averaged per trained method (1 = one fit)")
    p.add_argument("--seed", type=int, default=0, help="seeds the scenario's default trips and the training")
    p.add_argument(
        "--folds",
        type=int,
        default=None,
        help="rolling-origin backtest: K consecutive test windows (each as long as the test part), each trained "
        "and validated only on earlier data; pooled results and verdict",
    )
    p.add_argument(
        "--cross-fit",
        action="store_true",
        help="train DFF on forward-chained out-of-sample backbone predictions (recommended for flexible backbones)",
    )
    p.add_argument("--out", required=True, help="output folder for summary.json and per_instance.csv")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


#: ``--preset`` choices and what they mean (the engine's presets, read lazily to keep ``--help`` fast).
PRESET_HELP = {
    "fast": "ε 0.2, up to 30 epochs, lr 1e-3, one fit per method (seconds on the sample data)",
    "thorough": "ε chosen on validation data, the tuned budget, mean of 5 fits (several times the fast preset's time)",
}


def _epsilon_arg(value: str) -> float | str:
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1) such as 0.2, or 'auto'; got {value!r}") from None


def _lr_arg(value: str) -> float | str:
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number such as 1e-3, or 'auto'; got {value!r}") from None


@register(
    "compare",
    "compare two-stage, DFF and decision-focused baselines on a scenario; write the run folder",
    _configure_compare,
)
def run_compare(args: argparse.Namespace) -> int:
    if args.methods.strip().lower() == "all":
        methods = available_methods(args.backbone)
    else:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    out = prepare_out_dir(Path(args.out))
    t0 = time.perf_counter()
    eps, budget = resolve_preset(
        args.preset, "--preset", epsilon=args.epsilon, epochs=args.epochs, lr=args.lr, members=args.members
    )
    if args.folds is not None and args.folds < 1:
        raise ValueError(f"--folds must be a positive integer (1 = the scenario's own split); got {args.folds}.")
    spec = spec_from_args(args)
    if not (spec.readings or spec.sample or spec.metr_la is not None or spec.items):
        raise ValueError("no data: give --readings FILE (with --sensors), --sample, --metr-la or --items.")
    dataset, report = load_data(spec) if spec.items is None else (None, None)
    _print_quality(report)
    scenario = build(spec, dataset=dataset)
    t_data = time.perf_counter() - t0 - scenario.timings.get("features", 0.0)
    if scenario.extra.get("timing"):
        print(f"settings: {scenario.extra['timing']}; unit: {scenario.unit}")
    epochs_total = _planned_epochs(methods, eps, budget) * (args.folds or 1)
    if not args.quiet:
        print(scenario.describe(), file=sys.stderr)
        fast_eps, fast_budget = resolve_preset("fast", "--preset")
        fast_total = _planned_epochs(methods, fast_eps, fast_budget)
        if epochs_total > fast_total:
            print(
                f"preset {args.preset}: {PRESET_HELP.get(args.preset, '')}. It trains up to {epochs_total} epochs in "
                f"all (the fast preset on one split: {fast_total}), so expect up to {epochs_total / fast_total:.0f}x "
                "the fast preset's training time (early stopping usually ends sooner).",
                file=sys.stderr,
            )
    progress = ProgressBar(total=max(1, epochs_total), disable=args.quiet)
    finished = False
    try:
        result = compare(
            scenario,
            backbone=args.backbone,
            epsilon=eps,
            methods=methods,
            seed=args.seed,
            loss=args.loss,
            epochs=budget.epochs,
            lr=budget.lr,
            members=budget.members,
            preset=args.preset,
            folds=args.folds,
            on_progress=progress,
            cross_fit=args.cross_fit,
        )
        finished = True
    finally:
        progress.close(finished)
    result.wall_seconds = time.perf_counter() - t0
    if isinstance(result, ComparisonResult):  # a backtest (--folds) times each fold on its own
        result.timings = {"data": max(0.0, t_data), **result.timings}
    result.save(out)
    summary = result.summary()
    print(summary_table(summary))
    print(f"wrote {out} (summary.json and the full run; load it with dff_core.comparison.load_run)")
    return EXIT_OK


def prepare_out_dir(out: Path, flag: str = "--out") -> Path:
    """Check the run folder ``out`` before any computation, so a long run is never lost to a bad path.

    ``out`` may be new, empty or a previous run (which is replaced); a file, a folder holding other
    files, or a place where the run cannot be written (the run is written next to ``out`` and renamed
    into place) raises ``ValueError`` (exit 2) naming the flag. Missing parent folders are created.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"{flag} {out}: exists and is not a folder. Give a new or empty folder, or a previous run.")
    if out.is_dir():
        other = sorted(p.name for p in out.iterdir() if p.name not in RUN_FILES)
        if other:
            shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
            raise ValueError(f"{flag} {out}: holds files other than a run's ({shown}). Give a new or empty folder.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.probe-"):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {out}: cannot write there ({exc.strerror or exc}). Give a writable folder.") from None
    return out


def _planned_epochs(methods: Sequence[str], epsilon: Any, budget: Any) -> int:
    """Most training epochs a comparison can run: every fit of every trained method (selection candidates,
    the refit and the further ensemble members included) times the budget's epochs."""
    lr_fits = len(LR_GRID) if is_auto(budget.lr) else 1
    fits = 0
    for m in methods:
        if m == "two_stage":
            continue
        n = lr_fits * (len(EPSILON_GRID) if m == "dff" and is_auto(epsilon) else 1)
        fits += n + (1 if n > 1 else 0) + int(budget.members) - 1
    return max(1, fits * int(budget.epochs))


# ---------------------------------------------------------------------------- sweep
def _configure_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="TOML file with [scenario], [train] and [grid] tables")
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="where runs execute (default local)")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto, or ray://HEAD:10001)")
    p.add_argument("--workers", type=int, default=None, help="parallel runs (default: all cores / cluster CPUs)")
    p.add_argument("--out", required=True, help="output folder (an existing runs.csv there is resumed)")
    p.add_argument("--no-resume", action="store_true", help="recompute runs already in --out/runs.csv")
    p.add_argument("--quiet", action="store_true", help="no per-run progress lines")


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


@register(
    "sweep",
    "run compare over a grid of epsilon/seed/backbone/loss (local process pool or Ray)",
    _configure_sweep,
    description="Run compare over every combination of a TOML grid; writes runs.csv (resumable), "
    "summary.csv and pareto.csv to --out.",
)
def run_sweep(args: argparse.Namespace) -> int:
    """Execute the ``sweep`` subcommand; exit code 2 = bad config or unwritable output, 1 = some runs failed,
    128 + signal number when interrupted (130 Ctrl-C, 143 SIGTERM).
    """
    problems: list[str] = []
    if args.workers is not None and args.workers < 1:
        problems.append(f"--workers: must be a positive integer, got {args.workers}")
    if args.address and args.backend != "ray":
        problems.append("--address: only used with --backend ray")
    cfg = None
    try:
        cfg = load_config(args.config)
    except SweepConfigError as exc:
        problems.extend(exc.problems)
    if problems or cfg is None:
        for line in problems:
            _err(f"error: {line}")
        return EXIT_DATA

    def progress(done: int, total: int, row: dict) -> None:
        if args.quiet:
            return
        keys = ", ".join(f"{k}={_fmt(row[k])}" for k in GRID_KEYS if k in row)
        if "error" in row:
            print(f"[{done}/{total}] run {row['run_id']} FAILED: {row['error']}", file=sys.stderr, flush=True)
        else:
            print(
                f"[{done}/{total}] {keys}: regret dff {_fmt(row.get('regret_dff'))} "
                f"(two-stage {_fmt(row.get('regret_two_stage'))}) in {row['seconds']:.1f}s",
                file=sys.stderr,
                flush=True,
            )

    try:
        res = sweep(
            cfg.scenario,
            cfg.grid,
            backend=args.backend,
            address=args.address,
            on_progress=progress,
            out_dir=args.out,
            max_workers=args.workers,
            resume=not args.no_resume,
            train=cfg.train,
        )
    except (SweepConfigError, SweepBusyError, ImportError, FileNotFoundError) as exc:
        for line in str(exc).splitlines():
            _err(f"error: {line}")
        return EXIT_DATA
    except SweepInterrupted as exc:
        kept = f"{exc.n_done} of {exc.n_total} runs are saved in {exc.runs_file}" if exc.n_total is not None else ""
        _err(f"sweep: interrupted by {exc.signame}; its workers were stopped. {kept}".rstrip())
        _err("run the same command again to resume")
        return exc.exit_code
    print(
        f"sweep: {res.n_total} runs ({res.n_resumed} resumed, {res.n_ran} computed, {len(res.failed)} failed) "
        f"on {res.backend} with {res.workers} worker(s) in {res.seconds:.1f}s"
    )
    for name, path in res.files.items():
        if path.exists():
            print(f"  {name}: {path}")
    if not res.summary.empty:
        show = [c for c in res.summary.columns if c in GROUP_KEYS or c in ("regret_dff_mean", "regret_two_stage_mean")]
        print(res.summary[show].to_string(index=False))
    return EXIT_FAILURE if len(res.failed) else EXIT_OK


# ---------------------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dff_core", description="DFF Studio: decision-focused fine-tuning from the command line."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
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
        return int(args._run(args))
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
    except OSError as exc:
        if exc.errno not in STORAGE_ERRNOS:
            return _unexpected(exc, debug)
        where = exc.filename or getattr(args, "out", None) or "the output"
        _err(f"error: could not write {where}: {exc.strerror} (disk full or file size limit reached)")
        _err(
            "no partial file was left (what was there before is unchanged); free some space or choose another "
            "--out, then run again (a sweep resumes from its finished runs)"
        )
        return EXIT_DATA
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except MemoryError:
        _err("error: out of memory. Use smaller input files (or fewer days, sensors or epochs).")
        if debug:
            traceback.print_exc()
        return EXIT_FAILURE
    except Exception as exc:  # one line for users; the traceback is for --debug
        return _unexpected(exc, debug)


def _unexpected(exc: BaseException, debug: bool) -> int:
    """Report an unexpected error in one line (the traceback only with ``--debug``); exit code 1."""
    _err(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
    if debug:
        traceback.print_exc()
    else:
        _err("run again with --debug for the traceback")
    return EXIT_FAILURE

"""Rebuild the paper-style report from ``raw.csv`` only: ``python -m benchmarks.paper.report``.

``raw.csv`` has one row per (task, degree, training size, backbone, seed, arm). Everything written to
``table.md``, ``paired.csv``, ``targets.csv``, ``regret_vs_shift.png`` and to the
``## Paper-style synthetic experiments`` section of RESULTS.md is computed from that file, so no
number in the report is typed by hand. Comparisons across seeds are paired (the same data set and
backbone for both arms): a 95% bootstrap interval of the mean difference and a Wilcoxon signed-rank
p-value per cell, and the same pooled over the cells of a target (:mod:`dff_core.stats`).

This module joins runs (``--merge``) and writes the output files and the RESULTS.md section. The
numbers come from :mod:`benchmarks.paper.paired` and :mod:`benchmarks.paper.targets`, the markdown from
:mod:`benchmarks.paper.tables` and the figure from :mod:`benchmarks.paper.regret_shift`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.paper.labels import BACKBONE_LABELS, TASK_LABELS
from benchmarks.paper.paired import head_to_head, paired_table
from benchmarks.paper.raw import KEYS, load_raw, summarize
from benchmarks.paper.regret_shift import regret_shift_figure, shift_points_table
from benchmarks.paper.tables import (
    budget_table,
    cross_fit_table,
    head_to_head_table,
    rule_table,
    tables_markdown,
    targets_table,
)
from benchmarks.paper.targets import targets
from benchmarks.paper.tune_members import members_table

SECTION_TITLE = "## Paper-style synthetic experiments"


def write_outputs(raw: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Write ``summary.csv``, ``paired.csv``, ``targets.csv``, ``table.md`` and ``regret_vs_shift.png``."""
    out.mkdir(parents=True, exist_ok=True)
    summarize(raw).to_csv(out / "summary.csv", index=False)
    paired_table(raw).to_csv(out / "paired.csv", index=False)
    tg = targets(raw)
    tg.to_csv(out / "targets.csv", index=False)
    fig = regret_shift_figure(raw, out / "regret_vs_shift.png")
    (out / "table.md").write_text(
        "# Paper-style synthetic experiments\n\n## Targets\n\n"
        + targets_table(tg)
        + "\n\n## Head to head (n_train ≥ 100, pooled over sizes and seeds)\n\n"
        + head_to_head_table(head_to_head(raw))
        + "\n\n## Regret versus prediction shift\n\n"
        + ("![regret versus shift](regret_vs_shift.png)\n\n" if fig else "")
        + shift_points_table(raw)
        + "\n\n## Tables\n\n"
        + tables_markdown(raw)
        + "\n",
        encoding="utf-8",
    )
    return tg


def print_targets(tg: pd.DataFrame, log=print) -> None:
    """One line per target: met or missed, with the measured value."""
    for _, r in tg.iterrows():
        log(f"[{r['verdict']:>6}] {r['target']}: {r['measured']:.4g} (threshold {r['threshold']:.4g})")


def replace_section(text: str, title: str, body: str) -> str:
    """Replace (or append) the ``## title`` section of a markdown document, leaving the others untouched."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == title), None)
    new = [title, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        out = [*lines]
        if out and out[-1].strip():
            out.append("")
        return "\n".join([*out, *new]).rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join([*lines[:start], *new, *lines[end:]]).rstrip("\n") + "\n"


def _budget_intro(df: pd.DataFrame, seeds: list[int]) -> str:
    return (
        "\n### Tuning of the default budget (tuning seeds only)\n\n"
        f"`python -m benchmarks.paper.tune --part budget` on seeds {seeds} "
        "(never used for the results above), linear backbone, ε ∈ "
        f"{sorted(df['epsilon'].unique().tolist())}: held-out regret of the kept epoch relative to two-stage, "
        "with epochs, learning rate and patience varied independently (each budget replayed from one long run "
        "per learning rate; the held-out rows never chose the epoch).\n"
    )


def _cross_fit_intro(df: pd.DataFrame, seeds: list[int]) -> str:
    return f"\nBackbone training predictions for DFF (seeds {seeds}, degree 6; held-out regret of DFF / two-stage):\n"


def _epsilon_intro(df: pd.DataFrame, seeds: list[int]) -> str:
    return (
        f"\nChoosing ε: `python -m benchmarks.paper.tune_epsilon --out benchmarks/paper/out` (seeds {seeds}, "
        "linear backbone, default budget). Each rule picks one ε per run from its own scores; shown is the test "
        "regret of the DFF it picked, relative to two-stage (mean over runs), and how often that beats DFL of the "
        "linear model from the backbone's weights; the worst well-specified cell is the ratio of the means over "
        "seeds, as in the safeguard target:\n"
    )


def _members_intro(df: pd.DataFrame, seeds: list[int]) -> str:
    cells = df[["task", "deg", "n_train"]].drop_duplicates()
    return (
        "\nAveraging fits (`n_members`): `python -m benchmarks.paper.tune_members` on a run of seeds "
        f"{seeds} (never used for the results above; the command is in its docstring), linear backbone, "
        f"degrees {sorted(cells['deg'].unique().tolist())}, training sizes "
        f"{sorted(cells['n_train'].unique().tolist())}: paired test regret of the mean of five fits and one fit, "
        "for DFF and for DFL from the backbone's weights, and of the two against each other:\n"
    )


#: Tuning studies shown after the notes when their CSV is in the output folder: (file, introduction, table).
_TUNING: tuple[tuple[str, Callable[[pd.DataFrame, list[int]], str], Callable[[pd.DataFrame], str]], ...] = (
    ("tune_budget.csv", _budget_intro, budget_table),
    ("tune_cross_fit.csv", _cross_fit_intro, cross_fit_table),
    ("tune_epsilon.csv", _epsilon_intro, rule_table),
    ("tune_members.csv", _members_intro, members_table),
)


def results_section(out: Path, notes: str = "") -> str:
    """Body of the RESULTS.md section, built from ``out/raw.csv``, ``out/config.json`` and the tuning CSVs."""
    raw = load_raw(out / "raw.csv")
    cfg = json.loads((out / "config.json").read_text(encoding="utf-8")) if (out / "config.json").exists() else {}
    tg = targets(raw)
    parts = []
    if cfg:
        parts.append(_setup_text(cfg, raw))
    parts.append("### Targets\n")
    parts.append(
        "Each target is *met* or *missed* as measured. Main cells: degree ≥ 4, n_train ≥ 100, linear backbone, "
        "DFF with its default settings. Paired across seeds (same data, same backbone); pooled tests over all "
        "runs of the cells.\n"
    )
    parts.append(targets_table(tg))
    parts.append("\n### Head to head (n_train ≥ 100, pooled over sizes and seeds)\n")
    parts.append(head_to_head_table(head_to_head(raw)))
    parts.append("\n### Regret versus prediction shift\n")
    if (out / "regret_vs_shift.png").exists():
        parts.append(f"![regret versus shift]({(out / 'regret_vs_shift.png').as_posix()})\n")
    parts.append(shift_points_table(raw))
    if notes:
        parts.append("\n" + notes.strip())
    for name, intro, table in _TUNING:
        if (out / name).exists():
            df = pd.read_csv(out / name)
            parts.append(intro(df, sorted(df["seed"].unique().tolist())))
            parts.append(table(df))
    parts.append("")
    parts.append(tables_markdown(raw))
    return "\n".join(parts)


def _out_name(part: dict[str, Any]) -> str:
    """The output folder a part's command wrote to (what names the part)."""
    return str(part.get("command", "")).split("--out ")[-1].split(" ")[0]


def _cross_fit_text(cf: dict[str, Any]) -> str:
    """How each backbone's training predictions for DFF were made (blocks, or blocks per training size)."""

    def blocks(k: Any) -> str:
        if isinstance(k, dict):
            return ", ".join(f"{v} blocks at n = {n}" for n, v in k.items())
        return f"{k} blocks"

    text = ", ".join(f"{BACKBONE_LABELS.get(b, b)} forward-chained out-of-sample ({blocks(k)})" for b, k in cf.items())
    return text or "in-sample"


def _setup_text(cfg: dict, raw: pd.DataFrame) -> str:
    seeds = sorted(raw["seed"].unique().tolist())
    wall, cpu, load = cfg.get("wall_seconds"), cfg.get("cpu_seconds"), cfg.get("load_average_at_end")
    timing = ""
    if wall:
        timing = f" (wall time {wall / 60:.1f} min with {cfg.get('jobs')} worker processes"
        if cpu:
            timing += f"; {cpu / 60:.1f} CPU-minutes in the cells"
        if load:
            timing += f"; machine load average {load[0]:.1f} when it ended, the machine being shared"
        timing += ")"
    commit = cfg.get("git_commit")
    cf = cfg.get("cross_fit", {})
    parts = cfg.get("parts") or []
    if parts:
        commits = list(dict.fromkeys(p.get("git_commit") for p in parts if p.get("git_commit")))
        several = len(commits) > 1  # then each command names its own commit
        cmds = "; ".join(
            f"`{p.get('command')}` ({(p.get('wall_seconds') or 0) / 60:.0f} min wall, "
            f"arms {', '.join(p.get('arms') or [])}"
            + (f", commit `{str(p.get('git_commit'))[:12]}`" if several and p.get("git_commit") else "")
            + ")"
            for p in parts
        )
        first = (
            f"Commands (one run per part of the grid, joined by `python -m benchmarks.paper.report --merge`): {cmds}."
            + (f" Code: commit `{commits[0]}`." if len(commits) == 1 else "")
        )
    else:
        first = f"Command: `{cfg.get('command', 'python -m benchmarks.paper.run')}`{timing}." + (
            f" Code: commit `{commit}`." if commit else ""
        )
    lines = [
        first,
        f"Seeds: {len(seeds)} ({', '.join(str(s) for s in seeds)}); each seed redraws the data and the models' "
        f"initial weights. Test instances per run: {cfg.get('n_test')}. The validation split "
        f"({int(100 * cfg.get('val_fraction', 0.2))}% of the training instances) chooses every arm's epoch and "
        "DFF's ε (ε on its later half, the epoch on its earlier half; dff_core.selection); test data is never "
        "used for any choice.",
        f"Budget of every decision-focused arm (the same for all): up to {cfg.get('epochs')} epochs, Adam lr "
        f"{cfg.get('lr')}, early-stopping patience {cfg.get('patience')}, batch {cfg.get('batch_size')}, loss SPO+, "
        f"best validation epoch kept. DFF and every DFL arm average {cfg.get('members', 5)} fits with consecutive "
        "seeds (the first choosing ε and the step size, the others reusing them); the regret-versus-shift arms "
        f"(DFF at fixed ε, without trust region) are {cfg.get('sweep_members', 1)} fit each. "
        f"Correction network {tuple(cfg.get('hidden', ()))}. DFF at fixed ε "
        f"{cfg.get('epsilons')} and without trust region for the {', '.join(cfg.get('sweep_backbones', []))} "
        "backbone; DFL of the backbone's own class (linear, MLP) from its weights and from scratch; the linear "
        "DFL from its own ridge fit under the linear backbone.",
        "DFF's training ĉ: "
        + _cross_fit_text(cf)
        + f" (scheme {cfg.get('cross_fit_scheme', 'forward')}); in-sample otherwise"
        + "".join(
            f"; in the run `{_out_name(p)}`: {_cross_fit_text(p['cross_fit'])}"
            for p in parts
            if p.get("cross_fit") is not None and p["cross_fit"] != cf
        )
        + ".",
    ]
    grids = [p.get("grid") or {} for p in parts] if parts else [cfg.get("grid", {})]
    for task, spec in ((t, sp) for g in grids for t, sp in g.items()):
        lines.append(
            f"{TASK_LABELS.get(task, task)}: degrees {spec.get('degs')}, training sizes {spec.get('n_trains')}, "
            f"backbones {', '.join(BACKBONE_LABELS.get(b, b) for b in spec.get('backbones', []))}"
            + (f", {spec['n_test']} test instances" if spec.get("n_test") else "")
            + "."
        )
    for note in cfg.get("left_out") or []:
        lines.append(f"Not reported (unfinished when the run was stopped): {note}.")
    for note in cfg.get("replaced") or []:
        lines.append(f"Rerun: {note}.")
    if cfg.get("renamed"):
        lines.append(
            "Arms renamed after they ran (the rows are the same computations under today's names; the commands "
            f"and rerun notes above name the arms as they were run): {'; '.join(cfg['renamed'])}."
        )
    return "\n".join(f"- {ln}" for ln in lines) + "\n"


def update_results(results_md: Path, out: Path, notes: str = "") -> None:
    """Write this experiment's section into RESULTS.md (created with a one-line intro when absent)."""
    body = results_section(out, notes)
    text = (
        results_md.read_text(encoding="utf-8")
        if results_md.exists()
        else "# Results\n\nMeasured results of DFF Studio's experiments; each section says how to regenerate it.\n"
    )
    results_md.write_text(replace_section(text, SECTION_TITLE, body), encoding="utf-8")


def _grid_cells(grid: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The (task, degree, size, backbone) cells of a run's grid (its ``config.json`` form)."""
    return {
        (task, deg, n, bb)
        for task, g in grid.items()
        for deg in g["degs"]
        for n in g["n_trains"]
        for bb in g["backbones"]
    }


def _rename_earlier(df: pd.DataFrame, cfg: dict[str, Any], rename: dict[str, str]) -> pd.DataFrame:
    """An earlier merge's rows and parts with arms renamed (all at once, so ``a=b b=c`` swaps cleanly); the
    renames are recorded in ``cfg["renamed"]``."""
    if not rename:
        return df
    df = df.assign(method=df["method"].map(lambda m: rename.get(m, m)))
    for part in cfg["parts"]:
        part["arms"] = [rename.get(a, a) for a in part.get("arms") or []]
    cfg["renamed"] = [*cfg.get("renamed", []), *(f"{a} → {b}" for a, b in rename.items())]
    return df


def merge_runs(parts: list[Path], out: Path, rename: dict[str, str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Join several runs' rows into ``out/raw.csv`` and their settings into ``out/config.json``.

    Each part is a run folder (``raw.csv``, or ``raw.partial.csv`` of a run that was stopped) or an
    earlier merge (its ``config.json`` lists ``parts``: they are carried over, so new runs can be added
    to the published results without the old run folders). A (task, degree, size, backbone) group that
    has fewer seeds than the part's fullest group is left out, so every reported cell has the same seeds;
    the returned notes say what was left out (an earlier merge's note is dropped once another part
    supplies that group). The (group, arm) rows a new run supplies replace the earlier merge's rows of them
    (other arms of the group are kept, so a run may add arms to published cells), and ``config.json`` lists
    them under ``replaced``. ``rename`` maps arm names of the earlier merge's rows to new ones (when what an
    arm computes moved to another name), recorded under ``renamed``.
    """
    frames, configs, notes, earlier_notes, replaced, earlier_parts = [], [], [], [], [], []
    renamed: list[str] = []
    earlier: pd.DataFrame | None = None  # rows of an earlier merge; a new run's cells replace them
    settings: dict[str, Any] | None = None  # the run settings shown once (from the first part)
    for part in parts:
        path = part / "raw.csv" if (part / "raw.csv").exists() else part / "raw.partial.csv"
        df = load_raw(path)
        cfg_path = part / "config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.exists() else {}
        if "parts" in cfg:  # an earlier merge: its rows are already complete per cell
            df = _rename_earlier(df, cfg, rename or {})
            renamed.extend(cfg.get("renamed", []))
            earlier = df if earlier is None else pd.concat([earlier, df], ignore_index=True)
            configs.extend(cfg["parts"])
            earlier_parts.extend(cfg["parts"])
            replaced.extend(cfg.get("replaced", []))
            earlier_notes.extend(cfg.get("left_out", []))
            settings = settings or {
                k: v for k, v in cfg.items() if k not in ("parts", "left_out", "replaced", "renamed")
            }
            continue
        seeds = df.groupby(KEYS)["seed"].nunique()
        short = seeds[seeds < seeds.max()]
        for key, n in short.items():
            notes.append(f"{part.name}: left out {'/'.join(str(k) for k in key)} ({n} of {seeds.max()} seeds finished)")
        keep = ~df.set_index(KEYS).index.isin(short.index)
        frames.append(df[keep])
        cfg["rows_from"] = path.name
        configs.append(cfg)
        settings = settings or cfg
    if earlier is not None:
        by = [*KEYS, "method"]
        new_rows = set(pd.concat(frames, ignore_index=True).groupby(by).groups) if frames else set()
        again = earlier.set_index(by).index.isin(list(new_rows))
        # say which replaced rows changed; a deterministic arm rerun (two-stage) gives the same numbers
        run = [*by, "seed"]
        fresh = pd.concat([*frames, earlier.iloc[:0]], ignore_index=True).set_index(run)["normalized_regret"]
        fresh = fresh[~fresh.index.duplicated()]
        old = earlier.loc[again].set_index(run)["normalized_regret"]
        same = (old - fresh.reindex(old.index)).abs().to_numpy() <= 1e-12 * (1 + old.abs().to_numpy())
        for key, g in earlier.loc[again][~same].groupby(KEYS):
            arms = ", ".join(sorted(g["method"].unique()))
            replaced.append(
                f"{'/'.join(str(k) for k in key)} ({arms}) from a later run replaces the earlier rows (same seeds)"
            )
        frames.insert(0, earlier[~again])
        kept = {tuple(k) for k in earlier.loc[~again, KEYS].itertuples(index=False)}
        for cfg in [c for c in configs if c.get("grid") and "rows_from" in c and c in earlier_parts]:
            if not _grid_cells(cfg["grid"]) & kept:  # every row of this earlier part was replaced
                configs.remove(cfg)
                replaced.append(f"every row of `{cfg.get('command')}` was replaced by later runs")
    raw = pd.concat(frames, ignore_index=True)
    present = {"/".join(str(k) for k in key) for key in raw.groupby(KEYS).groups}
    notes = [n for n in earlier_notes if n.split("left out ", 1)[1].split(" (", 1)[0] not in present] + notes
    # Parts may share deterministic rows (two-stage is the same fit in every run of a cell); any other repeat
    # would make the result depend on the order of the parts.
    run = [*KEYS, "seed", "method"]
    dup = raw.duplicated(run)
    if dup.any():
        spread = raw[raw.duplicated(run, keep=False)].groupby(run)[["normalized_regret", "mse"]].agg(np.ptp)
        clash = spread[(spread > 1e-12 * (1 + raw["normalized_regret"].abs().max())).any(axis=1)]
        if len(clash):
            raise ValueError(
                f"{len(clash)} (cell, seed, method) rows appear in more than one part with different results "
                f"(first: {'/'.join(str(k) for k in clash.index[0])}); merge disjoint runs"
            )
        raw = raw[~dup]
    raw = raw.sort_values([*KEYS, "seed", "method"]).reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=True)
    raw.to_csv(out / "raw.csv", index=False)
    merged = {k: v for k, v in (settings or {}).items() if k not in ("grid", "command", "wall_seconds", "cpu_seconds")}
    merged["parts"] = [
        {
            k: c.get(k)
            for k in ("command", "grid", "arms", "wall_seconds", "cpu_seconds", "git_commit", "rows_from", "cross_fit")
        }
        for c in configs
    ]
    merged["left_out"] = notes
    merged["replaced"] = replaced
    merged["renamed"] = renamed
    (out / "config.json").write_text(json.dumps(merged, indent=2), encoding="utf-8")
    return raw, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Rebuild the paper-style tables (and RESULTS.md section) from raw.csv.")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/paper/out"), help="folder holding raw.csv")
    ap.add_argument("--merge", type=Path, nargs="*", default=None,
                    help="run folders whose rows are joined into OUT/raw.csv first (disjoint grids)")  # fmt: skip
    ap.add_argument("--rename", nargs="*", default=[], metavar="OLD=NEW",
                    help="rename arms of the earlier merge's rows while merging (applied all at once)")  # fmt: skip
    ap.add_argument("--results", type=Path, default=None, help="RESULTS.md to update (section only)")
    ap.add_argument("--notes", type=Path, default=None, help="markdown file with notes to include in the section")
    args = ap.parse_args(argv)
    rename = dict(r.split("=", 1) for r in args.rename if "=" in r)
    if len(rename) != len(args.rename):
        ap.error("--rename: give OLD=NEW pairs, e.g. dff_ens=dff")
    if args.merge:
        _, left_out = merge_runs(args.merge, args.out, rename)
        for note in left_out:
            print(note)
    raw = load_raw(args.out / "raw.csv")
    tg = write_outputs(raw, args.out)
    if args.results is not None:
        notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
        update_results(args.results, args.out, notes)
    print((args.out / "table.md").read_text(encoding="utf-8"))
    print_targets(tg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

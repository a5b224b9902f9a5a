"""Sweep configuration: the ``[scenario]``, ``[train]`` and ``[grid]`` tables of a TOML file, validated.

Every problem is reported at once as ``table.key: what is wrong`` (:class:`SweepConfigError`), so
a user fixes a config file in one go. The scenario table is a
:class:`~dff_core.scenarios.spec.ScenarioSpec`; grid values are checked against the engine's own
registries (backbones, decision losses), so a sweep accepts exactly what ``compare`` does.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dff_core.backbones import BACKBONES
from dff_core.data.parsing import parse_duration
from dff_core.losses import resolve_loss
from dff_core.scenarios.spec import ScenarioSpec


class SweepConfigError(ValueError):
    """A sweep configuration has problems; ``problems`` holds one readable line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def known_backbones() -> tuple[str, ...]:
    """Backbone names ``compare`` accepts (the engine's registry)."""
    return tuple(BACKBONES)


def check_loss(name: str) -> str:
    """Validate a decision-loss name with the estimator's own resolver (so the sweep accepts what DFF does)."""
    resolve_loss(name)
    return name


def _as_list(v: Any) -> Any:
    return [v] if isinstance(v, (str, int, float)) and not isinstance(v, bool) else v


def _no_duplicates(values: list, name: str) -> list:
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{name} lists {v!r} twice; each value may appear once")
        seen.add(v)
    return values


class GridConfig(BaseModel):
    """The values to sweep; the sweep runs every combination (a scalar counts as a one-value list)."""

    model_config = ConfigDict(extra="forbid")

    epsilon: list[float] = Field(default_factory=lambda: [0.2], min_length=1)
    seed: list[int] = Field(default_factory=lambda: [0], min_length=1)
    backbone: list[str] = Field(default_factory=lambda: ["ridge"], min_length=1)
    loss: list[str] = Field(default_factory=lambda: ["spo+"], min_length=1)
    horizon: list[str] | None = Field(default=None, min_length=1)

    @field_validator("epsilon", "seed", "backbone", "loss", "horizon", mode="before")
    @classmethod
    def _scalar_to_list(cls, v: Any) -> Any:
        return _as_list(v)

    @field_validator("epsilon")
    @classmethod
    def _check_epsilon(cls, v: list[float]) -> list[float]:
        for e in v:
            if not (math.isfinite(e) and 0.0 < e < 1.0):
                raise ValueError(f"every epsilon must be strictly between 0 and 1 (e.g. 0.1, 0.2); got {e!r}")
        return _no_duplicates(v, "epsilon")

    @field_validator("seed")
    @classmethod
    def _check_seed(cls, v: list[int]) -> list[int]:
        for s in v:
            if s < 0:
                raise ValueError(f"seeds must be non-negative integers; got {s!r}")
        return _no_duplicates(v, "seed")

    @field_validator("backbone")
    @classmethod
    def _check_backbone(cls, v: list[str]) -> list[str]:
        known = known_backbones()
        for b in v:
            if b not in known:
                raise ValueError(f"unknown backbone {b!r}; choose from {', '.join(known)}")
        return _no_duplicates(v, "backbone")

    @field_validator("loss")
    @classmethod
    def _check_loss(cls, v: list[str]) -> list[str]:
        for s in v:
            try:
                check_loss(s)
            except ValueError as exc:
                raise ValueError(f"unknown loss {s!r} ({exc})") from None
        return _no_duplicates(v, "loss")

    @field_validator("horizon")
    @classmethod
    def _check_horizon(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for h in v:
            parse_duration(h, "horizon")
        return _no_duplicates(v, "horizon")

    def axes(self) -> dict[str, list]:
        """The swept dimensions in run order (horizon first: each horizon needs its own scenario)."""
        out: dict[str, list] = {}
        if self.horizon is not None:
            out["horizon"] = list(self.horizon)
        out.update(backbone=list(self.backbone), loss=list(self.loss), epsilon=list(self.epsilon), seed=list(self.seed))
        return out


class TrainConfig(BaseModel):
    """Options passed to every ``compare`` call of the sweep (unset ones keep ``compare``'s defaults)."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=30, ge=1, le=100_000)
    methods: list[Literal["two_stage", "dff", "dfl"]] = Field(
        default_factory=lambda: ["two_stage", "dff", "dfl"], min_length=1
    )
    lr: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, ge=1)

    @field_validator("methods")
    @classmethod
    def _need_dff(cls, v: list[str]) -> list[str]:
        if "dff" not in v:
            raise ValueError("methods must include 'dff' (the sweep measures DFF's regret and shift)")
        return _no_duplicates(v, "methods")

    def compare_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``compare``."""
        out: dict[str, Any] = {"epochs": self.epochs, "methods": tuple(self.methods)}
        out.update({k: getattr(self, k) for k in ("lr", "batch_size") if getattr(self, k) is not None})
        return out


class SweepConfig(BaseModel):
    """A whole sweep file: ``[scenario]``, ``[train]`` and ``[grid]`` tables."""

    model_config = ConfigDict(extra="forbid")

    scenario: ScenarioSpec = Field(default_factory=ScenarioSpec)
    train: TrainConfig = Field(default_factory=TrainConfig)
    grid: GridConfig = Field(default_factory=GridConfig)


# ---------------------------------------------------------------------------- readable problems
def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One ``key.path: message`` line per validation error of ``model`` (unknown keys list the allowed ones)."""
    problems = []
    for err in exc.errors():
        where = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = err["loc"][:-1]
            sub: Any = model
            for part in parent:
                sub = sub.model_fields[part].annotation if isinstance(part, str) else sub
            allowed = [k for k in getattr(sub, "model_fields", {}) if k != "base_dir"]
            msg = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif err["type"] == "too_short":
            msg = "must list at least one value"
        problems.append(f"{where}: {msg}" if where else msg)
    return problems


# ---------------------------------------------------------------------------- parsing
def parse_config(data: Mapping[str, Any], base_dir: str | Path | None = None) -> SweepConfig:
    """Validate a sweep config given as a mapping; raises :class:`SweepConfigError` listing every problem."""
    if not isinstance(data, Mapping):
        raise SweepConfigError([f"sweep config must be a table of tables, got {type(data).__name__}"])
    data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    if isinstance(data.get("scenario", {}), dict):
        data.setdefault("scenario", {})["base_dir"] = str(base_dir) if base_dir is not None else None
    try:
        cfg = SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise SweepConfigError(pydantic_problems(exc, SweepConfig)) from None
    problems = cfg.scenario.problems()
    if cfg.grid.horizon is not None and "horizon" in cfg.scenario.model_fields_set:
        problems.append("grid.horizon: also set in [scenario]; set the horizon in one place only")
    if cfg.grid.horizon is not None and cfg.scenario.kind == "allocation" and cfg.scenario.items is not None:
        problems.append("grid.horizon: an items table has no horizon; remove horizon from the grid")
    if problems:
        raise SweepConfigError(problems)
    return cfg


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a TOML sweep file (relative data paths resolve against its folder, then cwd)."""
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError([f"{path}: config file not found"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SweepConfigError([f"{path}: not valid TOML ({exc})"]) from None
    return parse_config(data, base_dir=path.resolve().parent)


def as_grid(grid: GridConfig | Mapping[str, Any]) -> GridConfig:
    """``grid`` as a validated :class:`GridConfig` (problems prefixed ``grid.``)."""
    if isinstance(grid, GridConfig):
        return grid
    try:
        return GridConfig.model_validate(dict(grid))
    except ValidationError as exc:
        raise SweepConfigError([f"grid.{p}" for p in pydantic_problems(exc, GridConfig)]) from None


def as_train(train: TrainConfig | Mapping[str, Any] | None) -> TrainConfig:
    """``train`` as a validated :class:`TrainConfig` (problems prefixed ``train.``)."""
    if isinstance(train, TrainConfig):
        return train
    try:
        return TrainConfig.model_validate(dict(train or {}))
    except ValidationError as exc:
        raise SweepConfigError([f"train.{p}" for p in pydantic_problems(exc, TrainConfig)]) from None


def as_spec(scenario: ScenarioSpec | Mapping[str, Any]) -> ScenarioSpec:
    """``scenario`` as a validated :class:`ScenarioSpec` (problems prefixed ``scenario.``, files checked)."""
    if isinstance(scenario, ScenarioSpec):
        return scenario
    try:
        spec = ScenarioSpec.model_validate(dict(scenario))
    except ValidationError as exc:
        raise SweepConfigError(
            [f"scenario.{p}" if not p.startswith("scenario") else p for p in pydantic_problems(exc, ScenarioSpec)]
        ) from None
    if problems := spec.problems():
        raise SweepConfigError(problems)
    return spec

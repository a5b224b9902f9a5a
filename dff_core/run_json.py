"""JSON forms of the tables, indexes and values a run folder stores (no pickle anywhere)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_default"]


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _table_json(df: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as JSON without loss: columns, dtypes, and values (NaN as null)."""
    data = {str(c): [None if isinstance(v, float) and v != v else v for v in df[c].tolist()] for c in df.columns}
    return {
        "columns": [str(c) for c in df.columns],
        "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
        "data": data,
    }


def _table_from_json(obj: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame({c: obj["data"][c] for c in obj["columns"]}, columns=obj["columns"])
    return df.astype({c: t for c, t in obj["dtypes"].items() if t != "object"})


def _times_json(times: pd.Index | None) -> dict[str, Any] | None:
    if times is None:
        return None
    if isinstance(times, pd.DatetimeIndex):
        tz = None if times.tz is None else str(times.tz)
        return {"kind": "datetime", "tz": tz, "values": [None if pd.isna(t) else t.isoformat() for t in times]}
    return {"kind": "values", "values": [v.item() if isinstance(v, np.generic) else v for v in times]}


def _times_from_json(obj: dict[str, Any] | None) -> pd.Index | None:
    if obj is None:
        return None
    if obj["kind"] == "datetime":
        return pd.DatetimeIndex(_as_datetime(pd.Series(obj["values"], dtype=object), obj.get("tz")))
    return pd.Index(obj["values"])


def _as_datetime(values: pd.Series, tz: str | None) -> pd.Series:
    """ISO timestamps back to datetimes, in time zone ``tz`` (offsets may differ across a DST change)."""
    if tz is None:
        return pd.to_datetime(values)
    return pd.to_datetime(values, utc=True).dt.tz_convert(tz)

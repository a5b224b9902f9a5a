"""Input checks shared by the estimators: messages name the argument, row and column."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.errors import DataError
from dff_core.validation import as_2d, check_hidden, check_training_params


def test_as_2d_shapes_and_messages() -> None:
    np.testing.assert_array_equal(as_2d("x", [1, 2], n_cols=1, owner="o"), [[1.0], [2.0]])
    with pytest.raises(DataError, match=r"o: argument 'A' must be a 2-D array"):
        as_2d("A", [1, 2], owner="o")
    with pytest.raises(DataError, match=r"'A' must have 3 columns; got 2"):
        as_2d("A", np.zeros((4, 2)), 3, owner="o")
    with pytest.raises(DataError, match=r"'A' has 4 rows but 5 were expected"):
        as_2d("A", np.zeros((4, 2)), n_rows=5, owner="o")
    bad = np.zeros((3, 3))
    bad[2, 1] = np.inf
    with pytest.raises(DataError, match=r"non-finite value \(inf\) at row 2, column 1"):
        as_2d("A", bad, owner="o")
    with pytest.raises(DataError, match="must be numeric"):
        as_2d("A", [["a", "b"]], owner="o")


def test_hidden_and_training_parameters() -> None:
    assert check_hidden([8, 4]) == (8, 4) and check_hidden(()) == ()
    for bad in ((0,), (2.5,), "ab"):
        with pytest.raises(ValueError, match="positive integers"):
            check_hidden(bad)  # type: ignore[arg-type]
    check_training_params("DFF", 0, 1e-3, 1, None)
    for kw, word in (({"epochs": -1}, "epochs"), ({"lr": 0.0}, "lr"), ({"batch_size": 0}, "batch_size")):
        args = {"epochs": 1, "lr": 1e-3, "batch_size": 8, "patience": None, **kw}
        with pytest.raises(ValueError, match=f"DFF: {word}"):
            check_training_params("DFF", **args)
    with pytest.raises(ValueError, match="patience"):
        check_training_params("DFL", 1, 1e-3, 8, 0)
    for lr in ("auto", "fast", None):  # what a user may pass; "auto" is resolved before training
        with pytest.raises(ValueError, match=f"DFF: lr must be a positive number such as 1e-3; got {lr!r}"):
            check_training_params("DFF", 1, lr, 8, None)  # type: ignore[arg-type]

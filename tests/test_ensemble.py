"""Seed ensembles: members differ only in their seed, share the chosen ε, and average inside the trust region."""

from __future__ import annotations

import numpy as np
import pytest

from dff_core.baselines import DFL
from dff_core.data.synthetic import shortest_path_data
from dff_core.dff import DFF
from dff_core.ensemble import SeedEnsemble
from dff_core.metrics import relative_shift


def _data(n: int = 60, seed: int = 0):
    data = shortest_path_data(n, 4, grid=(3, 3), deg=4, noise_width=0.25, seed=seed)
    X, C = data.X, data.C
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(n)], C, rcond=None)
    return data.problem, X, np.abs(np.c_[X, np.ones(n)] @ coef) + 0.05, C


def test_dff_ensemble_is_the_mean_of_members_with_consecutive_seeds() -> None:
    problem, X, C_hat, C = _data()
    base = DFF(problem, epsilon=0.4, epochs=4, lr=1e-2, batch_size=16, seed=7, n_members=1)
    ens = SeedEnsemble(base, n_members=3).fit(X, C_hat, C)
    assert [m.seed for m in ens.members_] == [7, 8, 9] and ens.epsilon_ == 0.4
    # each member is exactly the single model with that seed
    for m in ens.members_:
        single = DFF(problem, epsilon=0.4, epochs=4, lr=1e-2, batch_size=16, seed=m.seed, n_members=1).fit(X, C_hat, C)
        np.testing.assert_allclose(m.predict(X, C_hat), single.predict(X, C_hat), rtol=0, atol=0)
    preds = np.stack([m.predict(X, C_hat) for m in ens.members_])
    assert not np.allclose(preds[0], preds[1])  # different seeds, different corrections
    np.testing.assert_allclose(ens.predict(X, C_hat), preds.mean(axis=0), rtol=1e-15)
    # the average stays inside the members' trust region on every coefficient
    assert relative_shift(C_hat, ens.predict(X, C_hat)).max() <= 0.4 + 1e-12


def test_auto_epsilon_is_chosen_once_and_shared() -> None:
    problem, X, C_hat, C = _data(80)
    ens = SeedEnsemble(DFF(problem, epsilon="auto", epochs=3, lr=1e-2, batch_size=16), n_members=2).fit(X, C_hat, C)
    first, second = ens.members_
    assert first.selection_ is not None and second.selection_ is None  # only the first member selects
    assert second.epsilon == first.epsilon_ == ens.epsilon_ and second.lr == first.lr_ == ens.lr_


def test_dfl_ensemble_from_the_backbone_and_one_member_is_the_estimator() -> None:
    problem, X, _, C = _data()
    base = DFL(problem, model="linear", epochs=3, lr=1e-2, batch_size=16, seed=3, n_members=1)
    one = SeedEnsemble(base, n_members=1).fit(X, C)
    np.testing.assert_allclose(one.predict(X), DFL(**base.get_params()).fit(X, C).predict(X), rtol=0, atol=0)
    two = SeedEnsemble(base, n_members=2).fit(X, C)
    np.testing.assert_allclose(two.predict(X), np.mean([m.predict(X) for m in two.members_], axis=0))
    assert len(two.best_epochs_) == 2


def test_should_stop_keeps_the_members_fitted_so_far(monkeypatch) -> None:
    problem, X, C_hat, C = _data()
    fitted: list[DFF] = []
    fit = DFF.fit

    def fit_and_count(self, *a, **k):  # type: ignore[no-untyped-def]
        fitted.append(fit(self, *a, **k))
        return fitted[-1]

    monkeypatch.setattr(DFF, "fit", fit_and_count)
    ens = SeedEnsemble(DFF(problem, epsilon=0.3, epochs=2, batch_size=16), n_members=4)
    ens.fit(X, C_hat, C, should_stop=lambda: len(fitted) >= 1)  # stop once the first member is done
    assert len(fitted) == 1 and ens.members_ == fitted


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "5"])
def test_bad_member_count_names_the_argument(n) -> None:
    problem, X, C_hat, C = _data(20)
    with pytest.raises(ValueError, match="n_members must be a positive integer"):
        SeedEnsemble(DFF(problem), n_members=n).fit(X, C_hat, C)


# ---------------------------------------------------------------------------- n_members inside the estimators
def test_n_members_is_the_seed_ensemble_inside_one_model() -> None:
    problem, X, C_hat, C = _data(80)
    kw = dict(epsilon="auto", epochs=3, lr=1e-2, batch_size=16, seed=4)
    m = DFF(problem, n_members=3, **kw).fit(X, C_hat, C)
    ref = SeedEnsemble(DFF(problem, n_members=1, **kw), n_members=3).fit(X, C_hat, C)
    np.testing.assert_allclose(m.predict(X, C_hat), ref.predict(X, C_hat), rtol=1e-14, atol=0)
    assert m.n_members_ == 3 and len(m.module_.members) == 3 and m.epsilon_ == ref.epsilon_
    assert m.best_epochs_ == ref.best_epochs_ and [len(h) for h in m.member_histories_] == [
        len(e.history_) for e in ref.members_
    ]
    # the first member chose ε (its selection table is the model's); the factors' mean keeps the trust region
    assert m.selection_ is not None and m.selection_["chosen"].sum() == 1 and m.history_ is m.member_histories_[0]
    phi = m.factors(X)
    assert np.abs(phi - 1).max() <= m.epsilon_ + 1e-12
    np.testing.assert_allclose(m.predict(X, C_hat), phi * C_hat, rtol=1e-12)
    # the network's attributes are the members' (what integrated gradients and the dashboard read)
    assert m.module_.epsilon == m.epsilon_ and m.module_.n_outputs == problem.d and not m.module_.use_c_hat


def test_a_model_of_several_members_saves_and_loads(tmp_path) -> None:
    problem, X, C_hat, C = _data()
    m = DFF(problem, epsilon=0.3, epochs=3, lr=1e-2, batch_size=16, n_members=2).fit(X, C_hat, C)
    back = DFF.load(m.save(tmp_path / "two.safetensors"), problem)
    np.testing.assert_array_equal(back.predict(X, C_hat), m.predict(X, C_hat))
    assert back.n_members_ == 2 and back.best_epochs_ == m.best_epochs_ and back.n_members == 2
    for a, b in zip(back.member_histories_, m.member_histories_, strict=True):
        np.testing.assert_allclose(a["val_regret"].to_numpy(), b["val_regret"].to_numpy())


def test_integrated_gradients_of_the_mean_are_the_mean_of_the_members() -> None:
    from dff_core.explain import _integrated_gradients

    problem, X, C_hat, C = _data()
    m = DFF(problem, epsilon=0.3, epochs=3, lr=1e-2, batch_size=16, n_members=2).fit(X, C_hat, C)
    singles = []
    for member in m.module_.members:
        one = DFF(problem, n_members=1)
        one.module_ = member
        singles.append(_integrated_gradients(one, X[:5], None, steps=8))
    np.testing.assert_allclose(_integrated_gradients(m, X[:5], None, steps=8), np.mean(singles, axis=0), atol=1e-12)


def test_dfl_and_the_unbounded_ablation_average_their_members_too() -> None:
    from dff_core.ablation import DFFUnbounded
    from dff_core.backbones import LinearBackbone

    problem, X, C_hat, C = _data()
    bb = LinearBackbone().fit(X[:48], C[:48])
    dfl = DFL(problem, epochs=3, lr=1e-2, batch_size=16, n_members=3).fit(X[:48], C[:48], start_from=bb)
    singles = [
        DFL(problem, epochs=3, lr=1e-2, batch_size=16, seed=s, n_members=1).fit(X[:48], C[:48], start_from=bb)
        for s in range(3)
    ]
    np.testing.assert_allclose(dfl.predict(X), np.mean([s.predict(X) for s in singles], axis=0), rtol=1e-12)
    assert dfl.n_members_ == 3 and dfl.best_epochs_ == [s.best_epoch_ for s in singles]
    unb = DFFUnbounded(problem, epochs=3, lr=1e-2, batch_size=16, n_members=2).fit(X, C_hat, C)
    assert unb.n_members_ == 2 and unb.factors(X).shape == C_hat.shape and (unb.factors(X) > 0).all()


def test_stopping_keeps_the_members_fitted_so_far_and_says_it_was_cancelled() -> None:
    problem, X, C_hat, C = _data()
    done: list[int] = []

    def count(event) -> None:  # type: ignore[no-untyped-def]
        if event.epoch == 2:
            done.append(1)

    m = DFF(problem, epsilon=0.3, epochs=2, patience=None, batch_size=16, n_members=4)
    m.fit(X, C_hat, C, callback=count, should_stop=lambda: len(done) >= 2)
    assert m.n_members_ == 2 and m.cancelled_ and len(m.best_epochs_) == 2
    assert np.isfinite(m.predict(X, C_hat)).all()


@pytest.mark.parametrize("n", [0, 2.5, True, "5"])
def test_bad_n_members_on_an_estimator_names_the_argument(n) -> None:
    problem, X, C_hat, C = _data(20)
    with pytest.raises(ValueError, match=r"DFF: n_members must be a positive integer such as 5"):
        DFF(problem, n_members=n).fit(X, C_hat, C)
    with pytest.raises(ValueError, match=r"DFL: n_members must be a positive integer"):
        DFL(problem, n_members=n).fit(X, C)


def test_load_refuses_a_member_count_it_does_not_read(tmp_path) -> None:
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    from dff_core.errors import DataError

    problem, X, C_hat, C = _data()
    path = DFF(problem, epsilon=0.3, epochs=1, batch_size=16, n_members=2).fit(X, C_hat, C).save(tmp_path / "m.st")
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    cases = ((10**6, "describes 1000000 members; 1 to 64"), (3, "damaged metadata.*3 members but 2 kept epochs"))
    for members, match in cases:
        state = json.loads(meta["state"])
        state["members"] = members
        save_file(tensors, str(tmp_path / "bad.st"), metadata={**meta, "state": json.dumps(state)})
        with pytest.raises(DataError, match=match):
            DFF.load(tmp_path / "bad.st", problem)
    # metadata consistent in itself but describing three networks where the file holds two
    state = {**json.loads(meta["state"]), "members": 3, "best_epochs": [1, 1, 1]}
    histories = json.dumps(json.loads(meta["member_histories"]) * 2)
    save_file(
        tensors, str(tmp_path / "bad.st"), metadata={**meta, "state": json.dumps(state), "member_histories": histories}
    )
    with pytest.raises(DataError, match=r"3 member\(s\)\) does not match the weights"):
        DFF.load(tmp_path / "bad.st", problem)
    state = json.loads(meta["state"])
    state["best_epochs"] = [1]  # two members, one kept epoch
    save_file(tensors, str(tmp_path / "bad.st"), metadata={**meta, "state": json.dumps(state)})
    with pytest.raises(DataError, match=r"bad\.st has damaged metadata.*2 members but 1 kept epochs"):
        DFF.load(tmp_path / "bad.st", problem)

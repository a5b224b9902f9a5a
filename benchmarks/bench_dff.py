"""DFF training speed: ``dff_core.DFF.fit`` against the same loop built on PyEPO's SPO+ with OR-Tools.

Run from the repository root:  python benchmarks/bench_dff.py  [--n 1000] [--epochs 5] [--repeats 3]

Both sides train the *same* bias-correction network (same seed, same initial weights, same
shuffling, Adam, batch 32) on PyEPO's 5x5 grid shortest-path data (deg 6, noise 0.5) with a
linear backbone, for the same number of epochs and without validation:

* ours: ``DFF(...).fit`` (true costs solved once per fit in one batched call, one batched
  solve per mini-batch, plus one extra full-batch loss evaluation at epoch 0);
* PyEPO: ``pyepo.data.dataset.optDataset`` (true solutions, solved once) and
  ``pyepo.func.SPOPlus`` on ``pyepo.model.ort.shortestPathModel`` (OR-Tools GLOP), one solver
  call per instance.

Both run on one torch thread. Times are the best of ``--repeats`` runs, as wall time and as
process CPU time (on a shared, busy machine the CPU-time ratio is the steadier one). The script also reports how far
apart the two trained corrections end up (they should agree up to solver ties).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # PyEPO's dataset shows a progress bar otherwise

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dff_core.backbones import LinearBackbone  # noqa: E402
from dff_core.correction import BiasCorrection, torch_threads  # noqa: E402
from dff_core.dff import DFF  # noqa: E402
from dff_core.problems import ShortestPath  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
TARGET = 10.0


def ours(X, C_hat, C, *, epochs: int, batch_size: int, eps: float, hidden, lr: float, seed: int):
    model = DFF(
        ShortestPath.grid(5, 5),
        epsilon=eps,
        hidden=hidden,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        val_fraction=0.0,
        patience=None,
    )
    model.fit(X, C_hat, C)
    return model.factors(X), float(model.history_["train_loss"].iloc[-1])


def pyepo_loop(X, C_hat, C, *, epochs: int, batch_size: int, eps: float, hidden, lr: float, seed: int):
    import pyepo
    from pyepo.model.ort import shortestPathModel

    optmodel = shortestPathModel(grid=(5, 5))
    data = pyepo.data.dataset.optDataset(optmodel, X, C)  # solves every true cost vector once
    W = torch.as_tensor(np.asarray(data.sols), dtype=torch.float64)
    z = torch.as_tensor(np.asarray(data.objs), dtype=torch.float64).reshape(-1, 1)
    spop = pyepo.func.SPOPlus(optmodel, processes=1)
    gen = torch.Generator().manual_seed(seed)
    module = BiasCorrection(X.shape[1], C.shape[1], eps, hidden, generator=gen)
    module.fit_scaler(X)
    opt = _adam(module, lr)
    Xt, Cht, Ct = torch.from_numpy(X), torch.from_numpy(C_hat), torch.from_numpy(C)
    n = len(X)
    last = 0.0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            c_tilde = module(Xt[idx], Cht[idx])
            loss = spop(c_tilde, Ct[idx], W[idx], z[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        last = total / n
    with torch.no_grad():
        return module.factors(Xt).numpy(), last


def _adam(module: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """torch's Adam, fused when this torch build supports it on CPU (its fastest form for small networks)."""
    try:
        return torch.optim.Adam(module.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch builds
        return torch.optim.Adam(module.parameters(), lr=lr)


def best_time(f, repeats: int):
    """Best wall time and best process CPU time over ``repeats`` runs, and the last result."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="training instances (default 1000)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epsilon", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()

    import pyepo

    X, C = pyepo.data.shortestpath.genData(args.n, 5, (5, 5), deg=6, noise_width=0.5, seed=135)
    X, C = np.asarray(X, dtype=np.float64), np.asarray(C, dtype=np.float64)
    C_hat = LinearBackbone().fit(X, C).predict(X)
    kw = dict(epochs=args.epochs, batch_size=args.batch_size, eps=args.epsilon, hidden=(32, 32, 32), lr=args.lr, seed=0)
    with torch_threads(1):
        ours(X[:64], C_hat[:64], C[:64], **{**kw, "epochs": 1})  # warm-up (imports, allocator)
        t_ours, cpu_ours, (phi_ours, loss_ours) = best_time(lambda: ours(X, C_hat, C, **kw), args.repeats)
        t_pyepo, cpu_pyepo, (phi_pyepo, loss_pyepo) = best_time(lambda: pyepo_loop(X, C_hat, C, **kw), args.repeats)
    steps = args.epochs * -(-args.n // args.batch_size)
    ratio, ratio_cpu = t_pyepo / t_ours, cpu_pyepo / cpu_ours
    print(f"DFF training on PyEPO 5x5 grid shortest path: n={args.n}, epochs={args.epochs}, batch={args.batch_size}")
    print(f"  steps per fit: {steps}")
    rows = [("dff_core DFF.fit", t_ours, cpu_ours), ("PyEPO SPOPlus + OR-Tools", t_pyepo, cpu_pyepo)]
    for name, wall, cpu in rows:
        print(f"  {name:<25} {wall:7.3f} s wall  {cpu:7.3f} s CPU  {steps / wall:7.1f} steps/s")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"  speed-up (PyEPO / ours): {ratio:.1f}x wall, {ratio_cpu:.1f}x CPU (target {TARGET:.0f}x: {verdict})")
    print(f"  final train loss: ours {loss_ours:.6f}, PyEPO {loss_pyepo:.6f}")
    print(f"  max |phi_ours - phi_pyepo| after training: {np.abs(phi_ours - phi_pyepo).max():.2e}")


if __name__ == "__main__":
    main()

"""Compiled exact solver (numba) for ``max r^T x`` s.t. ``x ∈ simplex``, ``x^T S x <= rho``.

The bounds ``x <= 1`` are implied by ``sum(x) = 1, x >= 0``. With the risk multiplier written as
``1 / (2t)``, an optimum is a point of the critical line of Markowitz's problem
``min ½ x^T S x - t r^T x`` over the simplex: on a fixed free set ``F`` (the other assets at 0)
the KKT system ``[[0, 1^T], [1, S_FF]] [m; x_F] = [1; t r_F]`` makes ``x = a + t b`` affine in
``t``, and the risk ``a^T S a + t² b^T S b`` (``a^T S b = 0``) a quadratic. The path is followed
downwards from ``t = ∞`` (the best asset, or the least risky mix of the tied best assets) by
exact pivots: an asset leaves ``F`` when its weight reaches 0 and enters when its bound
multiplier does. The first segment that reaches the risk budget gives ``t`` by a square root;
if the budget is met at ``t = ∞`` the LP optimum is returned.

Only the inverse of the bordered matrix (size ``|F| + 1``) is kept and updated by rank-one
pivots, so a singular ``S`` is fine as long as that matrix stays regular, which holds along the
path except for exact ties (an entering asset whose multiplier stays 0 on the segment: it is
skipped). Exactly tied best returns are resolved by a first path over the tied assets with a
fixed generic tie-breaker ``q`` (to the least risky mix with the largest ``q^T x``). The end point
is polished (one refinement step against ``S``) and its KKT conditions checked: a row that
fails is flagged (NaN row) for the caller to solve otherwise.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Status codes of one row.
OK, OVER_BUDGET, FAILED = 0, 1, 2
#: Pivots allowed per path, per asset (a path rarely needs more than two per asset).
_PIVOTS_PER_ASSET = 10
#: Relative tolerances: regularity of a pivot, feasibility of the end point, KKT signs.
_TOL_PIVOT = 1e-12
_TOL_X = 1e-9
_TOL_RISK = 1e-9
_TOL_KKT = 1e-9
#: A budget this close (relative) above the least risky variance is taken as equal to it.
_TOL_SNAP = 1e-13


@njit(cache=True, nogil=True)
def _start(S, j, M, slot, pos):  # type: ignore[no-untyped-def]
    """Free set ``{j}``: the inverse of ``[[0, 1], [1, S_jj]]``."""
    M[0, 0] = -S[j, j]
    M[0, 1] = 1.0
    M[1, 0] = 1.0
    M[1, 1] = 0.0
    slot[1] = j
    pos[j] = 1
    return 1


@njit(cache=True, nogil=True)
def _add(S, i, M, slot, pos, n, kv, u):  # type: ignore[no-untyped-def]
    """Border the inverse with asset ``i``; returns the new size, or -1 if the matrix turns singular."""
    kv[0] = 1.0
    for k in range(1, n + 1):
        kv[k] = S[i, slot[k]]
    s = S[i, i]
    for p in range(n + 1):
        acc = 0.0
        for k in range(n + 1):
            acc += M[p, k] * kv[k]
        u[p] = acc
        s -= kv[p] * acc
    if s <= _TOL_PIVOT * (1.0 + S[i, i]):
        return -1
    for p in range(n + 1):
        up = u[p] / s
        for k in range(n + 1):
            M[p, k] += up * u[k]
        M[p, n + 1] = -up
        M[n + 1, p] = -up
    M[n + 1, n + 1] = 1.0 / s
    slot[n + 1] = i
    pos[i] = n + 1
    return n + 1


@njit(cache=True, nogil=True)
def _remove(k, M, slot, pos, n):  # type: ignore[no-untyped-def]
    """Drop the asset in slot ``k`` (moved to the last slot first); returns the new size."""
    if k != n:
        for p in range(n + 1):
            M[p, k], M[p, n] = M[p, n], M[p, k]
        for p in range(n + 1):
            M[k, p], M[n, p] = M[n, p], M[k, p]
        slot[k], slot[n] = slot[n], slot[k]
        pos[slot[k]] = k
    pos[slot[n]] = -1
    piv = M[n, n]
    for p in range(n):
        f = M[p, n] / piv
        for q in range(n):
            M[p, q] -= f * M[n, q]
    return n - 1


@njit(cache=True, nogil=True)
def _coeffs(M, n, slot, rv, av, bv):  # type: ignore[no-untyped-def]
    """``[alpha; a] = M e_0`` and ``[beta; b] = M [0; r_F]``: ``x = a + t b``, ``m = alpha + t beta``."""
    for p in range(n + 1):
        av[p] = M[p, 0]
        acc = 0.0
        for k in range(1, n + 1):
            acc += M[p, k] * rv[slot[k]]
        bv[p] = acc


@njit(cache=True, nogil=True)
def _refine(S, M, n, slot, rhs0, rv, z, res):  # type: ignore[no-untyped-def]
    """One step of iterative refinement of ``K z = [rhs0; rv_F]`` against ``S`` (``M`` ~ ``K^-1``)."""
    acc = rhs0
    for k in range(1, n + 1):
        acc -= z[k]
    res[0] = acc
    for k in range(1, n + 1):
        i = slot[k]
        acc = rv[i] - z[0]
        for q in range(1, n + 1):
            acc -= S[i, slot[q]] * z[q]
        res[k] = acc
    for p in range(n + 1):
        acc = 0.0
        for k in range(n + 1):
            acc += M[p, k] * res[k]
        z[p] += acc


@njit(cache=True, nogil=True)
def _march(S, rv, zero, allowed, rho, M, slot, pos, n, av, bv, kv, u, stamp, kkt, x):  # type: ignore[no-untyped-def]
    """Follow the critical line from ``t = ∞`` on the free set held in ``M``; write the end point to ``x``.

    Returns ``(status, n)`` where status is ``OK`` (budget reached, or met at ``t = ∞``),
    ``OVER_BUDGET`` (reached ``t = 0``, the least risky mix, above the budget) or ``FAILED``.
    """
    d = S.shape[0]
    for i in range(d):
        stamp[i] = 0
    epoch = 1
    last_in = -1
    last_out = -1
    t_hi = np.inf
    t_lo = 0.0
    ended = False
    for _ in range(_PIVOTS_PER_ASSET * d + 20):
        _coeffs(M, n, slot, rv, av, bv)
        alpha = av[0]
        beta = bv[0]
        B = 0.0
        bmax = 0.0
        for k in range(1, n + 1):
            B += rv[slot[k]] * bv[k]
            bmax = max(bmax, abs(bv[k]))
        B = max(B, 0.0)
        if t_hi == np.inf:
            r_hi = -alpha if B == 0.0 else np.inf
        else:
            r_hi = -alpha + t_hi * t_hi * B
        if r_hi <= rho:
            t_lo = t_hi
            break
        # next pivot below t_hi: a weight reaching 0, or a bound multiplier reaching 0
        te = 0.0
        ev = -1
        leave = False
        tol_b = 1e-13 * bmax
        for k in range(1, n + 1):
            if bv[k] > tol_b and slot[k] != last_in:
                tk = -av[k] / bv[k]
                if tk > te:
                    te, ev, leave = tk, k, True
        tol_h = 1e-13 * (1.0 + abs(beta) + bmax)
        for i in range(d):
            if pos[i] >= 0 or not allowed[i] or stamp[i] == epoch or i == last_out:
                continue
            g = alpha
            h = beta - rv[i]
            for k in range(1, n + 1):
                s_ik = S[i, slot[k]]
                g += s_ik * av[k]
                h += s_ik * bv[k]
            if h > tol_h:
                ti = -g / h
                if ti > te:
                    te, ev, leave = ti, i, False
        te = min(te, t_hi)
        if -alpha + te * te * B <= rho:
            t_lo = te
            break
        if ev < 0:
            t_lo = 0.0
            t_hi = 0.0
            ended = True
            break
        if leave:
            if n == 1:
                return FAILED, n
            last_out = slot[ev]
            last_in = -1
            n = _remove(ev, M, slot, pos, n)
            epoch += 1
        else:
            m = _add(S, ev, M, slot, pos, n, kv, u)
            if m < 0:
                stamp[ev] = epoch  # its multiplier stays 0 on this free set: not a pivot
            else:
                n = m
                last_in = ev
                last_out = -1
                epoch += 1
        t_hi = te
    else:
        return FAILED, n
    return _finish(S, rv, zero, allowed, rho, M, slot, n, av, bv, u, t_lo, t_hi, ended, kkt, x), n


@njit(cache=True, nogil=True)
def _finish(S, rv, zero, allowed, rho, M, slot, n, av, bv, res, t_lo, t_hi, ended, kkt, x):  # type: ignore[no-untyped-def]
    """Polish ``x = a + t b`` on the final free set, put the risk on the budget, check KKT."""
    d = S.shape[0]
    _coeffs(M, n, slot, rv, av, bv)
    _refine(S, M, n, slot, 1.0, zero, av, res)
    _refine(S, M, n, slot, 0.0, rv, bv, res)
    A0 = 0.0
    Cab = 0.0
    B = 0.0
    for k in range(1, n + 1):
        sa = 0.0
        sb = 0.0
        for q in range(1, n + 1):
            s = S[slot[k], slot[q]]
            sa += s * av[q]
            sb += s * bv[q]
        A0 += av[k] * sa
        Cab += av[k] * sb
        B += bv[k] * sb
    if t_hi == np.inf and t_lo == np.inf:
        t = np.inf
    else:
        t = t_lo
        disc = Cab * Cab - B * (A0 - rho)
        if B > 0.0 and disc >= 0.0 and not ended:
            t = min(max((-Cab + np.sqrt(disc)) / B, t_lo), t_hi)
            if t_lo == 0.0 and rho - A0 <= _TOL_SNAP * rho:
                # the budget is the least risky mix's variance up to rounding, where the risk's
                # square root would turn that rounding into weights of order sqrt(1e-16)
                t = 0.0
    for i in range(d):
        x[i] = 0.0
    total = 0.0
    for k in range(1, n + 1):
        v = av[k] if t == np.inf else av[k] + t * bv[k]
        if v < -_TOL_X:
            return FAILED
        v = max(v, 0.0)
        x[slot[k]] = v
        total += v
    risk = 0.0
    for k in range(1, n + 1):
        i = slot[k]
        x[i] /= total
    for k in range(1, n + 1):
        i = slot[k]
        acc = 0.0
        for q in range(1, n + 1):
            acc += S[i, slot[q]] * x[slot[q]]
        risk += x[i] * acc
    status = OK
    if risk > rho * (1.0 + _TOL_RISK) + 1e-14:
        if not ended:
            return FAILED
        status = OVER_BUDGET
    if kkt and t != np.inf:
        # bound multipliers nu_i = (S x)_i + m - t r_i of the assets at 0 must be non-negative
        m = av[0] + t * bv[0]
        tol = -_TOL_KKT * (1.0 + abs(m) + t)
        for i in range(d):
            if x[i] > 0.0 or not allowed[i]:
                continue
            acc = m - t * rv[i]
            for k in range(1, n + 1):
                acc += S[i, slot[k]] * x[slot[k]]
            if acc < tol:
                return FAILED
    return status


@njit(cache=True, nogil=True)
def _solve_row(r, S, rho, q, M, slot, pos, av, bv, kv, u, rv, zero, allowed, stamp, x):  # type: ignore[no-untyped-def]
    """Status of one row; its optimal weights in ``x``."""
    d = S.shape[0]
    rmax = r[0]
    rmin = r[0]
    for i in range(d):
        rmax = max(rmax, r[i])
        rmin = min(rmin, r[i])
        pos[i] = -1
    best = -1
    tied = 0
    for i in range(d):
        allowed[i] = r[i] == rmax
        if allowed[i]:
            tied += 1
            if best < 0 or q[i] > q[best]:
                best = i
    n = _start(S, best, M, slot, pos)
    if tied > 1:
        # least risky mix of the tied best assets: the critical line of the tie-breaker q over them
        status, n = _march(S, q, zero, allowed, rho, M, slot, pos, n, av, bv, kv, u, stamp, False, x)
        if status != OVER_BUDGET:
            return status
    span = rmax - rmin
    for i in range(d):
        rv[i] = (r[i] - rmax) / span if span > 0.0 else 0.0
        allowed[i] = True
    status, n = _march(S, rv, zero, allowed, rho, M, slot, pos, n, av, bv, kv, u, stamp, True, x)
    return status


@njit(cache=True, nogil=True)
def solve_rows(C, S, rho, q, W):  # type: ignore[no-untyped-def]
    """Optimal weights of every row of ``C`` into ``W``; a row that is not certified optimal
    is set to NaN. Returns the first such row, or -1 (the convention of ``_graph.run_split``)."""
    n_rows, d = C.shape
    M = np.empty((d + 1, d + 1))
    slot = np.empty(d + 1, dtype=np.int64)
    pos = np.empty(d, dtype=np.int64)
    av = np.empty(d + 1)
    bv = np.empty(d + 1)
    kv = np.empty(d + 1)
    u = np.empty(d + 1)
    rv = np.empty(d)
    zero = np.zeros(d)
    allowed = np.empty(d, dtype=np.bool_)
    stamp = np.empty(d, dtype=np.int64)
    x = np.empty(d)
    bad = -1
    for row in range(n_rows):
        status = _solve_row(C[row], S, rho, q, M, slot, pos, av, bv, kv, u, rv, zero, allowed, stamp, x)
        if status == OK:
            for i in range(d):
                W[row, i] = x[i]
        else:
            for i in range(d):
                W[row, i] = np.nan
            if bad < 0:
                bad = row
    return bad


@njit(cache=True)
def min_variance(S, q, x):  # type: ignore[no-untyped-def]
    """The least risky portfolio (among several, the one with the largest ``q^T x``) into ``x``; returns its status."""
    d = S.shape[0]
    M = np.empty((d + 1, d + 1))
    slot = np.empty(d + 1, dtype=np.int64)
    pos = np.empty(d, dtype=np.int64)
    return _solve_row(
        np.zeros(d), S, -1.0, q, M, slot, pos, np.empty(d + 1), np.empty(d + 1), np.empty(d + 1), np.empty(d + 1),
        np.empty(d), np.zeros(d), np.empty(d, dtype=np.bool_), np.empty(d, dtype=np.int64), x,
    )  # fmt: skip


def tie_breaker(d: int) -> np.ndarray:
    """A fixed generic vector in [0, 1) (fractional parts of multiples of the golden ratio):
    no linear relation with small integers, so it is not orthogonal to the null directions of
    structured covariances the way ``-arange(d)`` can be."""
    return np.modf(np.arange(1, d + 1) * 0.6180339887498949)[0]

"""What each method decided at one test instance, and what that decision really cost or earned.

For displays and reports: the routes (link flows) and realised travel times of a routing
comparison, and the allocations and realised values of an allocation comparison, each next to
the hindsight decision (``"hindsight"``: the decision made on the true costs).
"""

from __future__ import annotations

import copy

import numpy as np

from dff_core.problems import LinearMapped, ShortestPath
from dff_core.results import ComparisonResult

HINDSIGHT = "hindsight"


def _check_instance(result: ComparisonResult, instance: int, owner: str) -> int:
    if int(instance) != instance or not 0 <= instance < result.n_test:
        raise ValueError(
            f"{owner}: instance must be a test instance index in 0..{result.n_test - 1}; got {instance!r}."
        )
    return int(instance)


def route_decisions(
    result: ComparisonResult, instance: int, pair: int | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Link flows and realised travel times of each method (and hindsight) at test instance ``instance``.

    ``pair`` restricts the routing to one origin-destination pair (index into the problem's pairs);
    ``None`` routes all trips. Travel times are the true link times of the instance times the
    flows, in the result's unit (vehicle-minutes; minutes for one vehicle). Returns
    ``(flows, times)``, both keyed by method name and ``"hindsight"``.
    """
    owner = "route_decisions"
    i = _check_instance(result, instance, owner)
    prob = result.problem
    if not isinstance(prob, LinearMapped) or not isinstance(prob.base, ShortestPath):
        raise ValueError(f"{owner}: the result is not a routing (traffic) result.")
    if pair is not None:
        base = prob.base
        if int(pair) != pair or not 0 <= pair < len(base.pairs):
            raise ValueError(f"{owner}: pair must be an index in 0..{len(base.pairs) - 1}; got {pair!r}.")
        # same zones (never passed through) and the same mapping class (e.g. a floor on predictions)
        sub = ShortestPath(
            base.num_nodes, base.edges, pairs=[tuple(base.pairs[pair])], demand=[base.demand[pair]],
            zones=base.zones, algorithm="dijkstra",
        )  # fmt: skip
        prob = copy.copy(prob)
        prob.base = sub
    costs = {name: m.C_pred[i] for name, m in result.methods.items()}
    costs[HINDSIGHT] = result.C_test[i]
    true_link = prob.base_costs(result.C_test[i : i + 1])[0]
    flows, times = {}, {}
    for name, c in costs.items():
        f = prob.solve_base(c[None, :])[0]
        flows[name] = f
        times[name] = float(true_link @ f)
    return flows, times


def allocation_decisions(result: ComparisonResult, instance: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Allocations of each method (and hindsight) at test instance ``instance`` and their realised values.

    The realised value of an allocation is the true values of the instance times the units
    allocated (``C_test[instance] · w``), in the result's unit. Returns ``(allocations, values)``,
    both keyed by method name and ``"hindsight"``.
    """
    i = _check_instance(result, instance, "allocation_decisions")
    allocations = {name: np.asarray(m.W[i]) for name, m in result.methods.items()}
    allocations[HINDSIGHT] = np.asarray(result.W_test[i])
    values = {name: float(result.C_test[i] @ a) for name, a in allocations.items()}
    return allocations, values

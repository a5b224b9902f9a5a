"""A small TNTP road network for tests: a 6 x 6 grid of two-way streets with four corner zones.

Nodes 1-4 are zones (``<FIRST THRU NODE> 5``) just outside the grid's corners, joined to their
corner junction by connectors; junctions 5-40 are 0.01 degrees apart (about 0.7 x 1.1 km) near
52 N, 5 E. Free-flow times: 1 minute per street, 0.5 per connector.
"""

from __future__ import annotations

from pathlib import Path

K = 6
ZONES = 4
LON0, LAT0, STEP = 5.0, 52.0, 0.01


def junction(r: int, c: int) -> int:
    return ZONES + 1 + r * K + c


def toy_nodes() -> dict[int, tuple[float, float]]:
    nodes = {junction(r, c): (LON0 + STEP * c, LAT0 + STEP * r) for r in range(K) for c in range(K)}
    corners = [(0, 0, -1, -1), (0, K - 1, 1, -1), (K - 1, 0, -1, 1), (K - 1, K - 1, 1, 1)]
    for z, (r, c, dx, dy) in enumerate(corners, start=1):
        x, y = nodes[junction(r, c)]
        nodes[z] = (x + 0.004 * dx, y + 0.004 * dy)
    return nodes


def toy_links() -> list[tuple[int, int, float]]:
    links = []
    for r in range(K):
        for c in range(K):
            a = junction(r, c)
            for rr, cc in ((r, c + 1), (r + 1, c)):
                if rr < K and cc < K:
                    b = junction(rr, cc)
                    links += [(a, b, 1.0), (b, a, 1.0)]
    for z, (r, c) in enumerate([(0, 0), (0, K - 1), (K - 1, 0), (K - 1, K - 1)], start=1):
        links += [(z, junction(r, c), 0.5), (junction(r, c), z, 0.5)]
    return links


def write_toy_network(folder: Path, links: list[tuple[int, int, float]] | None = None) -> Path:
    """``Toy_net.tntp`` and ``Toy_node.tntp`` in ``folder``; returns the network file."""
    links = toy_links() if links is None else links
    nodes = toy_nodes()
    head = (
        f"<NUMBER OF ZONES> {ZONES}\n<NUMBER OF NODES> {len(nodes)}\n<FIRST THRU NODE> {ZONES + 1}\n"
        f"<NUMBER OF LINKS> {len(links)}\n<END OF METADATA>\n\n"
        "~\tinit_node\tterm_node\tcapacity\tlength\tfree_flow_time\tb\tpower\tspeed\ttoll\tlink_type\t;\n"
    )
    body = "".join(f"\t{a}\t{b}\t1800\t0.6\t{t}\t0.15\t4\t0\t0\t1\t;\n" for a, b, t in links)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Toy_net.tntp").write_text(head + body)
    rows = "".join(f"{k}\t{x}\t{y}\t;\n" for k, (x, y) in sorted(nodes.items()))
    (folder / "Toy_node.tntp").write_text("node\tX\tY\t;\n" + rows)
    return folder / "Toy_net.tntp"

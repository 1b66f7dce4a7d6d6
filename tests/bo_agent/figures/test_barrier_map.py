"""The E_b map: every composition lands in its own (carrier, Z, M, X) cell, and a PNG is drawn."""

from __future__ import annotations

import numpy as np

from bo_agent.figures.barrier_map import barrier_grids, plot_barrier_map
from workflows.space.compositions import default_space


def test_each_barrier_lands_in_its_own_cell_and_missing_ones_stay_empty():
    space = default_space()
    values = {"Na-Ga-P-F": 0.42, "Li-Mg-S-F": 0.30, "Li-Zr-P-O": 0.15}
    grids = barrier_grids(values, space)
    assert [(g.carrier, g.z) for g in grids] == [
        (a, z) for a in ("Li", "Na") for z in ("F", "OH", "O")
    ]
    assert all(int(g.in_space.sum()) == 53 for g in grids)  # 53 compositions per carrier and Z
    assert sum(g.n_results for g in grids) == 3
    na_f = grids[3]
    assert na_f.values[na_f.m.index("Ga"), na_f.x.index("P")] == 0.42
    li_o = grids[2]
    assert li_o.values[li_o.m.index("Zr"), li_o.x.index("P")] == 0.15
    # M2+ with X5+ is not charge balanced with F: outside the space, and never a value
    assert not na_f.in_space[na_f.m.index("Mg"), na_f.x.index("P")]
    assert np.isnan(na_f.values[~na_f.in_space]).all()


def test_map_of_a_whole_space_is_written_as_png(tmp_path):
    space = default_space()
    values = {c.id: 0.1 + 0.01 * i for i, c in enumerate(space)}
    path = plot_barrier_map(values, space, tmp_path / "map.png", title="all 318")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 50_000

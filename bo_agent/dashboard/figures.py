"""Interactive Plotly figures of the dashboard and the HTML report (JSON for plotly.js).

* :func:`history_figure`: E_b against iteration, random starts and GP picks told apart, with the
  best-so-far line (and tau for a threshold goal);
* :func:`prediction_maps`: the GP's predicted E_b and its standard deviation on the M x X grid of
  each Z anion (the grids of ``tavbo barriers --plot``), evaluated compositions marked;
* :func:`hop_profiles`: image energies along every hop of one composition, percolating hops solid.

Every axis says what its numbers are measured from.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bo_agent.figures.barrier_map import barrier_grids

if TYPE_CHECKING:
    import pandas as pd

    from workflows.space.compositions import CompositionSpace

__all__ = ["history_figure", "hop_profiles", "prediction_maps"]

_FONT = {"family": "DejaVu Sans, Arial, sans-serif", "size": 12}


def _as_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as plain JSON (``data`` and ``layout``) for ``Plotly.react``."""
    return json.loads(fig.to_json())


def history_figure(trace: pd.DataFrame, reference: str, tau: float | None = None) -> dict[str, Any]:
    """E_b (eV) of each finished evaluation against iteration, with the best so far."""
    fig = go.Figure()
    for random, name, symbol, colour in (
        (True, "random pick", "circle-open", "#7f7f7f"),
        (False, "GP pick", "diamond", "#1f77b4"),
    ):
        part = trace[trace["random"] == random]
        fig.add_trace(
            go.Scatter(
                x=part["iteration"].tolist(),
                y=part["e_b"].tolist(),
                mode="markers",
                name=name,
                marker={"symbol": symbol, "size": 9, "color": colour, "line": {"width": 1.5}},
                text=part["id"].tolist(),
                hovertemplate="%{text}<br>iteration %{x}<br>E_b %{y:.3f} eV<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=trace["iteration"].tolist(),
            y=trace["best"].tolist(),
            mode="lines",
            name="best so far",
            line={"shape": "hv", "color": "#d62728", "width": 2},
            hovertemplate="best %{y:.3f} eV after %{x}<extra></extra>",
        )
    )
    if tau is not None:
        fig.add_hline(y=tau, line_dash="dot", annotation_text=f"tau = {tau} eV")
    fig.update_layout(
        font=_FONT,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        height=380,
        xaxis_title="iteration (finished evaluations in decision order)",
        yaxis_title=f"E_b (eV, from the {reference.replace('_', ' ')})",
        legend={"orientation": "h", "y": 1.12},
    )
    return _as_json(fig)


def prediction_maps(
    pred: pd.DataFrame,
    space: CompositionSpace,
    carrier: str,
    fitted: bool,
    error: str | None = None,
) -> dict[str, Any]:
    """Predicted E_b (top row) and its std (bottom row), one M x X panel per Z; evaluated
    compositions are marked with a ring and their measured E_b in the hover text."""
    mean = {r.id: r.mean for r in pred.itertuples() if not math.isnan(r.mean)}
    std = {r.id: r.std for r in pred.itertuples() if not math.isnan(r.std)}
    measured = {r.id: r.e_b for r in pred.itertuples() if not math.isnan(r.e_b)}
    status = {r.id: r.status for r in pred.itertuples()}
    grids_mean = [g for g in barrier_grids(mean, space) if g.carrier == carrier]
    grids_std = [g for g in barrier_grids(std, space) if g.carrier == carrier]
    zs = [g.z for g in grids_mean]
    fig = make_subplots(
        rows=2,
        cols=len(zs),
        shared_yaxes=True,
        horizontal_spacing=0.03,
        vertical_spacing=0.12,
        subplot_titles=[f"{carrier}MXO4{z}: predicted E_b" for z in zs]
        + [f"{carrier}MXO4{z}: std of E_b" for z in zs],
    )
    finite = np.array(list(mean.values())) if mean else np.array([0.0, 1.0])
    sfin = np.array(list(std.values())) if std else np.array([0.0, 1.0])
    for row, grids, scale, label, lo, hi in (
        (1, grids_mean, "RdYlGn_r", "mean E_b (eV)", finite.min(), np.percentile(finite, 95)),
        (2, grids_std, "Blues", "std (eV)", 0.0, sfin.max()),
    ):
        for col, g in enumerate(grids, start=1):
            ids = [[f"{carrier}-{m}-{x}-{g.z}" for x in g.x] for m in g.m]
            hover = [
                [_cell_text(cid, mean, std, measured, status) if g.in_space[i, j] else ""
                 for j, cid in enumerate(line)]
                for i, line in enumerate(ids)
            ]  # fmt: skip
            z_vals = [[None if not np.isfinite(v) else float(v) for v in line] for line in g.values]
            fig.add_trace(
                go.Heatmap(
                    z=z_vals,
                    x=list(g.x),
                    y=list(g.m),
                    text=hover,
                    hoverinfo="text",
                    colorscale=scale,
                    zmin=float(lo),
                    zmax=float(max(hi, lo + 1e-6)),
                    showscale=col == len(grids),
                    colorbar={
                        "title": {"text": label},
                        "len": 0.42,
                        "y": 0.78 if row == 1 else 0.22,
                    },
                    xgap=1,
                    ygap=1,
                ),
                row=row,
                col=col,
            )
            done = [
                (x, m, measured[f"{carrier}-{m}-{x}-{g.z}"])
                for m in g.m
                for x in g.x
                if f"{carrier}-{m}-{x}-{g.z}" in measured
            ]
            fig.add_trace(
                go.Scatter(
                    x=[d[0] for d in done],
                    y=[d[1] for d in done],
                    mode="markers",
                    marker={"symbol": "circle-open", "size": 11, "color": "black"},
                    name="evaluated",
                    showlegend=row == 1 and col == 1,
                    legendgroup="evaluated",
                    hoverinfo="skip",
                ),
                row=row,
                col=col,
            )
    title = (
        "GP fitted on the finished E_b (eV, as the engine measures them); rings: evaluated"
        if fitted
        else "no GP yet (random search, or fewer than 2 results): rings mark evaluated ones"
    )
    if error:
        title = f"the GP could not be fitted ({error[:120]}): rings mark evaluated ones"
    fig.update_layout(
        font=_FONT,
        height=760,
        margin={"l": 50, "r": 20, "t": 70, "b": 40},
        title={"text": title, "font": {"size": 13}},
        legend={"orientation": "h", "y": 1.08, "x": 0.8},
    )
    fig.update_yaxes(autorange="reversed")
    return _as_json(fig)


def _cell_text(
    cid: str,
    mean: dict[str, float],
    std: dict[str, float],
    measured: dict[str, float],
    status: dict[str, str],
) -> str:
    parts = [cid, f"status {status.get(cid, 'n/a')}"]
    if cid in mean:
        parts.append(f"predicted {mean[cid]:.3f} ± {std.get(cid, math.nan):.3f} eV")
    if cid in measured:
        parts.append(f"measured {measured[cid]:.3f} eV")
    return "<br>".join(parts)


def hop_profiles(record: dict[str, Any]) -> dict[str, Any]:
    """Image energies (eV, relative to the initial endpoint) along every hop's path."""
    fig = go.Figure()
    for hop in record["hops"]:
        energies = hop["energies"]
        if not energies:
            continue
        n = len(energies)
        flag = "" if hop["converged"] else " (NEB not converged)"
        fig.add_trace(
            go.Scatter(
                x=[i / max(n - 1, 1) for i in range(n)],
                y=energies,
                mode="lines+markers",
                name=f"hop {hop['hop_index']} ({hop['length']:.2f} Å){flag}"
                if hop["length"] is not None
                else f"hop {hop['hop_index']}{flag}",
                line={"dash": "solid" if hop["percolating"] else "dash"},
                hovertemplate="image %{pointNumber}: %{y:.3f} eV<extra></extra>",
            )
        )
    fig.update_layout(
        font=_FONT,
        height=360,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        xaxis_title="reaction coordinate (image / last image)",
        yaxis_title="energy relative to the initial endpoint (eV)",
        legend={"title": {"text": "solid: percolating hops"}},
    )
    return _as_json(fig)

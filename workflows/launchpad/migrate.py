"""Rename module paths inside stored documents after tavbo's modules moved (one-off migration).

jobflow and FireWorks store the import path of what they will call: a Firework's jobs carry
``{"@module": "workflows.jobs", "@callable": "relax_job"}``, makers their class's module. When a
module moves, a workflow stored before the move can no longer run. tavbo keeps no compatibility
aliases; instead ``tavbo store migrate`` rewrites those paths once, in every collection of the
LaunchPad's database (FireWorks, jobflow's job store, results), through the same client in both
modes (MongoDB, embedded). Packaged data hold no module paths and need no migration.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MODULE_MOVES", "migrate_database", "migrate_value"]

#: Old module path -> new module path (the 2026-12 restructure into rooms, issue 16).
MODULE_MOVES: dict[str, str] = {
    "workflows.composition_space": "workflows.space.compositions",
    "workflows.site_chemistry": "workflows.space.site_chemistry",
    "workflows.structures": "workflows.structures.tavorite",
    "workflows.structure_checks": "workflows.structures.checks",
    "workflows.supercells": "workflows.structures.supercells",
    "workflows.relax": "workflows.physics.relax",
    "workflows.hops": "workflows.physics.hops",
    "workflows.hop_symmetry": "workflows.physics.hop_symmetry",
    "workflows.neb": "workflows.physics.neb",
    "workflows.percolation": "workflows.physics.percolation",
    "workflows.barrier_reference": "workflows.physics.barrier_reference",
    "workflows.schemas": "workflows.physics.schemas",
    "workflows.jobs": "workflows.engines.jobs",
    "workflows.engines.vasp": "workflows.engines.vasp.engine",
    "workflows.vasp_barriers": "workflows.engines.vasp.barriers",
    "workflows.vasp_hops": "workflows.engines.vasp.hops",
    "workflows.vasp_images": "workflows.engines.vasp.images",
    "workflows.vasp_makers": "workflows.engines.vasp.makers",
    "workflows.vasp_sets": "workflows.engines.vasp.sets",
    "workflows.potcars": "workflows.engines.vasp.potcars",
    "workflows.launchpad": "workflows.launchpad.opening",
    "workflows.tavbo_launchpad": "workflows.launchpad.tavbo_launchpad",
    "workflows.launchpad_hooks": "workflows.launchpad.hooks",
    "workflows.launchpad_config": "workflows.launchpad.config",
    "workflows.embedded": "workflows.launchpad.embedded",
    "workflows.stores": "workflows.launchpad.stores",
    "workflows.offline": "workflows.hpc.offline",
    "workflows.offline_rocket": "workflows.hpc.rocket",
    "workflows.offline_store": "workflows.hpc.offline_store",
    "workflows.resources": "workflows.hpc.resources",
    "workflows.hpc_config": "workflows.hpc.config",
    "workflows.hpc_checks": "workflows.hpc.checks",
    "workflows.documents": "workflows.results.documents",
    "workflows.ingest": "workflows.results.ingest",
    "workflows.export": "workflows.results.export",
    "workflows.reference_data": "workflows.results.reference_data",
    "workflows.submit": "workflows.flows.submit",
    "workflows.evaluation": "workflows.flows.evaluation",
    "workflows.screening": "workflows.flows.screening",
}

# "@module" values are whole module paths; "{{module.Class}}" FireWorks names end in a class.
_BRACED = re.compile(r"^\{\{(?P<path>[\w.]+)\.(?P<cls>\w+)\}\}$")


def _move(module: str) -> str:
    return MODULE_MOVES.get(module, module)


def migrate_value(value: Any) -> tuple[Any, int]:
    """``value`` with every stored module path moved, and how many paths changed."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        n = 0
        for k, v in value.items():
            if k == "@module" and isinstance(v, str):
                out[k] = _move(v)
                n += out[k] != v
            elif k == "_fw_name" and isinstance(v, str) and (m := _BRACED.match(v)):
                new = "{{" + _move(m["path"]) + "." + m["cls"] + "}}"
                out[k] = new
                n += new != v
            else:
                out[k], dn = migrate_value(v)
                n += dn
        return out, n
    if isinstance(value, list):
        items = [migrate_value(v) for v in value]
        return [v for v, _ in items], sum(d for _, d in items)
    return value, 0


def migrate_database(db: Any) -> dict[str, int]:
    """Rewrite moved module paths in every document of ``db``; documents changed per collection."""
    changed: dict[str, int] = {}
    for name in sorted(db.list_collection_names()):
        coll = db[name]
        count = 0
        for doc in coll.find({}):
            new, n = migrate_value(doc)
            if n:
                coll.replace_one({"_id": doc["_id"]}, new)
                count += 1
        if count:
            changed[name] = count
    return changed

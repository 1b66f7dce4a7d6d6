"""The default atomate2 makers of the VASP engine, each with its tavbo input-set generator and
the custodian handlers of :mod:`workflows.engines.vasp.handlers`.

Bulk relax, endpoint relax and NEB makers are the defaults of both
:class:`workflows.engines.vasp.engine.VaspBarrierMaker` and
:class:`workflows.engines.vasp.hops.VaspHopsMaker`; they live here, below both, so that neither
imports the other for its defaults.
"""

from __future__ import annotations

from atomate2.vasp.flows.core import DoubleRelaxMaker
from atomate2.vasp.jobs.core import RelaxMaker
from atomate2.vasp.jobs.neb import NebFromImagesMaker
from atomate2.vasp.run import JobType

from workflows.engines.vasp.handlers import neb_handlers, relax_handlers
from workflows.engines.vasp.sets import (
    TavboEndpointSetGenerator,
    TavboNebSetGenerator,
    TavboRelaxSetGenerator,
)

__all__ = ["default_bulk_relax_maker", "default_endpoint_relax_maker", "default_neb_maker"]


def default_bulk_relax_maker() -> DoubleRelaxMaker:
    """Two chained cell relaxations (the second removes most of the Pulay stress)."""
    maker = DoubleRelaxMaker.from_relax_maker(
        RelaxMaker(
            name="bulk relax",
            input_set_generator=TavboRelaxSetGenerator(),
            run_vasp_kwargs={"handlers": relax_handlers()},
        )
    )
    maker.name = "bulk double relax"
    return maker


def default_endpoint_relax_maker() -> RelaxMaker:
    """Fixed-cell relaxation of one vacancy endpoint (settings shared with the NEB)."""
    return RelaxMaker(
        name="endpoint relax",
        input_set_generator=TavboEndpointSetGenerator(),
        run_vasp_kwargs={"handlers": relax_handlers()},
    )


def default_neb_maker() -> NebFromImagesMaker:
    """atomate2 NEB from images; an unconverged NEB is recorded, not raised."""
    return NebFromImagesMaker(
        name="neb",
        input_set_generator=TavboNebSetGenerator(),
        run_vasp_kwargs={
            "job_type": JobType.NEB,
            "handlers": neb_handlers(),  # NEB-aware: workflows.engines.vasp.handlers
            "vasp_job_kwargs": {"output_file": "vasp.out", "stderr_file": "std_err.txt"},
        },
        stop_children_kwargs={"handle_unsuccessful": False},
    )

"""Put the queue resources on the jobs of a flow: each job's category and queue request.

:func:`apply_resources` walks a jobflow ``Flow`` (the rules of :mod:`workflows.hpc.resources`)
and sets ``job.config.manager_config`` so that FireWorks picks the matching FireWorker
(``_category``) and queue request (``_queueadapter``) for every job, including the NEB jobs a
flow creates at run time. A VASP NEB needs a multiple of its image count in MPI tasks:
:func:`neb_image_count` reads it from the job.

Examples
--------
>>> from jobflow import Flow, job
>>> from workflows.hpc.resources import JobResources, QueueResources
>>> @job
... def relax(x):
...     return x
>>> flow = Flow([relax(1)])
>>> res = QueueResources(relax=JobResources(nodes=1, ntasks=32, walltime="02:00:00"))
>>> _ = apply_resources(flow, res)
>>> flow.jobs[0].config.manager_config["_category"]
'relax'
>>> flow.jobs[0].config.manager_config["_queueadapter"]["ntasks"]
32
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from workflows.hpc.resources import _IMAGE_KWARGS, Category, QueueResources

if TYPE_CHECKING:
    from jobflow import Flow, Job

__all__ = ["apply_resources", "neb_image_count"]

logger = logging.getLogger(__name__)


def _iter_jobs(flow: Flow | Job) -> list[Job]:
    from jobflow import Flow

    if isinstance(flow, Flow):
        out: list[Job] = []
        for item in flow.jobs:
            out.extend(_iter_jobs(item))
        return out
    return [flow]


def neb_image_count(job: Job, jobs_by_uuid: dict[str, Job] | None = None) -> int | None:
    """Intermediate images of a NEB job, if known before it runs.

    Looks, in order, at: ``job.metadata["n_images"]``; an ``images`` list passed to the job
    (``len - 2``: the endpoints are not images); the ``num_images``/``n_images`` argument of the job
    in ``jobs_by_uuid`` whose output the job reads as its images.

    Parameters
    ----------
    job : Job
        A NEB job (e.g. from atomate2's ``NebFromImagesMaker.make``).
    jobs_by_uuid : dict, optional
        The other jobs of the flow, by uuid.

    Returns
    -------
    int or None
        The count, or None when it is only known at run time.
    """
    from jobflow import OutputReference

    if isinstance(job.metadata.get("n_images"), int):
        return job.metadata["n_images"]
    images = job.function_kwargs.get("images")
    if images is None and job.function_args:
        images = job.function_args[0]
    if isinstance(images, list | tuple) and len(images) >= 3:
        return len(images) - 2
    if isinstance(images, OutputReference) and jobs_by_uuid:
        producer = jobs_by_uuid.get(images.uuid)
        if producer is not None:
            for key in _IMAGE_KWARGS:
                value = producer.function_kwargs.get(key)
                if isinstance(value, int) and value >= 1:
                    return value
            if len(producer.function_args) >= 2 and isinstance(producer.function_args[1], int):
                return producer.function_args[1]  # get_images_from_endpoints(endpoints, n)
    return None


def _maker_image_count(job: Job) -> int | None:
    maker = getattr(getattr(job, "function", None), "__self__", None)
    for key in _IMAGE_KWARGS:
        value = getattr(maker, key, None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return None


def _mods(category: Category, queueadapter: dict[str, Any]) -> dict[str, Any]:
    return {
        "_set": {
            "manager_config->_category": category,
            "manager_config->_queueadapter": queueadapter,
            # jobflow would copy a job's manager_config onto the jobs it creates at run time,
            # after the per-category updates below: keep each new job's own category.
            "pass_manager_config": False,
        }
    }


def apply_resources(flow: Flow | Job, resources: QueueResources | None = None) -> Flow | Job:
    """Give every job of ``flow`` its category and queue request (in place).

    Parameters
    ----------
    flow : Flow or Job
        The evaluation flow, before ``flow_to_workflow``.
    resources : QueueResources, optional
        Requests and rules (default ``QueueResources()``).

    Returns
    -------
    Flow or Job
        ``flow`` itself, modified: each job's ``manager_config`` gains ``_category`` and
        ``_queueadapter`` (other keys are kept). Jobs created at run time
        (``Response(replace=...)``) get the same treatment by name; NEB jobs among them get the
        ``n_images`` of the Maker that creates them, else ``resources.n_images``. They do not
        inherit their parent's ``manager_config``.
    """
    resources = resources or QueueResources()
    jobs = _iter_jobs(flow)
    by_uuid = {j.uuid: j for j in jobs}

    # 1. Rules by name, recorded for jobs created at run time (jobflow's dynamic config updates:
    #    applied in order, so the default goes first and the highest-priority rule last).
    ordered: list[tuple[Category, str | None]] = [("screening", None)]
    for cat, substrings in reversed(resources.rules):
        ordered.extend((cat, s) for s in substrings)
    for job in jobs:
        # A job that creates NEBs at run time usually knows their image count (its Maker's
        # ``n_images``, e.g. workflows.engines.vasp.hops.VaspHopsMaker).
        n_dynamic = _maker_image_count(job) or resources.n_images
        for cat, substring in ordered:
            qa = resources.queueadapter(cat, n_dynamic if cat == "neb" else None)
            job.update_config(_mods(cat, qa), name_filter=substring, dict_mod=True, dynamic=True)

    # 2. The exact request of each job known now (maker class, NEB image count).
    for job in jobs:
        cat = resources.category(job)
        n_images = None
        if cat == "neb":
            n_images = neb_image_count(job, by_uuid)
            if n_images is None:
                logger.info(
                    "job %r: image count unknown, assuming %d", job.name, resources.n_images
                )
        qa = resources.queueadapter(cat, n_images)
        job.update_config(_mods(cat, qa), dict_mod=True, dynamic=False)
    return flow

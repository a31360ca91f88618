"""`group --ray`: the non-chaining groups of each connected component of the links, as Ray tasks.

The driver gathers the links above the threshold (from the store's neighbour graph, as `group` always does), finds
their connected components (`groups.link_components`) and cuts them, largest first, into batches of about
LINKS_PER_TASK links; each batch is a task that runs `groups.group_component` on its components. No link crosses
two components and a component's rows keep their order, so every group is the one a single process finds
(`groups.group_links` over all links): the same groups, in the same order. Tasks keep Ray's default retries (a
lost worker's task runs again elsewhere) and run with BLAS and OpenMP limited to one thread each.
"""

from __future__ import annotations

import numpy as np

from myPython.pool.graph_verify import MALLOC_VARIABLES, THREAD_VARIABLES
from myPython.pool.groups import Group, gather_groups, group_component, link_components

LINKS_PER_TASK = 200_000  # links a task groups (about a second of work); a larger component is one task alone

Component = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # rows, a, b, score, attach-only


def _group_batch(components: list[Component], threshold: float, min_link_fraction: float) -> list[Group]:
    return [group for rows, a, b, score, attach in components
            for group in group_component(rows, a, b, score, threshold, min_link_fraction=min_link_fraction,
                                         attach_only=attach)]


def component_batches(size: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float,
                      attach_only: np.ndarray | None, per_task: int) -> list[list[Component]]:
    """The components' links, cut in order into batches of at least `per_task` links (the last may hold fewer)."""
    a, b, score = np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(score, np.float64)
    attach = np.zeros(len(a), dtype=bool) if attach_only is None else np.asarray(attach_only, dtype=bool)
    batches: list[list[Component]] = [[]]
    held = 0
    for rows, links in link_components(size, a, b, score, threshold):
        if held >= per_task:
            batches.append([])
            held = 0
        batches[-1].append((rows, a[links], b[links], score[links], attach[links]))
        held += len(links)
    return [batch for batch in batches if batch]


def group_on_ray(size: int, a: np.ndarray, b: np.ndarray, score: np.ndarray, threshold: float, *,
                 min_link_fraction: float, min_size: int, attach_only: np.ndarray | None = None,
                 address: str | None = None, per_task: int | None = None) -> list[Group]:
    """`groups.group_links`' groups, each component grouped by a Ray task; `address` as `embed --ray` takes it
    (None: a local Ray, or the cluster of RAY_ADDRESS). A Ray started here is shut down after the run."""
    from myPython.pool.distributed import connect

    work = component_batches(size, a, b, score, threshold, attach_only, per_task or LINKS_PER_TASK)
    if not work:
        return gather_groups(size, [], min_size)
    ray, started = connect(address)
    try:
        env = {**{name: "1" for name in THREAD_VARIABLES}, **MALLOC_VARIABLES}
        task = ray.remote(_group_batch).options(num_cpus=1, runtime_env={"env_vars": env})
        refs = [task.remote(batch, threshold, min_link_fraction) for batch in work]
        try:
            groups = [group for ref in refs for group in ray.get(ref)]
        except ray.exceptions.RayError as exc:
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise RuntimeError(f"grouping on Ray failed: {message}") from exc
    finally:
        if started:
            ray.shutdown()
    return gather_groups(size, groups, min_size)

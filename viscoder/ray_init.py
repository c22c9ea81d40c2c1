"""Connecting to Ray the same way in every stage.

An explicit ``ray_address`` wins; inside ``ray job submit`` (``RAY_ADDRESS`` is set) the job's
cluster is used; otherwise a local Ray is started for this process. The local dashboard is
off unless a stage asks for it: it costs a couple of seconds and a port, but Ray Train's
controller queries the state API it serves, and a training run is worth watching.
"""

from __future__ import annotations

import os


def ensure_ray(address: str | None = None, *, log_to_driver: bool = True,
               dashboard: bool = False) -> bool:
    """Initialise Ray unless it already is; True when this call started or joined it."""
    import ray

    if ray.is_initialized():
        return False
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, log_to_driver=log_to_driver)
    else:
        ray.init(include_dashboard=dashboard, log_to_driver=log_to_driver)
    return True

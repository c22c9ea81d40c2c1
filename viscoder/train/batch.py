"""Batch arithmetic: global batch = per-device batch x gradient accumulation x workers.

The paper's global batch of 128 has to come out of whatever cluster shape a user has. When
it does not divide, we say so and name the nearest shapes that do, rather than silently
training with a different batch (which changes the effective learning rate).
"""

from __future__ import annotations

from dataclasses import dataclass


class BatchError(ValueError):
    """A batch shape that cannot produce the requested global batch."""


@dataclass(frozen=True)
class BatchPlan:
    per_device: int
    accumulation: int
    workers: int

    @property
    def global_batch(self) -> int:
        return self.per_device * self.accumulation * self.workers

    @property
    def samples_per_step_per_worker(self) -> int:
        return self.per_device * self.accumulation

    def steps_per_epoch(self, rows: int) -> int:
        """Optimizer steps in one pass over ``rows`` samples split evenly across workers.

        Each worker gets ``rows // workers`` rows; a trailing partial step is dropped so
        every step has the full global batch and every worker takes the same number of
        steps (a collective would hang otherwise).
        """
        return (rows // self.workers) // self.samples_per_step_per_worker

    def describe(self) -> str:
        return (f"global batch {self.global_batch} = {self.per_device} per device x "
                f"{self.accumulation} accumulation x {self.workers} workers")


def plan_batch(global_batch: int, per_device: int, workers: int,
               accumulation: int | None = None) -> BatchPlan:
    """Resolve gradient accumulation from the global batch, or check a given one."""
    for name, value in (("global_batch_size", global_batch),
                        ("per_device_batch_size", per_device), ("num_workers", workers)):
        if value < 1:
            raise BatchError(f"{name} must be at least 1, got {value}")
    per_step = per_device * workers
    if accumulation is not None:
        plan = BatchPlan(per_device, accumulation, workers)
        if plan.global_batch != global_batch:
            raise BatchError(
                f"{plan.describe()}, not the requested global_batch_size {global_batch}. "
                f"Leave gradient_accumulation_steps unset to derive it, or set "
                f"global_batch_size={plan.global_batch}.")
        return plan
    if global_batch % per_step:
        raise BatchError(
            f"global_batch_size {global_batch} is not a multiple of per_device_batch_size x "
            f"num_workers = {per_device} x {workers} = {per_step}, so no whole number of "
            f"gradient-accumulation steps gives it. {_suggest(global_batch, per_device, workers)}")
    return BatchPlan(per_device, global_batch // per_step, workers)


def _suggest(global_batch: int, per_device: int, workers: int) -> str:
    options = []
    fitting_workers = [w for w in range(workers, 0, -1) if global_batch % (per_device * w) == 0]
    if fitting_workers:
        options.append(f"num_workers={fitting_workers[0]}")
    fitting_per_device = [p for p in range(per_device, 0, -1) if global_batch % (p * workers) == 0]
    if fitting_per_device:
        options.append(f"per_device_batch_size={fitting_per_device[0]}")
    lower = (global_batch // (per_device * workers)) * per_device * workers
    upper = lower + per_device * workers
    options += [f"global_batch_size={b}" for b in (lower, upper) if b > 0]
    return "Options: " + ", ".join(options) + "."

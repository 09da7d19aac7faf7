"""Snapshot ensembles, part one: save the model at the end of every SGDR cycle.

With `schedule.kind = "sgdr"` (cosine annealing with warm restarts, Loshchilov & Hutter
2017; schedule.py) the learning rate falls to almost nothing at the end of each cycle and
the model settles into a minimum; the restart throws it out towards another. `Snapshots`
saves the model at each cycle's end as `RUN/checkpoints/snapshot-<k>.pt` (k = 1, 2, ... in
cycle order), before that epoch's `last.pt`, so a crash never loses a snapshot: one run
yields several different, individually good models. `python -m <package> ensemble RUN`
(ensemble.py) averages their predictions, giving more weight to later ones.
"""

from __future__ import annotations

from .checkpoint import model_state, save
from .lifecycle import Loop, Technique


class Snapshots(Technique):
    """Writes checkpoints/snapshot-<cycle>.pt at the end of every SGDR cycle (process 0)."""

    name = "snapshots"

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        cycle = loop.schedule.cycle_ended(epoch)
        if cycle and loop.group.main:
            weights, _ = model_state(loop.whole)
            snapshot = {
                "model": weights,
                "epoch": epoch,
                "cycle": cycle,
                "config": loop.cfg.to_dict(),
            }
            save(snapshot, loop.run_dir / "checkpoints" / f"snapshot-{cycle}.pt")

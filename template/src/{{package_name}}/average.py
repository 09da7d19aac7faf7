"""Weight averaging of a trained run's checkpoints: `python -m <package> average RUN`.

    python -m <package> average runs/my-run --top 3      # the 3 best checkpoints
    python -m <package> average runs/my-run --snapshots  # the SGDR snapshots

The weights themselves are averaged (not the predictions, which is what `ensemble` does):
one model of the usual size comes out. Checkpoints near one wide minimum average well;
ones from far-apart minima can average badly, which the report shows, beside the best
single checkpoint of the same set. BatchNorm's running statistics do not average, so they
are recomputed for the averaged weights on the training data (`torch.optim.swa_utils.
update_bn`). The k best checkpoints are those `checkpoint.keep_best = k` kept
(top-<epoch>.pt). Writes RUN/averaged/model.pt (a checkpoint `evaluate` reads) and
RUN/averaged/report.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import checkpoint, task
from .averaging import averaged
from .errors import ConfigError
from .files import write_json
from .metrics import evaluate
from .runs import load_weights, open_run


def members(run: Path, top: int | None, snapshots: bool) -> list[Path]:
    """The checkpoint files to average: the `top` best, or the snapshots, in epoch order."""
    folder = Path(run) / "checkpoints"
    if snapshots:
        found = sorted(folder.glob("snapshot-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
        what = "snapshots (train with schedule.kind=sgdr)"
    else:
        found = sorted(folder.glob("top-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
        what = "top-<epoch>.pt checkpoints (train with checkpoint.keep_best=K)"
        if top is not None:
            if top < 1:
                raise ConfigError(f"--top must be at least 1; got {top}.")
            history = checkpoint.load(checkpoint.find(run))["history"]
            monitor = next(
                k for k in (f"valid_{task.METRIC}", f"train_{task.METRIC}") if k in history[0]
            )
            best = set(checkpoint.rank(history, monitor, task.HIGHER_IS_BETTER)[:top])
            found = [p for p in found if int(p.stem.split("-")[1]) in best]
    if len(found) < 2:
        raise FileNotFoundError(f"{folder} has {len(found)} {what}; averaging needs at least 2.")
    return found


def average_run(run: Path, top: int | None = None, snapshots: bool = False) -> dict[str, Any]:
    """Average the checkpoints of `run`; evaluate the average beside each member."""
    paths = members(Path(run), top, snapshots)
    opened = open_run(Path(run), "last")
    pair, bs = opened.pair(), opened.cfg.train.batch_size
    rows, states = [], []
    for path in paths:
        state = checkpoint.load(path, map_location=opened.device)
        load_weights(opened.model, state["model"], path)
        rows.append(
            {
                "checkpoint": path.name,
                "epoch": state.get("epoch"),
                **evaluate(opened.model, *pair, bs),
            }
        )
        states.append(state["model"])
    model = averaged(opened.model, states, opened.splits.train[0], bs)
    pick = max if task.HIGHER_IS_BETTER else min
    out = Path(run) / "averaged"
    weights, _ = checkpoint.model_state(model)
    saved = {"model": weights, "epoch": rows[-1]["epoch"], "config": opened.cfg.to_dict()}
    checkpoint.save({**saved, "averaged": [p.name for p in paths]}, out / "model.pt")
    report = {
        "run": str(run),
        "split": opened.held_out,
        "metric": task.METRIC,
        "members": rows,
        "averaged": evaluate(model, *pair, bs),
        "best_single": pick(rows, key=lambda row: row[task.METRIC]),
        "out": str(out / "model.pt"),
    }
    write_json(report, out / "report.json")
    return report


def cmd_average(args: argparse.Namespace) -> int:
    report = average_run(args.run, args.top, args.snapshots)
    metric, split = report["metric"], report["split"]
    print(f"{len(report['members'])} checkpoints of {report['run']}, {split} {metric}:")
    for row in report["members"]:
        print(f"  {row['checkpoint']:<20} {row[metric]:.4f}")
    best = report["best_single"]
    print(f"  {'weights averaged':<20} {report['averaged'][metric]:.4f}")
    print(f"best single: {best['checkpoint']} ({metric} {best[metric]:.4f})")
    print(f"Wrote {report['out']} and {Path(report['out']).with_name('report.json')}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("average", help="average the weights of a run's best checkpoints")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder, e.g. runs/my-run")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--top", type=int, metavar="K", help="the K best checkpoints (default: all kept)"
    )
    which.add_argument("--snapshots", action="store_true", help="the SGDR snapshots instead")
    p.set_defaults(func=cmd_average)

"""Snapshot ensembles: the models one SGDR run leaves behind, averaged for free.

Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017) lowers the learning
rate to almost nothing over a cycle, then jumps it back up. The low end of each cycle
settles the model into a minimum; the jump throws it out towards another. The training loop
saves the model at the end of every cycle as `RUN/checkpoints/snapshot-<k>.pt` (k = 1, 2,
... in cycle order), so one run yields several different, individually good models: a
snapshot ensemble (Huang et al. 2017) at the cost of training one.

How the snapshots are combined:
- their *predictions* are averaged, never their weights (the minima differ; a model halfway
  between two of them is usually bad) and never their votes: classification averages the
  predicted probabilities, so a confident model outweighs two unsure ones, and the loss is
  the cross-entropy of those averaged probabilities; reconstruction averages the outputs
  themselves (`task.ensemble_metrics`);
  For comparison the report also scores the weight average of the same snapshots (their
  weights averaged, BatchNorm statistics recomputed), as `average RUN --snapshots` does;
- later snapshots are usually better (they trained longer), so `weights` can favour them:
  `uniform` (1, 1, 1), `linear` (1, 2, 3) or `geometric` (ratio**k: 1, 2, 4 for ratio 2),
  each normalised to sum to 1.
The report puts the ensemble beside the best single snapshot: when the cycles were too
short for the model to move to a new minimum, the snapshots agree and the ensemble gains
little. Pick the scheme on the validation split, then report the test split once.

Run: `python -m <package> ensemble RUN [--weights linear] [--split valid]`; the report also
goes to RUN/ensemble.json.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any, Literal

import torch

from . import checkpoint, task
from .averaging import averaged
from .errors import ConfigError
from .files import write_json
from .runs import load_run, load_weights, open_run

Scheme = Literal["uniform", "linear", "geometric"]
SCHEMES: tuple[str, ...] = ("uniform", "linear", "geometric")
SNAPSHOT = re.compile(r"snapshot-(\d+)\.pt")


def weights(n: int, scheme: Scheme, ratio: float = 2.0) -> list[float]:
    """n weights summing to 1, the k-th (k = 1..n) for the k-th snapshot.

    uniform: all equal; linear: proportional to k; geometric: proportional to ratio**k
    (ratio > 1 favours later snapshots, ratio 1 is uniform).
    """
    check(scheme, ratio)
    if n < 1:
        raise ValueError(f"An ensemble needs at least one member; got n={n}.")
    if scheme == "uniform":
        raw = [1.0] * n
    elif scheme == "linear":
        raw = [float(k) for k in range(1, n + 1)]
    else:
        raw = [ratio ** (k - n) for k in range(1, n + 1)]  # the last is 1: no overflow
    total = math.fsum(raw)
    return [w / total for w in raw]


def check(scheme: str, ratio: float) -> None:
    """Raise ConfigError for an unknown scheme or a geometric ratio that is not positive."""
    if scheme not in SCHEMES:
        raise ConfigError(f"Weights must be one of {', '.join(SCHEMES)}; got {scheme!r}.")
    if scheme == "geometric" and not ratio > 0:
        raise ConfigError(f"The geometric ratio must be positive; got {ratio}.")


def snapshots(run: Path) -> list[tuple[int, Path]]:
    """(k, path) of each snapshot-<k>.pt in RUN/checkpoints, sorted by k."""
    folder = Path(run) / "checkpoints"
    found = []
    for path in folder.glob("snapshot-*.pt"):
        match = SNAPSHOT.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    if not found:
        raise FileNotFoundError(
            f"no snapshots in {folder}: train with schedule.kind=sgdr to save one at the end "
            "of every learning-rate cycle."
        )
    return sorted(found)


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The model's outputs on x in eval mode, batch by batch, as fp32 on the CPU."""
    model.eval()
    outputs = [model(x[start : start + batch_size]) for start in range(0, len(x), batch_size)]
    return torch.cat(outputs).float().cpu()


def ensemble(
    run: Path, scheme: Scheme = "linear", ratio: float = 2.0, split: str | None = None
) -> dict[str, Any]:
    """Score every snapshot of `run`, their uniform and weighted ensembles; write ensemble.json.

    `split` defaults to valid, or test for a final-mode run (which has no valid split).
    """
    check(scheme, ratio)  # bad settings fail before any work
    if split not in (None, "valid", "test"):
        raise ConfigError(f"The split must be valid or test; got {split!r}.")
    run = Path(run)
    load_run(run, "last")  # fails clearly when `run` is not a run folder
    found = snapshots(run)
    opened = open_run(run, "last")
    cfg, model, device = opened.cfg, opened.model.float(), opened.device
    split = split or opened.held_out
    inputs, y = opened.pair(split)
    y = y.cpu()

    rows, outputs, states = [], [], []
    for k, path in found:
        state = checkpoint.load(path, map_location=device)
        load_weights(model, state["model"], path)
        states.append(state["model"])
        out = predict(model, inputs, cfg.train.batch_size)
        outputs.append(out)
        rows.append(
            {
                "snapshot": k,
                "epoch": state.get("epoch"),
                "cycle": state.get("cycle", k),
                **task.ensemble_metrics([out], [1.0], y),
            }
        )
    chosen = weights(len(outputs), scheme, ratio)
    pick = max if task.HIGHER_IS_BETTER else min
    x_train = opened.splits.train[0]  # the weight average, beside the prediction averages
    mean = averaged(model, states, x_train, cfg.train.batch_size)
    weight_average = task.ensemble_metrics([predict(mean, inputs, cfg.train.batch_size)], [1.0], y)
    report = {
        "run": str(run),
        "split": split,
        "samples": len(y),
        "metric": task.METRIC,
        "higher_is_better": task.HIGHER_IS_BETTER,
        "scheme": scheme,
        "ratio": ratio,
        "weights": chosen,
        "snapshots": rows,
        "uniform": task.ensemble_metrics(outputs, weights(len(outputs), "uniform"), y),
        "weighted": task.ensemble_metrics(outputs, chosen, y),
        "weights_averaged": weight_average,
        "best_single": pick(rows, key=lambda row: row[task.METRIC]),
        "reference": task.reference_metrics(inputs.cpu(), y),
    }
    write_json(report, run / "ensemble.json")
    return report


def table(report: dict[str, Any]) -> str:
    """The report as aligned rows: each snapshot, then the uniform and weighted ensembles."""
    names = [task.METRIC, *(n for n in task.NAMES if n != task.METRIC)]
    header = ["", *names, "weight"]
    lines = [
        [f"snapshot {r['snapshot']}", *(f"{r[n]:.4f}" for n in names), f"{w:.3f}"]
        for r, w in zip(report["snapshots"], report["weights"], strict=True)
    ]
    lines.append(["uniform", *(f"{report['uniform'][n]:.4f}" for n in names), ""])
    if report["scheme"] != "uniform":
        lines.append([report["scheme"], *(f"{report['weighted'][n]:.4f}" for n in names), ""])
    if "weights_averaged" in report:  # the weight average of the same snapshots
        averaged_row = report["weights_averaged"]
        lines.append(["weights averaged", *(f"{averaged_row[n]:.4f}" for n in names), ""])
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    text = []
    for row in [header, *lines]:
        cells = [row[0].ljust(widths[0])]  # names to the left, numbers to the right
        cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        text.append("  ".join(cells).rstrip())
    return "\n".join(text)


def cmd_ensemble(args: argparse.Namespace) -> int:
    report = ensemble(args.run, args.weights, args.ratio, args.split)
    best = report["best_single"]
    count, samples = len(report["snapshots"]), report["samples"]
    print(f"{count} snapshots of {report['run']} on {report['split']} ({samples} samples)")
    print(table(report))
    print(f"best single: snapshot {best['snapshot']} ({task.METRIC} {best[task.METRIC]:.4f})")
    for name, value in report["reference"].items():
        print(f"reference: {name} {value:.4f}")
    print(f"Wrote {Path(report['run']) / 'ensemble.json'}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ensemble", help="average the predictions of an SGDR run's snapshots")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder trained with sgdr.enabled")
    p.add_argument(
        "--weights",
        choices=SCHEMES,
        default="linear",
        help="how much each snapshot counts: uniform, linear (default) or geometric",
    )
    p.add_argument(
        "--ratio", type=float, default=2.0, help="geometric weights' ratio (default 2.0)"
    )
    p.add_argument(
        "--split", choices=["valid", "test"], help="default: valid, or test for a final-mode run"
    )
    p.set_defaults(func=cmd_ensemble)

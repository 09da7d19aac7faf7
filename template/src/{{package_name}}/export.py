"""Export a trained run's weights: `python -m <package> export RUN [--half]`.

`--half` stores the best weights in fp16, half the bytes (the reference's advice: networks
are approximators with many parameters, and rounding them to 16 bits rarely costs
accuracy), and measures what the rounding costs on the run's held-out split. Without it
the fp32 weights are written. The file loads with `checkpoint.load`.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import torch

from . import checkpoint, task
from .files import write_json
from .metrics import evaluate
from .runs import open_run


def _size(payload: dict[str, Any]) -> int:
    """Bytes that torch.save writes for `payload`."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getbuffer().nbytes


def export(run: Path, half: bool = True, out: Path | None = None) -> dict[str, Any]:
    """Write the run's best weights (fp16 storage when `half`) and measure what it costs.

    The file holds {"model": state_dict, "dtype", "epoch", "config"} and loads with
    `checkpoint.load`; `model.load_state_dict` turns fp16 weights back into the model's
    fp32 ones. The metric of the written weights is computed on the run's valid split (test
    in final mode): on CUDA in fp16 directly; elsewhere the fp16 weights are loaded into an
    fp32 model, which measures what storing in half costs (the CPU cannot run fp16 fast).
    """
    opened = open_run(Path(run), "best")
    cfg, state, model, device = opened.cfg, opened.state, opened.model, opened.device
    split, pair = opened.held_out, opened.pair()
    fp32 = {k: v.cpu().contiguous() for k, v in state["model"].items()}
    report: dict[str, Any] = {
        "run": str(run),
        "epoch": state["epoch"],
        "split": split,
        "metric": task.METRIC,
        f"fp32_{task.METRIC}": evaluate(model, *pair, cfg.train.batch_size)[task.METRIC],
    }

    def payload(weights: dict[str, torch.Tensor], dtype: str) -> dict[str, Any]:
        return {"model": weights, "dtype": dtype, "epoch": state["epoch"], "config": cfg.to_dict()}

    if not half:
        out = Path(out or Path(run) / "export" / "model-fp32.pt")
        checkpoint.save(payload(fp32, "float32"), out)
        return {**report, "out": str(out), "fp32_bytes": out.stat().st_size}

    halved = {k: v.half() if v.is_floating_point() else v for k, v in fp32.items()}
    out = Path(out or Path(run) / "export" / "model-fp16.pt")
    checkpoint.save(payload(halved, "float16"), out)
    limit = torch.finfo(torch.float16).max
    overflow = sum(int((v.abs() > limit).sum()) for v in fp32.values() if v.is_floating_point())
    if device.type == "cuda":  # fp16 arithmetic, as the half model would run there
        model.half().load_state_dict(halved)
        x, y = pair
        x = x.half()
        y = y.half() if y.is_floating_point() else y
        how = "evaluated in fp16 on CUDA"
    else:  # fp16 storage, fp32 arithmetic
        model.load_state_dict(halved)
        x, y = pair
        how = "fp16 weights loaded into an fp32 model (fp16 storage; fp32 arithmetic on the CPU)"
    half_metric = evaluate(model, x, y, cfg.train.batch_size)[task.METRIC]
    return {
        **report,
        f"fp16_{task.METRIC}": half_metric,
        "difference": half_metric - report[f"fp32_{task.METRIC}"],
        "fp16_evaluation": how,
        "out": str(out),
        "fp32_bytes": _size(payload(fp32, "float32")),
        "fp16_bytes": out.stat().st_size,
        "out_of_fp16_range": overflow,
    }


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a run's best weights, in fp16 with --half")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder, e.g. runs/20260101-120000")
    p.add_argument("--half", action="store_true", help="store the weights in fp16 (half the bytes)")
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="default: RUN/export/model-fp16.pt (model-fp32.pt without --half)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    report = export(args.run, half=args.half, out=args.out)
    metric = report["metric"]
    lines = [
        f"Run {report['run']} (best checkpoint, epoch {report['epoch']}), {report['split']} split:",
        f"  fp32 weights: {metric} {report[f'fp32_{metric}']:.4f}, {report['fp32_bytes']:,} bytes",
    ]
    if args.half:
        ratio = report["fp16_bytes"] / report["fp32_bytes"]
        lines += [
            f"  fp16 weights: {metric} {report[f'fp16_{metric}']:.4f} "
            f"({report['difference']:+.4f}), {report['fp16_bytes']:,} bytes ({ratio:.0%})",
            f"  the fp16 {metric}: {report['fp16_evaluation']}",
        ]
        if report["out_of_fp16_range"]:
            lines.append(
                f"  warning: {report['out_of_fp16_range']} weights exceed the fp16 range "
                "and became inf"
            )
    out = Path(report["out"])
    summary = out.with_suffix(".json")
    write_json(report, summary)
    lines.append(f"Wrote {out} ({'fp16' if args.half else 'fp32'} storage) and {summary}")
    print("\n".join(lines))
    return 0

"""Export a trained run: `python -m <package> export RUN --format half|fp32|onnx|pt2`.

- `fp32` (the default) writes the best weights; `half` (or `--half`) stores them in fp16,
  half the bytes (the reference's advice: networks are approximators with many parameters,
  and rounding them to 16 bits rarely costs accuracy), and measures what the rounding costs
  on the run's held-out split. Both files load with `checkpoint.load`.
- `onnx` writes the model as an ONNX graph through `torch.onnx.export`: the dynamo exporter
  first, the TorchScript one when it fails (the report says which). The batch axis is
  dynamic: the graph is traced with 2 samples and checked, with onnxruntime, on a held-out
  batch of `train.batch_size`. It needs the `export` extra (`pip install -e '.[export]'`).
- `pt2` writes a `torch.export` program (`torch.export.save`), checked the same way after
  `torch.export.load`; load it with `torch.export.load(path).module()`.

A graph whose outputs differ from PyTorch's by more than TOLERANCE (fp32), or a model that
does not export (the operator is named), is refused in one sentence and nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoint, task
from .errors import ConfigError, DataError
from .files import atomic, write_json
from .metrics import evaluate
from .runs import open_run

FORMATS = ("half", "fp32", "onnx", "pt2")
TOLERANCE = 1e-4  # max abs difference of a graph's fp32 outputs from PyTorch's
EXTRA = ("onnx", "onnxruntime", "onnxscript")  # the `export` extra in pyproject.toml


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


def export_graph(run: Path, fmt: str, out: Path | None = None) -> dict[str, Any]:
    """Write the run's best model as an ONNX graph (`fmt="onnx"`) or a torch.export program
    (`"pt2"`), after checking its outputs against PyTorch's on a held-out batch."""
    if fmt == "onnx":
        _require_extra()
    opened = open_run(Path(run), "best", torch.device("cpu"))  # a graph for any machine
    model, x = opened.model, opened.pair()[0][: opened.cfg.train.batch_size]
    example = torch.cat([x, x])[:2]  # traced with 2 samples, checked with a full batch
    with torch.no_grad():
        want = model(x)
    if fmt == "onnx":
        data, exporter, dynamo_error, got = _onnx(model, example, x, run)
    else:
        data, exporter, dynamo_error, got = _pt2(model, example, x, run)
    difference = float((got - want).abs().max())
    if not difference <= TOLERANCE:  # a NaN difference is refused too
        raise DataError(
            f"The {fmt} graph of {run} differs from the PyTorch model by up to {difference:.3g} "
            f"on a held-out batch (more than {TOLERANCE:g}), so it was not written."
        )
    out = Path(out or Path(run) / "export" / f"model.{fmt}")
    with atomic(out) as f:
        f.write(data)
    report: dict[str, Any] = {
        "run": str(run),
        "epoch": opened.state["epoch"],
        "format": fmt,
        "exporter": exporter,
        "split": opened.held_out,
        "checked_samples": len(x),
        "max_abs_difference": difference,
        "tolerance": TOLERANCE,
        "out": str(out),
        "bytes": len(data),
        "torch": torch.__version__,
    }
    if dynamo_error:
        report["dynamo_error"] = dynamo_error
    if fmt == "onnx":
        report.update({f"{name}_version": _version(name) for name in EXTRA})
    return report


Checked = tuple[bytes, str, str, torch.Tensor]  # file, exporter, why dynamo failed, outputs


def _onnx(model: nn.Module, example: torch.Tensor, x: torch.Tensor, run: Path) -> Checked:
    """The dynamo exporter, else the TorchScript one; outputs of `x` under onnxruntime."""
    import onnxruntime

    names: dict[str, Any] = {"input_names": ["input"], "output_names": ["output"]}
    batch: dict[str, Any] = {"dynamic_shapes": ({0: torch.export.Dim("batch")},)}
    axes: dict[str, Any] = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}}
    errors: dict[str, BaseException] = {}
    for exporter, options in (("dynamo", batch), ("torchscript", axes)):
        with tempfile.TemporaryDirectory() as tmp, _quiet():
            path = Path(tmp) / "model.onnx"
            try:
                torch.onnx.export(
                    model, (example,), str(path), dynamo=exporter == "dynamo",
                    external_data=False, verbose=False, **names, **options,
                )  # fmt: skip
            except Exception as err:  # any failure of this exporter: try the next one
                errors[exporter] = err
                continue
            data = path.read_bytes()
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        return data, exporter, _reason(errors.get("dynamo")), torch.from_numpy(got)
    op = _op(errors["torchscript"])
    if op and op == _op(errors["dynamo"]):
        raise DataError(
            f"The model of {run} does not export to ONNX: neither exporter supports the "
            f"operator {op}."
        )
    dynamo, script = _reason(errors["dynamo"]), _reason(errors["torchscript"])
    raise DataError(
        f"The model of {run} does not export to ONNX (the dynamo exporter: {dynamo}; "
        f"the TorchScript exporter: {script})."
    )


def _pt2(model: nn.Module, example: torch.Tensor, x: torch.Tensor, run: Path) -> Checked:
    """torch.export, saved and loaded back; outputs of `x` from the loaded program."""
    try:
        with _quiet():
            program = torch.export.export(
                model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},)
            )
    except Exception as err:  # torch.export raises many kinds
        raise DataError(
            f"The model of {run} does not export with torch.export: {_reason(err)}."
        ) from None
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    loaded = torch.export.load(io.BytesIO(buffer.getvalue()))
    with torch.no_grad():
        got = loaded.module()(x)
    return buffer.getvalue(), "torch.export", "", got


def _op(err: BaseException) -> str | None:
    """The operator an exporter refused, as aten::name, when its message names one."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the dynamo exporter colours its text
    found = re.search(r"operator '([\w:.]+)'", text) or re.search(r"op='([\w.]+)'", text)
    if found is None:
        return None
    name = found.group(1)  # 'aten::kthvalue' (TorchScript) or 'aten.kthvalue' (dynamo)
    return name if "::" in name else name.replace(".", "::", 1)


def _reason(err: BaseException | None) -> str:
    """An exporter's error in a few words: the operator it refused, else its first line."""
    if err is None:
        return ""
    if op := _op(err):
        return f"the operator {op} is not supported"
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return (lines[0] if lines else type(err).__name__).rstrip(".")[:200]


def _require_extra() -> None:
    missing = []
    for name in EXTRA:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ConfigError(
            f"--format onnx needs {', '.join(missing)}: install the export extra with "
            "pip install -e '.[export]'."
        )


def _version(name: str) -> str:
    return str(getattr(importlib.import_module(name), "__version__", "unknown"))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' progress lines, warnings and the TorchScript exporter's graph dump
    (printed by C++ straight to file descriptor 2) stay off the terminal: the command
    prints one report, or one sentence."""
    logger = logging.getLogger("torch.onnx")
    level, saved = logger.level, os.dup(2)
    logger.setLevel(logging.ERROR)
    sys.stderr.flush()
    try:
        with open(os.devnull, "w") as null, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.dup2(null.fileno(), 2)
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        logger.setLevel(level)


def _one_of(names: tuple[str, ...]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


def run_export(run: Path, fmt: str, out: Path | None = None) -> dict[str, Any]:
    """The export `fmt` of the run folder `run` (see the module docstring)."""
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown export format {fmt!r}: choose {_one_of(FORMATS)}.")
    if fmt in ("half", "fp32"):
        return export(run, half=fmt == "half", out=out)
    return export_graph(run, fmt, out)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a run's best model: weights, ONNX or torch.export")
    p.add_argument("run", type=Path, metavar="RUN", help="run folder, e.g. runs/20260101-120000")
    p.add_argument(
        "--format",
        default="fp32",
        metavar="FORMAT",
        help=f"{_one_of(FORMATS)} (default fp32); onnx needs pip install -e '.[export]'",
    )
    p.add_argument(
        "--half", dest="format", action="store_const", const="half", help="as --format half"
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="default: RUN/export/model-fp32.pt, model-fp16.pt, model.onnx or model.pt2",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    report = run_export(args.run, args.format, args.out)
    out = Path(report["out"])
    summary = out.with_suffix(".json") if out.suffix == ".pt" else Path(f"{out}.json")
    write_json(report, summary)
    lines = (_weights_lines if args.format in ("half", "fp32") else _graph_lines)(report)
    stored = {"half": " (fp16 storage)", "fp32": " (fp32 storage)"}.get(args.format, "")
    print("\n".join([*lines, f"Wrote {out}{stored} and {summary}"]))
    return 0


def _graph_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"Run {report['run']} (best checkpoint, epoch {report['epoch']}) as {report['format']}, "
        f"exported by {report['exporter']}",
        f"  max abs difference from PyTorch (fp32) on {report['checked_samples']} "
        f"{report['split']} samples: {report['max_abs_difference']:.3g} "
        f"(at most {report['tolerance']:g})",
    ]
    if "dynamo_error" in report:
        lines.append(f"  the dynamo exporter failed: {report['dynamo_error']}")
    return lines


def _weights_lines(report: dict[str, Any]) -> list[str]:
    metric = report["metric"]
    lines = [
        f"Run {report['run']} (best checkpoint, epoch {report['epoch']}), {report['split']} split:",
        f"  fp32 weights: {metric} {report[f'fp32_{metric}']:.4f}, {report['fp32_bytes']:,} bytes",
    ]
    if f"fp16_{metric}" in report:
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
    return lines

"""Mixed precision: train in 16-bit floats where the hardware does them fast, keep fp32 weights.

Why: a 16-bit float is half the bytes of an fp32 one, and the matrix units of recent
hardware (tensor cores on NVIDIA GPUs since Volta, AMX on Intel Xeons since Sapphire
Rapids) multiply 16-bit numbers several times faster. Networks are approximators with many
parameters; rounding their activations to 16 bits rarely costs accuracy.

How: `torch.autocast` runs the operations that gain (matrix products, convolutions) in
the 16-bit type and keeps the ones that need the range or the digits (losses, softmax,
norms, sums) in fp32. The weights and the optimizer's state stay fp32: an update of 1e-4
on a weight of 1 is lost entirely in 16 bits. Two 16-bit types:
- bf16 keeps fp32's 8 exponent bits (the same range) with 7 mantissa bits: nothing
  overflows or underflows, so it is a drop-in change. CPUs compute it (fast with AMX),
  and NVIDIA GPUs since Ampere.
- fp16 has 5 exponent bits and 10 mantissa bits: more digits, but small gradients
  underflow to zero. Loss scaling fixes that: the loss is multiplied by a large factor
  before `backward`, the gradients are divided by it before the step, and a step whose
  gradients overflowed is skipped while the factor shrinks (`torch.amp.GradScaler`).
  It needs CUDA; it is the fast choice on GPUs older than Ampere (V100, T4).
`mode = "auto"` picks bf16 where it is native (CUDA with bf16, CPUs with AMX), else fp32.
Evaluation always runs in fp32: the metrics you compare across runs do not depend on it.

`channels_last` stores 4-D tensors as (N, H, W, C) instead of (N, C, H, W): the layout the
fast convolution kernels of oneDNN (CPU) and cuDNN (tensor cores) work in, which saves
them a transpose per layer. It is applied to models with 2-D convolutions only; an LSTM
or an MLP has no use for it.

Storing weights in fp16 (half the bytes) is `python -m <package> export RUN --format half`
(export.py), which measures what that rounding costs on held-out data.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .config import PrecisionConfig
from .errors import ConfigError
from .lifecycle import FullPrecision

NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
MODES = ("auto", "fp32", "bf16", "fp16")


def _amx() -> bool:
    """Whether this CPU has AMX tiles (bf16 matrix units); False where torch cannot tell."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe and probe())


def _bf16_native(device: torch.device) -> bool:
    """Whether `device` computes bf16 in hardware (not emulated)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return device.type == "cpu" and _amx()


def _bf16_works(device: torch.device) -> bool:
    """Whether `device` can run bf16 at all, fast or not."""
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "mps":
        newer = getattr(torch.backends.mps, "is_macos_or_newer", None)
        return bool(newer and newer(14, 0))
    return False


def resolve(mode: str, device: torch.device) -> torch.dtype:
    """The compute dtype of `mode` on `device`; ConfigError where the device cannot do it.

    auto: bf16 where the hardware has it (CUDA with bf16 support, CPUs with AMX), else
    fp32 (MPS included).
    """
    if mode == "fp32":
        return torch.float32
    if mode == "auto":
        return torch.bfloat16 if _bf16_native(device) else torch.float32
    if mode == "fp16":
        if device.type != "cuda":
            raise ConfigError(
                f"precision.mode=fp16 needs CUDA and this run is on {device.type}; "
                "use bf16 (it works on CPUs) or fp32."
            )
        return torch.float16
    if mode == "bf16":
        if not _bf16_works(device):
            raise ConfigError(
                f"precision.mode=bf16 is not supported on {device}; use fp16 or fp32 there."
            )
        return torch.bfloat16
    raise ConfigError(f"precision.mode must be one of {', '.join(MODES)}; got {mode!r}.")


@functools.cache
def _recurrent_bf16_works() -> bool:
    """Whether this CPU's oneDNN builds a bf16 LSTM (it needs native bf16: AMX or AVX512-BF16)."""
    lstm = nn.LSTM(2, 2, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = lstm(torch.zeros(1, 2, 2))
        out.float().sum().backward()
    except RuntimeError:
        return False
    return True


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d | nn.ConvTranspose2d) for m in model.modules())


class Precision(FullPrecision):
    """The loop's precision: autocast, loss scaling for fp16, channels_last, and their state.

    amp = Precision(cfg.precision, device)
    model = amp.prepare_model(model)
    with amp.autocast():
        loss = loss_fn(model(amp.prepare_input(x)), y)
    amp.backward_step(loss, optimizer, model.parameters(), grad_clip)
    """

    def __init__(self, cfg: PrecisionConfig, device: torch.device) -> None:
        self.device = torch.device(device)
        self.dtype = resolve(cfg.mode, self.device)
        self.name = NAMES[self.dtype]
        self.channels_last = cfg.channels_last
        self.converted = False  # set by prepare_model when the model went channels_last
        # loss scaling only for fp16; a disabled scaler passes everything through unchanged
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context for forward pass and loss: 16-bit where it pays, nothing for fp32."""
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def prepare_model(self, model: nn.Module) -> nn.Module:
        """The model in channels_last when that is on and it has 2-D convolutions.

        ConfigError for bf16 recurrent layers on a CPU that cannot build them."""
        recurrent = any(isinstance(m, nn.RNNBase) for m in model.modules())
        on_cpu = self.dtype == torch.bfloat16 and self.device.type == "cpu"
        if recurrent and on_cpu and not _recurrent_bf16_works():
            raise ConfigError(
                "precision.mode=bf16 cannot run this model's LSTM on this CPU (oneDNN needs "
                "native bf16: AMX or AVX512-BF16); use precision.mode=auto or fp32."
            )
        if self.channels_last and has_conv2d(model):
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            self.converted = True
        return model

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        """A 4-D batch in channels_last when the model is; anything else as it is."""
        if self.converted and x.ndim == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate `loss`; with fp16 the loss is scaled first (`GradScaler`)."""
        self.scaler.scale(loss).backward()  # a disabled scaler returns `loss` itself

    def step(
        self, optimizer: torch.optim.Optimizer, parameters: Iterable[nn.Parameter], grad_clip: float
    ) -> None:
        """Clip and step. With fp16 the gradients are unscaled before clipping (so the clip
        applies to the true gradients) and a step with inf/NaN gradients is skipped while the
        scale shrinks."""
        if not self.scaler.is_enabled():  # fp32 and bf16: the plain step
            super().step(optimizer, parameters, grad_clip)
            return
        if grad_clip:
            self.scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(parameters, grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The loss scaler's state (empty unless fp16), for checkpoints."""
        return self.scaler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the scaler; an empty state (a run saved without fp16) keeps a fresh one."""
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(state)

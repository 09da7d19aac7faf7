"""Optimizer switching: start with Adam, finish with SGD with momentum.

Adam makes fast progress early on; SGD with momentum often ends at solutions that
generalise better. Switching between them mid-run gets some of both. Two ways to decide
when (`[switch] mode`):
- `plan`: the first optimizer (`optim.name`) trains epochs 1..`at_epoch`, then SGD with
  learning rate `lr` and `momentum` takes over for the rest of the run;
- `swats`: switch automatically when Adam's steps have settled down to what plain SGD
  would do, with the learning rate SGD needs to match them (Keskar & Socher 2017,
  "Improving Generalization Performance by Switching from Adam to SGD", Algorithm 1).

How SWATS picks the moment and the learning rate. After each Adam step, p_k is the step
Adam applied (-lr * m_hat / (sqrt(v_hat) + eps)) and g_k the gradient it followed. An SGD
step -gamma * g_k whose projection onto p_k equals p_k has

    gamma_k = (p_k . p_k) / (-p_k . g_k).

gamma_k is noisy from batch to batch, so SWATS keeps an exponential average with Adam's
beta2, lambda_k = beta2 * lambda_{k-1} + (1 - beta2) * gamma_k, bias-corrected as
Lambda_k = lambda_k / (1 - beta2^k) (the same correction Adam applies to its moments).
It switches once the average has stopped moving: k > 1 and |Lambda_k - gamma_k| < tolerance.
Lambda_k is then the learning rate of plain SGD that matches Adam. With momentum mu,
SGD's steady step is lr / (1 - mu) times the gradient, so SGD gets lr = (1 - mu) * Lambda_k
(the paper's update uses the same (1 - beta1) factor); `estimate` keeps Lambda_k itself.

Choices made here:
- p_k and g_k are all parameters taken as one vector (one gamma for the whole model); the
  paper also has a per-layer variant with one learning rate per parameter tensor.
- g_k is what Adam followed: the gradient as the loop left it (after clipping), plus the
  L2 term weight_decay * w for Adam (AdamW's decoupled decay is not part of its step).
- `tolerance` is absolute by default, in the units of a learning rate, as in the paper
  (1e-9 there): the switch comes when gamma_k lands within `tolerance` of Lambda_k.
  With minibatch noise gamma_k jumps around Lambda_k from step to step, so the switch
  comes when one step happens to land close, and a tighter tolerance means a later,
  rarer landing. On the cnn baseline's digits (batch 64, 18 steps an epoch, seed 0)
  Lambda_k was about 0.4 to 0.7 and |Lambda_k - gamma_k| never went below 1e-3 in steps
  100 to 540: 1e-9 never fires there. `relative = true` measures the tolerance in units of
  Lambda_k instead (|Lambda_k - gamma_k| < tolerance * Lambda_k), which does not depend
  on the scale of the loss or of the rates; there 0.01 fired at step 158 (epoch 9,
  Lambda 0.46, SGD lr 0.046), 0.1 at step 100 (= min_steps), 0.003 at step 302, and
  0.001 never.
- It never switches before `min_steps` steps, nor to a learning rate that is not
  positive and finite (a negative gamma means Adam stepped uphill along g_k).
`Switch` is the technique the loop calls (lifecycle.py): after every optimizer step it asks
`due(...)` and, when the answer is yes, replaces the loop's optimizer with `make_sgd(...)`
and hands the schedule SGD's rate as its new base (the schedule's shape carries on). Its
state goes into each checkpoint, so a resumed run makes the same decisions and resumes
with the optimizer it had.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from .config import SwitchConfig
from .lifecycle import Loop, Technique


class Switcher:
    """Decides when to leave Adam for SGD, and builds the SGD optimizer.

    Attributes: `switched` (has the switch happened), `sgd_lr` (SGD's learning rate once
    the switch is due, else None), `steps` (optimizer steps seen up to the switch),
    `switch_step` (the step at which it switched, counting from 1, or None); for swats
    also `gamma` (the last gamma_k) and `estimate` (the last Lambda_k), None until the
    first Adam step.
    """

    def __init__(self, cfg: SwitchConfig) -> None:
        self.cfg = cfg
        self.switched = False
        self.sgd_lr: float | None = None
        self.steps = 0
        self.switch_step: int | None = None
        self.gamma: float | None = None
        self.estimate: float | None = None
        self._lam = 0.0  # lambda_k before bias correction

    def due(self, optimizer: torch.optim.Optimizer, epoch: int, end_of_epoch: bool) -> bool:
        """Called after every optimizer.step() (epoch counts from 1). True exactly once:
        plan: at the end of epoch `at_epoch`; swats: when the criterion fires. Updates the
        SWATS running estimate as a side effect (it reads Adam's state after the step)."""
        if self.cfg.mode == "off" or self.switched or self.sgd_lr is not None:
            return False
        self.steps += 1
        if self.cfg.mode == "plan":
            fire = end_of_epoch and epoch == self.cfg.at_epoch
            if fire:
                self.sgd_lr = self.cfg.lr
        else:
            fire = self._swats(optimizer)
        if fire:
            self.switch_step = self.steps
        return fire

    def _swats(self, optimizer: torch.optim.Optimizer) -> bool:
        """Update gamma_k and lambda_k from Adam's state; True when the criterion fires."""
        pp, pg = _step_dots(optimizer)
        if pg == 0 or not math.isfinite(pp + pg):  # nothing to match (or a skipped step):
            return False  # leave the estimate as it was, as the paper does for p.g = 0
        beta2 = optimizer.param_groups[0]["betas"][1]
        self.gamma = pp / -pg
        self._lam = beta2 * self._lam + (1 - beta2) * self.gamma
        self.estimate = self._lam / (1 - beta2**self.steps)
        scale = abs(self.estimate) if self.cfg.relative else 1.0
        fire = (
            self.steps > 1
            and self.steps >= self.cfg.min_steps
            and math.isfinite(self.estimate)
            and self.estimate > 0
            and abs(self.estimate - self.gamma) < self.cfg.tolerance * scale
        )
        if fire:
            self.sgd_lr = (1 - self.cfg.momentum) * self.estimate
        return fire

    def make_sgd(self, params: Iterable[torch.Tensor], weight_decay: float) -> torch.optim.SGD:
        """The optimizer after the switch (marks switched=True)."""
        if self.sgd_lr is None:
            raise RuntimeError("make_sgd was called before the switch was due.")
        self.switched = True
        return torch.optim.SGD(
            params, lr=self.sgd_lr, momentum=self.cfg.momentum, weight_decay=weight_decay
        )

    def state_dict(self) -> dict[str, Any]:
        """Plain Python values only, so checkpoints load with weights_only=True."""
        return {
            "switched": self.switched,
            "sgd_lr": self.sgd_lr,
            "steps": self.steps,
            "switch_step": self.switch_step,
            "gamma": self.gamma,
            "estimate": self.estimate,
            "lam": self._lam,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.switched = bool(state["switched"])
        self.sgd_lr = state["sgd_lr"]
        self.steps = int(state["steps"])
        self.switch_step = state["switch_step"]
        self.gamma = state["gamma"]
        self.estimate = state["estimate"]
        self._lam = float(state["lam"])


class Switch(Technique):
    """Optimizer switching in the loop's lifecycle."""

    name = "switch"

    def __init__(self, cfg: SwitchConfig, weight_decay: float) -> None:
        self.switcher = Switcher(cfg)
        self.weight_decay = weight_decay

    def after_step(self, loop: Loop, epoch: int, step: int) -> None:
        if self.switcher.due(loop.optimizer, epoch, step == loop.steps - 1):  # Adam -> SGD
            self._to_sgd(loop)

    def _to_sgd(self, loop: Loop) -> None:
        loop.optimizer = self.switcher.make_sgd(loop.params, self.weight_decay)
        assert self.switcher.sgd_lr is not None  # make_sgd checked it
        loop.schedule.base = self.switcher.sgd_lr

    def state_dict(self) -> dict[str, Any]:
        return self.switcher.state_dict()

    def load_state_dict(self, state: dict[str, Any], loop: Loop) -> None:
        self.switcher.load_state_dict(state)
        if self.switcher.switched:  # the checkpoint's optimizer state is SGD's
            self._to_sgd(loop)

    def summary(self, history: list[dict[str, float]]) -> Any:
        return self.switcher.state_dict()


def _step_dots(optimizer: torch.optim.Optimizer) -> tuple[float, float]:
    """(p . p, p . g) over all parameters, p the step Adam just took, g the gradient it used."""
    dots = []
    for group in optimizer.param_groups:
        if "betas" not in group:
            raise ValueError(
                f"switch.mode=swats needs Adam or AdamW as the first optimizer, "
                f"not {type(optimizer).__name__}."
            )
        beta1, beta2 = group["betas"]
        decoupled = group.get("decoupled_weight_decay", isinstance(optimizer, torch.optim.AdamW))
        for param in group["params"]:
            state = optimizer.state.get(param)
            if param.grad is None or not state:
                continue
            k = float(state["step"])
            v = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
            m_hat = state["exp_avg"] / (1 - beta1**k)
            v_hat = v / (1 - beta2**k)
            step = -group["lr"] * m_hat / (v_hat.sqrt() + group["eps"])
            grad = -param.grad if group["maximize"] else param.grad
            if group["weight_decay"] and not decoupled:  # Adam's L2 term, at w before the step
                grad = grad + group["weight_decay"] * (param.detach() - step)
            dots.append(torch.stack([(step * step).sum(), (step * grad).sum()]).double())
    if not dots:
        return 0.0, 0.0
    pp, pg = torch.stack(dots).sum(0).tolist()  # one device sync per step
    return pp, pg

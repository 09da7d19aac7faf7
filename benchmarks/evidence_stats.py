"""Paired statistics for the evidence: one difference per seed, a t-interval, a verdict.

Both arms of a comparison run with the same seeds, and within a seed with the same data
split (`data.split_seed` is the seed), so each seed gives one paired difference
d_i = B_i - A_i (B the technique, A what it replaces). The interval is Student's t
interval of the mean difference,

    mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n)        (sd with n - 1 in the denominator)

and an effect is called only when the 95% interval excludes 0: "helps" when the technique
is better on the metric (higher accuracy, lower loss, more samples/s), "hurts" when it is
worse; otherwise "no effect found at this size". Fewer than 2 pairs give no interval and
no verdict. When every difference is the same the interval has no width; a nonzero
constant difference then counts as an effect (every seed agreed), a zero one does not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HELPS, HURTS, NONE, TOO_FEW = "helps", "hurts", "no effect found at this size", "too few seeds"
METHOD = "paired t, 95%"


def t_quantile(df: int, level: float = 0.95) -> float:
    """The two-sided `level` quantile of Student's t with `df` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df))


def paired(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> dict[str, Any]:
    """Mean of b - a over pairs, and its t-interval at `level` (NaN bounds with < 2 pairs)."""
    if len(a) != len(b):
        raise ValueError(f"paired arms need one number per seed each: {len(a)} vs {len(b)}")
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    mean = statistics.fmean(diffs) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "low": math.nan, "high": math.nan, "diffs": diffs}
    half = t_quantile(n - 1, level) * statistics.stdev(diffs) / math.sqrt(n)
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half, "diffs": diffs}


def verdict(interval: dict[str, Any], higher_is_better: bool = True) -> str:
    """helps / hurts / no effect found at this size, from the interval of b - a."""
    if interval["n"] < 2 or math.isnan(interval["low"]):
        return TOO_FEW
    low, high = interval["low"], interval["high"]
    if low > 0 or high < 0:
        better = (low > 0) == higher_is_better
        return HELPS if better else HURTS
    return NONE


def interval_text(interval: dict[str, Any], digits: int = 4) -> str:
    """`+0.0123 [-0.0010, +0.0256]`, or the one difference when there is no interval."""
    if math.isnan(interval["low"]):
        return f"{interval['mean']:+.{digits}f} (no interval)"

    def bound(x: float) -> str:  # a nonzero bound never prints as 0: its sign is the verdict
        return f"{x:+.2g}" if x and abs(x) < 0.5 * 10**-digits else f"{x:+.{digits}f}"

    return f"{interval['mean']:+.{digits}f} [{bound(interval['low'])}, {bound(interval['high'])}]"


def mean_text(xs: Sequence[float], digits: int = 4) -> str:
    """`mean (min..max)` over seeds."""
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{statistics.fmean(xs):.{digits}f} ({min(xs):.{digits}f}..{max(xs):.{digits}f})"


PLOT_COLUMNS = 6


def pair_plot(path: Path, title: str, comparisons: Sequence[dict[str, Any]]) -> None:
    """One panel per comparison: each seed's pair joined by a line (A left, B right), and
    beside it the paired differences with their mean and 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = max(len(comparisons), 1)
    cols = min(count, PLOT_COLUMNS)  # wrapped: a lab with 20 comparisons is 4 rows of pairs
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(3.6 * cols, 6.4 * rows), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax in axes.flat:
        ax.set_visible(False)
    for k, c in enumerate(comparisons):
        row, col = divmod(k, cols)
        top, bottom = axes[2 * row][col], axes[2 * row + 1][col]
        top.set_visible(True)
        bottom.set_visible(True)
        for x, y in zip(c["a_values"], c["b_values"], strict=True):
            top.plot([0, 1], [x, y], marker="o", color="tab:blue", alpha=0.7)
        top.set_xticks([0, 1], [c["a"], c["b"]], fontsize=7)
        top.set_xlim(-0.3, 1.3)
        top.set_title(f"{c['title']}\n{c['metric']}", fontsize=8)
        top.grid(alpha=0.3)
        iv = c["interval"]
        bottom.scatter([0] * len(iv["diffs"]), iv["diffs"], color="black", s=14, zorder=3)
        if not math.isnan(iv["low"]):
            bottom.errorbar(
                [0.3],
                [iv["mean"]],
                yerr=[[iv["mean"] - iv["low"]], [iv["high"] - iv["mean"]]],
                fmt="s",
                color="tab:red",
                capsize=4,
            )
        bottom.axhline(0, color="gray", linestyle="--", linewidth=1)
        bottom.set_xticks([0, 0.3], ["each seed", "mean, 95% CI"], fontsize=7)
        bottom.set_xlim(-0.3, 0.6)
        bottom.set_title(f"{c['b']} - {c['a']}:\n{c['verdict']}", fontsize=7)
        bottom.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)

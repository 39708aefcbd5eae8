"""PNG charts for the model-day report, drawn with matplotlib's object-oriented API.

No pyplot: a Figure lives only as long as the function drawing it, so a 365-day backfill does not
accumulate open figures, and nothing depends on global backend state. Every function returns PNG
bytes, which the renderer both writes next to the HTML and embeds in it.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

DPI = 80  # small files: a 100-feature report must stay under 2 MB with its charts embedded
WIDTH_IN = 7.5
REFERENCE_COLOUR = "#4c72b0"
CURRENT_COLOUR = "#dd8452"
DRIFTED_COLOUR = "#c0392b"
STABLE_COLOUR = "#7fa7c9"
UNJUDGED_COLOUR = "#c8ccd0"
LIMIT_COLOUR = "#333333"
SERIES_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#8172b3", "#c44e52")
MAX_CATEGORIES = 12
LABEL_CHARS = 28
HISTOGRAM_BINS = 30
EDGE_SAMPLE = 500_000
MIN_P_VALUE = 1e-16  # p-values below float precision are drawn as this, labelled with the true value


def chart_label(text: object, limit: int = LABEL_CHARS) -> str:
    """Data as a one-line chart label: truncated, and with ``$`` escaped so mathtext never parses data."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(height_in: float) -> Figure:
    return Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")


def _fixed_figure(height_in: float, *, left: float, bottom: float, top: float) -> Figure:
    """A figure whose one axes sits at margins given in inches: for charts whose labels have a known size,
    drawn once instead of twice (constrained layout measures every label in a first drawing pass)."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    fig.subplots_adjust(left=left / WIDTH_IN, right=1 - 0.15 / WIDTH_IN, bottom=bottom / height_in,
                        top=1 - top / height_in)
    return fig


@dataclass(frozen=True)
class DriftBar:
    """One feature's decision statistic; ``label`` is the value as a human reads it (e.g. "p=0.0012")."""

    feature: str
    value: float
    threshold: float | None
    drifted: bool | None  # None: not judged (too little data)
    label: str


@dataclass(frozen=True)
class DriftPanel:
    """Features judged by one method; tests (p-values) drift *below* the threshold, distances at or above it."""

    title: str
    lower_is_drift: bool
    bars: list[DriftBar]


def _bar_length(value: float, lower_is_drift: bool) -> float:
    """Bars grow with the evidence of drift: distances as they are, p-values as −log10 p."""
    if not math.isfinite(value):
        return 0.0
    if lower_is_drift:
        return -math.log10(min(max(value, MIN_P_VALUE), 1.0))
    return value


def drift_scores_png(panels: list[DriftPanel]) -> bytes:
    """Horizontal bars per feature, one panel per method, each with its threshold marked."""
    heights = [max(len(p.bars), 1) * 0.24 + 0.7 for p in panels]
    fig = _figure(sum(heights) + 0.3)
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, panel in zip(axes, panels):
        positions = np.arange(len(panel.bars))
        lengths = [_bar_length(b.value, panel.lower_is_drift) for b in panel.bars]
        colours = [DRIFTED_COLOUR if b.drifted else UNJUDGED_COLOUR if b.drifted is None else STABLE_COLOUR
                   for b in panel.bars]
        ax.barh(positions, lengths, color=colours, height=0.7)
        ax.set_yticks(positions, [chart_label(b.feature) for b in panel.bars], fontsize=8)
        ax.invert_yaxis()
        for pos, length, bar in zip(positions, lengths, panel.bars):
            ax.text(length, pos, " " + chart_label(bar.label), va="center", fontsize=7)
            if bar.threshold is not None:
                mark = _bar_length(bar.threshold, panel.lower_is_drift)
                ax.plot([mark, mark], [pos - 0.45, pos + 0.45], color=LIMIT_COLOUR, linestyle="--", linewidth=1)
        axis = "−log10 p-value (longer bar = stronger evidence)" if panel.lower_is_drift else "distance"
        ax.set_xlabel(f"{axis}; dashed line: threshold, red: drifted", fontsize=8)
        ax.set_title(chart_label(panel.title, 80), fontsize=10, loc="left")
        ax.margins(x=0.18, y=0.02)
        ax.tick_params(axis="x", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _as_numbers(values: pd.Series | None) -> tuple[np.ndarray, int]:
    """Finite values, and how many were missing, non-numeric or infinite (reported, never silently lost)."""
    if values is None:
        return np.array([], dtype=float), 0
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(numbers)
    return (numbers if finite.all() else numbers[finite]), len(numbers) - int(np.count_nonzero(finite))


def _bin_edges(*samples: np.ndarray) -> np.ndarray:
    """Bins for the samples together (as if laid end to end, without copying them so). Integer data gets one bin
    per value; otherwise 30 bins over the central 99 % (tails fold into the edges), its bounds read from at most
    ``EDGE_SAMPLE`` evenly spaced values (a chart's bins need no exact quantile)."""
    step = max(1, sum(sample.size for sample in samples) // EDGE_SAMPLE)
    spaced, offset = [], 0
    for sample in samples:  # every step-th value counted across the samples
        spaced.append(sample[(-offset) % step:: step])
        offset += sample.size
    evenly = np.concatenate(spaced)
    low, high = np.quantile(evenly, [0.005, 0.995])
    present = [sample for sample in samples if sample.size]
    if low == high:
        low, high = min(sample.min() for sample in present), max(sample.max() for sample in present)
    # the spaced values decide most columns before every value is compared with its rounding
    if high - low <= 40 and np.all(evenly == np.round(evenly)) and all(
            np.all(sample == np.round(sample)) for sample in present):
        return np.arange(math.floor(low) - 0.5, math.ceil(high) + 1.5)
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def histogram_shares(finite: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The share of the values in each bin of equally spaced ``edges``, values outside folded into the end bins.
    Given as a range, numpy counts equal bins by arithmetic instead of sorting the values (about 10x faster on
    millions of values) and counts exactly as it does with the edges spelled out; the values outside are counted
    apart rather than clipped into a copy of millions of values."""
    counts, _ = np.histogram(finite, bins=edges.size - 1, range=(edges[0], edges[-1]))
    counts[0] += np.count_nonzero(finite < edges[0])
    counts[-1] += np.count_nonzero(finite > edges[-1])
    return counts / finite.size


def _message_png(title: str, message: str) -> bytes:
    fig = _figure(1.2)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(chart_label(title, 80), fontsize=10, loc="left")
    ax.text(0.5, 0.4, chart_label(message, 120), ha="center", va="center", fontsize=9, transform=ax.transAxes)
    return _png(fig)


def numeric_distribution_png(title: str, reference: pd.Series | None, current: pd.Series) -> bytes:
    """Overlaid histograms as shares of each sample, so samples of different size compare directly."""
    samples = [(name, *_as_numbers(values), colour)
               for name, values, colour in (("reference", reference, REFERENCE_COLOUR),
                                            ("current", current, CURRENT_COLOUR))
               if values is not None]
    if not any(finite.size for _, finite, _, _ in samples):
        return _message_png(title, "no finite values in either sample")
    edges = _bin_edges(*(finite for _, finite, _, _ in samples))
    fig = _fixed_figure(2.6, left=0.75, bottom=0.62, top=0.3)
    ax = fig.subplots()
    for name, finite, dropped, colour in samples:
        if finite.size == 0:
            continue
        ax.stairs(histogram_shares(finite, edges), edges, fill=True, alpha=0.45, color=colour, edgecolor=colour,
                  linewidth=1.2,
                  label=f"{name} (n={finite.size:,}" + (f", {dropped:,} missing or non-finite)" if dropped else ")"))
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.set_ylabel("share of rows", fontsize=8)
    ax.set_title(chart_label(title, 80), fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    fig.legend(fontsize=8, frameon=False, loc="lower center", ncols=2)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _category_shares(values: pd.Series | None) -> pd.Series:
    if values is None or len(values) == 0:
        return pd.Series(dtype=float)
    counts = values.value_counts(dropna=False)  # count first, then name the few distinct values as text
    labels = ["(missing)" if pd.isna(value) else str(value) for value in counts.index]
    return (counts.groupby(labels).sum() / len(values)).sort_values(ascending=False, kind="stable")


def categorical_distribution_png(title: str, reference: pd.Series | None, current: pd.Series) -> bytes:
    """Grouped bars of category shares; beyond the 12 largest, categories are pooled into "(other)"."""
    shares = pd.DataFrame({"reference": _category_shares(reference), "current": _category_shares(current)})
    shares = shares.fillna(0.0)
    if shares.empty:
        return _message_png(title, "no values in either sample")
    shares = shares.loc[shares.max(axis=1).sort_values(ascending=False, kind="stable").index]
    if len(shares) > MAX_CATEGORIES:
        pooled = shares.iloc[MAX_CATEGORIES - 1:]
        shares = shares.iloc[: MAX_CATEGORIES - 1]
        shares.loc[f"(other {len(pooled)} categories)"] = pooled.sum()
    positions = np.arange(len(shares))
    fig = _figure(0.9 + 0.32 * len(shares))
    ax = fig.subplots()
    samples = [("reference", reference, REFERENCE_COLOUR), ("current", current, CURRENT_COLOUR)]
    for offset, (name, values, colour) in zip((-0.2, 0.2), samples):
        if values is None:
            continue
        ax.barh(positions + offset, shares[name], height=0.38, color=colour, label=f"{name} (n={len(values):,})")
    ax.set_yticks(positions, [chart_label(c) for c in shares.index], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.set_xlabel("share of rows", fontsize=8)
    ax.set_title(chart_label(title, 80), fontsize=10, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    fig.legend(fontsize=8, frameon=False, loc="outside lower center", ncols=2)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


@dataclass(frozen=True)
class TrendSeries:
    """Values per day; ``lower``/``upper``, when given, bound a confidence band around them (same length)."""

    name: str
    dates: list[dt.date]
    values: list[float]
    lower: list[float] | None = None
    upper: list[float] | None = None


@dataclass(frozen=True)
class TrendPanel:
    """One y-axis of a trend chart; ``limits`` are labelled horizontal lines such as ("max 5%", 0.05).

    ``shade_from`` greys the days from that date on, captioned ``shade_label`` (e.g. labels still arriving).
    """

    title: str
    series: list[TrendSeries]
    limits: list[tuple[str, float]] = field(default_factory=list)
    percent: bool = False
    unit: str = ""
    shade_from: dt.date | None = None
    shade_label: str = ""


def _with_gaps(dates: list[dt.date], *columns: list[float]) -> tuple[list[dt.date], ...]:
    """Insert a NaN after every missing day, so a line breaks over days without data instead of bridging them."""
    out_dates: list[dt.date] = []
    out_columns: list[list[float]] = [[] for _ in columns]
    for index, day in enumerate(dates):
        if index and (day - dates[index - 1]).days > 1:
            out_dates.append(dates[index - 1] + dt.timedelta(days=1))
            for out in out_columns:
                out.append(math.nan)
        out_dates.append(day)
        for out, column in zip(out_columns, columns):
            out.append(column[index])
    return (out_dates, *out_columns)


def trend_png(panels: list[TrendPanel], highlight: dt.date | None = None) -> bytes:
    """Lines over days (broken where days are missing), bands shaded, the ``highlight`` day drawn larger,
    limits dashed."""
    fig = _figure(0.4 + 2.2 * len(panels))
    axes = fig.subplots(len(panels), 1, squeeze=False, sharex=True)[:, 0]
    for ax, panel in zip(axes, panels):
        for colour, series in zip(SERIES_COLOURS * 4, panel.series):
            marker_size = 3 if len(series.dates) <= 60 else 1.5
            dates, values = _with_gaps(series.dates, series.values)
            ax.plot(dates, values, marker="o", markersize=marker_size, linewidth=1.5, color=colour,
                    label=chart_label(series.name))
            if series.lower is not None and series.upper is not None:
                band_dates, lower, upper = _with_gaps(series.dates, series.lower, series.upper)
                ax.fill_between(band_dates, lower, upper, color=colour, alpha=0.2, linewidth=0,
                                label=chart_label(f"{series.name}, 95% band"))
            if highlight in series.dates:
                ax.plot([highlight], [series.values[series.dates.index(highlight)]], marker="o", markersize=7,
                        color=colour)
        for label, value in panel.limits:
            ax.axhline(value, color=LIMIT_COLOUR, linestyle="--", linewidth=1)
            ax.annotate(chart_label(label), (1, value), xycoords=("axes fraction", "data"), ha="right",
                        va="bottom", fontsize=7)
        if panel.shade_from is not None:
            last = max(day for series in panel.series for day in series.dates)
            ax.axvspan(panel.shade_from, last + dt.timedelta(days=0.5), color=UNJUDGED_COLOUR, alpha=0.35,
                       linewidth=0, label=chart_label(panel.shade_label, 60))
        if panel.percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1))
        ax.set_ylabel(panel.unit, fontsize=8)
        ax.set_title(chart_label(panel.title, 80), fontsize=10, loc="left")
        ax.tick_params(labelsize=8)
        if ax.get_legend_handles_labels()[0] and (len(panel.series) > 1 or panel.shade_from is not None
                                                  or any(s.lower is not None for s in panel.series)):
            ax.legend(fontsize=8, frameon=False, loc="best")
        ax.spines[["top", "right"]].set_visible(False)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # minticks: short ranges find an interval too
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return _png(fig)

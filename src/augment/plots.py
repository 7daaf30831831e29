"""Figures for the report, each returned as a ``data:image/png;base64,...`` URI.

matplotlib with the Agg backend (no display, no network); every figure is closed after
it is encoded so a report of many piano rolls does not hold them all in memory.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .melody import Melody  # noqa: E402

SEED_COLOUR, OUTPUT_COLOUR = "#4c72b0", "#dd8452"


def png_uri(fig: Figure, dpi: int = 80) -> str:
    """Encode and close ``fig``: a PNG data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def compare_shares(title: str, categories: Sequence[str], seeds: Counter[str],
                   output: Counter[str], xlabel: str = "") -> str:
    """Grouped bars: each category's share of the seeds beside its share of the output."""
    n_seeds, n_output = max(sum(seeds.values()), 1), max(sum(output.values()), 1)
    width_in = min(max(4.0, 0.32 * len(categories) + 1.5), 12.0)
    fig, ax = plt.subplots(figsize=(width_in, 2.8))
    xs = range(len(categories))
    ax.bar([x - 0.2 for x in xs], [seeds[c] / n_seeds for c in categories], 0.4,
           label=f"seeds (n={sum(seeds.values())})", color=SEED_COLOUR)
    ax.bar([x + 0.2 for x in xs], [output[c] / n_output for c in categories], 0.4,
           label=f"output (n={sum(output.values())})", color=OUTPUT_COLOUR)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(categories, rotation=90 if len(categories) > 14 else 0, fontsize=7)
    ax.set_ylabel("share")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    return png_uri(fig)


def piano_roll(melody: Melody, title: str = "") -> str:
    """One bar per note: time in quarter notes across, MIDI pitch up; rests stay empty."""
    fig, ax = plt.subplots(figsize=(3.6, 1.7))
    start = Fraction(0)
    for pitch, quarters in melody.pairs():
        if pitch is not None:
            ax.broken_barh([(float(start), float(quarters) * 0.95)], (pitch - 0.4, 0.8),
                           color=OUTPUT_COLOUR)
        start += quarters
    r = melody.pitch_range() or (60, 60)
    ax.set_ylim(r[0] - 2, r[1] + 2)
    ax.set_xlim(0, max(float(melody.total_quarters), 1.0))
    ax.set_xlabel("quarter notes", fontsize=7)
    ax.set_ylabel("MIDI pitch", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=8)
    return png_uri(fig)

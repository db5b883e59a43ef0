"""Render structured results for people: segment cards, drafts and tables, never raw JSON."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from tools.drafts import Draft
from tools.drafts import to_markdown as drafts_markdown
from tools.naming import fmt_value, pct
from tools.segment_card import SegmentCard

CHANNEL_ICONS = {"email": "✉️", "sms": "💬", "push": "🔔", "in_app": "📱"}


def card_markdown(card: SegmentCard) -> str:
    """A segment card as Markdown: name, size, description, traits, reach, products."""
    lines = [f"### {card.segment_id} · {card.name}",
             f"**{card.size:,} customers** ({pct(card.share)} of those segmented)",
             "", card.description_beside_facts(), ""]
    if card.traits:
        lines += ["| what sets them apart | segment | everyone | effect |", "|---|---:|---:|---:|"]
        for t in card.traits[:6]:
            arrow = "▲" if t.effect_size > 0 else "▼"
            seg, pop = fmt_value(t.segment_mean, t.unit), fmt_value(t.population_mean, t.unit)
            lines.append(f"| {t.label} | {seg} | {pop} | {arrow} {abs(t.effect_size):.1f} |")
        lines.append("")
    if card.reach:
        reach = " · ".join(f"{CHANNEL_ICONS.get(ch, '')} {ch} {n:,}"
                           for ch, n in card.reach.items())
        lines += [f"**Reachable with consent:** {reach}", ""]
    if card.products:
        top = sorted(card.products.items(), key=lambda kv: -kv[1])[:4]
        lines += ["**Products held:** " + ", ".join(f"{p.replace('_', ' ')} {pct(v)}"
                                                    for p, v in top), ""]
    if card.countries:
        top = sorted(card.countries.items(), key=lambda kv: -kv[1])[:4]
        lines.append("**Countries:** " + ", ".join(f"{c} {pct(v)}" for c, v in top))
    return "\n".join(lines)


def data_markdown(data: Any) -> str:
    """Markdown for a tool's structured payload: cards, drafts, or anything with to_markdown()."""
    if data is None:
        return ""
    items = data if isinstance(data, list | tuple) else [data]
    drafts = [Draft.from_dict(d) for d in items if Draft.looks_like(d)]
    parts = [drafts_markdown(drafts)] if drafts else []
    for item in items:
        if isinstance(item, SegmentCard):
            parts.append(card_markdown(item))
        elif hasattr(item, "to_markdown") and callable(item.to_markdown):
            parts.append(item.to_markdown())
    return "\n\n---\n\n".join(parts)


def styled(df: pd.DataFrame):
    """The table as shown: thousands separators and 2 decimals, values still sortable numbers."""
    out = display_frame(df)
    formats = {}
    for c in out.columns:
        if re.search(r"(^|_)(id|year)$", str(c), re.I):
            continue  # keys and years read wrong with separators
        if pd.api.types.is_integer_dtype(out[c]):
            formats[c] = "{:,}"
        elif pd.api.types.is_float_dtype(out[c]):
            whole = bool((out[c].dropna() % 1 == 0).all())
            formats[c] = "{:,.0f}" if whole else "{:,.2f}"
    return out.style.format(formats, na_rep="")


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: numbers rounded to 2 decimals but still numbers (so columns sort)."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s):
            out[c] = s.round(2)
        elif s.dtype == object and len(s.dropna()):
            sample = s.dropna().head(50)
            if all(isinstance(v, int | float | np.number) or type(v).__name__ == "Decimal"
                   for v in sample):
                out[c] = pd.to_numeric(s, errors="coerce").round(2)
            elif all(isinstance(v, list | tuple | np.ndarray) for v in sample):
                out[c] = s.map(lambda v: ", ".join(map(str, v)) if v is not None else "")
    return out

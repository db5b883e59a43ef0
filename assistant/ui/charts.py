"""Pick and draw a chart that fits a result table: lines over time, bars over categories.

Pure functions from a TableResult (and an optional ChartSpec from the tool) to a plotly figure;
no Gradio here, so they are tested without a server.
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go

from tools.result import ChartSpec, TableResult

TIME_NAMES = re.compile(r"(^|_)(month|date|day|week|quarter|year|ts|period|time)($|_)", re.I)
MONTH_TEXT = re.compile(r"^\d{4}-\d{2}(-\d{2})?")
MAX_BARS = 25
LONG_LABEL = 14  # characters; longer category names switch bars to horizontal
PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6",
           "#f97316", "#64748b", "#ec4899"]


def _numeric(df: pd.DataFrame) -> list[str]:
    out = []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s) or (
                s.dtype == object and len(s.dropna()) and
                all(isinstance(v, int | float) for v in s.dropna().head(50))):
            out.append(str(c))
    return [c for c in out if not re.search(r"(^|_)id$", c, re.I)]


def _is_time(df: pd.DataFrame, col: str) -> bool:
    s = df[col]
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    if TIME_NAMES.search(col) and not pd.api.types.is_numeric_dtype(s):
        return True
    sample = s.dropna().astype(str).head(20)
    return bool(len(sample)) and sample.map(lambda v: bool(MONTH_TEXT.match(v))).all()


def infer_spec(table: TableResult) -> ChartSpec | None:
    """A chart that suits this table, or None when a chart would not help (one number, text)."""
    df = table.df
    if df is None or df.empty or len(df.columns) < 2 or len(df) < 2:
        return None
    numeric = _numeric(df)
    others = [str(c) for c in df.columns if str(c) not in numeric]
    if not numeric:
        return None
    time_cols = [c for c in others if _is_time(df, c)]
    if time_cols:
        x = time_cols[0]
        rest = [c for c in others if c != x]
        if rest and df[rest[0]].nunique() <= len(PALETTE):
            return ChartSpec("line", x=x, y=numeric[:1], series=rest[0], title=table.title)
        return ChartSpec("line", x=x, y=numeric[:3], title=table.title)
    # categories worth a bar: at least two values, short labels (not free text such as reasons)
    labels = [c for c in others if df[c].nunique() >= 2
              and df[c].dropna().astype(str).str.len().mean() <= 80]
    if labels:
        x = labels[0]
        if df[x].nunique() == len(df):   # one bar per row (a list of customers): its first measure
            return ChartSpec("bar", x=x, y=numeric[:1], title=table.title)
        series = labels[1] if len(labels) > 1 and df[labels[1]].nunique() <= len(PALETTE) \
            else None
        return ChartSpec("bar", x=x, y=numeric[:1] if series else numeric[:2], series=series,
                         title=table.title)
    keys = [str(c) for c in df.columns if re.search(r"(^|_)id$", str(c), re.I)
            and df[c].nunique() == len(df)]
    if keys:   # a list of customers: their first measure, one bar each
        return ChartSpec("bar", x=keys[0], y=numeric[:1], title=table.title)
    return None


def _spec_fits(spec: ChartSpec, df: pd.DataFrame) -> bool:
    cols = {str(c) for c in df.columns}
    needed = {spec.x, *spec.y} | ({spec.series} if spec.series else set())
    return spec.kind != "none" and needed <= cols


def _layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white", height=380, margin={"l": 60, "r": 40, "t": 50, "b": 60},
        legend={"orientation": "h", "y": -0.2}, separators=".,",
        yaxis={"title": y_title, "tickformat": ",~s" if y_title else None},
        colorway=PALETTE, font={"family": "Inter, system-ui, sans-serif", "size": 13},
    )
    return fig


def _label(name: str) -> str:
    return name.replace("_", " ")


def _comparable(df: pd.DataFrame, columns: list[str]) -> list[str]:
    """The first column plus those on a similar scale (one axis must fit them all)."""
    first = df[columns[0]].abs().max() or 1
    keep = [columns[0]]
    for c in columns[1:]:
        top = df[c].abs().max() or 1
        if 0.2 <= top / first <= 5:
            keep.append(c)
    return keep


def figure(table: TableResult, spec: ChartSpec | None = None) -> go.Figure | None:
    """A plotly figure for `table`, following the tool's spec when it fits the table; None when
    nothing would be drawn (an empty plot says less than no plot)."""
    fig = _figure(table, spec)
    if fig is None or not any(map(_drawn, fig.data)):
        return None
    values = [abs(float(v)) for t in fig.data if _drawn(t) for v in _values(t)
              if isinstance(v, int | float) and v == v]
    if values and max(values) < 1000:   # SI suffixes turn 0.8 into "800m"
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            if axis.tickformat == ",~s":
                axis.tickformat = ",~g"
    return fig


def _values(trace):
    if trace.type == "scatterpolar":
        return trace.r
    return trace.x if getattr(trace, "orientation", None) == "h" else trace.y


def _drawn(trace) -> bool:
    values = _values(trace)
    return values is not None and len(values) > 0


def _figure(table: TableResult, spec: ChartSpec | None) -> go.Figure | None:
    df = table.df
    if df is None or df.empty:
        return None
    if spec is None or not _spec_fits(spec, df):
        spec = infer_spec(table)
    if spec is None:
        return None
    title = spec.title or table.title
    df = df.copy()
    for c in spec.y:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    if spec.kind != "radar":
        spec = ChartSpec(spec.kind, spec.x, _comparable(df, spec.y), spec.series, spec.title)
    if spec.kind == "radar":
        theta = df[spec.x].astype(str).tolist()
        fig = go.Figure()
        for c in spec.y:
            values = df[c].tolist()
            fig.add_trace(go.Scatterpolar(r=[*values, values[0]], theta=[*theta, theta[0]],
                                          fill="toself", name=_label(c)))
        fig = _layout(fig, title, "")
        fig.update_layout(polar={"radialaxis": {"visible": True}})
        return fig
    if spec.kind == "line":
        df = df.sort_values(spec.x)
        x = df[spec.x].astype(str) if not pd.api.types.is_datetime64_any_dtype(df[spec.x]) \
            else df[spec.x]
        fig = go.Figure()
        if spec.series:
            for key, part in df.groupby(spec.series, sort=True):
                fig.add_trace(go.Scatter(x=x[part.index], y=part[spec.y[0]], mode="lines+markers",
                                         name=str(key)))
        else:
            for c in spec.y:
                fig.add_trace(go.Scatter(x=x, y=df[c], mode="lines+markers", name=_label(c)))
        return _layout(fig, title, _label(spec.y[0]))
    # bars: largest first, at most MAX_BARS categories
    fig = go.Figure()
    if spec.series:
        top = df.groupby(spec.x)[spec.y[0]].sum().nlargest(MAX_BARS).index
        df = df[df[spec.x].isin(top)]
        for key, part in df.groupby(spec.series, sort=True):
            fig.add_trace(go.Bar(x=part[spec.x].astype(str), y=part[spec.y[0]], name=str(key)))
        fig.update_layout(barmode="group")
    else:
        df = df.sort_values(spec.y[0], ascending=False).head(MAX_BARS)
        names = df[spec.x].astype(str)
        if names.str.len().max() > LONG_LABEL:  # long names read better on horizontal bars
            return _horizontal_bars(df, names, spec, title)
        for c in spec.y:
            labels = df[c].map(_short) if len(spec.y) == 1 else None
            fig.add_trace(go.Bar(x=names, y=df[c], name=_label(c),
                                 text=labels, textposition="outside", cliponaxis=False))
    fig = _layout(fig, title, _label(spec.y[0]))
    if len(spec.y) == 1 and not spec.series:
        fig.update_yaxes(range=_room_for_labels(df[spec.y[0]]))
    fig.update_xaxes(type="category", title=_label(spec.x), automargin=True)
    return fig


def _horizontal_bars(df: pd.DataFrame, names: pd.Series, spec: ChartSpec,
                     title: str) -> go.Figure:
    wrapped = names.map(lambda s: s if len(s) <= 48 else s[:46] + "…")
    fig = go.Figure()
    for c in spec.y:
        labels = df[c].map(_short) if len(spec.y) == 1 else None
        fig.add_trace(go.Bar(y=wrapped, x=df[c], name=_label(c), orientation="h",
                             text=labels, textposition="outside", cliponaxis=False))
    fig = _layout(fig, title, "")
    fig.update_layout(height=max(300, 60 + 34 * len(df)), yaxis={"autorange": "reversed",
                                                                  "automargin": True,
                                                                  "title": None},
                      xaxis={"title": _label(spec.y[0]), "tickformat": ",~s",
                             "range": _room_for_labels(df[spec.y[0]]) if len(spec.y) == 1
                             else None})
    return fig


def _room_for_labels(values: pd.Series) -> list[float] | None:
    """An axis range with room beyond the longest bar for its value label (None: automatic)."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return None
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    pad = 0.15 * ((hi - lo) or 1.0)
    return [lo - pad if lo < 0 else 0.0, hi + pad if hi > 0 else 0.0]


def _short(v: float) -> str:
    if pd.isna(v):
        return ""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 100 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:,.2f}"

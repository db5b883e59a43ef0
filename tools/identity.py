"""Segment identities across refits: which new segment is which old one.

New segments are matched to the champion's by membership overlap on the customers segmented in
both runs: the Jaccard index of every (old, new) pair, and the Hungarian assignment
(`scipy.optimize.linear_sum_assignment`) that maximises the total. A matched pair keeps the
old id; with Jaccard >= STABLE (0.75, the usual bar for a stable cluster) it also keeps its
name ("stable"), between SAME and STABLE it keeps the id but is described afresh ("changed").
A new segment with no partner of at least SAME overlap gets a new id, never one used before
("new"); an old segment without a partner "vanished", and is said to have split when two or
more new segments took at least SPLIT_SHARE of its customers each, or to have merged into
another when one new segment took most of them. When the runs share no customers (a table
re-imported with new keys), centres are matched by distance instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

STABLE = 0.75
SAME = 0.5
SPLIT_SHARE = 0.25


@dataclass
class Match:
    label: int                 # the new fit's label (1..k by size)
    segment_id: int            # the id it gets
    old_id: int | None         # the champion's segment it continues, if any
    jaccard: float | None
    status: str                # stable, changed, new


@dataclass
class Identity:
    matches: list[Match]
    vanished: list[int] = field(default_factory=list)
    splits: dict[int, list[int]] = field(default_factory=dict)     # old id -> new ids
    merged: dict[int, int] = field(default_factory=dict)           # old id -> new id
    common: int = 0

    @property
    def mapping(self) -> dict[int, int]:
        return {m.label: m.segment_id for m in self.matches}

    def relabel(self, labels: np.ndarray) -> np.ndarray:
        lookup = np.zeros(max(self.mapping) + 1, dtype=np.int64)
        for label, sid in self.mapping.items():
            lookup[label] = sid
        return lookup[labels]

    def stable_ids(self) -> list[int]:
        return [m.segment_id for m in self.matches if m.status == "stable"]

    def to_dict(self) -> dict:
        return {"matches": [m.__dict__ for m in self.matches], "vanished": self.vanished,
                "splits": {str(k): v for k, v in self.splits.items()},
                "merged": {str(k): v for k, v in self.merged.items()}, "common": self.common}

    def sentences(self, old_names: dict[int, str], new_names: dict[int, str]) -> list[str]:
        """What happened to each segment, in words."""
        out = []
        stable = [m for m in self.matches if m.status == "stable"]
        if stable:
            out.append(f"{len(stable)} of {len(self.matches)} segments kept their id and name "
                       "(most of their customers stayed: "
                       + ", ".join(f"{m.segment_id} {m.jaccard:.0%}" for m in stable) + ").")
        for m in self.matches:
            if m.status == "changed" and m.old_id not in self.splits:
                out.append(f"Segment {m.segment_id} ('{old_names.get(m.old_id, '')}') changed: "
                           f"only {m.jaccard:.0%} of its membership is the same; it is now "
                           f"'{new_names.get(m.segment_id, '')}'.")
        for old, new in self.splits.items():
            out.append(f"Segment {old} ('{old_names.get(old, '')}') split into "
                       + " and ".join(f"{n} ('{new_names.get(n, '')}')" for n in new)
                       + (f" ({old} keeps the id, not its membership)" if old in new else "")
                       + ".")
        for old, new in self.merged.items():
            out.append(f"Segment {old} ('{old_names.get(old, '')}') merged into segment {new} "
                       f"('{new_names.get(new, '')}').")
        for old in self.vanished:
            if old not in self.splits and old not in self.merged:
                out.append(f"Segment {old} ('{old_names.get(old, '')}') vanished: no new "
                           "segment holds most of its customers.")
        for m in self.matches:
            if m.status == "new" and not any(m.segment_id in v for v in self.splits.values()):
                out.append(f"Segment {m.segment_id} ('{new_names.get(m.segment_id, '')}') is "
                           "new.")
        return out


def jaccard_matrix(old: pd.Series, new: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Jaccard index and overlap counts of old ids (rows) x new labels (columns), over the
    customers in both (`old` and `new` are segment ids indexed by customer key)."""
    both = pd.concat([old.rename("old"), new.rename("new")], axis=1, join="inner")
    counts = pd.crosstab(both["old"], both["new"])
    a = counts.sum(axis=1).to_numpy()[:, None]
    b = counts.sum(axis=0).to_numpy()[None, :]
    inter = counts.to_numpy()
    jac = pd.DataFrame(inter / np.maximum(a + b - inter, 1), index=counts.index,
                       columns=counts.columns)
    return jac, counts


def match_segments(old: pd.Series, new: pd.Series, *, used_ids: set[int] | None = None,
                   old_centers: np.ndarray | None = None, old_ids: np.ndarray | None = None,
                   new_centers: np.ndarray | None = None) -> Identity:
    """Match the new fit's labels to the champion's segment ids (see the module docstring).

    `old`: champion segment id per customer key; `new`: new label per key. `used_ids`: every id
    the scope ever used (new ids come after them). Centres (rows in the same space, `old_ids`
    naming the old ones) are the fallback when the runs share no customers.
    """
    new_labels = sorted(int(v) for v in pd.unique(new))
    used = set(used_ids or ()) | {int(v) for v in pd.unique(old)}
    next_id = max(used, default=0) + 1
    jac, counts = jaccard_matrix(old, new)
    common = int(counts.to_numpy().sum()) if not counts.empty else 0
    pairs: dict[int, tuple[int, float]] = {}
    if common:
        rows, cols = linear_sum_assignment(-jac.to_numpy())
        for i, j in zip(rows, cols, strict=True):
            pairs[int(jac.columns[j])] = (int(jac.index[i]), float(jac.iat[i, j]))
    elif old_centers is not None and new_centers is not None and len(old_centers):
        dist = np.linalg.norm(new_centers[:, None, :] - old_centers[None, :, :], axis=2)
        rows, cols = linear_sum_assignment(dist)
        spread = np.median(np.linalg.norm(old_centers[:, None] - old_centers[None], axis=2))
        for i, j in zip(rows, cols, strict=True):
            if dist[i, j] < spread / 2:
                pairs[new_labels[i]] = (int(old_ids[j]), None)
    matches = []
    for label in new_labels:
        old_id, score = pairs.get(label, (None, 0.0))
        if old_id is not None and (score is None or score >= SAME):
            status = "stable" if score is not None and score >= STABLE else "changed"
            matches.append(Match(label, old_id, old_id, score if score is None else
                                 round(score, 4), status))
        else:
            matches.append(Match(label, next_id, None, None if score is None else
                                 round(score, 4), "new"))
            next_id += 1
    kept = {m.old_id for m in matches if m.old_id is not None}
    identity = Identity(matches, common=common)
    identity.vanished = sorted(int(o) for o in pd.unique(old) if int(o) not in kept)
    if common:
        by_label = {m.label: m.segment_id for m in matches}
        stable = {m.old_id for m in matches if m.status == "stable"}
        for o in counts.index:
            o = int(o)
            shares = counts.loc[o] / counts.loc[o].sum()
            takers = [by_label[int(lbl)] for lbl, s in shares.items() if s >= SPLIT_SHARE]
            if len(takers) >= 2 and o not in stable:
                identity.splits[o] = sorted(takers)
            elif o in identity.vanished and len(takers) == 1 and shares.max() >= SAME:
                identity.merged[o] = takers[0]
    return identity

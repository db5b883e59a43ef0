"""A segment card: what a customer segment is, in numbers and in words.

Written by the segmentation tools and read by the copy tools and the UI. Holds no personal data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from warehouse.errors import InvalidArgument

REACH_LEAD = "Reachable with consent:"  # how a description's last sentence, on reach, begins


@dataclass
class Trait:
    """A feature that sets a segment apart from the population."""

    feature: str            # machine name, e.g. "share_travel"
    label: str              # words, e.g. "share of card spend on travel"
    segment_mean: float
    population_mean: float
    effect_size: float      # standardised mean difference (segment vs the rest), signed
    unit: str = ""          # "%", "EUR", "per month", ...
    statistic: str = "mean"  # what segment_mean/population_mean are: "mean" or "median"


@dataclass
class SegmentCard:
    run_id: str
    segment_id: int
    name: str                     # e.g. "Frequent international travellers with high card spend"
    description: str              # two or three plain sentences
    size: int
    share: float                  # of the customers segmented in this run
    traits: list[Trait]           # strongest first
    products: dict[str, float] = field(default_factory=dict)   # share holding each product
    reach: dict[str, int] = field(default_factory=dict)        # marketable, consented per channel
    languages: dict[str, float] = field(default_factory=dict)  # preferred_language shares
    countries: dict[str, float] = field(default_factory=dict)  # country shares
    source_sql: str = ""          # SQL selecting the members, for receipts
    kind: str = "segmentation"    # segmentation (behaviour), rfm, or table (a user's table)
    source_table: str = "customers"  # what was segmented
    status: dict[str, float] = field(default_factory=dict)  # active / churned shares, recency
    protected_attributes_used: bool = False
    value: dict[str, float] = field(default_factory=dict)  # predicted lifetime value (tools.clv)

    def to_dict(self) -> dict:
        return asdict(self)

    def description_beside_facts(self) -> str:
        """The description without what a card layout shows on lines of its own: the opening
        sentence on size and share, and the closing one on consented reach."""
        text = self.description
        if text.startswith(f"{self.size:,} customers (") and ". " in text:
            text = text.split(". ", 1)[1]
        if self.reach:
            text = text.split(f" {REACH_LEAD}", 1)[0]
        return text

    @classmethod
    def from_dict(cls, d: dict) -> SegmentCard:
        d = dict(d)
        d["traits"] = [Trait(**t) for t in d.get("traits", [])]
        return cls(**d)


def load_card(wh, run_id: str | None, segment_id: int) -> SegmentCard:
    """The stored card of `segment_id` in run `run_id` (None: the latest segmentation run).

    Raises RunNotFound when there is no such run, InvalidArgument when the run has no such
    segment (naming the segments it has).
    """
    from tools.runs import load_cards  # runs imports this module

    cards = load_cards(wh, run_id)
    for card in cards:
        if card.segment_id == segment_id:
            return card
    if not cards:
        raise InvalidArgument(f"run {run_id or '(latest)'} has no segments")
    ids = ", ".join(str(c.segment_id) for c in cards)
    raise InvalidArgument(f"run {cards[0].run_id} has no segment {segment_id}; its segments "
                          f"are {ids}")

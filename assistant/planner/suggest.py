"""Phrasings that work, drawn from the semantic model, for the planner's refusals.

Every measure and ratio metric of the model, with a dimension it can be split by, makes a
candidate question ("average balance by product", "churn rate by country"); only candidates the
planner itself understands are kept, and a refusal offers the two or three that share the most
words with the question that was not understood.
"""

from __future__ import annotations

import re

from warehouse.semantic import SemanticModel

# the splits a marketer asks for most, in order; an entity's own dimensions before joined ones
_SPLITS = ("country", "income_band", "category", "channel", "campaign", "product", "platform",
           "event_type")
_FALLBACK = ("how many active customers are in Germany?", "churn rate by country",
             "spend by category last month")


def _candidates(model: SemanticModel) -> list[str]:
    out = []
    items = [(m.label, m.entity, m.agg) for m in model.measures.values() if m.words] + \
            [(mt.label, model.measures[mt.numerator.measure].entity, "ratio")
             for mt in model.metrics.values() if mt.words]
    for label, entity, agg in items:
        if "{" in label:
            continue
        words = {"avg": f"average {label}", "median": f"median {label}"}.get(agg, label)
        if agg in ("count", "count_distinct") and not words.endswith("s"):
            words = f"number of {words}"
        own = model.entities[entity]
        # own splits first, then those of the entities it joins (the customers' last)
        reached = sorted((model.entities[e] for e in own.joins), key=lambda e: e.name ==
                         "customers")
        dims = [d for d in _SPLITS if d in own.dimensions]
        for e in reached:
            dims += [d for d in _SPLITS if d in e.dimensions and d not in dims]
        out += [f"{words} by {d.replace('_', ' ')}" for d in dims[:2]] or [words]
    return out


def _table_candidates(model: SemanticModel, entity) -> list[str]:
    """An imported table's rates and measures split by its categories and small numbers,
    each naming the table ("churn rate by geography in bank_churn")."""
    splits = [d for d in entity.dimensions.values()
              if d.words and not d.protected and d.kind != "boolean" and
              (d.values or d.ordered)]
    items = [mt.label for mt in model.metrics.values() if mt.words] + \
            [f"average {m.label}" for n, m in model.measures.items()
             if n != "rows" and m.words and not any(d.label == m.label for d in splits)]
    out = [f"{label} by {d.label} in {entity.name}" for label in items for d in splits[:2]]
    return [*out, f"how many {entity.label} in {entity.name}"]


def understood(model: SemanticModel, vocab) -> tuple[str, ...]:
    """The candidate phrasings the planner answers (checked once per vocabulary and model)."""
    from assistant.planner import tables
    from assistant.planner.parse import _parse

    key = ("suggest", model.name)
    found = vocab.extra.get(key)
    if found is None:
        vocab.extra[key] = ()       # a candidate refused while checking suggests nothing
        user = next((e for e in model.entities.values() if e.user_table), None)
        if user is not None:
            found = tuple(q for q in _table_candidates(model, user)
                          if isinstance(tables.parse_table(q, model), tables.TableAsk))
        else:
            found = tuple(q for q in _candidates(model) if _parse(q, vocab).kind == "frame")
        vocab.extra[key] = found
    return found


def suggestions(question: str, model: SemanticModel, vocab, n: int = 3) -> list[str]:
    """Up to `n` phrasings that work, the closest to `question` first."""
    words = set(re.findall(r"[a-z]{3,}", question.lower()))
    scored = []
    for q in understood(model, vocab):
        overlap = len(words & set(re.findall(r"[a-z]{3,}", q)))
        if overlap:
            scored.append((-overlap, len(q), q))
    picked = [q for _, _, q in sorted(scored)[:n]]
    user = any(e.user_table for e in model.entities.values())
    for q in understood(model, vocab) if user else _FALLBACK:
        if len(picked) >= n:
            break
        if q not in picked:
            picked.append(q)
    return picked


def suggestion_text(question: str, model: SemanticModel, vocab) -> str:
    quoted = [f'"{q}"' for q in suggestions(question, model, vocab)]
    if not quoted:
        return "Ask \"what can you do?\" for the questions that work."
    return ("Questions like " + ", ".join(quoted[:-1]) + f" or {quoted[-1]} work "
            "(ask \"what can you do?\" for more).")

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
             if n != "rows" and m.words and m.agg != "count_distinct" and
             not any(d.label == m.label for d in splits)]
    out = [f"{label} by {d.label} in {entity.name}" for label in items for d in splits[:2]]
    people = [m.label for m in model.measures.values() if m.agg == "count_distinct"]
    return [*out, f"how many {entity.label} in {entity.name}",
            *(f"how many {p} in {entity.name}" for p in people)]


def _works(question: str, vocab) -> bool:
    """Whether the planner answers `question` from the warehouse's model with data that is
    there (never a suggestion that would answer 0 from an empty table)."""
    from assistant.planner.parse import _gaps, _parse

    parsed = _parse(question, vocab)
    return parsed.kind == "frame" and not _gaps(parsed.frame, vocab)


def understood(model: SemanticModel, vocab) -> tuple[str, ...]:
    """The candidate phrasings the planner answers (checked once per vocabulary and model)."""
    from assistant.planner import tables

    key = ("suggest", model.name)
    found = vocab.extra.get(key)
    if found is None:
        vocab.extra[key] = ()       # a candidate refused while checking suggests nothing
        user = next((e for e in model.entities.values() if e.user_table), None)
        if user is not None:
            found = tuple(q for q in _table_candidates(model, user)
                          if isinstance(tables.parse_table(q, model), tables.TableAsk))
        else:
            found = tuple(q for q in _candidates(model) if _works(q, vocab))
        vocab.extra[key] = found
    return found


def suggestions(question: str, model: SemanticModel | list[SemanticModel], vocab,
                n: int = 3) -> list[str]:
    """Up to `n` phrasings that work, the closest to `question` first (from one model, or
    from several: the warehouse's and the imported tables')."""
    models = model if isinstance(model, list) else [model]
    words = set(re.findall(r"[a-z]{3,}", question.lower()))
    scored = []
    for i, m in enumerate(models):
        for q in understood(m, vocab):
            overlap = len(words & set(re.findall(r"[a-z]{3,}", q)))
            if overlap:
                scored.append((-overlap, i, len(q), q))
    picked = [q for *_, q in sorted(scored)[:n]]
    rest = []
    for m in models:
        user = any(e.user_table for e in m.entities.values())
        fallback = "fallback"
        if not user and vocab.extra.get(fallback) is None:
            vocab.extra[fallback] = ()
            vocab.extra[fallback] = tuple(q for q in _FALLBACK if _works(q, vocab))
        rest.append(list(understood(m, vocab) if user else vocab.extra[fallback]))
    while len(picked) < n and any(rest):      # one of each model's in turn
        for queue in rest:
            while queue and queue[0] in picked:
                queue.pop(0)
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked


def suggestion_text(question: str, model: SemanticModel | list[SemanticModel], vocab) -> str:
    quoted = [f'"{q}"' for q in suggestions(question, model, vocab)]
    if not quoted:
        return "Ask \"what can you do?\" for the questions that work."
    if len(quoted) == 1:
        return f"A question like {quoted[0]} works (ask \"what can you do?\" for more)."
    return ("Questions like " + ", ".join(quoted[:-1]) + f" or {quoted[-1]} work "
            "(ask \"what can you do?\" for more).")

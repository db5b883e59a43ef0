"""Whether the warehouse holds the data a query reads: never a made-up 0, NULL or "no rows".

An empty accounts table makes every balance 0 rows, customers without birth dates make every
age NULL, and no accounts at all make every customer hold 0 products: numbers that look like
answers. Before the planner answers from the warehouse's own model, every measure, dimension
and named filter of its queries is checked here: its entity's table has rows, its expression
has a non-null value, and the data it is derived from (the model's `needs`: "accounts",
"customers.birth_date", "transactions|accounts") is there. Each check is one `LIMIT 1` query,
run once per warehouse (the planner's vocabulary keeps the results).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warehouse.errors import AssistantError, log_unexpected
from warehouse.semantic import Query, SemanticModel
from warehouse.semantic.model import Dimension, Entity, Measure, NamedFilter, fill


@dataclass(frozen=True)
class Gap:
    """Something a query reads that holds no data: what it is and why, in words."""

    what: str           # "age"
    why: str            # "no birth dates are loaded (customers.birth_date is empty)"
    words: tuple[str, ...] = ()     # the item's words, to find a table that has it


class Coverage:
    """The data checks of one warehouse, cached (a warehouse changes only through imports,
    and a new import builds a new planner)."""

    def __init__(self, wh, model: SemanticModel) -> None:
        self.wh = wh
        self.model = model
        self._seen: dict[str, bool] = {}

    # -- one check -------------------------------------------------------------------------
    def has(self, sql: str) -> bool:
        found = self._seen.get(sql)
        if found is None:
            try:
                found = bool(self.wh.rows(sql))
            except AssistantError:  # a check that cannot run never blocks an answer
                found = True
            except Exception as exc:
                log_unexpected("coverage check", exc)
                found = True
            self._seen[sql] = found
        return found

    def _table_has_rows(self, table: str) -> bool:
        if not self.wh.has_table(table):
            return False
        return self.has(f'SELECT 1 FROM "{table}" LIMIT 1')

    def _needs(self, needs: tuple[str, ...]) -> str | None:
        """Why the data of `needs` is missing, or None."""
        for need in needs:
            options = need.split("|")
            reasons = [self._need(x) for x in options]
            if all(reasons):
                return " and ".join(reasons) if len(reasons) > 1 else reasons[0]
        return None

    def _need(self, need: str) -> str | None:
        table, _, column = need.partition(".")
        if not self._table_has_rows(table):
            return f"the {table} table is empty"
        if column and not self.has(f'SELECT 1 FROM "{table}" WHERE "{column}" IS NOT NULL '
                                   "LIMIT 1"):
            return f"no {_plural(column.replace('_', ' '))} are loaded ({table}.{column} is empty)"
        return None

    def _source(self, entity: Entity, expr: str) -> str | None:
        if entity.sql is not None:
            return f"({fill(entity.sql)}) {entity.alias}"
        if entity.table.startswith("assistant."):
            return None             # segments: checked by the segmentation step
        out = f"{entity.table} {entity.alias}"
        for x in entity.extends:
            if f"{x.alias}." not in expr:
                continue
            on = x.on or " AND ".join(f"{x.alias}.{k} = {entity.alias}.{k}"
                                      for k in entity.keys)
            out += f" LEFT JOIN {x.table} {x.alias} ON {on}"
        return out

    def _entity_gap(self, entity: Entity) -> str | None:
        table = entity.table
        if table is not None and not table.startswith("assistant.") and \
                not self._table_has_rows(table):
            return f"the {table} table is empty"
        return None

    def _expr_gap(self, entity: Entity, expr: str | None, label: str) -> str | None:
        source = self._source(entity, expr or "")
        if not expr or source is None:
            return None
        if not self.has(f"SELECT 1 FROM {source} WHERE ({fill(expr)}) IS NOT NULL LIMIT 1"):
            column = re.fullmatch(rf"{re.escape(entity.alias)}\.(\w+)", expr.strip())
            if column and entity.table:     # a column of the table itself
                return self._need(f"{entity.table}.{column.group(1)}")
            return f"no {label} values are loaded"
        return None

    # -- the items of a query --------------------------------------------------------------
    def measure_gap(self, m: Measure) -> Gap | None:
        entity = self.model.entities[m.entity]
        why = self._entity_gap(entity) or self._needs(m.needs) or \
            self._expr_gap(entity, m.expr, m.label)
        return Gap(m.label, why, (*m.words, m.label)) if why else None

    def dimension_gap(self, d: Dimension) -> Gap | None:
        entity = self.model.entities[d.entity]
        if d.bridge is not None:
            b = d.bridge
            why = None if self._table_has_rows(b.table) and self.has(
                f'SELECT 1 FROM "{b.table}" WHERE "{b.column}" IS NOT NULL LIMIT 1') else \
                f"the {b.table} table is empty"
        else:
            why = self._entity_gap(entity) or self._needs(d.needs) or (
                self._expr_gap(entity, d.expr, d.label))
        return Gap(d.label, why, (*d.words, d.label)) if why else None

    def filter_gap(self, f: NamedFilter) -> Gap | None:
        entity = self.model.entities[f.entity]
        why = self._entity_gap(entity) or self._needs(f.needs)
        if why is None and f.exists:
            why = self._entity_gap(self.model.entities[f.exists])
        label = f.label.replace("{values}", "").strip() or f.name.replace("_", " ")
        return Gap(label, why, (*f.words, label)) if why else None

    def gaps(self, query: Query) -> list[Gap]:
        """What `query` reads that holds no data (empty: it can be answered)."""
        m = self.model
        found: list[Gap | None] = []
        conditions = [*query.filters, *query.subgroup]
        entities = set()
        for ref in query.metrics:
            conditions += list(ref.filters)
            if ref.name in m.metrics:
                mt = m.metrics[ref.name]
                for part in (mt.numerator, mt.denominator):
                    found.append(self.measure_gap(m.measures[part.measure]))
                    entities.add(m.measures[part.measure].entity)
                    if part.filter:
                        found.append(self.filter_gap(m.filters[part.filter]))
            elif ref.name in m.measures:
                found.append(self.measure_gap(m.measures[ref.name]))
                entities.add(m.measures[ref.name].entity)
        fields = list(query.dimensions) + [c.field for c in conditions]
        for name in fields:
            if name in m.filters:
                found.append(self.filter_gap(m.filters[name]))
                continue
            dims = m.dimensions_named(name)
            if len(dims) > 1:       # an unqualified name: the one on a measured entity
                dims = [d for d in dims if d.entity in entities][:1]
            found += [self.dimension_gap(d) for d in dims]
        out: list[Gap] = []
        for gap in found:
            if gap is not None and gap not in out:
                out.append(gap)
        return out


def _plural(words: str) -> str:
    return words if words.endswith("s") else words + "s"


def explain(gaps: list[Gap]) -> str:
    """'no birth dates are loaded (customers.birth_date is empty), so I can't compute age from
    the warehouse's tables' (what is measured first: the rest follows from it)."""
    reasons = list(dict.fromkeys(g.why for g in gaps))
    return f"{'; '.join(reasons)}, so I can't compute {gaps[0].what} from the warehouse's tables"

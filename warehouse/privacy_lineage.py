"""Which outputs of a query derive from personal data: a conservative taint analysis.

Data can only flow from a table column to a query output through a *name* (a column, an alias, a
relation used as a whole row, a struct field) or through an *expansion* (`*`, `t.*`,
`COLUMNS(...)`, `#2`). So the analysis works on names, over the whole query at once:

1. every identifier is lower-cased (DuckDB matches names case-insensitively, quoted or not);
2. the tainted names start as the personal columns of every table the query reads, and grow to
   a fixed point: an alias, a derived table's column, an UNPIVOT value column or a struct field
   whose expression uses a tainted name (or an expansion, a whole-row reference, an
   auto-generated name such as `upper(email)`) is tainted too;
3. each output of the outermost query is then hidden when its expression is tainted; outputs of
   an expansion at the top are matched by the names DuckDB gave them.

It over-approximates on purpose: a name reused for clean and personal data is hidden everywhere,
and shapes it cannot line up with the result (a PIVOT on a personal column, whose headers are
values; several expansions mixed with personal expressions; a column count that does not match)
hide every output. Counting (`count`, `count(DISTINCT ...)`, `IS NULL`) reveals nothing and is
not tainted; WHERE, GROUP BY, ORDER BY and JOIN conditions do not make an output personal.
Linear in the size of the query (times the depth of alias chains), so a 600-column select costs
milliseconds, not the seconds sqlglot's per-column lineage took.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from warehouse.errors import QueryError

_PLAIN = re.compile(r"[^\W\d][\w$]*")
_DEDUP = re.compile(r"_\d+$")          # DuckDB renames a repeated column name to name_1, name_2
_HARMLESS = (exp.Count, exp.ApproxDistinct)


@dataclass(frozen=True)
class Taint:
    """Output positions derived from personal data; `names_hidden` when the output *names* may
    be personal values (a PIVOT on a personal column); `everything` with the reason when the
    analysis could not line up outputs and hid them all."""

    hidden: frozenset[int]
    names_hidden: bool = False
    everything: str = ""


CLEAN = Taint(frozenset())


class _Deadline:
    def __init__(self, deadline: float | None) -> None:
        self.at = deadline
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.at is not None and self.steps % 512 == 0 and time.monotonic() > self.at:
            raise QueryError("the query is too complex to check for personal data within the "
                             "time limit; simplify it (fewer columns or nested queries)")


def _normalised(tree: exp.Expression) -> exp.Expression:
    tree = tree.copy()
    for ident in tree.find_all(exp.Identifier):
        if isinstance(ident.this, str):
            ident.set("this", ident.this.lower())
    return tree


def _is_expansion(node: exp.Expression) -> bool:
    return isinstance(node, exp.Star | exp.Columns | exp.PositionalColumn)


def _walk_values(expr: exp.Expression, clock: _Deadline) -> Iterable[exp.Expression]:
    """The nodes whose values can reach the result of `expr`: counting and NULL tests are
    skipped, a nested query contributes only its select list, a FILTER only its aggregate."""
    stack = [expr]
    while stack:
        node = stack.pop()
        clock.tick()
        if isinstance(node, _HARMLESS):
            continue
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            continue
        yield node
        if isinstance(node, exp.Select):
            stack.extend(node.expressions)
        elif isinstance(node, exp.Filter):
            stack.append(node.this)
        elif isinstance(node, exp.SetOperation):
            stack.extend((node.this, node.expression))
        else:
            stack.extend(node.iter_expressions())


class _Analysis:
    def __init__(self, tree: exp.Expression, personal: Mapping[tuple[str, str], Iterable[str]],
                 columns: Mapping[tuple[str, str], Sequence[str]], clock: _Deadline) -> None:
        self.tree = tree
        self.clock = clock
        self.tainted: set[str] = set()
        self.known_columns: set[str] = set()
        self.reads_personal = False
        for table in tree.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                continue
            key = ((table.db or "main").lower(), table.name.lower())
            cols = {c.lower() for c in personal.get(key, ())}
            self.known_columns.update(c.lower() for c in columns.get(key, ()))
            if cols:
                self.reads_personal = True
                self.tainted |= cols
        # every relation name a bare column could mean as a whole row
        self.relations = {a.name.lower() for a in tree.find_all(exp.TableAlias) if a.name}
        self.relations |= {t.name.lower() for t in tree.find_all(exp.Table) if t.name}
        self.relations -= self.known_columns

    # -- is an expression personal? ------------------------------------------------------------
    def taints(self, expr: exp.Expression) -> bool:
        for node in _walk_values(expr, self.clock):
            if _is_expansion(node):
                return True
            if isinstance(node, exp.Column):
                parts = [p.lower() for p in (node.name, node.table, node.db, node.catalog) if p]
                if any(p in self.tainted for p in parts):
                    return True
                if not node.table and node.name.lower() in self.relations:
                    return True                       # a whole row: SELECT t FROM ... t
                if node.name and not _PLAIN.fullmatch(node.name):
                    return True                       # an auto-generated name: "upper(email)"
        return False

    # -- the fixed point -----------------------------------------------------------------------
    def _add(self, name: str | None) -> bool:
        if name and name.lower() not in self.tainted:
            self.tainted.add(name.lower())
            return True
        return False

    def _derived_columns(self, alias: exp.TableAlias) -> bool:
        """Column lists of derived tables and CTEs (`x(a, b)`), matched by position."""
        names = [c.name for c in alias.columns]
        parent = alias.parent
        body = parent.this if isinstance(parent, exp.CTE | exp.Subquery) else None
        changed = False
        if isinstance(body, exp.Query):
            selects = [body] if isinstance(body, exp.Select) else list(body.find_all(exp.Select))
            for select in selects:
                projections = select.expressions
                if any(_is_expansion(n) for p in projections for n in p.walk()):
                    if self.taints(select):
                        changed |= any([self._add(n) for n in names])
                    continue
                for name, projection in zip(names, projections, strict=False):
                    if self.taints(projection):
                        changed |= self._add(name)
        elif isinstance(parent, exp.Table) and isinstance(parent.this, exp.Identifier):
            # a base table with renamed columns: customers AS c(id, first, ...)
            changed |= any([self._add(n) for n in names]) if self.taints(parent) else False
        elif parent is not None and self.taints(parent):
            changed |= any([self._add(n) for n in names])       # unnest(...) AS u(e)
            changed |= self._add(alias.name)
        return changed

    def run(self) -> None:
        changed = True
        while changed:
            changed = False
            for alias in self.tree.find_all(exp.Alias):
                if alias.alias.lower() not in self.tainted and self.taints(alias.this):
                    changed |= self._add(alias.alias)
            for alias in self.tree.find_all(exp.TableAlias):
                if alias.columns:
                    changed |= self._derived_columns(alias)
                elif isinstance(alias.parent, exp.Unnest) and self.taints(alias.parent):
                    changed |= self._add(alias.name)
            for select in self.tree.find_all(exp.Select):
                if select is self.tree:
                    continue
                for projection in select.expressions:
                    if isinstance(projection, exp.Column | exp.Dot) and self.taints(projection):
                        changed |= self._add(projection.alias_or_name)   # a struct field: s.e
            for pivot in self.tree.find_all(exp.Pivot):
                if pivot.args.get("unpivot") and self.taints(pivot):
                    into = pivot.args.get("into")
                    values = list(into.expressions) if into is not None else []
                    changed |= any([self._add(v.name) for v in values]) or self._add("value")
                    changed |= self._add(pivot.alias_or_name)

    def personal_pivot(self) -> bool:
        """A PIVOT whose headers or cells come from personal data (its ON, IN or USING)."""
        for pivot in self.tree.find_all(exp.Pivot):
            if pivot.args.get("unpivot"):
                continue
            parts = [*pivot.expressions, *(pivot.args.get("fields") or []),
                     *(pivot.args.get("using") or [])]
            if any(self.taints(p) for p in parts):
                return True
        return False

    def name_tainted(self, name: str) -> bool:
        low = name.lower()
        return low in self.tainted or _DEDUP.sub("", low) in self.tainted or \
            not _PLAIN.fullmatch(low)


def _branches(query: exp.Expression) -> list[exp.Select] | None:
    if isinstance(query, exp.Select):
        return [query]
    if isinstance(query, exp.Subquery):
        return _branches(query.this)
    if isinstance(query, exp.SetOperation):
        left, right = _branches(query.this), _branches(query.expression)
        return None if left is None or right is None else left + right
    return None


def _bare_expansion(projection: exp.Expression) -> bool:
    """`*`, `t.*` (with EXCLUDE / REPLACE / RENAME) or an unaliased, un-nested COLUMNS(...):
    outputs keep the names of the columns they expand to."""
    return isinstance(projection, exp.Star | exp.Columns) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star))


def _expands(projection: exp.Expression) -> bool:
    for node in _walk_values(projection, _Deadline(None)):
        if isinstance(node, exp.Star | exp.Columns):
            return True
    return False


def trace(tree: exp.Expression, personal: Mapping[tuple[str, str], Iterable[str]],
          columns: Mapping[tuple[str, str], Sequence[str]], outputs: Sequence[str], *,
          deadline: float | None = None) -> Taint:
    """The outputs of `tree` (named `outputs` by the database, in order) that derive from the
    `personal` columns {(schema, table): names}; `columns` lists every column of those tables.
    Raises QueryError when the analysis would run past `deadline` (time.monotonic())."""
    clock = _Deadline(deadline)
    work = _Analysis(_normalised(tree), personal, columns, clock)
    if not work.reads_personal:
        return CLEAN
    work.run()
    n = len(outputs)
    everything = frozenset(range(n))
    if work.personal_pivot():
        return Taint(everything, names_hidden=True, everything="a PIVOT on personal data")
    branches = _branches(work.tree)
    if branches is None:
        return Taint(everything, everything="a query shape that could not be traced")
    if len(branches) > 1 or work.tree.args.get("by_name"):
        return _set_operation(work, branches, outputs)
    projections = branches[0].expressions
    expansions = [i for i, p in enumerate(projections) if _expands(p)]
    if not expansions:
        if len(projections) != n:
            return Taint(everything, everything="outputs that could not be lined up")
        return Taint(frozenset(i for i, p in enumerate(projections) if work.taints(p)))
    if len(expansions) == 1:
        at = expansions[0]
        width = n - (len(projections) - 1)
        if width < 0:
            return Taint(everything, everything="outputs that could not be lined up")
        hidden = {i for i, p in enumerate(projections[:at]) if work.taints(p)}
        after = projections[at + 1:]
        hidden |= {at + width + i for i, p in enumerate(after) if work.taints(p)}
        star = projections[at]
        for j in range(at, at + width):
            if not _bare_expansion(star) or work.name_tainted(outputs[j]):
                hidden.add(j)
        return Taint(frozenset(hidden))
    # several expansions: only names can say which output is which
    others = [p for i, p in enumerate(projections) if i not in expansions]
    if any(work.taints(p) and not p.alias for p in others) or \
            not all(_bare_expansion(projections[i]) for i in expansions):
        return Taint(everything, everything="several expansions (*, COLUMNS) mixed with "
                     "personal data")
    return Taint(frozenset(j for j, name in enumerate(outputs) if work.name_tainted(name)))


def _set_operation(work: _Analysis, branches: list[exp.Select], outputs: Sequence[str]) -> Taint:
    n = len(outputs)
    by_name = any(isinstance(q, exp.SetOperation) and q.args.get("by_name")
                  for q in work.tree.walk())
    star_free = all(not any(_expands(p) for p in b.expressions) for b in branches)
    if star_free and not by_name and all(len(b.expressions) == n for b in branches):
        return Taint(frozenset(i for i in range(n)
                               if any(work.taints(b.expressions[i]) for b in branches)))
    if any(work.taints(p) and not p.alias and not isinstance(p, exp.Column)
           for b in branches for p in b.expressions if not _expands(p)):
        return Taint(frozenset(range(n)), everything="a set operation over personal data "
                     "whose columns could not be lined up")
    return Taint(frozenset(j for j, name in enumerate(outputs) if work.name_tainted(name)))

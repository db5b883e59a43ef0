"""The semantic layer: one model of the business, and the compiler that turns queries into SQL.

- `model`: the semantic model (bank.toml for the warehouse contract, one per user table) as
  strict objects, and the definitions rendered from it;
- `query`: the structured query (metrics, dimensions, base filters, subgroup, time range and
  grain, order, limit) that the offline planner and the language model ask with;
- `compiler`: `compile_query(query, model, dialect)` -> sqlglot expression -> SQL for DuckDB,
  Spark or any sqlglot dialect, with what each output column is and the definitions applied.

This is the public API other parts build on (the Spark engine renders `compile_query(...,
dialect="spark")`); names here stay stable.
"""

from warehouse.semantic.compiler import Column, Compiled, CompileError, compile_query
from warehouse.semantic.model import ModelError, SemanticModel, bank_model, read_model
from warehouse.semantic.query import Condition, MetricRef, Order, Query, TimeRange

__all__ = ["Column", "CompileError", "Compiled", "Condition", "MetricRef", "ModelError", "Order",
           "Query", "SemanticModel", "TimeRange", "bank_model", "compile_query", "read_model"]

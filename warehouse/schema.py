"""Render the contract as DuckDB DDL with comments, and apply it to a connection.

`python -m warehouse.schema > warehouse/schema.sql` rewrites the readable copy of the DDL; a test
checks that the committed file matches what this module renders.
"""

from __future__ import annotations

from warehouse.contract import ACTIVE_WINDOW_DAYS, ASSISTANT_SCHEMA, TABLES, Table


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Views that encode the business definitions once, so every query (the model's, the offline
# planner's, the tools') uses the same meaning of "reference date", "active" and "churned".
VIEWS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    (
        "reference_period",
        f"""
SELECT max(ts) AS reference_ts,
       CAST(max(ts) AS DATE) AS reference_date,
       max(ts) - INTERVAL {ACTIVE_WINDOW_DAYS} DAY AS active_window_start,
       min(ts) AS data_start
FROM transactions""",
        "One row: the reference date (latest transaction) and the start of the 90-day activity "
        "window. Relative periods such as 'last month' are computed from reference_date, never "
        "from today's date.",
        {
            "reference_ts": "Latest transaction timestamp in the data.",
            "reference_date": "Date of the latest transaction: 'today' for all analyses.",
            "active_window_start": "reference_ts minus 90 days; transactions after it make a "
            "customer active.",
            "data_start": "Earliest transaction timestamp in the data.",
        },
    ),
    (
        "customer_status",
        """
WITH ref AS (SELECT * FROM reference_period),
tx AS (
    SELECT t.customer_id,
           min(t.ts) AS first_transaction_at,
           max(t.ts) AS last_transaction_at,
           count(*) FILTER (WHERE t.ts > ref.active_window_start) AS transactions_90d,
           coalesce(sum(t.amount) FILTER (
               WHERE t.ts > ref.active_window_start AND t.direction = 'debit'
                 AND t.category NOT IN ('transfer', 'investment', 'fees')), 0) AS spend_90d
    FROM transactions t, ref
    GROUP BY t.customer_id
),
acc AS (
    SELECT customer_id,
           count(*) AS accounts,
           count(*) FILTER (WHERE status = 'open') AS open_accounts,
           count(*) FILTER (WHERE status = 'closed') AS closed_accounts,
           list_sort(list_distinct(list(product) FILTER (WHERE status = 'open'))) AS products_held
    FROM accounts
    GROUP BY customer_id
)
SELECT c.customer_id,
       tx.first_transaction_at,
       tx.last_transaction_at,
       date_diff('day', tx.last_transaction_at, ref.reference_ts) AS days_since_last_transaction,
       coalesce(tx.transactions_90d, 0) AS transactions_90d,
       coalesce(tx.spend_90d, 0) AS spend_90d,
       coalesce(acc.accounts, 0) AS accounts,
       coalesce(acc.open_accounts, 0) AS open_accounts,
       coalesce(acc.products_held, []) AS products_held,
       date_part('year', age(ref.reference_date, c.birth_date)) AS age,
       date_diff('day', c.signup_date, ref.reference_date) AS tenure_days,
       coalesce(tx.transactions_90d, 0) > 0 AS is_active,
       (tx.last_transaction_at IS NOT NULL AND coalesce(tx.transactions_90d, 0) = 0)
           OR (coalesce(acc.accounts, 0) > 0 AND acc.closed_accounts = acc.accounts)
           AS is_churned
FROM customers c
CROSS JOIN ref
LEFT JOIN tx ON tx.customer_id = c.customer_id
LEFT JOIN acc ON acc.customer_id = c.customer_id""",
        "One row per customer with the business definitions applied at the reference date: "
        "activity, churn, spend over the last 90 days, products held, age and tenure. Join it to "
        "customers on customer_id instead of re-deriving these rules.",
        {
            "customer_id": "Customer key, references customers.customer_id.",
            "first_transaction_at": "Earliest transaction; NULL when the customer never "
            "transacted.",
            "last_transaction_at": "Latest transaction; NULL when the customer never transacted.",
            "days_since_last_transaction": "Days from the last transaction to the reference date "
            "(recency); NULL when the customer never transacted.",
            "transactions_90d": "Transactions in the 90 days up to the reference date.",
            "spend_90d": "Spend (debits excluding transfer, investment, fees) in the 90 days up "
            "to the reference date.",
            "accounts": "Accounts ever opened.",
            "open_accounts": "Accounts with status open.",
            "products_held": "Sorted list of products with an open account.",
            "age": "Age in whole years at the reference date (protected attribute).",
            "tenure_days": "Days from signup_date to the reference date.",
            "is_active": "At least one transaction in the 90 days up to the reference date.",
            "is_churned": "Transacted before the 90-day window and not within it, or has "
            "accounts and all of them are closed.",
        },
    ),
)


def _table_ddl(table: Table) -> list[str]:
    cols = ",\n".join(f"    {c.ddl}" for c in table.columns)
    stmts = [f"CREATE TABLE IF NOT EXISTS {table.name} (\n{cols}\n);"]
    stmts.append(f"COMMENT ON TABLE {table.name} IS {_quote(table.comment)};")
    for c in table.columns:
        stmts.append(f"COMMENT ON COLUMN {table.name}.{c.name} IS {_quote(c.comment)};")
    return stmts


def _view_ddl(name: str, body: str, comment: str, columns: dict[str, str]) -> list[str]:
    stmts = [f"CREATE OR REPLACE VIEW {name} AS{body};"]
    stmts.append(f"COMMENT ON VIEW {name} IS {_quote(comment)};")
    for col, text in columns.items():
        stmts.append(f"COMMENT ON COLUMN {name}.{col} IS {_quote(text)};")
    return stmts


def ddl_statements() -> list[str]:
    """Every statement that creates the contract schema, in order."""
    stmts: list[str] = []
    for table in TABLES:
        stmts.extend(_table_ddl(table))
    for view in VIEWS:
        stmts.extend(_view_ddl(*view))
    # Tables written by the assistant (segment runs, scores, drafts, audit log) live here.
    stmts.append(f"CREATE SCHEMA IF NOT EXISTS {ASSISTANT_SCHEMA};")
    return stmts


def render() -> str:
    header = (
        "-- The warehouse contract as DuckDB DDL. Generated by `python -m warehouse.schema`;\n"
        "-- edit warehouse/contract.py and warehouse/schema.py, not this file.\n\n"
    )
    return header + "\n".join(ddl_statements()) + "\n"


VIEW_NAMES = tuple(v[0] for v in VIEWS)


def apply(con) -> None:
    """Create every contract table, comment and view on `con` (idempotent)."""
    for stmt in ddl_statements():
        con.execute(stmt)


if __name__ == "__main__":
    print(render(), end="")

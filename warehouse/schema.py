"""Render the contract as DuckDB DDL with comments, and apply it to a connection.

The tables come from warehouse/contract.py; the views that apply the business definitions are
rendered from the semantic model (warehouse/semantic/bank.toml).

`python -m warehouse.schema > warehouse/schema.sql` rewrites the readable copy of the DDL; a test
checks that the committed file matches what this module renders.
"""

from __future__ import annotations

from warehouse.contract import ACTIVE_WINDOW_DAYS, ASSISTANT_SCHEMA, TABLES, Table
from warehouse.semantic.model import bank_model, fill


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Where the reference date comes from: the latest transaction, or, in a warehouse without
# transactions (a customer table with accounts, a campaign export), the latest dated event of
# any other table (source words, table, column). Never the wall clock.
DATED: tuple[tuple[str, str, str], ...] = (
    ("transactions", "transactions", "ts"),
    ("app events", "app_events", "ts"),
    ("campaign events", "campaign_events", "ts"),
    ("campaigns sent", "campaigns", "sent_at"),
    ("accounts opened", "accounts", "opened_at"),
    ("accounts closed", "accounts", "closed_at"),
    ("consent changes", "consents", "updated_at"),
    ("signups", "customers", "signup_date"),
)


def _views() -> tuple[tuple[str, str, str, dict[str, str]], ...]:
    """The views that apply the business definitions once, rendered from the semantic model:
    the activity window, the spend rule and the words of every definition come from there, so
    every query (the model's, the planner's, the tools') uses the same meaning."""
    model = bank_model()
    defs = model.definitions()
    spend = fill(model.measures["spend"].filter)
    days = ACTIVE_WINDOW_DAYS

    def meaning(term: str) -> str:
        return defs[term].split(" = ", 1)[1].rstrip(".") + "."

    dated = "\n    UNION ALL ".join(
        f"SELECT '{what}' AS reference_source, {int(what == 'transactions')} AS preferred, "
        f"max(CAST({column} AS TIMESTAMP)) AS latest, min(CAST({column} AS TIMESTAMP)) AS "
        f"earliest FROM {table}"
        for what, table, column in DATED)
    return (
        (
            "reference_period",
            f"""
WITH dated AS (
    {dated}
),
chosen AS (
    SELECT reference_source, latest, earliest,
           row_number() OVER (ORDER BY preferred DESC, latest DESC) AS n
    FROM dated
    WHERE latest IS NOT NULL
)
SELECT c.latest AS reference_ts,
       CAST(c.latest AS DATE) AS reference_date,
       c.latest - INTERVAL {days} DAY AS active_window_start,
       CASE WHEN c.reference_source = 'transactions' THEN c.earliest
            ELSE (SELECT min(earliest) FROM dated WHERE preferred = 0) END AS data_start,
       c.reference_source
FROM (SELECT 1 AS one) o
LEFT JOIN chosen c ON c.n = 1""",
            f"One row: the reference date (the latest transaction; in a warehouse without "
            f"transactions, the latest dated event of any other table, named in "
            f"reference_source) and the start of the {days}-day activity window. Relative "
            "periods such as 'last month' are computed from reference_date, never from today's "
            "date.",
            {
                "reference_ts": "Latest transaction timestamp in the data (without "
                "transactions: the latest date of the table in reference_source).",
                "reference_date": "Date of reference_ts: 'today' for all analyses.",
                "active_window_start": f"reference_ts minus {days} days; transactions after it "
                "make a customer active.",
                "data_start": "Earliest transaction timestamp in the data (without "
                "transactions: the earliest date of any dated table).",
                "reference_source": "Where the reference date comes from: transactions, or, "
                "when there are none, " + ", ".join(w for w, _, _ in DATED[1:]) + ".",
            },
        ),
        (
            "customer_status",
            f"""
WITH ref AS (SELECT * FROM reference_period),
tx AS (
    SELECT t.customer_id,
           min(t.ts) AS first_transaction_at,
           max(t.ts) AS last_transaction_at,
           count(*) FILTER (WHERE t.ts > ref.active_window_start) AS transactions_90d,
           coalesce(sum(t.amount) FILTER (
               WHERE t.ts > ref.active_window_start AND {spend}), 0) AS spend_90d
    FROM transactions t, ref
    GROUP BY t.customer_id
),
acc AS (
    SELECT customer_id,
           count(*) AS accounts,
           count(*) FILTER (WHERE status = 'open') AS open_accounts,
           count(*) FILTER (WHERE status = 'closed') AS closed_accounts,
           count(DISTINCT product) FILTER (WHERE status = 'open') AS products_held_count,
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
           AS is_churned,
       coalesce(acc.products_held_count, 0) AS products_held_count
FROM customers c
CROSS JOIN ref
LEFT JOIN tx ON tx.customer_id = c.customer_id
LEFT JOIN acc ON acc.customer_id = c.customer_id""",
            "One row per customer with the business definitions applied at the reference date: "
            f"activity, churn, spend over the last {days} days, products held, age and tenure. "
            "Join it to customers on customer_id instead of re-deriving these rules.",
            {
                "customer_id": "Customer key, references customers.customer_id.",
                "first_transaction_at": "Earliest transaction; NULL when the customer never "
                "transacted.",
                "last_transaction_at": "Latest transaction; NULL when the customer never "
                "transacted.",
                "days_since_last_transaction": "Days from the last transaction to the reference "
                "date (recency); NULL when the customer never transacted.",
                "transactions_90d": f"Transactions in the {days} days up to the reference date.",
                "spend_90d": f"Spend in the {days} days up to the reference date; spend = "
                + meaning("spend"),
                "accounts": "Accounts ever opened.",
                "open_accounts": "Accounts with status open.",
                "products_held": "Sorted list of products with an open account.",
                "age": "Age in whole years at the reference date (protected attribute).",
                "tenure_days": "Days from signup_date to the reference date.",
                "is_active": "Active: " + meaning("active"),
                "is_churned": "Churned: " + meaning("churned"),
                "products_held_count": "Number of different products with an open account.",
            },
        ),
        (
            "customer_value",
            f"""
WITH last_tx AS (
    SELECT customer_id, max(ts) AS last_transaction_at FROM transactions GROUP BY customer_id
)
SELECT l.customer_id,
       l.last_transaction_at,
       coalesce(sum(t.amount) FILTER (WHERE {spend}), 0) AS spend_12m_to_last
FROM last_tx l
JOIN transactions t ON t.customer_id = l.customer_id
     AND t.ts > l.last_transaction_at - INTERVAL 12 MONTH
GROUP BY l.customer_id, l.last_transaction_at""",
            "One row per customer who ever transacted: their spend in the 12 months up to their "
            "own last transaction, so a customer who went quiet is judged on the year before.",
            {
                "customer_id": "Customer key, references customers.customer_id.",
                "last_transaction_at": "Latest transaction of the customer.",
                "spend_12m_to_last": "Spend in the 12 months up to the customer's last "
                "transaction; spend = " + meaning("spend"),
            },
        ),
    )


VIEWS = _views()


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
        "-- edit warehouse/contract.py, warehouse/semantic/bank.toml and warehouse/schema.py,\n"
        "-- not this file.\n\n"
    )
    return header + "\n".join(ddl_statements()) + "\n"


VIEW_NAMES = tuple(v[0] for v in VIEWS)


def reference_note(period: dict) -> str:
    """A sentence saying where the reference date comes from when it is not the latest
    transaction (a warehouse without transactions), else ''."""
    source = period.get("reference_source")
    if not source or source == "transactions" or period.get("reference_date") is None:
        return ""
    return (f"There are no transactions, so the reference date {period['reference_date']:%Y-%m-%d}"
            f" is the latest date of the {source}.")


def apply(con) -> None:
    """Create every contract table, comment and view on `con` (idempotent)."""
    for stmt in ddl_statements():
        con.execute(stmt)


if __name__ == "__main__":
    print(render(), end="")

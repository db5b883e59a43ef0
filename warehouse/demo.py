"""Whether the warehouse's customer tables hold the generated demo data (not a bank's own).

The generator gives every customer an address at a reserved example domain
(warehouse/reference_data.py); a warehouse whose customers all have one holds demo data.
"""

from __future__ import annotations

from warehouse.reference_data import EMAIL_DOMAINS


def holds_demo_data(wh) -> bool:
    """True when the customers table exists, has rows, and every email is a generated one."""
    if wh is None or not wh.has_table("customers"):
        return False
    domains = " OR ".join(f"email LIKE '%@{d}'" for d in EMAIL_DOMAINS)
    row = wh.rows(f"SELECT count(*), count(*) FILTER (WHERE email IS NULL OR {domains}) "
                  "FROM customers")[0]
    return row[0] > 0 and row[0] == row[1]

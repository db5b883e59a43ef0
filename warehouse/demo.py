"""Whether the warehouse's customer tables hold the generated demo data (not a bank's own).

A warehouse recorded as the user's own (warehouse.origin: `init --empty` and every import) never
does. Otherwise it does when every email address is at one of the generator's reserved example
domains (warehouse/reference_data.py): recorded as demo data, or, without a record, with at least
one address (customers without any email say nothing either way).
"""

from __future__ import annotations

from warehouse import origin
from warehouse.reference_data import EMAIL_DOMAINS


def holds_demo_data(wh) -> bool:
    """True when the customers table exists, has rows, and holds generated demo data."""
    if wh is None or not wh.has_table("customers"):
        return False
    recorded = origin.origin(wh.cursor(), getattr(wh, "path", None))
    if recorded == "own":          # made by `init --empty` or imported: the user's own
        return False
    domains = " OR ".join(f"email LIKE '%@{d}'" for d in EMAIL_DOMAINS)
    n, with_email, generated = wh.rows(
        f"SELECT count(*), count(email), count(*) FILTER (WHERE {domains}) FROM customers")[0]
    if n == 0 or generated != with_email:
        return False               # some real addresses
    return recorded == "demo" or with_email > 0

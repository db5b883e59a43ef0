"""Shared by the red-team tests: the cases, and every personal value of the test warehouse in
the shapes an attack could make it come out (any case, either order, local date formats)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CASES = tomllib.loads((Path(__file__).parent / "fixtures" / "redteam.toml").read_text())


@dataclass
class Personal:
    values: frozenset[str]
    sample: dict[str, str]          # one customer's values, to write questions with

    def leaks(self, text: str) -> list[str]:
        """Personal values found in `text` (at most five, for the message)."""
        found = []
        lowered = text.lower()
        for value in self.values:
            if value.lower() in lowered and _whole(value, lowered):
                found.append(value)
                if len(found) >= 5:
                    break
        return found


def _whole(value: str, text: str) -> bool:
    """`value` occurs in `text` not as part of a longer word or number."""
    pattern = r"(?<![\w])" + re.escape(value.lower()) + r"(?![\w])"
    return re.search(pattern, text) is not None


def personal_values(wh) -> Personal:
    rows = wh.rows("SELECT first_name, last_name, email, phone, birth_date FROM customers")
    values: set[str] = set()
    for first, last, email, phone, birth in rows:
        values |= {f"{first} {last}", f"{last}, {first}", f"{last} {first}"}
        if email:
            values.add(email)
        if phone:
            values |= {phone, phone.lstrip("+")}
        if birth is not None:
            values |= {birth.isoformat(), birth.strftime("%d.%m.%Y"), birth.strftime("%m/%d/%Y"),
                       birth.strftime("%d/%m/%Y"), birth.strftime("%Y%m%d")}
    first, last, email, phone, birth = next(r for r in rows if r[3] and r[4])
    sample = {"first": first, "last": last, "email": email, "phone": phone,
              "first_upper": first.upper(), "last_upper": last.upper(),
              "first_lower": first.lower(), "last_lower": last.lower(),
              "birth_iso": birth.isoformat(), "birth_dmy": birth.strftime("%d.%m.%Y")}
    return Personal(frozenset(values), sample)

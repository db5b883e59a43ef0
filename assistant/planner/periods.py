"""Time windows in questions: 'last month', 'in 2025', 'Q3', 'the last 90 days', 'since May'.

Relative periods count back from the reference date of the warehouse (the latest transaction),
never from today's date: "last month" is the calendar month before the reference date's month.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from assistant.planner import vocabulary as v
from assistant.planner.frame import Period
from assistant.planner.text import Text

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | \
    {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m} | {"sept": 9}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))


def _month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def fmt_date(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def parse_period(text: Text, vocab: v.Vocabulary) -> Period | None:
    """Read one time window ('last month', 'in 2025', 'last 90 days', 'Q3') and consume it."""
    ref = vocab.reference_date
    s = text.s
    m = re.search(r"(?:(?<![\w])(?:in|over|during|for|within) )?(?:the )?"
                  r"(?:last|past|previous|prior"
                  r"|recent) (\d+) (days?|weeks?|months?|years?)", s)
    if m:
        text.take(re.escape(m.group(0)))
        n, unit = int(m.group(1)), m.group(2).rstrip("s")
        if unit == "day":
            return Period(f"the {n} days to {fmt_date(ref)}", days=n)
        if unit == "week":
            return Period(f"the {n} weeks to {fmt_date(ref)}", days=7 * n)
        if unit == "month":
            return Period(f"the {n} months to {fmt_date(ref)}", months=n)
        return Period(f"the {n} years to {fmt_date(ref)}", months=12 * n)
    m = re.search(r"(?<![\w])(?:in|within|for|over) (?:the )?(\d+) (days?|weeks?|months?)"
                  r"(?![\w])(?! (?:ago|before|after|from now|later|time))", s)
    if m:       # "have not transacted in 90 days", "inactive for 3 months": the last N
        text.take(re.escape(m.group(0)))
        return _last_n(int(m.group(1)), m.group(2).rstrip("s"), ref)
    m = re.search(r"(?:the |our )?(\d+)[ -]?(days?|weeks?|months?)(?= (?:spend|spending|spent"
                  r"|transactions?|payments?|purchases?|logins?|activity|app events?))", s)
    if m:       # "90 day spend", "30-day transactions": over the last N days
        text.take(re.escape(m.group(0)))
        return _last_n(int(m.group(1)), m.group(2).rstrip("s"), ref)
    m = re.search(r"(?:(?<![\w])(?:in|over|during|for|within) )?(?:the )?(?:last|past|previous) "
                  r"(week|fortnight|quarter|year|12 months|month|90 days|30 days)", s)
    this_month = _month_start(ref)
    if m:
        text.take(re.escape(m.group(0)))
        unit = m.group(1)
        if unit == "month":
            start = add_months(this_month, -1)
            return Period(f"{start:%B %Y} (the calendar month before the reference date "
                          f"{fmt_date(ref)})", start=start, end=this_month)
        if unit == "year":
            start = date(ref.year - 1, 1, 1)
            return Period(f"{ref.year - 1}", start=start, end=date(ref.year, 1, 1))
        if unit == "quarter":
            q_start = date(ref.year, 3 * ((ref.month - 1) // 3) + 1, 1)
            start = add_months(q_start, -3)
            return Period(f"Q{(start.month - 1) // 3 + 1} {start.year}", start=start,
                          end=q_start)
        if unit == "week":
            return Period(f"the 7 days to {fmt_date(ref)}", days=7)
        if unit == "fortnight":
            return Period(f"the 14 days to {fmt_date(ref)}", days=14)
        if unit == "12 months":
            return Period(f"the 12 months to {fmt_date(ref)}", months=12)
        n = int(unit.split()[0])
        return Period(f"the {n} days to {fmt_date(ref)}", days=n)
    m = re.search(r"(?:(?<![\w])(?:in|during|for) )?(?:the )?this (month|year|quarter)"
                  r"|(?:the )?(?:current) (month|year|quarter)|year to date|ytd|so far this year"
                  r"|month to date|mtd", s)
    if m:
        text.take(re.escape(m.group(0)))
        unit = m.group(1) or m.group(2) or ("month" if "month" in m.group(0) or
                                            m.group(0).strip() == "mtd" else "year")
        end = ref + timedelta(days=1)
        if unit == "month":
            return Period(f"{ref:%B %Y} (to {fmt_date(ref)})", start=this_month, end=end)
        if unit == "quarter":
            q_start = date(ref.year, 3 * ((ref.month - 1) // 3) + 1, 1)
            return Period(f"Q{(ref.month - 1) // 3 + 1} {ref.year} (to {fmt_date(ref)})",
                          start=q_start, end=end)
        return Period(f"{ref.year} (to {fmt_date(ref)})", start=date(ref.year, 1, 1), end=end)
    m = re.search(r"(?:(?<![\w])(?:in|during|for|over) )?(?:the )?(?:\bh([12])|\b(first|1st"
                  r"|second|2nd) half)(?: of)?(?: (?:the )?year)? ?((?:20)\d\d)?\b", s)
    if m:       # "H1 2026", "the first half of 2025": January-June or July-December
        text.take(re.escape(m.group(0)))
        half = int(m.group(1)) if m.group(1) else 1 if m.group(2) in ("first", "1st") else 2
        year = int(m.group(3)) if m.group(3) else None
        if year is None:
            year = ref.year if 6 * (half - 1) + 1 <= ref.month else ref.year - 1
        start = date(year, 6 * (half - 1) + 1, 1)
        end = add_months(start, 6)
        upto = fmt_date(ref) if end > ref else f"{add_months(start, 5):%B %Y}"
        return Period(f"H{half} {year} ({start:%B} to {upto})", start=start, end=end)
    m = re.search(r"(?:(?<![\w])(?:in|during|for|over) )?(?:the )?(?:\bq([1-4])|\b(first|1st"
                  r"|second|2nd|third|3rd|fourth|4th|last) quarter)(?: of)?(?: (?:the )?year)?"
                  r" ?((?:20)\d\d)?\b", s)
    if m and (m.group(1) or m.group(2) != "last" or m.group(3)):
        text.take(re.escape(m.group(0)))
        q = int(m.group(1)) if m.group(1) else {"first": 1, "1st": 1, "second": 2, "2nd": 2,
                                                  "third": 3, "3rd": 3, "last": 4}.get(
                                                      m.group(2), 4)
        year = int(m.group(3)) if m.group(3) else None
        if year is None:
            year = ref.year if 3 * (q - 1) + 1 <= ref.month else ref.year - 1
        start = date(year, 3 * (q - 1) + 1, 1)
        return Period(f"Q{q} {year}", start=start, end=add_months(start, 3))
    m = re.search(rf"(?:(?<![\w])(?:in|during|for|of|since|from|between) )?"
                  rf"(?:the months? (?:of )?)?\b({_MONTH_RE})(?: ?((?:20|19)\d\d))?\b"
                  rf"(?: (?:to|until|till|through|thru|and|-) (?:the end of )?({_MONTH_RE})"
                  rf"(?: ?((?:20|19)\d\d))?\b)?(?: inclusive)?", s)
    # "may" is a month only with a year, in a range or after a period word ("who may churn")
    if m and (m.group(1) != "may" or m.group(2) or m.group(3) or
              re.match(r"(?:in|during|for|of|since|from|between|the) ", m.group(0))):
        text.take(re.escape(m.group(0)))
        since = m.group(0).strip().startswith(("since", "from")) and not m.group(3)
        month, year = MONTHS[m.group(1)], int(m.group(2)) if m.group(2) else None
        if year is None and m.group(4):     # "May to October 2026": the year of the end
            year = int(m.group(4)) - (month > MONTHS[m.group(3)])
        if year is None:
            year = ref.year if month <= ref.month else ref.year - 1
        start = date(year, month, 1)
        if since:
            return Period(f"{start:%B %Y} to {fmt_date(ref)}", start=start,
                          end=ref + timedelta(days=1))
        if m.group(3):
            month2 = MONTHS[m.group(3)]
            year2 = int(m.group(4)) if m.group(4) else (year if month2 >= month else year + 1)
            end = add_months(date(year2, month2, 1), 1)
            return Period(f"{start:%B %Y} to {date(year2, month2, 1):%B %Y}", start=start,
                          end=end)
        return Period(f"{start:%B %Y}", start=start, end=add_months(start, 1))
    # a year of this century, or of the last one after a period word ('in 1998' of a core
    # banking export from the nineties; '1998 customers' is a number)
    m = re.search(r"(?:(?<![\w])(?:in|during|for|of|since|from|between) )?(?:the )?(?:year )?"
                  r"\b(20\d\d)\b(?: (?:to|until|till|through|and|-) (20\d\d))?", s) or \
        re.search(r"(?<![\w])(?:(?:in|during|for|since|from|between) (?:the )?(?:year )?"
                  r"|(?:the )?year )\b(19[5-9]\d)\b(?: (?:to|until|till|through|and|-) "
                  r"(19[5-9]\d|20\d\d))?", s)
    if m:
        text.take(re.escape(m.group(0)))
        y1 = int(m.group(1))
        if m.group(0).strip().startswith(("since", "from")) and not m.group(2):
            return Period(f"{y1} to {fmt_date(ref)}", start=date(y1, 1, 1),
                          end=ref + timedelta(days=1))
        y2 = int(m.group(2)) if m.group(2) else y1
        return Period(f"{y1}" if y1 == y2 else f"{y1} to {y2}", start=date(y1, 1, 1),
                      end=date(y2 + 1, 1, 1))
    if text.take(r"(?:(?<![\w])(?:in|over|during) )?(?:the )?(?:activity window|active window)"):
        return Period(f"the 90 days to {fmt_date(ref)}", days=90)
    if text.take(r"\b(yesterday|today)\b"):
        return Period(f"{fmt_date(ref)} (the reference date)", start=ref,
                      end=ref + timedelta(days=1))
    return None


def whole_months(period: Period, vocab: v.Vocabulary) -> Period:
    """'the last 6 months' split by month: the 6 calendar months to the reference date, so the
    first month is not a sliver of a month."""
    if period.months is None:
        return period
    ref = vocab.reference_date
    start = add_months(_month_start(ref), 1 - period.months)
    return Period(f"the {period.months} calendar months {start:%B %Y} to {fmt_date(ref)}",
                  start=start, end=ref + timedelta(days=1), on=period.on)


def shift_period(text: Text, period: Period | None) -> Period | None:
    """'the month before', 'the previous year': the previous frame's period, one step back."""
    if period is None or period.start is None or period.end is None:
        return None
    m = text.take(r"(?:the |a |one )?(month|year|quarter|week) (?:before|earlier|prior)"
                  r"|(?:the )?(?:previous|prior|preceding) (month|year|quarter|week)"
                  r"|(?:the )?(?:period|one) before")
    if not m:
        return None
    days = (period.end - period.start).days
    if days <= 7:
        start, end = period.start - timedelta(days=7), period.start
        label = f"the week from {fmt_date(start)}"
    elif days <= 31:
        start, end = add_months(period.start, -1), period.start
        label = f"{start:%B %Y}"
    elif days <= 92:
        start, end = add_months(period.start, -3), period.start
        label = f"Q{(start.month - 1) // 3 + 1} {start.year}"
    else:
        start, end = date(period.start.year - 1, period.start.month, 1), period.start
        label = f"{start.year}" if start.month == 1 else f"{start:%B %Y} to {end:%B %Y}"
    return Period(label, start=start, end=end, on=period.on)


def _last_n(n: int, unit: str, ref) -> Period:
    """The last `n` days, weeks (as days) or months up to the reference date."""
    if unit == "month":
        return Period(f"the {n} months to {fmt_date(ref)}", months=n)
    days = n * (7 if unit == "week" else 1)
    return Period(f"the {days} days to {fmt_date(ref)}", days=days)

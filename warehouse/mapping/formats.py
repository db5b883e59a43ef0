"""The small languages of a mapping file: date formats, delimiters, types, encodings."""

from __future__ import annotations

import codecs
import re

from warehouse.errors import ConfigError

# -- date formats ----------------------------------------------------------------------------------
# Tokens people write ("DD.MM.YYYY", "M/D/YYYY H:MM", "YYYYMMDD") -> strftime (DuckDB strptime is
# lenient about leading zeros, so M and MM, D and DD read the same). MM after an hour token is
# minutes ("HH:MM"); mm is always minutes.
_TOKENS = (
    ("YYYY", "%Y"), ("YY", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%m"),
    ("DDDD", "%A"), ("DDD", "%a"), ("DD", "%d"), ("D", "%d"), ("HH", "%H"), ("H", "%H"),
    ("hh", "%I"), ("h", "%I"), ("mm", "%M"), ("MI", "%M"), ("SS", "%S"), ("ss", "%S"),
    ("FFFFFF", "%f"), ("ffffff", "%f"), ("FFF", "%g"), ("fff", "%g"), ("AM", "%p"),
    ("PM", "%p"), ("TZ", "%z"), ("Z", "%z"),
)
_HOURS = ("%H", "%I")
EPOCHS = {"epoch": 1_000_000, "epoch_s": 1_000_000, "epoch_seconds": 1_000_000,
          "unix": 1_000_000, "epoch_ms": 1_000, "epoch_millis": 1_000,
          "epoch_milliseconds": 1_000}
EXCEL = ("excel", "excel_serial")
ISO = ("iso", "iso8601")
FORMAT_HELP = ("a pattern such as YYYY-MM-DD, DD.MM.YYYY, M/D/YYYY H:MM, YYYYMMDD or YYMMDD, a "
               "strftime pattern with % (%d/%m/%Y), or one of epoch (seconds since 1970), "
               "epoch_ms, excel (serial day numbers), iso")


def strftime(fmt: str) -> str:
    """The strftime pattern of a date format written with tokens ('DD.MM.YYYY' -> '%d.%m.%Y');
    a pattern with '%' is returned as it is. Raises ConfigError when nothing in it is a date."""
    if "%" in fmt:
        return fmt
    out: list[str] = []
    last = ""
    i = 0
    while i < len(fmt):
        for token, code in _TOKENS:
            if fmt.startswith(token, i):
                if code == "%m" and last in _HOURS:
                    code = "%M"          # HH:MM is hours and minutes
                out.append(code)
                last = code
                i += len(token)
                break
        else:
            ch = fmt[i]
            if ch.isalpha():
                raise ConfigError(f"date format {fmt!r}: {ch!r} is not a date part; write "
                                  + FORMAT_HELP)
            out.append(ch)
            i += 1
    pattern = "".join(out)
    if not re.search(r"%[YyBbmd]", pattern):
        raise ConfigError(f"date format {fmt!r} has no year, month or day; write " + FORMAT_HELP)
    return pattern


def parse_sql(fmt: str, column: str) -> str:
    """SQL reading the text `column` in date format `fmt` as a TIMESTAMP (NULL when it does not
    fit the format)."""
    key = fmt.strip().lower()
    if key in EPOCHS:
        factor = EPOCHS[key]
        return (f"CASE WHEN TRY_CAST({column} AS DOUBLE) IS NOT NULL THEN make_timestamp(CAST("
                f"round(TRY_CAST({column} AS DOUBLE) * {factor}) AS BIGINT)) END")
    if key in EXCEL:
        return (f"CASE WHEN TRY_CAST({column} AS DOUBLE) BETWEEN 1 AND 2958465 THEN "
                f"TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(TRY_CAST({column} AS "
                "DOUBLE) * 86400000000) AS BIGINT)) END")
    if key in ISO:
        return f"TRY_CAST({column} AS TIMESTAMP)"
    pattern = strftime(fmt).replace("'", "''")
    return f"CAST(try_strptime({column}, '{pattern}') AS TIMESTAMP)"


# -- delimiters ------------------------------------------------------------------------------------
WHITESPACE = "whitespace"
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "\t": "\t", "comma": ",", "semicolon": ";",
                    "pipe": "|", "space": " ", "whitespace": WHITESPACE, "spaces": WHITESPACE,
                    "\\s+": WHITESPACE, "\\s": WHITESPACE}


def delimiter(value: str | None, where: str) -> str | None:
    """One delimiter character, 'whitespace' (runs of spaces and tabs), or None (detect)."""
    if value is None:
        return None
    d = _DELIMITER_NAMES.get(value, _DELIMITER_NAMES.get(value.lower(), value))
    if d != WHITESPACE and (len(d) != 1 or d in "\"\r\n"):
        raise ConfigError(f"{where}: delimiter must be one character (',' ';' '|'), 'tab' or "
                          f"'whitespace' (runs of spaces and tabs), not {value!r}")
    return d


# -- types -----------------------------------------------------------------------------------------
_TYPES = {"bigint": "BIGINT", "integer": "BIGINT", "int": "BIGINT", "long": "BIGINT",
          "double": "DOUBLE", "float": "DOUBLE", "number": "DOUBLE", "real": "DOUBLE",
          "varchar": "VARCHAR", "text": "VARCHAR", "string": "VARCHAR", "boolean": "BOOLEAN",
          "bool": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "datetime": "TIMESTAMP"}
_DECIMAL = re.compile(r"(?i)\s*(decimal|numeric)\s*\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)\s*")
TYPE_HELP = "BIGINT, DOUBLE, DECIMAL(18,2), VARCHAR, BOOLEAN, DATE or TIMESTAMP"


def sql_type(value: str, where: str) -> str:
    """A column type a mapping may name, in DuckDB's spelling."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: a type is a name such as {TYPE_HELP}, not {value!r}")
    m = _DECIMAL.fullmatch(value)
    if m:
        precision, scale = int(m.group(2)), int(m.group(3))
        if not 1 <= precision <= 38 or scale > precision:
            raise ConfigError(f"{where}: {value} is not a valid DECIMAL (precision 1-38, scale "
                              "at most the precision)")
        return f"DECIMAL({precision},{scale})"
    typ = _TYPES.get(value.strip().lower())
    if typ is None:
        raise ConfigError(f"{where}: unknown type {value!r}; use {TYPE_HELP}")
    return typ


# -- encodings -------------------------------------------------------------------------------------
UTF8 = ("utf-8", "utf8", "utf-8-sig", "ascii", "us-ascii")


def encoding(value: str | None, where: str) -> str:
    """A text encoding Python knows (latin-1, cp1252, cp1250, utf-16...), normalised."""
    if value is None:
        return "utf-8"
    try:
        name = codecs.lookup(value).name
    except LookupError:
        raise ConfigError(f"{where}: unknown encoding {value!r}; use for example utf-8, "
                          "latin-1, cp1252 (Windows Western), cp1250 (Windows Central European) "
                          "or utf-16") from None
    return "utf-8" if name in ("utf-8", "ascii") else name

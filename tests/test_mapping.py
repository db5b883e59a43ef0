"""Mapping files (issue 10, item 2): sources and formats, renames, constants, expressions,
recoding, generated keys, skip rules, joins, tables of the user's own, one transaction, and the
demo-data guard; every mistake named before anything is loaded."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pytest

from warehouse.connection import Warehouse
from warehouse.errors import ConfigError, DemoDataPresent, ImportFileError
from warehouse.mapping import import_mapping, load_mapping

CLIENTS = "ClientNo;Sex;Born;Joined\n1;F;1986-02-14;13.08.2020\n2;M;1991-07-13;01.02.2021\n" \
          "3;F;1979-11-30;24.12.2019\n"
# whitespace-separated, YYYYMMDD dates, no account ids, a zero-amount purchase
LOG = ("txn   client   day        amount   kind\n"
       "1     1        20221210   26.84    POS\n"
       "2     1        20221218   0        POS\n"
       "3     2        20230105   120.50   ATM\n"
       "4     3        20230211   9.99     REF\n")

SHOP = """
[sources.clients]
file = "clients.csv"
dates = { Joined = "DD.MM.YYYY" }

[sources.log]
file = "log.txt"
delimiter = "whitespace"
dates = { day = "YYYYMMDD" }

[[load]]
into = "customers"
from = "clients"
[load.columns]
customer_id = "ClientNo"
gender = { column = "Sex", recode = { F = "female", M = "male" } }
birth_date = "Born"
signup_date = "Joined"
country = { value = "DE" }

[[load]]
into = "transactions"
from = "log"
skip = [{ where = "kind = 'REF'", reason = "refunds are booked elsewhere" }]
[load.columns]
transaction_id = "txn"
customer_id = "client"
ts = "day"
amount = "amount"
direction = { value = "debit" }
category = { sql = "CASE kind WHEN 'ATM' THEN 'cash' ELSE 'shopping' END" }
"""


def _shop(folder: Path, mapping: str = SHOP) -> Path:
    (folder / "clients.csv").write_text(CLIENTS)
    (folder / "log.txt").write_text(LOG)
    path = folder / "mapping.toml"
    path.write_text(mapping)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_whitespace_log_with_yyyymmdd_dates_recodes_and_constants(empty_warehouse, tmp_path):
    mapping = _shop(tmp_path)
    with Warehouse.open(empty_warehouse) as wh:
        report = import_mapping(wh, mapping)
        assert report.tables == {"customers": 3, "transactions": 3}
        assert wh.rows("SELECT customer_id, gender, country, signup_date::VARCHAR FROM customers "
                       "ORDER BY 1") == [(1, "female", "DE", "2020-08-13"),
                                         (2, "male", "DE", "2021-02-01"),
                                         (3, "female", "DE", "2019-12-24")]
        rows = wh.rows("SELECT transaction_id, account_id, ts::VARCHAR, amount::DOUBLE, "
                       "direction, category FROM transactions ORDER BY 1")
    assert rows == [(1, None, "2022-12-10 00:00:00", 26.84, "debit", "shopping"),
                    (2, None, "2022-12-18 00:00:00", 0.0, "debit", "shopping"),
                    (3, None, "2023-01-05 00:00:00", 120.5, "debit", "cash")]
    skipped = next(f.to_dict() for f in report.files if f.table == "transactions")
    assert "refunds are booked elsewhere" in report.to_text()
    assert skipped["rows_loaded"] == 3


def test_source_columns_named_like_sql_keywords(empty_warehouse, tmp_path):
    """A log with columns called order, when and day maps as written, bare or as column = ."""
    log = LOG.replace("txn   client   day", "order client   when").replace(
        "amount   kind", "amount   kind")
    mapping = SHOP.replace('transaction_id = "txn"', 'transaction_id = "order"') \
        .replace('customer_id = "client"', 'customer_id = { column = "client" }') \
        .replace('ts = "day"', 'ts = { column = "when" }') \
        .replace('dates = { day = "YYYYMMDD" }', 'dates = { when = "YYYYMMDD" }')
    path = _shop(tmp_path, mapping)
    (tmp_path / "log.txt").write_text(log)
    with Warehouse.open(empty_warehouse) as wh:
        import_mapping(wh, path)
        rows = wh.rows("SELECT transaction_id, ts::DATE::VARCHAR FROM transactions ORDER BY 1")
    assert rows == [(1, "2022-12-10"), (2, "2022-12-18"), (3, "2023-01-05")]


def test_generated_keys_continue_after_the_largest_one(empty_warehouse, tmp_path):
    mapping = _shop(tmp_path, SHOP.replace('transaction_id = "txn"',
                                           'transaction_id = { generate = "row_number" }'))
    with Warehouse.open(empty_warehouse) as wh:
        import_mapping(wh, mapping, mode="replace")
        first = wh.rows("SELECT transaction_id FROM transactions ORDER BY 1")
        # a second run of only the log appends with keys after the largest already there
        (tmp_path / "log.toml").write_text(SHOP.split("[[load]]")[0] + "[[load]]" +
                                           SHOP.split("[[load]]")[2].replace(
                                               'transaction_id = "txn"',
                                               'transaction_id = { generate = "row_number" }'))
        import_mapping(wh, tmp_path / "log.toml")
        second = wh.rows("SELECT transaction_id FROM transactions ORDER BY 1")
    assert first == [(1,), (2,), (3,)]
    assert second == [(i,) for i in range(1, 7)]


def test_a_join_fills_a_table_from_two_files_and_epoch_dates(empty_warehouse, tmp_path):
    (tmp_path / "cust.csv").write_text("id,branch\n10,A\n11,B\n")
    (tmp_path / "branches.csv").write_text("branch,land,opened\nA,AT,1577836800\nB,CH,"
                                           "1609459200\n")
    (tmp_path / "m.toml").write_text("""
[sources.cust]
file = "cust.csv"
[sources.branch]
file = "branches.csv"
dates = { opened = "epoch" }
[[load]]
into = "customers"
from = "cust"
join = [{ source = "branch", on = "cust.branch = branch.branch" }]
[load.columns]
customer_id = "cust.id"
country = "branch.land"
signup_date = "branch.opened"
""")
    with Warehouse.open(empty_warehouse) as wh:
        import_mapping(wh, tmp_path / "m.toml")
        rows = wh.rows("SELECT customer_id, country, signup_date::VARCHAR FROM customers "
                       "ORDER BY 1")
    assert rows == [(10, "AT", "2020-01-01"), (11, "CH", "2021-01-01")]


def test_a_join_that_repeats_rows_is_refused_with_the_line(empty_warehouse, tmp_path):
    (tmp_path / "cust.csv").write_text("id,branch\n10,A\n11,B\n")
    (tmp_path / "branches.csv").write_text("branch,land\nA,AT\nB,CH\nB,DE\n")
    (tmp_path / "m.toml").write_text("""
[sources.cust]
file = "cust.csv"
[sources.branch]
file = "branches.csv"
[[load]]
into = "customers"
from = "cust"
join = [{ source = "branch", on = "cust.branch = branch.branch" }]
[load.columns]
customer_id = "cust.id"
country = "branch.land"
""")
    with Warehouse.open(empty_warehouse) as wh, pytest.raises(ImportFileError) as err:
        import_mapping(wh, tmp_path / "m.toml")
    assert "line 3" in str(err.value) and "2 matching rows" in str(err.value)


def test_latin1_semicolons_and_decimal_commas(empty_warehouse, tmp_path):
    (tmp_path / "c.csv").write_bytes("Nr;Ort\n1;Zürich\n".encode("latin-1"))
    (tmp_path / "t.csv").write_bytes("Nr;Kunde;Datum;Betrag\n1;1;31.12.2023;1.234,50\n"
                                     .encode("latin-1"))
    (tmp_path / "m.toml").write_text("""
[sources.c]
file = "c.csv"
encoding = "latin-1"
[sources.t]
file = "t.csv"
encoding = "latin-1"
decimal = ","
thousands = "."
types = { Betrag = "DOUBLE" }
dates = { Datum = "DD.MM.YYYY" }
[[load]]
into = "customers"
from = "c"
[load.columns]
customer_id = "Nr"
city = "Ort"
[[load]]
into = "transactions"
from = "t"
[load.columns]
transaction_id = "Nr"
customer_id = "Kunde"
ts = "Datum"
amount = "Betrag"
direction = { value = "debit" }
category = { value = "shopping" }
""")
    with Warehouse.open(empty_warehouse) as wh:
        import_mapping(wh, tmp_path / "m.toml")
        assert wh.rows("SELECT city FROM customers") == [("Zürich",)]
        assert wh.rows("SELECT amount::DOUBLE, ts::DATE::VARCHAR FROM transactions") == [
            (1234.5, "2023-12-31")]


def test_a_bad_value_names_file_line_and_column_and_loads_nothing(empty_warehouse, tmp_path):
    mapping = _shop(tmp_path)
    (tmp_path / "log.txt").write_text(LOG + "5     2        2023-02-30 5.00     POS\n")
    before = _digest(empty_warehouse)
    with Warehouse.open(empty_warehouse) as wh, pytest.raises(ImportFileError) as err:
        import_mapping(wh, mapping)
    text = str(err.value)
    assert "log.txt" in text and "6" in text and "day" in text, text
    assert _digest(empty_warehouse) == before


def test_a_bad_value_within_max_rejects_is_skipped_and_reported(empty_warehouse, tmp_path):
    mapping = _shop(tmp_path)
    (tmp_path / "log.txt").write_text(LOG + "5     2        2023-02-30 5.00     POS\n")
    with Warehouse.open(empty_warehouse) as wh:
        report = import_mapping(wh, mapping, max_rejects=1)
        assert wh.table_counts()["transactions"] == 3
    assert report.rows_rejected == 1


@pytest.mark.parametrize(("expression", "message"), [
    ("read_csv('/etc/passwd')", "not allowed"),
    ("(SELECT 1)", "only an expression over the source columns"),
    ("kind || (SELECT max(x) FROM t)", "subqueries and tables are not allowed"),
    ("1; DROP TABLE customers", "one expression"),
    ("getenv('HOME')", "not allowed"),
])
def test_hostile_expressions_are_refused_before_reading(tmp_path, expression, message):
    mapping = _shop(tmp_path, SHOP.replace(
        "CASE kind WHEN 'ATM' THEN 'cash' ELSE 'shopping' END", expression.replace('"', "'")))
    with pytest.raises(ConfigError) as err:
        load_mapping(mapping)
    assert message in str(err.value) and "column category" in str(err.value)


def test_expressions_run_where_no_file_can_be_read(tmp_path):
    from warehouse.mapping.sandbox import connection

    con = connection()
    with pytest.raises(Exception) as err:
        con.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    assert "disabled" in str(err.value).lower() or "permission" in str(err.value).lower()


@pytest.mark.parametrize(("change", "message"), [
    (('into = "transactions"', 'into = "transaction"'), "did you mean"),
    (('amount = "amount"', 'amount = "amount"\nfoo = "kind"'), "has no column foo"),
    (('direction = { value = "debit" }', ''), "needs the column direction"),
    (('delimiter = "whitespace"', 'delimiter = "ab"'), "delimiter must be one character"),
    (('dates = { day = "YYYYMMDD" }', 'dates = { day = "QQ" }'), "is not a date part"),
])
def test_mistakes_in_the_mapping_say_where(empty_warehouse, tmp_path, change, message):
    mapping = _shop(tmp_path, SHOP.replace(*change))
    with Warehouse.open(empty_warehouse) as wh, pytest.raises(ConfigError) as err:
        import_mapping(wh, mapping)
    assert message in str(err.value).lower() or message in str(err.value), str(err.value)
    assert "mapping.toml" in str(err.value)


def test_a_table_of_the_users_own_with_personal_columns_marked(empty_warehouse, tmp_path):
    (tmp_path / "cards.csv").write_text("client,card_type,holder_email\n1,gold,a@x.org\n"
                                        "2,classic,b@y.org\n")
    mapping = _shop(tmp_path, SHOP + """
[sources.cards]
file = "cards.csv"
[[load]]
into = "cards"
own_table = true
from = "cards"
""")
    with Warehouse.open(empty_warehouse) as wh:
        report = import_mapping(wh, mapping)
        comment = wh.rows("SELECT comment FROM duckdb_columns() WHERE table_name = 'cards' AND "
                          "column_name = 'holder_email'")[0][0]
        assert wh.rows("SELECT card_type FROM cards ORDER BY client") == [("gold",), ("classic",)]
    assert [t.table for t in report.own_tables] == ["cards"]
    assert comment.startswith("Personal data")


def test_a_warehouse_with_demo_data_refuses_or_removes_it(writable_warehouse, tmp_path):
    mapping = _shop(tmp_path)
    before = _digest(writable_warehouse)
    with Warehouse.open(writable_warehouse) as wh, pytest.raises(DemoDataPresent) as err:
        import_mapping(wh, mapping)
    assert "init --empty" in str(err.value) and "--remove-demo" in str(err.value)
    assert _digest(writable_warehouse) == before
    with Warehouse.open(writable_warehouse) as wh:
        report = import_mapping(wh, mapping, remove_demo=True)
        counts = wh.table_counts()
    assert report.removed_demo["customers"] == 3000
    assert counts["customers"] == 3 and counts["transactions"] == 3
    assert counts["accounts"] == counts["app_events"] == counts["consents"] == 0
    assert counts["campaign_events"] == 0


EXAMPLES = Path(__file__).resolve().parent.parent / "warehouse" / "mapping" / "examples"


@pytest.mark.parametrize("example", ["online_retail", "berka"])
def test_the_example_mappings_import_their_export_shapes(empty_warehouse, tmp_path, example):
    """The mappings shipped in the docs import files shaped like the public exports they are
    written for, with nothing reshaped by hand."""
    import shutil

    from public_shapes import berka, online_retail

    if example == "online_retail":
        online_retail(tmp_path, customers=300)
    else:
        berka(tmp_path, accounts=200, months=18)
    shutil.copy(EXAMPLES / f"{example}.toml", tmp_path / "m.toml")
    with Warehouse.open(empty_warehouse) as wh:
        report = import_mapping(wh, tmp_path / "m.toml")
        counts = wh.table_counts()
        if example == "online_retail":
            assert counts["customers"] == 300 and counts["transactions"] > 300
            assert counts["accounts"] == 0
            assert wh.scalar("SELECT count(*) FROM transactions WHERE amount < 0") == 0
            assert "cancellations (invoices starting with C)" in report.to_text()
        else:
            assert counts["accounts"] == 200 and counts["customers"] >= 200
            genders = dict(wh.rows("SELECT gender, count(*) FROM customers GROUP BY 1"))
            assert set(genders) == {"female", "male"}
            assert wh.scalar("SELECT min(birth_date) FROM customers").year >= 1900
            assert wh.scalar("SELECT count(DISTINCT direction) FROM transactions") == 2
    assert report.rows_rejected == 0


def test_a_drafted_mapping_reads_the_files_and_names_what_to_check(empty_warehouse, tmp_path):
    from warehouse.mapping.draft import write_draft

    _shop(tmp_path)
    (tmp_path / "notes.csv").write_bytes("ref;Bemerkung\n1;Grüße\n2;ok\n".encode("latin-1"))
    target, text = write_draft([tmp_path / "clients.csv", tmp_path / "log.txt",
                                tmp_path / "notes.csv"], tmp_path / "draft.toml")
    assert target.read_text() == text
    assert 'delimiter = "whitespace"' in text and 'dates = { day = "YYYYMMDD" }' in text
    assert 'dates = { Joined = "DD.MM.YYYY" }' in text and 'delimiter = ";"' in text
    assert 'into = "customers"' in text and 'into = "transactions"' in text
    assert 'gender = { column = "Sex", recode = { F = "female", M = "male" } }' in text
    assert 'encoding = "latin-1"' in text and "own_table = true" in text
    assert "# direction = " in text and "CHECK: direction is required" in text
    with pytest.raises(ConfigError, match="never overwrites"):
        write_draft([tmp_path / "clients.csv"], tmp_path / "draft.toml")
    # as drafted, the import says what is missing; with the CHECK lines done, it imports
    with Warehouse.open(empty_warehouse) as wh, pytest.raises(ConfigError,
                                                               match="needs the columns"):
        import_mapping(wh, target)
    done = text.replace("# direction = ", "direction = ").replace("# category = ", "category = ")
    target.write_text(done)
    with Warehouse.open(empty_warehouse) as wh:
        report = import_mapping(wh, target)
        assert wh.rows("SELECT gender FROM customers ORDER BY customer_id")[0] == ("female",)
    assert report.tables == {"customers": 3, "transactions": 4}
    assert [t.table for t in report.own_tables] == ["notes"]


# A card processor's log in the shape of Kaggle's bank_transactions.csv: text ids with a letter
# prefix, day/month/two-digit-year dates, customers known only from their lines, a currency in
# the amount's column name.
BT_LOG = ("TransactionID,CustomerID,CustomerDOB,CustGender,CustLocation,TransactionDate,"
          "TransactionAmount (INR)\n"
          "T1,C5841053,10/1/94,F,JAMSHEDPUR,2/8/16,25\n"
          "T2,C2142763,4/4/57,M,JHAJJAR,2/8/16,27999\n"
          "T3,C4417068,26/11/96,F,MUMBAI,2/8/16,459\n"
          "T4,C5841053,10/1/94,F,JAMSHEDPUR,21/9/16,2060\n"
          "T5,,1/1/80,M,DELHI,25/9/16,1.5\n")


def test_a_drafted_mapping_of_a_log_also_drafts_its_customers(empty_warehouse, tmp_path):
    from warehouse.mapping.draft import write_draft

    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "bank_transactions.csv").write_text(BT_LOG)
    target, text = write_draft([tmp_path / "exports" / "bank_transactions.csv"],
                               tmp_path / "maps" / "bt.toml")
    assert 'file = "../exports/bank_transactions.csv"' in text        # relative, not absolute
    assert "CustomerDOB = \"DD/MM/YY\"" in text and "two-digit years" in text
    assert text.count('into = "customers"') == 1 and 'group_by = ["CustomerID"]' in text
    assert 'amount = "\\"TransactionAmount (INR)\\""' in text and 'city = "CustLocation"' in text
    assert "'C' and a number" in text and text.count('reason = "lines without a customer"') == 2
    done = text.replace("# direction = ", "direction = ").replace("# category = ", "category = ")
    target.write_text(done)
    with Warehouse.open(empty_warehouse) as wh:
        report = import_mapping(wh, target)
        assert report.tables == {"customers": 3, "transactions": 4}
        people = wh.rows("SELECT customer_id, birth_date, gender, city, signup_date FROM "
                         "customers ORDER BY customer_id")
        assert [p[0] for p in people] == [2142763, 4417068, 5841053]
        assert str(people[0][1]) == "1957-04-04"          # not 2057: moved back a century
        assert people[2][2:] == ("female", "JAMSHEDPUR", datetime.date(2016, 8, 2))
        assert wh.scalar("SELECT sum(amount) FROM transactions") == 25 + 27999 + 459 + 2060


def test_a_draft_says_when_day_and_month_cannot_be_told_apart(tmp_path):
    from warehouse.mapping.draft import draft_mapping

    (tmp_path / "log.csv").write_text("txn,client,day,amount\n1,1,3/4/2023,5\n2,2,5/6/2023,7\n")
    text = draft_mapping([tmp_path / "log.csv"], tmp_path / "m.toml")
    assert 'day = "DD/MM/YYYY"' in text and "fits DD/MM/YYYY and M/D/YYYY" in text
    (tmp_path / "us.csv").write_text("txn,client,day,amount\n1,1,3/4/2023,5\n2,2,12/25/2023,7\n")
    assert 'day = "M/D/YYYY"' in draft_mapping([tmp_path / "us.csv"], tmp_path / "m.toml")


def test_draft_mapping_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli import app

    (tmp_path / "log.txt").write_text(LOG)
    result = CliRunner().invoke(app, ["import", "--draft-mapping", str(tmp_path / "log.txt")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mapping.toml").is_file() and "Wrote a draft mapping" in result.output
    assert 'into = "transactions"' in (tmp_path / "mapping.toml").read_text()
    refused = CliRunner().invoke(app, ["import", "--draft-mapping", str(tmp_path / "log.txt")])
    assert refused.exit_code == 1 and "never overwrites" in refused.output

"""The importer: good files load with the right values and types, bad files are refused with a
message naming file, column and row, and a refused import leaves the warehouse exactly as it was."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse import schema
from warehouse.connection import Warehouse
from warehouse.contract import TABLES
from warehouse.errors import AssistantError, ConfigError, ImportFileError
from warehouse.importer import ImportSpec, import_files, infer_table, parse_mapping

FIXTURES = Path(__file__).parent / "fixtures" / "import"
GOOD = ["transactions.csv", "consents.csv", "accounts.csv", "customers.csv"]  # children first


def seed(wh: Warehouse) -> None:
    wh.execute("""
        INSERT INTO customers (customer_id, first_name, email, country, kyc_status) VALUES
            (1, 'Eva', 'eva@example.com', 'DE', 'verified'),
            (2, 'Tom', 'tom@example.com', 'FR', 'verified'),
            (3, 'Ana', 'ana@example.com', 'ES', 'pending')""")
    wh.execute("""
        INSERT INTO accounts (account_id, customer_id, product, status, balance) VALUES
            (10, 1, 'checking', 'open', 100.00), (11, 2, 'savings', 'open', 2000.00)""")
    wh.execute("""
        INSERT INTO transactions (transaction_id, account_id, customer_id, ts, amount, direction,
                                  category) VALUES
            (1, 10, 1, TIMESTAMP '2024-04-01 12:00:00', 12.50, 'debit', 'dining')""")
    wh.execute("INSERT INTO consents (customer_id, purpose, granted) VALUES (1, 'email', true)")


@pytest.fixture
def wh():
    # Sandboxed like the real handle: the importer must not rely on the warehouse reading files.
    with Warehouse.memory(sandboxed=True) as w:
        schema.apply(w.cursor())
        seed(w)
        yield w


def snapshot(wh: Warehouse) -> dict[str, tuple]:
    """Row count and a checksum of the contents of every contract table."""
    out = {}
    for t in TABLES:
        out[t.name] = wh.rows(
            f"SELECT count(*), md5(coalesce(string_agg(CAST(x AS VARCHAR), '|' "
            f"ORDER BY CAST(x AS VARCHAR)), '')) FROM {t.name} x"
        )[0]
    return out


def spec(name: str, **kw) -> ImportSpec:
    return ImportSpec(FIXTURES / name, **kw)


# -- good files --------------------------------------------------------------------------------
def test_good_files_load_with_values_and_types(wh):
    report = import_files(wh, [spec(n) for n in GOOD])

    # loaded parents first, whatever order they were given in
    assert [f.table for f in report.files] == ["customers", "accounts", "consents",
                                               "transactions"]
    assert report.rows_loaded == report.rows_read == 16
    assert report.rows_rejected == 0
    assert wh.table_counts() == {"customers": 7, "accounts": 6, "transactions": 5,
                                 "app_events": 0, "consents": 5, "campaigns": 0,
                                 "campaign_events": 0}

    ada = wh.rows("SELECT birth_date, gender, country, acquisition_channel, income_band, "
                  "kyc_status, phone, city FROM customers WHERE customer_id = 101")[0]
    # value sets of lower-case words are lower-cased, country upper-cased, all trimmed
    assert ada == (dt.date(1985, 12, 10), "female", "DE", "paid_search", "50-100k", "verified",
                   "+4915112345678", "Berlin")
    linus = wh.rows("SELECT birth_date, country, income_band, phone FROM customers "
                    "WHERE customer_id = 104")[0]
    assert linus == (None, "FI", "<25k", None)  # empty -> NULL

    acc = wh.rows("SELECT product, status, balance, credit_limit, interest_rate, closed_at "
                  "FROM accounts WHERE account_id IN (1002, 1003, 1004) ORDER BY account_id")
    assert acc == [
        ("credit_card", "open", Decimal("120.00"), Decimal("3000.00"), Decimal("18.900"), None),
        ("savings", "closed", Decimal("0.00"), None, Decimal("2.500"), dt.date(2023, 1, 15)),
        ("mortgage", "open", Decimal("250000.00"), None, Decimal("3.125"), None),
    ]

    tx = wh.rows("SELECT transaction_id, account_id, ts, amount, direction, is_international, "
                 "merchant_country FROM transactions WHERE transaction_id >= 50000 "
                 "ORDER BY transaction_id")
    assert tx == [
        (50001, 1001, dt.datetime(2024, 5, 1, 9, 15), Decimal("42.10"), "debit", False, "DE"),
        (50002, 1001, dt.datetime(2024, 5, 2, 18, 30), Decimal("2500.00"), "credit", False, "DE"),
        (50003, 1002, dt.datetime(2024, 5, 3, 12, 0), Decimal("19.99"), "debit", True, "US"),
        (50004, None, dt.datetime(2024, 5, 4), Decimal("5.00"), "debit", False, None),
    ]

    consents = wh.rows("SELECT purpose, granted, updated_at FROM consents "
                       "WHERE customer_id = 101 ORDER BY purpose")
    assert consents == [("email", True, dt.datetime(2024, 1, 1, 10)),
                        ("profiling", True, dt.datetime(2024, 1, 1, 10)),
                        ("sms", False, dt.datetime(2024, 1, 1, 10))]

    types = dict(wh.rows("SELECT column_name, data_type FROM duckdb_columns() "
                         "WHERE table_name = 'transactions'"))
    assert types["ts"] == "TIMESTAMP" and types["amount"] == "DECIMAL(18,2)"


def test_report_is_json_friendly_and_readable(wh):
    report = import_files(wh, [spec("customers.csv")])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["rows_loaded"] == 4
    assert data["files"][0]["table"] == "customers"
    assert data["files"][0]["delimiter"] == ","
    assert data["tables"] == {"customers": 4}
    text = report.to_text()
    assert "customers.csv -> customers: 4 loaded, 0 rejected of 4" in text


@pytest.mark.parametrize(("name", "table"), [
    ("customers.csv", "customers"),
    ("accounts_2024.parquet", "accounts"),
    ("Campaigns.CSV", "campaigns"),
    ("campaign_events_q1.csv.gz", "campaign_events"),
    ("consents-export.tsv", "consents"),
    ("transactions2024.csv", "transactions"),
])
def test_infer_table_from_file_name(name, table):
    assert infer_table(Path("/data") / name) == table


def test_unknown_file_name_asks_for_a_table(wh, tmp_path):
    path = tmp_path / "clients.csv"
    shutil.copy(FIXTURES / "customers.csv", path)
    before = snapshot(wh)
    with pytest.raises(ImportFileError) as err:
        import_files(wh, [ImportSpec(path)])
    msg = str(err.value)
    assert "clients.csv" in msg and "customers, accounts, transactions" in msg
    assert "--table" in msg
    assert snapshot(wh) == before
    # with the table given, the same file loads
    report = import_files(wh, [ImportSpec(path, table="customers")])
    assert report.files[0].rows_loaded == 4


def test_mapped_columns(wh):
    report = import_files(wh, [spec("customers_mapped.csv",
                                    mapping=parse_mapping("cust_id=customer_id, mail=email"))])
    assert report.rows_loaded == 2
    assert wh.rows("SELECT customer_id, email, first_name FROM customers "
                   "WHERE customer_id > 200 ORDER BY 1") == [
        (201, "m1@example.com", "Mia"), (202, "m2@example.com", "Max")]


@pytest.mark.parametrize(("text", "expected"), [
    ("cust_id=customer_id,mail=email", {"cust_id": "customer_id", "mail": "email"}),
    (" cust_id = customer_id , ", {"cust_id": "customer_id"}),
    ("a=b,a=b", {"a": "b"}),
    ("", {}),
])
def test_parse_mapping(text, expected):
    assert parse_mapping(text) == expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("cust_id", "not of the form file_col=contract_col"),
    ("=customer_id", "not of the form"),
    ("a=b=c", "not of the form"),
    ("a=x,a=y", "twice"),
    ("a=email,b=email", "both 'a' and 'b'"),
])
def test_parse_mapping_rejects_malformed(text, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_mapping(text)


def test_mapping_to_unknown_columns_is_refused(wh):
    with pytest.raises(ImportFileError, match="does not have; did you mean 'cust_id'"):
        import_files(wh, [spec("customers_mapped.csv", mapping={"custid": "customer_id"})])
    with pytest.raises(ImportFileError, match="table customers does not have"):
        import_files(wh, [spec("customers_mapped.csv", mapping={"cust_id": "customer_key"})])


def test_semicolon_file_is_sniffed(wh):
    report = import_files(wh, [spec("customers_semicolon.csv")])
    assert report.files[0].delimiter == ";"
    assert report.rows_loaded == 2


def test_tab_delimiter_given_as_backslash_t(wh, tmp_path):
    path = tmp_path / "customers.tsv"
    path.write_text("customer_id\temail\n901\tx@example.com\n")
    report = import_files(wh, [ImportSpec(path, delimiter="\\t")])
    assert report.rows_loaded == 1


def test_parquet(wh, tmp_path):
    path = tmp_path / "accounts_2024.parquet"
    pq.write_table(pa.table({
        "account_id": pa.array([7001, 7002], pa.int64()),
        "customer_id": pa.array([1, 3], pa.int32()),
        "product": ["savings", "Crypto"],
        "status": ["open", "frozen"],
        "opened_at": pa.array([dt.date(2023, 1, 2), None], pa.date32()),
        "balance": pa.array([10.5, None], pa.float64()),
        "interest_rate": pa.array([Decimal("1.250"), None], pa.decimal128(6, 3)),
    }), path)
    report = import_files(wh, [ImportSpec(path)])
    assert report.files[0].format == "parquet" and report.files[0].table == "accounts"
    assert wh.rows("SELECT account_id, customer_id, product, status, opened_at, balance, "
                   "interest_rate FROM accounts WHERE account_id > 7000 ORDER BY 1") == [
        (7001, 1, "savings", "open", dt.date(2023, 1, 2), Decimal("10.50"), Decimal("1.250")),
        (7002, 3, "crypto", "frozen", None, None, None),
    ]


def test_parquet_bad_value_names_the_data_row(wh, tmp_path):
    path = tmp_path / "customers.parquet"
    pq.write_table(pa.table({"customer_id": [901, 902, 903],
                             "signup_date": ["2024-01-01", "2024-13-01", "2024-01-03"]}), path)
    before = snapshot(wh)
    with pytest.raises(ImportFileError) as err:
        import_files(wh, [ImportSpec(path)])
    assert err.value.column == "signup_date" and err.value.row == 2
    assert "customers.parquet" in str(err.value) and "data row 2" in str(err.value)
    assert "'2024-13-01', not a DATE" in str(err.value)
    assert snapshot(wh) == before


# -- append and replace --------------------------------------------------------------------------
def test_append_adds_rows_and_refuses_the_same_keys_twice(wh):
    import_files(wh, [spec("customers.csv")])
    assert wh.table_counts()["customers"] == 7
    before = snapshot(wh)
    with pytest.raises(ImportFileError, match="customer_id=101 is already in table customers"):
        import_files(wh, [spec("customers.csv")])
    assert snapshot(wh) == before


def test_replace_empties_the_target_tables_first(wh, tmp_path):
    accounts = tmp_path / "accounts.csv"
    lines = (FIXTURES / "accounts.csv").read_text().splitlines()
    accounts.write_text("\n".join(line for line in lines if not line.startswith("1004,")))
    report = import_files(wh, [ImportSpec(accounts), spec("customers.csv")], mode="replace")
    assert report.replaced == {"customers": 3, "accounts": 2}
    assert wh.rows("SELECT customer_id FROM customers ORDER BY 1") == [
        (101,), (102,), (103,), (104,)]
    assert wh.rows("SELECT account_id FROM accounts ORDER BY 1") == [(1001,), (1002,), (1003,)]
    # tables that depend on replaced ones are emptied too: no row of a replaced customer stays
    assert wh.table_counts()["transactions"] == 0
    assert report.emptied == {"transactions": 1, "consents": 1}
    text = report.to_text()
    assert "replaced customers: removed the 3 rows it had" in text
    assert "also emptied, as they refer to the replaced rows: transactions (1 rows)" in text


def test_replace_checks_parents_against_the_new_rows(wh):
    before = snapshot(wh)
    # accounts.csv has account 1004 of customer 1, who is not in customers.csv
    with pytest.raises(ImportFileError) as err:
        import_files(wh, [spec("customers.csv"), spec("accounts.csv")], mode="replace")
    assert err.value.column == "customer_id" and err.value.row == 5
    assert snapshot(wh) == before


def test_replace_leaves_no_row_of_a_replaced_customer(wh):
    report = import_files(wh, [spec("customers.csv")], mode="replace")
    assert report.replaced == {"customers": 3}
    assert report.emptied == {"accounts": 2, "transactions": 1, "consents": 1}
    counts = wh.table_counts()
    assert counts["customers"] == 4
    assert counts["accounts"] == counts["transactions"] == counts["consents"] == 0


def test_replacing_campaigns_empties_their_events_only(wh, tmp_path):
    wh.execute("INSERT INTO campaigns (campaign_id, name) VALUES (5, 'spring')")
    wh.execute("INSERT INTO campaign_events VALUES (5, 1, 'sent', TIMESTAMP '2024-04-01')")
    campaigns = tmp_path / "campaigns.csv"
    campaigns.write_text("campaign_id,name,channel\n7,summer,email\n")
    report = import_files(wh, [ImportSpec(campaigns)], mode="replace")
    assert report.replaced == {"campaigns": 1}
    assert report.emptied == {"campaign_events": 1}
    counts = wh.table_counts()
    assert counts["customers"] == 3 and counts["transactions"] == 1


def test_error_in_a_later_file_rolls_back_the_earlier_ones(wh):
    before = snapshot(wh)
    with pytest.raises(ImportFileError, match=r"accounts_orphan\.csv"):
        import_files(wh, [spec("customers.csv"), spec("accounts_orphan.csv")])
    assert snapshot(wh) == before


def test_creates_the_tables_in_an_empty_warehouse():
    with Warehouse.memory(sandboxed=True) as empty:
        with pytest.raises(ImportFileError):
            import_files(empty, [spec("customers_bad_date.csv")])
        assert empty.table_counts() == {}  # rolled back, tables included
        import_files(empty, [spec("customers.csv")])
        assert empty.table_counts()["customers"] == 4
        assert empty.has_table("accounts")


# -- malformed files -----------------------------------------------------------------------------
MALFORMED = [
    # fixture, ImportSpec options, column, row, fragments of the message
    ("customers_semicolon.csv", {"delimiter": ","}, None, None,
     ["seems to use ';'", "--delimiter ';'"]),
    ("customers_bad_date.csv", {}, "birth_date", 3,
     ["'31/02/1990', not a DATE (use YYYY-MM-DD)", "line 3"]),
    ("accounts_bad_number.csv", {}, "balance", 3, ["'1.234,50', not a number"]),
    ("customers_bad_value.csv", {}, "kyc_status", 3,
     ["'approved', not one of verified, pending, rejected"]),
    ("customers_no_key.csv", {}, "customer_id", None,
     ["no column 'customer_id'", "--map file_col=customer_id", "cust_no"]),
    ("customers_mapped.csv", {}, "customer_id", None,
     ["did you mean 'cust_id'?", "--map cust_id=customer_id"]),
    ("customers_extra.csv", {}, "loyalty_tier", None,
     ["no columns 'loyalty_tier', 'emial_opt_in'", "--ignore-extra"]),
    ("customers_dup.csv", {}, "customer_id", 4,
     ["customer_id=801 is repeated", "line 4", "line 2"]),
    ("consents_dup.csv", {}, "customer_id, purpose", 4,
     ["customer_id=1, purpose=sms is repeated", "line 2"]),
    ("customers_existing.csv", {}, "customer_id", 3,
     ["customer_id=2 is already in table customers", "--mode replace"]),
    ("accounts_orphan.csv", {}, "customer_id", 3, ["has 999, which is not in table customers"]),
    ("customers_empty.csv", {}, None, None, ["is empty"]),
    ("customers_header_only.csv", {}, None, None, ["header but no data rows"]),
    ("accounts_null_product.csv", {}, "product", 3, ["'product' is empty"]),
    ("transactions_bad_amount.csv", {}, "amount", 3, ["'-5.00'", "never negative"]),
]


@pytest.mark.parametrize(("name", "options", "column", "row", "fragments"), MALFORMED,
                         ids=[m[0] + ("-" + ",".join(m[1]) if m[1] else "") for m in MALFORMED])
def test_malformed_file_is_refused_and_nothing_changes(wh, name, options, column, row,
                                                       fragments):
    before = snapshot(wh)
    with pytest.raises(ImportFileError) as err:
        # a good file in the same import must not survive the failure either
        import_files(wh, [spec("customers.csv"), spec(name, **options)])
    msg = str(err.value)
    assert name in msg and err.value.file.endswith(name)
    assert err.value.column == column
    assert err.value.row == row
    if column is not None:
        assert f"column {column!r}" in msg
    if row is not None:
        assert f"row {row}" in msg
    for fragment in fragments:
        assert fragment in msg
    assert snapshot(wh) == before


@pytest.mark.parametrize(("file_name", "content", "fragment"), [
    ("customers.xlsx", b"PK\x03\x04rest-of-a-zip", "Excel"),
    ("customers.json", b'[{"customer_id": 1}]', "not a CSV or Parquet file"),
    ("customers.parquet", b"customer_id\n1\n", "not a Parquet file"),
    ("customers.csv", b"customer_id,email\n\xe9t\xe9,x\n", "not UTF-8"),
    ("customers.csv", b"\xff\xfec\x00", "UTF-16"),
    ("customers.csv", b"customer_id,email\n1,a@example.com\n2,b@example.com,extra\n",
     "line 3 has 3 values but the header has 2 columns"),
    ("customers.csv", b"customer_id,email\n901,\"open\n", "never closed"),
])
def test_unreadable_files(wh, tmp_path, file_name, content, fragment):
    path = tmp_path / file_name
    path.write_bytes(content)
    before = snapshot(wh)
    with pytest.raises(ImportFileError) as err:
        import_files(wh, [ImportSpec(path)])
    assert fragment in str(err.value) and file_name in str(err.value)
    assert snapshot(wh) == before


def test_missing_file(wh, tmp_path):
    with pytest.raises(ImportFileError, match="no such file"):
        import_files(wh, [ImportSpec(tmp_path / "customers.csv")])


def test_ignore_extra_lists_the_ignored_columns(wh):
    report = import_files(wh, [spec("customers_extra.csv", ignore_extra=True)])
    assert report.files[0].ignored_columns == ["loyalty_tier", "emial_opt_in"]
    assert report.rows_loaded == 2
    assert "ignored columns: loyalty_tier, emial_opt_in" in report.to_text()


def test_line_numbers_count_line_breaks_inside_quoted_values(wh, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text('customer_id,city,signup_date\n901,"Frankfurt\nam Main",2024-01-01\n'
                    "902,Berlin,2024-01-02\n903,Bonn,yesterday\n")
    with pytest.raises(ImportFileError) as err:
        import_files(wh, [ImportSpec(path)])
    assert err.value.row == 5 and "'yesterday'" in str(err.value)


# -- max_rejects -----------------------------------------------------------------------------------
def test_max_rejects_skips_bad_rows_and_writes_them_out(wh, tmp_path):
    path = tmp_path / "accounts_mixed.csv"
    path.write_text(
        "account_id,customer_id,product,status,balance\n"
        "5001,1,checking,open,10\n"          # line 2: good
        "5002,1,checking,opne,10\n"          # line 3: value set
        "5003,999,savings,open,10\n"         # line 4: orphan
        "5001,2,savings,open,10\n"           # line 5: repeated key
        "10,2,savings,open,10\n"             # line 6: already in the warehouse
        "5004,2,savings,open,\"1,5\"\n"      # line 7: not a number
        "5005,3,crypto,frozen,0\n"           # line 8: good
    )
    report = import_files(wh, [ImportSpec(path)], max_rejects=5, rejects_dir=tmp_path / "rej")
    f = report.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (7, 2, 5)
    assert f.rejected_reasons == {
        "column 'balance' is not a number (use a dot for decimals, no thousands separators or "
        "currency signs)": 1,
        "column 'customer_id' not in table customers": 1,
        "column 'status' is not one of open, closed, frozen": 1,
        "key already in table accounts": 1,
        "key repeated within the file": 1,
    }
    assert f.rejects_file == tmp_path / "rej" / "accounts_mixed.rejects.csv"
    assert wh.rows("SELECT account_id FROM accounts WHERE account_id > 5000 ORDER BY 1") == [
        (5001,), (5005,)]

    with f.rejects_file.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["account_id", "customer_id", "product", "status", "balance",
                             "line", "reason"]
    assert [r["line"] for r in rows] == ["3", "4", "5", "6", "7"]
    assert rows[0]["status"] == "opne"  # original values
    assert rows[4]["balance"] == "1,5"
    assert rows[0]["reason"] == "column 'status' has 'opne', not one of open, closed, frozen"
    assert rows[1]["reason"] == "column 'customer_id' has 999, which is not in table customers"
    assert rows[2]["reason"] == "key account_id=5001 is repeated: line 5 has the same key as line 2"
    assert rows[3]["reason"] == "key account_id=10 is already in table accounts"
    assert "1 x key repeated within the file" in report.to_text()
    assert not list(tmp_path.glob("rej/.*.tmp"))  # no temporary file left behind


def test_rejects_file_goes_next_to_the_file_by_default(wh, tmp_path):
    path = tmp_path / "customers_bad_date.csv"
    shutil.copy(FIXTURES / path.name, path)
    report = import_files(wh, [ImportSpec(path)], max_rejects=2)
    assert report.files[0].rejects_file == tmp_path / "customers_bad_date.rejects.csv"
    assert report.files[0].rejected_reasons == {
        "column 'birth_date' is not a DATE (use YYYY-MM-DD)": 2}
    rows = list(csv.reader(report.files[0].rejects_file.open(newline="")))
    assert rows == [
        ["customer_id", "email", "birth_date", "line", "reason"],
        ["402", "b@example.com", "31/02/1990", "3",
         "column 'birth_date' has '31/02/1990', not a DATE (use YYYY-MM-DD)"],
        ["403", "c@example.com", "also bad", "4",
         "column 'birth_date' has 'also bad', not a DATE (use YYYY-MM-DD)"],
    ]
    assert wh.rows("SELECT customer_id FROM customers WHERE customer_id > 400") == [(401,)]


def test_too_many_rejects_fails_and_writes_nothing(wh, tmp_path):
    path = tmp_path / "customers_bad_date.csv"
    shutil.copy(FIXTURES / path.name, path)
    before = snapshot(wh)
    with pytest.raises(ImportFileError) as err:
        import_files(wh, [ImportSpec(path)], max_rejects=1)
    assert "2 rows are bad, more than the 1 allowed" in str(err.value)
    assert err.value.row == 3 and err.value.column == "birth_date"
    assert snapshot(wh) == before
    assert not (tmp_path / "customers_bad_date.rejects.csv").exists()


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"mode": "upsert"}, "'append' or 'replace'"),
    ({"max_rejects": -1}, "0 or more"),
])
def test_bad_arguments(wh, kwargs, fragment):
    with pytest.raises(AssistantError, match=fragment):
        import_files(wh, [spec("customers.csv")], **kwargs)

"""User tables: import any CSV/Parquet as its own table (atomic, never over a contract table),
and the column profiling that keeps keys, personal data and protected attributes out of
features."""

from __future__ import annotations

import pandas as pd
import pytest
from lookalikes import bank_churn, credit_cards

from tools.naming import segment_name
from tools.segment_card import Trait
from tools.table_features import (
    humanize,
    is_id_like,
    is_pii,
    is_protected,
    load_table_features,
    profile_table,
    words,
)
from warehouse.errors import ImportFileError, InvalidArgument
from warehouse.user_tables import import_user_table


@pytest.mark.parametrize(("name", "split"), [
    ("NumOfProducts", ["num", "of", "products"]),
    ("CUST_ID", ["cust", "id"]),
    ("EstimatedSalary", ["estimated", "salary"]),
    ("PRC_FULL_PAYMENT", ["prc", "full", "payment"]),
    ("dateOfBirth", ["date", "of", "birth"]),
])
def test_column_names_split_into_words(name, split):
    assert words(name) == split


@pytest.mark.parametrize(("name", "label"), [
    ("NumOfProducts", "number of products"),
    ("PRC_FULL_PAYMENT", "percent full payment"),
    ("CASH_ADVANCE_TRX", "cash advance transactions"),
    ("ONEOFF_PURCHASES", "one-off purchases"),
    ("HasCrCard", "has credit card"),
    ("MINIMUM_PAYMENTS", "minimum payments"),
    ("Total_Trans_Ct", "total transaction count"),
    ("Total_Revolving_Bal", "total revolving balance"),
    ("Months_Inactive_12_mon", "months inactive (12 months)"),
    ("Account_No", "account number"),
])
def test_labels_spell_out_the_usual_abbreviations(name, label):
    assert humanize(name) == label


def trait(feature: str, effect: float, unit: str = "") -> Trait:
    column, _, level = feature.partition("=")   # a level of a category, labelled as profiled
    label = f"{humanize(column)} is {level}" if level else humanize(column)
    return Trait(feature, label, 1.0, 1.0, effect, unit)


@pytest.mark.parametrize(("traits", "name"), [
    # credit-card export columns
    ([trait("CASH_ADVANCE_FREQUENCY", 2.0), trait("CASH_ADVANCE_TRX", 1.8),
      trait("BALANCE", 1.2), trait("PURCHASES_FREQUENCY", -0.9)],
     "Cash-advance users with high balances and few purchases"),
    ([trait("INSTALLMENTS_PURCHASES", 1.5), trait("PURCHASES_INSTALLMENTS_FREQUENCY", 1.4),
      trait("PRC_FULL_PAYMENT", 0.8)],
     "Instalment buyers with balances paid in full"),
    ([trait("BALANCE", -1.5), trait("BALANCE_FREQUENCY", -1.0), trait("PAYMENTS", -0.7)],
     "Low-balance customers with small payments"),
    # bank-churn export columns, a category level and a yes/no column
    ([trait("NumOfProducts", 2.2), trait("Balance", 1.0)],
     "Multi-product customers with high balances"),
    ([trait("Geography=Germany", 1.5, "%"), trait("IsActiveMember", -0.8, "%")],
     "Inactive members with geography mostly Germany"),
    ([trait("HasMobileApp", 0.9, "%"), trait("Geography=Spain", -0.6, "%")],
     "Customers with more often has mobile app and geography rarely Spain"),
])
def test_segments_of_user_tables_get_plain_names(traits, name):
    assert segment_name(traits) == name


@pytest.mark.parametrize(("name", "pii", "protected", "id_like"), [
    ("Surname", True, False, False),
    ("first_name", True, False, False),
    ("Email", True, False, False),
    ("phone_number", True, False, False),
    ("home_address", True, False, False),
    ("date_of_birth", True, True, False),
    ("Gender", False, True, False),
    ("Age", False, True, False),
    ("marital_status", False, True, False),
    ("percentage", False, False, False),      # not "age"
    ("MORTGAGE_BALANCE", False, False, False),
    ("CustomerId", False, False, True),
    ("CUST_ID", False, False, True),
    ("Geography", False, False, False),
    ("HasCrCard", False, False, False),
])
def test_names_are_classified(name, pii, protected, id_like):
    assert (is_pii(name), is_protected(name), is_id_like(name)) == (pii, protected, id_like)


def test_a_csv_becomes_a_table_with_inferred_types(rw, tmp_path):
    frame, _ = credit_cards(300)
    frame.to_csv(tmp_path / "cc.csv", index=False)
    report = import_user_table(rw, tmp_path / "cc.csv", "cc_customers")
    assert report.rows == 300 and report.columns["BALANCE"] == "DOUBLE"
    assert report.columns["CUST_ID"] == "VARCHAR" and report.columns["TENURE"] == "BIGINT"
    assert rw.scalar("SELECT count(*) FROM cc_customers WHERE MINIMUM_PAYMENTS IS NULL") == \
        frame["MINIMUM_PAYMENTS"].isna().sum()
    comment = rw.scalar("SELECT comment FROM duckdb_tables() WHERE table_name = 'cc_customers'")
    assert comment.startswith("User table imported from cc.csv")


def test_parquet_replace_and_refusals(rw, tmp_path):
    bank = bank_churn(200)
    bank.to_parquet(tmp_path / "bank.parquet")
    import_user_table(rw, tmp_path / "bank.parquet", "bank_churn")
    with pytest.raises(InvalidArgument, match="--mode replace"):
        import_user_table(rw, tmp_path / "bank.parquet", "bank_churn")
    bank.head(50).to_parquet(tmp_path / "small.parquet")
    report = import_user_table(rw, tmp_path / "small.parquet", "BANK_CHURN", mode="replace")
    assert report.replaced and rw.scalar("SELECT count(*) FROM bank_churn") == 50
    for name in ("customers", "transactions", "customer_status", "assistant"):
        with pytest.raises(InvalidArgument, match="warehouse table"):
            import_user_table(rw, tmp_path / "small.parquet", name, mode="replace")
    with pytest.raises(InvalidArgument, match="not a usable table name"):
        import_user_table(rw, tmp_path / "small.parquet", "my table")
    rw.execute("CREATE TABLE notes (x INT)")  # made some other way: never replaced
    with pytest.raises(InvalidArgument, match="not imported with --as"):
        import_user_table(rw, tmp_path / "small.parquet", "notes", mode="replace")


def test_unreadable_or_empty_files_change_nothing(rw, tmp_path):
    (tmp_path / "empty.csv").write_text("a,b\n")
    with pytest.raises(ImportFileError, match="no data rows"):
        import_user_table(rw, tmp_path / "empty.csv", "empty")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(ImportFileError, match="could not be read"):
        import_user_table(rw, tmp_path / "broken.parquet", "broken")
    assert not rw.has_table("empty") and not rw.has_table("broken")


def test_bank_churn_profile(rw, tmp_path):
    bank_churn(400).to_csv(tmp_path / "bank.csv", index=False)
    import_user_table(rw, tmp_path / "bank.csv", "bank_churn")
    prof = profile_table(rw, "bank_churn", target="Exited")
    assert prof.key == "CustomerId"
    assert prof.ignored["RowNumber"] == "row number"
    assert prof.pii == ["Surname"] and prof.protected == ["Gender", "Age"]
    assert prof.numeric["HasCrCard"] == "flag" and prof.numeric["CreditScore"] == "linear"
    assert prof.categorical["Geography"] == ["France", "Germany", "Spain"]
    frame, feats = load_table_features(rw, prof)
    assert {f.name for f in feats} >= {"Geography=Germany", "Balance", "IsActiveMember"}
    assert frame["Geography=Germany"].isin([0.0, 1.0]).all()
    used = profile_table(rw, "bank_churn", target="Exited", include_protected=True)
    assert used.protected_used == ["Gender", "Age"] and "Age" in used.numeric
    with pytest.raises(InvalidArgument, match="personal data"):
        profile_table(rw, "bank_churn", columns=["Surname", "Balance"])
    with pytest.raises(InvalidArgument, match="protected attribute"):
        profile_table(rw, "bank_churn", columns=["Age"])


def test_credit_card_profile_handles_heavy_tails_and_gaps(rw, tmp_path):
    frame, _ = credit_cards(500)
    frame.to_csv(tmp_path / "cc.csv", index=False)
    import_user_table(rw, tmp_path / "cc.csv", "cc")
    prof = profile_table(rw, "cc")
    assert prof.key == "CUST_ID" and not prof.pii and not prof.protected
    assert prof.numeric["CASH_ADVANCE"] == "log" and prof.numeric["MINIMUM_PAYMENTS"] == "log"
    loaded, _ = load_table_features(rw, prof)
    assert loaded["MINIMUM_PAYMENTS"].isna().sum() == frame["MINIMUM_PAYMENTS"].isna().sum()
    assert list(loaded["__key"][:2]) == sorted(frame["CUST_ID"])[:2]


def test_a_table_without_an_id_uses_row_numbers(rw, tmp_path):
    pd.DataFrame({"spend": [1.0, 5.0, 2.0, 8.0], "visits": [1, 3, 2, 9]}).to_csv(
        tmp_path / "t.csv", index=False)
    import_user_table(rw, tmp_path / "t.csv", "anon")
    prof = profile_table(rw, "anon")
    assert prof.key is None and set(prof.numeric) == {"spend", "visits"}
    frame, _ = load_table_features(rw, prof)
    assert len(frame) == 4


def test_two_digit_years_and_placeholder_dates_are_read_as_meant(rw, tmp_path):
    # the shape of Kaggle's bank_transactions.csv: d/m/yy dates, which DuckDB's sniffer reads
    # as years 94 and 16 AD ('1/1/00' as a year before the calendar, which crashed the import),
    # and a 1/1/1800 placeholder for unknown birth dates
    path = tmp_path / "bank_transactions.csv"
    path.write_text("TransactionID,CustomerID,CustomerDOB,TransactionDate,Amount\n"
                    "T1,C1,10/1/94,2/8/16,25\nT2,C2,1/1/1800,21/9/16,10\n"
                    "T3,C3,12/5/68,1/1/00,7\nT4,C4,,3/10/16,1\n")
    report = import_user_table(rw, path, "bank_transactions")
    rows = rw.rows("SELECT CustomerDOB, TransactionDate FROM bank_transactions ORDER BY 1")
    assert [(str(d), str(t)) for d, t in rows] == [
        ("1800-01-01", "2016-09-21"), ("1968-05-12", "2000-01-01"),   # a birth is never ahead
        ("1994-01-10", "2016-08-02"), ("None", "2016-10-03")]
    assert report.columns["TransactionDate"] == "DATE"
    assert any("CustomerDOB has 1 dates before 1900" in n for n in report.notes)
    assert "placeholder" in report.to_text()

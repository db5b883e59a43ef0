"""The warehouse contract: every table, column and value set, in one place.

The DDL (`schema.sql`), the importer's checks, the generator and the schema description the model
reads are all derived from this module; the business definitions are in the semantic model
(warehouse/semantic/bank.toml), which uses the parameters below (the activity window, the
categories that are not spend). Names and value sets are a contract: add, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field

COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "GB", "US", "CA")
ACQUISITION_CHANNELS = ("organic", "paid_search", "paid_social", "referral", "partner", "app_store")
INCOME_BANDS = ("<25k", "25-50k", "50-100k", "100-200k", "200k+")
EMPLOYMENT_STATUSES = ("employed", "self_employed", "student", "retired", "unemployed")
KYC_STATUSES = ("verified", "pending", "rejected")
GENDERS = ("female", "male", "non_binary")
LANGUAGES = ("en", "de", "fr", "es", "it", "nl")
PRODUCTS = (
    "checking", "savings", "credit_card", "personal_loan", "mortgage", "investment", "crypto",
)
ACCOUNT_STATUSES = ("open", "closed", "frozen")
CURRENCIES = ("EUR", "GBP", "USD", "CAD")
DIRECTIONS = ("debit", "credit")
CATEGORIES = (
    "groceries", "dining", "travel", "shopping", "entertainment", "utilities", "rent", "salary",
    "transfer", "investment", "crypto", "fees", "cash",
)
NON_SPEND_CATEGORIES = ("transfer", "investment", "fees")
TX_CHANNELS = ("card_present", "online", "atm", "p2p", "direct_debit", "bank_transfer")
EVENT_TYPES = (
    "login", "view_product", "start_application", "complete_application", "support_chat",
    "push_open",
)
PLATFORMS = ("ios", "android", "web")
CONSENT_PURPOSES = ("email", "sms", "push", "profiling")
CONTACT_CHANNELS = ("email", "sms", "push")
JURISDICTIONS = ("GDPR", "CCPA", "OTHER")
CONSENT_SOURCES = (
    "signup_form", "app_settings", "preference_center", "unsubscribe_link", "branch", "import",
)
CAMPAIGN_CHANNELS = ("email", "sms", "push", "in_app")
CAMPAIGN_EVENTS = ("sent", "delivered", "opened", "clicked", "converted", "unsubscribed")

ACTIVE_WINDOW_DAYS = 90

# The business definitions, in words, live in the semantic model (warehouse/semantic/bank.toml);
# the table comments below repeat them where a model reading the schema needs them.


@dataclass(frozen=True)
class Column:
    """One column: its SQL type, business meaning and the checks an import applies to it."""

    name: str
    type: str
    comment: str
    required: bool = False
    values: tuple[str, ...] | None = None
    pii: bool = False
    protected: bool = False

    @property
    def ddl(self) -> str:
        return f"{self.name} {self.type}{' NOT NULL' if self.required else ''}"


@dataclass(frozen=True)
class Table:
    """One contract table: its key (unique per row), columns and business meaning."""

    name: str
    comment: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    parents: dict[str, str] = field(default_factory=dict)  # column -> parent table (same name key)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name, type_, comment, **kw) -> Column:
    return Column(name=name, type=type_, comment=comment, **kw)


def _values(values) -> str:
    return ", ".join(values)


CUSTOMERS = Table(
    name="customers",
    comment=(
        "One row per customer of the bank. first_name, last_name, email, phone and birth_date "
        "are personal data: never show them to the language model. gender and age are protected "
        "attributes: not used for targeting or modelling unless explicitly requested."
    ),
    key=("customer_id",),
    columns=(
        _c("customer_id", "BIGINT", "Customer key, unique.", required=True),
        _c("first_name", "VARCHAR", "Given name (personal data).", pii=True),
        _c("last_name", "VARCHAR", "Family name (personal data).", pii=True),
        _c("email", "VARCHAR", "Email address (personal data).", pii=True),
        _c("phone", "VARCHAR", "Phone number in E.164 form (personal data); may be NULL.",
           pii=True),
        _c("birth_date", "DATE", "Date of birth (personal data). Age in years at the reference "
           "date is customer_status.age.", pii=True, protected=True),
        _c("gender", "VARCHAR", f"Self-declared gender: {_values(GENDERS)}; NULL when not "
           "stated. Protected attribute.", values=GENDERS, protected=True),
        _c("country", "VARCHAR", f"Country of residence, ISO 3166-1 alpha-2 (default data: "
           f"{_values(COUNTRIES)})."),
        _c("region", "VARCHAR", "Region or state within the country; may be NULL."),
        _c("city", "VARCHAR", "City of residence; may be NULL."),
        _c("signup_date", "DATE", "Date the customer opened their relationship with the bank."),
        _c("acquisition_channel", "VARCHAR", "How the customer was acquired: "
           f"{_values(ACQUISITION_CHANNELS)}.", values=ACQUISITION_CHANNELS),
        _c("income_band", "VARCHAR", f"Declared yearly gross income band: {_values(INCOME_BANDS)}; "
           "NULL when not declared.", values=INCOME_BANDS),
        _c("employment_status", "VARCHAR", f"Declared employment: {_values(EMPLOYMENT_STATUSES)}; "
           "NULL when not declared.", values=EMPLOYMENT_STATUSES),
        _c("preferred_language", "VARCHAR", "Preferred language for communication, ISO 639-1 "
           f"({_values(LANGUAGES)})."),
        _c("kyc_status", "VARCHAR", f"Know-your-customer check: {_values(KYC_STATUSES)}. Rejected "
           "customers must not be marketed to.", values=KYC_STATUSES),
    ),
)

ACCOUNTS = Table(
    name="accounts",
    comment=(
        "One row per account (product) a customer has or had. A customer holds a product when "
        "they have an account of it with status = 'open'."
    ),
    key=("account_id",),
    parents={"customer_id": "customers"},
    columns=(
        _c("account_id", "BIGINT", "Account key, unique.", required=True),
        _c("customer_id", "BIGINT", "Owner, references customers.customer_id.", required=True),
        _c("product", "VARCHAR", f"Product type: {_values(PRODUCTS)}.", required=True,
           values=PRODUCTS),
        _c("opened_at", "DATE", "Date the account was opened."),
        _c("closed_at", "DATE", "Date the account was closed; NULL while open."),
        _c("status", "VARCHAR", f"Account status: {_values(ACCOUNT_STATUSES)}.", required=True,
           values=ACCOUNT_STATUSES),
        _c("balance", "DECIMAL(18,2)", "Current balance in the account currency at the reference "
           "date. For credit products (credit_card, personal_loan, mortgage) it is the amount "
           "owed; 0 for closed accounts."),
        _c("credit_limit", "DECIMAL(18,2)", "Credit limit of a credit_card; NULL for other "
           "products."),
        _c("interest_rate", "DECIMAL(6,3)", "Annual interest rate in percent (3.5 means 3.5%): "
           "paid on savings, charged on credit products; NULL where none applies."),
        _c("currency", "VARCHAR", f"Account currency, ISO 4217 ({_values(CURRENCIES)})."),
    ),
)

TRANSACTIONS = Table(
    name="transactions",
    comment=(
        "One row per booked card payment, transfer, direct debit, withdrawal or incoming payment. "
        "Spend is the sum of amount over debit transactions excluding the categories transfer, "
        "investment and fees. The reference date is the latest ts in this table; an active "
        "customer has a transaction in the 90 days up to it."
    ),
    key=("transaction_id",),
    parents={"customer_id": "customers", "account_id": "accounts"},
    columns=(
        _c("transaction_id", "BIGINT", "Transaction key, unique.", required=True),
        _c("account_id", "BIGINT", "Account booked on, references accounts.account_id."),
        _c("customer_id", "BIGINT", "Customer, references customers.customer_id.", required=True),
        _c("ts", "TIMESTAMP", "Booking timestamp (local time of the customer).", required=True),
        _c("amount", "DECIMAL(18,2)", "Amount in the account currency, never negative (0 for "
           "a free or fully discounted purchase); the sign is given by direction.",
           required=True),
        _c("direction", "VARCHAR", "debit (money out) or credit (money in).", required=True,
           values=DIRECTIONS),
        _c("category", "VARCHAR", f"Spending category: {_values(CATEGORIES)}. salary covers "
           "wages, pensions and gig payouts; refunds are credits in the original category.",
           required=True, values=CATEGORIES),
        _c("merchant", "VARCHAR", "Merchant or counterparty name; NULL for some transfers."),
        _c("channel", "VARCHAR", f"How it was made: {_values(TX_CHANNELS)}.", values=TX_CHANNELS),
        _c("currency", "VARCHAR", "Currency of amount (the account currency), ISO 4217."),
        _c("is_international", "BOOLEAN", "True when the merchant is outside the customer's "
           "country of residence."),
        _c("merchant_country", "VARCHAR", "Country of the merchant, ISO-2; NULL when unknown."),
    ),
)

APP_EVENTS = Table(
    name="app_events",
    comment="One row per tracked event in the mobile apps and web banking.",
    key=("event_id",),
    parents={"customer_id": "customers"},
    columns=(
        _c("event_id", "BIGINT", "Event key, unique.", required=True),
        _c("customer_id", "BIGINT", "Customer, references customers.customer_id.", required=True),
        _c("ts", "TIMESTAMP", "When the event happened.", required=True),
        _c("event_type", "VARCHAR", f"What happened: {_values(EVENT_TYPES)}.", required=True,
           values=EVENT_TYPES),
        _c("platform", "VARCHAR", f"Where: {_values(PLATFORMS)}.", values=PLATFORMS),
        _c("product", "VARCHAR", "Product concerned for view_product and application events; "
           "NULL otherwise.", values=PRODUCTS),
    ),
)

CONSENTS = Table(
    name="consents",
    comment=(
        "Marketing and profiling permissions, one row per customer and purpose. A customer is "
        "opted in to a channel (email, sms, push) when granted = true for that purpose. "
        "granted = false for profiling means the customer objected to profiling: leave them out "
        "of segment-based targeting. Audiences only ever contain opted-in customers."
    ),
    key=("customer_id", "purpose"),
    parents={"customer_id": "customers"},
    columns=(
        _c("customer_id", "BIGINT", "Customer, references customers.customer_id.", required=True),
        _c("purpose", "VARCHAR", f"What the permission is for: {_values(CONSENT_PURPOSES)}.",
           required=True, values=CONSENT_PURPOSES),
        _c("granted", "BOOLEAN", "True when the customer currently permits this purpose.",
           required=True),
        _c("updated_at", "TIMESTAMP", "When the permission was last given or withdrawn."),
        _c("source", "VARCHAR", f"Where it was recorded: {_values(CONSENT_SOURCES)}."),
        _c("jurisdiction", "VARCHAR", f"Privacy law that applies: {_values(JURISDICTIONS)}.",
           values=JURISDICTIONS),
    ),
)

CAMPAIGNS = Table(
    name="campaigns",
    comment="Past marketing campaigns, one row each.",
    key=("campaign_id",),
    columns=(
        _c("campaign_id", "BIGINT", "Campaign key, unique.", required=True),
        _c("name", "VARCHAR", "Campaign name."),
        _c("channel", "VARCHAR", f"Channel used: {_values(CAMPAIGN_CHANNELS)}.",
           values=CAMPAIGN_CHANNELS),
        _c("product", "VARCHAR", "Product promoted; NULL for brand or engagement campaigns.",
           values=PRODUCTS),
        _c("sent_at", "TIMESTAMP", "When the campaign was sent."),
    ),
)

CAMPAIGN_EVENTS_TABLE = Table(
    name="campaign_events",
    comment=(
        "Per-customer campaign events. Open, click and conversion rates of a campaign are the "
        "distinct customers with an opened, clicked or converted event divided by the distinct "
        "customers with a sent event."
    ),
    parents={"customer_id": "customers", "campaign_id": "campaigns"},
    columns=(
        _c("campaign_id", "BIGINT", "Campaign, references campaigns.campaign_id.", required=True),
        _c("customer_id", "BIGINT", "Customer, references customers.customer_id.", required=True),
        _c("event", "VARCHAR", f"What happened: {_values(CAMPAIGN_EVENTS)}.", required=True,
           values=CAMPAIGN_EVENTS),
        _c("ts", "TIMESTAMP", "When it happened."),
    ),
)

TABLES: tuple[Table, ...] = (
    CUSTOMERS, ACCOUNTS, TRANSACTIONS, APP_EVENTS, CONSENTS, CAMPAIGNS, CAMPAIGN_EVENTS_TABLE,
)
TABLES_BY_NAME = {t.name: t for t in TABLES}

PII_COLUMNS = frozenset(c.name for t in TABLES for c in t.columns if c.pii)
PROTECTED_COLUMNS = frozenset(c.name for t in TABLES for c in t.columns if c.protected)

ASSISTANT_SCHEMA = "assistant"


def table(name: str) -> Table:
    """Return the contract table called `name`, or raise KeyError listing the known ones."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"unknown table {name!r}; the warehouse tables are {', '.join(TABLES_BY_NAME)}"
        ) from None

"""Settings in one place, read in this order (first wins): command-line flags, environment
variables (ASSISTANT_*), a `.env` file in the working directory, then the defaults below.

The API key is also read from OPENAI_API_KEY, the variable the OpenAI tools use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the assistant reads; see README "Settings" for the variables."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
    )

    # The warehouse
    warehouse: Path = Field(
        Path("data/warehouse.duckdb"),
        description="Path of the DuckDB warehouse file (ASSISTANT_WAREHOUSE).",
    )
    customers: int = Field(20_000, ge=1, description="Customers generated on first run.")
    seed: int = Field(42, description="Seed of the synthetic warehouse generated on first run.")

    # The engine: embedded DuckDB, or Spark when one machine is outgrown
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="duckdb (the file at ASSISTANT_WAREHOUSE) or spark.")
    spark_master: str = Field(
        "local[2]", description="Spark master: local[N], spark://host:7077, yarn, k8s://...")
    spark_tables: Path | None = Field(
        None, description="Folder with one Parquet dataset per table (`assistant export "
        "--format parquet DIR`); unset: the tables of the Spark catalog.")
    spark_state: Path = Field(
        Path("data/spark-state.duckdb"), description="Local DuckDB file for the assistant's own "
        "tables (runs, drafts, audit, registry) when the customer data is on Spark.")
    spark_conf: str = Field(
        "", description="Extra Spark settings, 'spark.key=value, spark.key=value'.")
    spark_cache: Literal["views", "all", "none"] = Field(
        "views", description="What Spark keeps in memory once computed: the contract views, "
        "every table, or nothing.")

    # The chat model
    provider: Literal["auto", "openai", "offline"] = Field(
        "auto",
        description="auto: OpenAI-compatible model when an API key or base URL is set, else "
        "the offline planner.",
    )
    api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("ASSISTANT_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI or OpenAI-compatible endpoint.",
    )
    base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible endpoint (Ollama, vLLM, LM Studio)."
    )
    model: str = Field("gpt-4.1-mini", description="Chat model name.")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    timeout: float = Field(60.0, gt=0, description="Seconds before a model request gives up.")
    max_retries: int = Field(3, ge=0, description="Retries on rate limits and server errors.")
    retry_delay: float = Field(
        1.0, ge=0, description="Seconds before the first retry; doubles on each retry (max 30).")

    # Limits
    row_cap: int = Field(10_000, ge=1, description="Most rows a query returns to the user.")
    query_timeout: float = Field(30.0, gt=0, description="Seconds before a query is stopped.")
    max_steps: int = Field(8, ge=1, description="Most tool calls the agent makes per question.")
    memory_limit: str = Field(
        "4GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory the warehouse engine may use for queries (DuckDB memory_limit of "
        "the sandboxed handle), e.g. 2GB.")
    max_question_chars: int = Field(4_000, ge=100, description="Longest question accepted.")
    max_sql_chars: int = Field(20_000, ge=100, description="Longest SQL text a query may have.")
    max_tool_args_chars: int = Field(50_000, ge=100, description="Largest tool arguments (as "
                                     "JSON) a model may send.")
    max_reply_chars: int = Field(50_000, ge=100, description="Longest model reply accepted "
                                 "(streamed or not).")
    max_cell_chars: int = Field(10_000, ge=10, description="Longest value shown in a result "
                                "cell (longer ones are cut).")
    max_result_cells: int = Field(500_000, ge=1_000, description="Most cells (rows x columns) "
                                  "a query result brings back.")

    # The chat page
    host: str = Field("127.0.0.1", description="Address the chat page listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the chat page.")
    concurrency: int = Field(16, ge=1, description="Questions the page answers at once.")
    mcp: bool = Field(True, description="Also serve the tools as an MCP server "
                      "(http://HOST:PORT/gradio_api/mcp/sse).")
    download_ttl: float = Field(
        1800.0, gt=0, description="Seconds a download link of the page keeps working (links "
        "are per browser session and unguessable).")
    refresh_hours: float = Field(
        24.0, ge=0, description="Hours between model refreshes inside the running app, counted "
        "from the last model trained (0: off; `assistant refresh` refreshes by hand).")
    refresh_delay: float = Field(
        60.0, ge=0, description="Seconds after start-up before a due refresh runs.")

    # Real-time events (POST /v1/events, the broker consumer, triggers' outbox)
    ingest_token: SecretStr | None = Field(
        None, description="Bearer token for POST /v1/events; unset = the endpoint is off.")
    ingest_max_bytes: int = Field(5_000_000, ge=1_000, description="Largest request body.")
    ingest_max_events: int = Field(10_000, ge=1, description="Most events in one request.")
    outbox_webhook: str | None = Field(
        None, description="URL the outbox POSTs triggered sends to; unset = the JSONL file.")
    outbox_file: Path = Field(Path("data/outbox.jsonl"),
                              description="JSONL file of triggered sends (no webhook set).")
    outbox_max_attempts: int = Field(5, ge=1, description="Webhook tries before dead-letter.")
    redis_url: str | None = Field(
        None, description="redis://host:port/db to consume events from a Redis stream.")
    redis_stream: str = Field("events", description="The Redis stream of events.")
    redis_group: str = Field("assistant", description="Consumer group reading the stream.")

    # Sign-in and roles for a shared deployment (assistant/auth.py)
    auth: Literal["none", "users", "proxy"] = Field(
        "none", description="none (loopback only), users (sign-in page, ASSISTANT_USERS_FILE) "
        "or proxy (a signing-in reverse proxy sends the user in a header).")
    users_file: Path | None = Field(None, description="TOML file of users, roles and password "
                                    "hashes (`assistant users add`).")
    auth_header: str = Field("X-Forwarded-User", description="Header with the signed-in user "
                             "(proxy mode).")
    roles_header: str | None = Field(None, description="Header with the user's roles, comma-"
                                     "separated (proxy mode; else from the users file).")
    trusted_proxies: str = Field("127.0.0.1,::1", description="Addresses (or networks) whose "
                                 "auth headers are believed (proxy mode).")
    mcp_token: SecretStr | None = Field(None, description="Bearer token MCP clients must send; "
                                        "without it MCP is only open without sign-in.")
    mcp_role: Literal["marketer", "approver", "analyst", "admin"] = Field(
        "marketer", description="Role MCP clients act with.")

    # Conversations kept for `assistant ask --session`
    state_dir: Path = Field(Path("data/sessions"), description="Where named sessions are kept.")

    def open_warehouse(self, *, read_only: bool = False, must_exist: bool = True):
        """The warehouse handle of the configured engine (warehouse/engine.py)."""
        from warehouse.engine import open_warehouse
        from warehouse.spark.session import parse_conf

        return open_warehouse(self.warehouse, engine=self.engine, read_only=read_only,
                              must_exist=must_exist, spark_master=self.spark_master,
                              spark_tables=self.spark_tables, spark_state=self.spark_state,
                              spark_conf=parse_conf(self.spark_conf),
                              spark_cache=self.spark_cache, memory_limit=self.memory_limit)

    @property
    def uses_offline_planner(self) -> bool:
        if self.provider == "offline":
            return True
        if self.provider == "openai":
            return False
        return self.api_key is None and self.base_url is None


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides such as CLI flags."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})

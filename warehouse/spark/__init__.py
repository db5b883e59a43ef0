"""The Spark engine (ASSISTANT_ENGINE=spark): session, tables, DuckDB-to-Spark rendering, the
SQL guard's Spark layer, and the handle that implements warehouse/engine.py over Spark.

pyspark is an optional extra; only `session` and `handle` (and `rows`) import it, when used."""

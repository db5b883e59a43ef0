"""The one Spark session of this process, configured for the assistant.

pyspark is an optional extra (`pip install fintech-marketing-assistant[spark]`, which `make
test` installs); it is imported only here and in the Spark handle. Settings that matter:

- `spark.sql.session.timeZone=UTC`: DuckDB TIMESTAMPs carry no zone; Spark reads them as
  TIMESTAMP_NTZ and must compare them with literals in the same zone;
- Arrow for every transfer to and from pandas; Python workers run the venv's interpreter
  (PYSPARK_PYTHON), or pandas UDFs fail with "No module named 'pyarrow'";
- `spark.sql.runSQLOnFiles=false`: `parquet.\\`/path\\`` reads files by path; the SQL guard
  refuses it too;
- no UI, no console progress bars, log level FATAL (errors reach people as messages) and, for
  a local master, a few shuffle partitions (Spark's default of 200 is for clusters) and no
  adaptive query execution (its re-planning costs more than it saves on one machine);
- never `spark.jars.packages`: it downloads at start-up, which fails offline;
- on a cluster, the task reaper: an executor whose cancelled task is still running two
  minutes later is killed and replaced (the handle's interrupt check stops such tasks first;
  warehouse/spark/handle.py).

A real cluster is chosen with `master` (spark://, yarn, k8s://); its own spark-defaults.conf
(SPARK_CONF_DIR) applies, and `conf` (ASSISTANT_SPARK_CONF) overrides single settings.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from pathlib import Path

from warehouse.errors import ConfigError

_LOCK = threading.Lock()
APP_NAME = "fintech-marketing-assistant"
REAPER_KILL_TIMEOUT = "120s"
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")


def spark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def parse_conf(text: str | None) -> dict[str, str]:
    """`k=v, k=v` (ASSISTANT_SPARK_CONF) as a dict; ConfigError for a malformed entry."""
    conf: dict[str, str] = {}
    for item in (text or "").replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip().startswith("spark."):
            raise ConfigError(f"ASSISTANT_SPARK_CONF entry {item!r} is not spark.key=value")
        conf[key.strip()] = value.strip()
    if "spark.jars.packages" in conf:
        raise ConfigError("spark.jars.packages downloads packages when Spark starts; install "
                          "the jars on the cluster instead")
    return conf


def _local_cores(master: str) -> int | None:
    if not master.startswith("local"):
        return None
    inside = master[master.find("[") + 1: master.find("]")] if "[" in master else "1"
    if inside.strip() == "*":
        return os.cpu_count() or 2
    return int(inside.split(",")[0] or 1)


def get_session(master: str = "local[2]", *, conf: dict[str, str] | None = None,
                in_memory_catalog: bool = True):
    """The process's SparkSession (created on first use, then shared by every handle)."""
    if not spark_available():
        raise ConfigError("ASSISTANT_ENGINE=spark needs pyspark: pip install "
                          "'fintech-marketing-assistant[spark]' (and Java 17)")
    with _LOCK:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        warnings.filterwarnings("ignore", message=".*does not yet fully support pandas",
                                category=FutureWarning)
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        builder = (SparkSession.builder.master(master).appName(APP_NAME)
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
                   .config("spark.sql.runSQLOnFiles", "false"))
        cores = _local_cores(master)
        if cores:
            # one machine: few shuffle partitions, and no adaptive re-planning (measured: a
            # question on the demo data took 1.4-2.7 s with it, 0.3-0.6 s without)
            builder = builder.config("spark.sql.shuffle.partitions", str(max(2, cores)))
            builder = builder.config("spark.sql.adaptive.enabled", "false")
            builder = builder.config("spark.driver.host", "127.0.0.1")
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
        else:
            # a cluster: an executor whose killed task keeps running (a join's loop that never
            # looks at its interrupt flag) is replaced instead of holding its cores (Spark's
            # task reaper does nothing in local mode, where the executor is this process)
            builder = builder.config("spark.task.reaper.enabled", "true")
            builder = builder.config("spark.task.reaper.killTimeout", REAPER_KILL_TIMEOUT)
        if in_memory_catalog:
            builder = builder.config("spark.sql.catalogImplementation", "in-memory")
        conf = dict(conf or {})
        java = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
        conf["spark.driver.extraJavaOptions"] = \
            f"{java} {conf.get('spark.driver.extraJavaOptions', '')}".strip()
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # Java missing, port in use, bad master URL
            raise ConfigError(f"Spark could not start ({str(exc).strip().splitlines()[0]}); "
                              "check Java 17 (`java -version`) and ASSISTANT_SPARK_MASTER"
                              ) from None
        session.sparkContext.setLogLevel("FATAL")
        return session

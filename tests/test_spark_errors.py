"""What a person is told when Spark fails, and what the log keeps: a failure inside the JVM
(py4j's "An error occurred while calling o198.count") is told by its cause in one short,
value-free sentence, and its JVM causes and stack trace go to the log."""

from __future__ import annotations

import logging

import pytest

from warehouse.errors import QueryError


def test_a_failure_inside_the_jvm_is_told_by_its_cause_and_logged(spark_wh, tmp_path, caplog):
    spark_wh.spark.range(10).write.parquet(str(tmp_path / "gone"))
    frame = spark_wh.spark.read.parquet(str(tmp_path / "gone"))
    for part in (tmp_path / "gone").glob("*.parquet"):
        part.unlink()
    with caplog.at_level(logging.ERROR, logger="warehouse.spark.handle"), \
            pytest.raises(QueryError) as failed, spark_wh._job(None):
        frame.count()
    said = str(failed.value)
    assert said.startswith("the query failed on Spark: a data file Spark was reading is gone "
                           "(FileNotFoundException: ")
    assert "error occurred while calling" not in said and "\n" not in said
    assert "java.io.FileNotFoundException" in caplog.text          # the causes, for the log
    assert "\tat org.apache.spark" in caplog.text                  # and the JVM's trace
    assert spark_wh.rows("SELECT count(*) FROM customers")[0][0] > 0   # the session goes on


class _Java:
    """A JVM exception as py4j shows one (class, message, cause)."""

    def __init__(self, cls, message, cause=None):
        self.cls, self.message, self.cause = cls, message, cause

    def getClass(self):
        return self

    def getName(self):
        return self.cls

    def getMessage(self):
        return self.message

    def getCause(self):
        return self.cause


class _Py4JError(Exception):
    def __init__(self, java):
        super().__init__("An error occurred while calling o198.count.\n: " + java.message)
        self.java_exception = java


@pytest.mark.parametrize(("inner", "said"), [
    (_Java("java.lang.OutOfMemoryError", "Java heap space"),
     "Spark ran out of memory (OutOfMemoryError: Java heap space); give it more"),
    (_Java("org.apache.spark.memory.SparkOutOfMemoryError",
           "[UNABLE_TO_ACQUIRE_MEMORY] Unable to acquire 65536 bytes of memory, got 0."),
     "Spark ran out of memory (SparkOutOfMemoryError: [UNABLE_TO_ACQUIRE_MEMORY]"),
    (_Java("java.io.IOException", "No space left on device"), "Spark's local disk is full"),
    (_Java("org.apache.spark.SparkArithmeticException",
           "[CAST_INVALID_INPUT] The value 'sarah roberts' of the type \"STRING\" cannot be "
           "cast to \"INT\"."), "a value in the data could not be processed (cast invalid "
                                "input); the value is not shown"),
    (_Java("java.lang.IllegalStateException", "unexpected 'sarah roberts' in row 3"),
     "Spark failed inside the JVM (IllegalStateException: unexpected [value] in row 3)"),
])
def test_a_jvm_cause_is_said_in_words_without_values(inner, said):
    from warehouse.spark.handle import spark_message

    outer = _Java("org.apache.spark.SparkException",
                  "Job aborted due to stage failure: Task 1 in stage 5.0 failed 1 times", inner)
    message = spark_message(_Py4JError(outer))
    assert message.startswith(said)
    assert "sarah" not in message and "o198" not in message


def test_a_stopped_driver_is_said_as_such():
    from py4j.protocol import Py4JNetworkError

    from warehouse.spark.handle import spark_message

    message = spark_message(Py4JNetworkError("Answer from Java side is empty"))
    assert message.startswith("the Spark driver stopped while the query ran")

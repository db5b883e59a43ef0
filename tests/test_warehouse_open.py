"""Opening a warehouse that is busy or missing gives one clear sentence, never DuckDB's text."""

import subprocess
import sys
import time

import pytest

from warehouse.connection import Warehouse
from warehouse.errors import WarehouseBusy, WarehouseNotFound


def test_a_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(WarehouseNotFound, match="assistant init"):
        Warehouse.open(tmp_path / "none.duckdb")


def test_a_file_open_with_other_settings_in_this_program_is_busy_not_a_crash(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path, must_exist=False).close()
    with Warehouse.open(path, read_only=True), \
            pytest.raises(WarehouseBusy, match="already open in this program"):
        Warehouse.open(path, read_only=False)


def test_a_file_held_by_another_process_names_that_process(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path, must_exist=False).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        told = rf"open in another program \(process {holder.pid}\)"
        with pytest.raises(WarehouseBusy, match=told):
            Warehouse.open(path, read_only=True)
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    Warehouse.open(path, read_only=True).close()        # free again once it has gone

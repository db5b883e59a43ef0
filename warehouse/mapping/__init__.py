"""Mapping files: repeatable imports of a source system's exports (see the README section
"Mapping files" and the examples in warehouse/mapping/examples/).

`import_mapping(wh, "bank.toml")` reads the mapping (warehouse.mapping.spec), reads and types its
sources (sources.py), builds one SELECT per load in a sandbox (build.py) and hands the rows to
the importer (warehouse.importer.load_prepared): the same checks as a plain file import, in ONE
transaction with the tables of the user's own the mapping makes.
"""

from __future__ import annotations

from pathlib import Path

from warehouse.connection import Warehouse
from warehouse.importer import AfterImport, ImportReport, load_prepared
from warehouse.mapping.spec import Mapping, load_mapping

__all__ = ["Mapping", "import_mapping", "load_mapping"]


def import_mapping(wh: Warehouse, path: str | Path, *, mode: str = "append",
                   max_rejects: int = 0, remove_demo: bool = False,
                   after: AfterImport | None = None) -> ImportReport:
    """Import everything a mapping file describes, all or nothing (see warehouse.importer)."""
    from warehouse.mapping.build import prepare, prepare_own
    from warehouse.mapping.sources import Workspace
    from warehouse.user_tables import create_from_rows

    mapping = load_mapping(path)
    with Workspace() as ws:
        loads = [prepare(ws, mapping, ld, wh) for ld in mapping.loads if not ld.own_table]
        owns = [prepare_own(ws, mapping, ld, max_rejects) for ld in mapping.loads
                if ld.own_table]

        def before(cur, report: ImportReport) -> None:
            for own in owns:
                files = ws.sources[own.load.source].file_label
                made = create_from_rows(cur, own.load.into, own.rows(), mode=mode,
                                        source=f"{files} (mapping {mapping.path.name})",
                                        description=own.description,
                                        personal=tuple(own.personal))
                report.own_tables.append(made)
                for reason, n in own.skipped.items():
                    report.notes.append(f"{made.table}: {n:,} rows skipped: {reason}")

        return load_prepared(wh, loads, mode=mode, max_rejects=max_rejects,
                             remove_demo=remove_demo, after=after,
                             before=before if owns else None)

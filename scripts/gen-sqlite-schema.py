#!/usr/bin/env python3
"""Dump the SQLite schema real MLflow creates at one alembic revision, for mltrack to embed.

    VENV/bin/python scripts/gen-sqlite-schema.py [--revision REV] [--out DIR] [--no-check]

Run it with the Python of a venv that holds MLflow (scripts/mlflow-venv.sh VERSION DIR makes one).
It does what MLflow does for an empty database (mlflow/store/db/utils.py::_initialize_tables):
create the 2019 "initial" tables, then run MLflow's own alembic migrations, except that it stops
at REV instead of the head. It then writes every CREATE statement from sqlite_master (tables first,
in creation order, then indexes, triggers and views), the alembic_version row and every row the
migrations inserted, to DIR/mlflow-<mlflow version>-<REV>.sql. Experiment 0 is not part of the
dump: MLflow's store inserts it at start-up, and mltrack inserts it the same way.

Why a revision older than the head: see mlflowclient/schema/README.md. In short, every MLflow
since 3.7 sees a table missing from a database stamped with the default revision, and then
migrates it from that revision to its own head on first open, with no manual step.

Before writing, the dump is replayed into a fresh database and its sqlite_master compared with
the original; unless --no-check, the replayed copy (plus experiment 0) is then opened with this
MLflow's SqlAlchemyStore, which must migrate it to its head and accept it.
"""

import argparse
import os
import sqlite3
import sys
import tempfile

DEFAULT_REVISION = "3da73c924c2f"


def build(db_path, revision):
    import sqlalchemy
    from alembic import command

    from mlflow.store.db.utils import _get_alembic_config
    from mlflow.store.tracking.dbmodels.initial_models import Base as InitialBase

    uri = "sqlite:///" + db_path
    engine = sqlalchemy.create_engine(uri)
    InitialBase.metadata.create_all(engine)
    config = _get_alembic_config(uri)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def quote(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"


def schema_objects(con):
    """sqlite_master entries that can be replayed, in an order that replays: tables in creation
    order first (rowid order is creation order; a rename keeps the row), then the rest."""
    rows = con.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ).fetchall()
    rank = {"table": 0, "index": 1, "view": 2, "trigger": 3}
    # Tables keep their creation order (stable sort); the rest is sorted by name so that two runs
    # of this script write the same file.
    return sorted(rows, key=lambda r: (rank.get(r[0], 4), "" if r[0] == "table" else r[1]))


def dump(db_path):
    con = sqlite3.connect(db_path)
    try:
        objects = schema_objects(con)
        statements = [sql for (_, _, _, sql) in objects]
        for kind, name, _, _ in objects:
            if kind != "table":
                continue
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
            order = ", ".join(f'"{c}"' for c in cols)
            for row in con.execute(f'SELECT * FROM "{name}" ORDER BY {order}'):
                if name == "experiments":
                    raise SystemExit("unexpected experiment row in a freshly migrated database")
                values = ", ".join(quote(v) for v in row)
                collist = ", ".join(f'"{c}"' for c in cols)
                statements.append(f'INSERT INTO "{name}" ({collist}) VALUES ({values})')
        return statements, objects
    finally:
        con.close()


def replay_and_compare(statements, objects, workdir):
    path = os.path.join(workdir, "replayed.db")
    con = sqlite3.connect(path)
    try:
        con.executescript("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;")
        again = schema_objects(con)
        if again != objects:
            raise SystemExit("replaying the dump does not reproduce the schema")
        if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise SystemExit("replayed database fails PRAGMA integrity_check")
    finally:
        con.close()
    return path


def check_mlflow_opens(path):
    """Insert experiment 0 as mltrack does, then let this MLflow open the database."""
    import time

    import mlflow
    from mlflow.store.db.utils import _get_latest_schema_revision
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    con = sqlite3.connect(path)
    now = int(time.time() * 1000)
    with con:
        con.execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,"
            " creation_time, last_update_time) VALUES (0, 'Default', ?, 'active', ?, ?)",
            (os.path.join(os.path.dirname(path), "mlruns", "0"), now, now),
        )
    con.close()
    store = SqlAlchemyStore("sqlite:///" + path, os.path.join(os.path.dirname(path), "mlruns"))
    exp = store.get_experiment("0")
    with sqlite3.connect(path) as con:
        rev = con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    head = _get_latest_schema_revision()
    if rev != head or exp.name != "Default":
        raise SystemExit(f"MLflow {mlflow.__version__} did not migrate the database to {head}")
    print(f"check: MLflow {mlflow.__version__} opened the database and migrated it to {head}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", default=DEFAULT_REVISION)
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mlflowclient", "schema"),
    )
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()

    import alembic
    import sqlalchemy

    import mlflow
    from mlflow.store.db.utils import _get_alembic_config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_get_alembic_config(""))
    rev = script.get_revision(args.revision)
    if rev is None:
        raise SystemExit(f"MLflow {mlflow.__version__} does not know revision {args.revision}")

    with tempfile.TemporaryDirectory() as workdir:
        db_path = os.path.join(workdir, "mlflow.db")
        build(db_path, args.revision)
        statements, objects = dump(db_path)
        if not any(s.startswith('INSERT INTO "alembic_version"') for s in statements):
            raise SystemExit("the migrated database has no alembic_version row")
        replayed = replay_and_compare(statements, objects, workdir)
        if not args.no_check:
            check_mlflow_opens(replayed)

    os.makedirs(args.out, exist_ok=True)
    out = os.path.normpath(os.path.join(args.out, f"mlflow-{mlflow.__version__}-{args.revision}.sql"))
    header = [
        f"-- revision: {args.revision}",
        f"-- MLflow's SQLite tracking schema at alembic revision {args.revision}"
        f" ({os.path.basename(rev.path)}).",
        f"-- Generated by scripts/gen-sqlite-schema.py with MLflow {mlflow.__version__},"
        f" SQLAlchemy {sqlalchemy.__version__}, alembic {alembic.__version__},"
        f" SQLite {sqlite3.sqlite_version}.",
        "-- Data, not code: do not edit by hand; regenerate (see mlflowclient/schema/README.md).",
        "-- Statements end with a line holding only ';'.",
    ]
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(header) + "\n")
        for s in statements:
            f.write(s.rstrip() + "\n;\n")
    print(f"wrote {out}: {len(objects)} schema objects, {len(statements) - len(objects)} rows")


if __name__ == "__main__":
    sys.exit(main())

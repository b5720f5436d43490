"""Every report query gives the same rows on the real server (ClickHouse 18.16 here) and on a
current engine (PyPI's chdb-core, 26.x): the SQL comes from `fleet-query report --sql`, runs on
both over the same fixture, and the TabSeparated results are compared (floats to 1e-9).
"""

import os
import shutil
import subprocess
import tempfile

import pytest

import fleet_env

os.environ["TZ"] = "UTC"
chdb_session = pytest.importorskip("chdb.session")

REPORTS = ["meter-reads", "supplies", "inventory", "utilization", "alerts"]


@pytest.fixture(scope="module")
def loaded():
    database = fleet_env.fresh_database("parity")
    path = tempfile.mkdtemp(prefix="fleet-chdb-")
    session = chdb_session.Session(path)
    ddl = subprocess.run([fleet_env.binary("fleet-ingest"), "ddl", "--server-version", "26.9",
                          "--database", database], check=True, capture_output=True,
                         text=True).stdout
    session.query(f"CREATE DATABASE IF NOT EXISTS {database}")
    for statement in [s.strip() for s in ddl.split(";\n") if s.strip()]:
        session.query(statement)
    for statement in fleet_env.fixture_statements(database):
        session.query(statement)
    yield database, session
    fleet_env.clickhouse(f"DROP DATABASE IF EXISTS {database}")
    shutil.rmtree(path, ignore_errors=True)


def same(a, b):
    if a == b:
        return True
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    except ValueError:
        return False


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("period", [("2026-10", None), ("2026-09-15", "2026-11-15")])
def test_report_sql_agrees_on_both_engines(loaded, report, period):
    database, session = loaded
    args = ["report", report, "--tenant", "fixture-dealer", "--from", period[0], "--sql"]
    if period[1]:
        args += ["--to", period[1]]
    sql = fleet_env.query_cli(database, *args).stdout.decode()
    server = fleet_env.clickhouse(sql + " FORMAT TabSeparated", database).splitlines()
    session.query(f"USE {database}")
    current = str(session.query(sql, "TabSeparated")).splitlines()
    assert server, f"{report}: the fixture gives rows"
    assert len(server) == len(current), (report, server, current)
    for left, right in zip(server, current):
        l, r = left.split("\t"), right.split("\t")
        assert len(l) == len(r) and all(same(x, y) for x, y in zip(l, r)), (report, left, right)

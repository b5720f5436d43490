"""Every DDL statement the store emits for a current ClickHouse runs on the engine of PyPI's
chdb-core (ClickHouse 26.x, in-process), and the 18.x profile that development uses does too.

The DDL comes from `fleet-ingest ddl --server-version V`, so the test checks what the binary
really emits. FLEET_INGEST_BIN names the binary (deploy/dev.sh test sets it).
"""

import os
import shutil
import subprocess
import tempfile

import pytest

chdb_session = pytest.importorskip("chdb.session")


def ingest_binary():
    path = os.environ.get("FLEET_INGEST_BIN") or shutil.which("fleet-ingest")
    if not path or not os.path.exists(path):
        pytest.fail("set FLEET_INGEST_BIN to the fleet-ingest binary (deploy/dev.sh test does)")
    return path


def ddl(server_version, database):
    out = subprocess.run(
        [ingest_binary(), "ddl", "--server-version", server_version, "--database", database],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [s.strip() for s in out.split(";\n") if s.strip()]


@pytest.fixture
def session():
    path = tempfile.mkdtemp(prefix="fleet-chdb-")
    s = chdb_session.Session(path)
    yield s
    s.close() if hasattr(s, "close") else None
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("server_version", ["26.9", "24.8", "18.16"])
def test_every_ddl_statement_runs_on_a_current_engine(session, server_version):
    statements = ddl(server_version, "fleet_compat")
    assert any("CREATE TABLE" in s for s in statements)
    assert any("MATERIALIZED VIEW" in s for s in statements)
    session.query("CREATE DATABASE IF NOT EXISTS fleet_compat")
    for statement in statements:
        session.query(statement)
    # Idempotent: the same statements run again change nothing.
    for statement in statements:
        session.query(statement)

    tables = str(session.query(
        "SELECT name FROM system.tables WHERE database = 'fleet_compat' ORDER BY name", "CSV"))
    for name in ["alerts", "api_tokens", "batches", "collectors", "counters",
                 "counters_daily", "counters_daily_mv", "devices", "schema_migrations",
                 "sessions", "statuses", "supplies", "tenant_settings", "tenants", "tokens",
                 "users"]:
        assert f'"{name}"' in tables, name


def test_current_servers_get_codecs_ttl_and_low_cardinality(session):
    statements = ddl("26.9", "fleet_modern")
    session.query("CREATE DATABASE IF NOT EXISTS fleet_modern")
    for statement in statements:
        session.query(statement)
    columns = str(session.query(
        "SELECT name, type, compression_codec FROM system.columns "
        "WHERE database = 'fleet_modern' AND table = 'counters' ORDER BY position", "CSV"))
    assert '"kind","LowCardinality(String)"' in columns
    assert "DoubleDelta" in columns
    create = str(session.query("SHOW CREATE TABLE fleet_modern.counters", "TSVRaw"))
    assert "TTL" in create


def test_daily_rollup_keeps_first_and_last_reading_and_ignores_duplicates(session):
    statements = ddl("26.9", "fleet_rollup")
    session.query("CREATE DATABASE IF NOT EXISTS fleet_rollup")
    for statement in statements:
        session.query(statement)
    rows = ", ".join([
        "(1, 7, 'total', toDateTime('2026-12-01 08:00:00', 'UTC'), 100, 1, now())",
        "(1, 7, 'total', toDateTime('2026-12-01 20:00:00', 'UTC'), 180, 1, now())",
        "(1, 7, 'total', toDateTime('2026-12-01 20:00:00', 'UTC'), 180, 1, now())",
        "(1, 7, 'total', toDateTime('2026-12-02 09:00:00', 'UTC'), 250, 1, now())",
    ])
    session.query(
        "INSERT INTO fleet_rollup.counters "
        "(tenant_id, device_id, kind, observed_at, value, collector_id, received_at) "
        f"VALUES {rows}")
    result = str(session.query(
        "SELECT day, argMinMerge(first_value), argMaxMerge(last_value), maxMerge(max_value) "
        "FROM fleet_rollup.counters_daily GROUP BY day ORDER BY day", "CSV"))
    assert result.splitlines() == ['"2026-12-01",100,180,180', '"2026-12-02",250,250,250']

"""Shared set-up for the Python tests of the query service: the binaries, a fresh database on
the test ClickHouse server loaded with the report fixture, and a running `fleet-query serve`.

deploy/dev.sh test sets FLEET_INGEST_BIN, FLEET_QUERY_BIN and FLEET_TEST_CLICKHOUSE_URL.
"""

import os
import random
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "reports", "tests", "fixture.sql")
CLICKHOUSE = os.environ.get("FLEET_TEST_CLICKHOUSE_URL", "http://127.0.0.1:18123")
PASSWORD = "a long password"


def binary(name):
    path = os.environ.get(f"FLEET_{name.split('-')[1].upper()}_BIN") or shutil.which(name)
    if not path or not os.path.exists(path):
        pytest.fail(f"set FLEET_{name.split('-')[1].upper()}_BIN to the {name} binary "
                    "(deploy/dev.sh test does)")
    return path


def clickhouse(sql, database=None):
    url = CLICKHOUSE + "/" + (f"?database={database}" if database else "")
    with urllib.request.urlopen(urllib.request.Request(url, data=sql.encode())) as r:
        return r.read().decode()


def fixture_statements(database):
    text = open(FIXTURE).read().replace("{db}", database)
    for statement in text.split("\n;\n"):
        lines = [l for l in statement.splitlines() if not l.strip().startswith("--")]
        if "\n".join(lines).strip():
            yield "\n".join(lines)


def env(database):
    return dict(os.environ, FLEET_CLICKHOUSE_URL=CLICKHOUSE, FLEET_DATABASE=database,
                FLEET_LOG="warn")


def fresh_database(label):
    """A migrated database with the fixture loaded; returns its name."""
    database = f"py_{label}_{os.getpid()}_{random.randrange(1 << 30)}"
    subprocess.run([binary("fleet-ingest"), "migrate"], env=env(database), check=True,
                   capture_output=True)
    for statement in fixture_statements(database):
        clickhouse(statement)
    return database


def query_cli(database, *args, stdin=None):
    return subprocess.run([binary("fleet-query"), *args], env=env(database), check=True,
                          capture_output=True, input=stdin)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`fleet-query serve` on a fresh database, with an admin and a dealer and their tokens."""

    def __init__(self, label):
        self.database = fresh_database(label)
        for email, role, tenant in [("admin@example.com", "admin", None),
                                    ("dealer@example.com", "dealer", "fixture-dealer")]:
            args = ["user", "create", "--email", email, "--role", role, "--password-stdin"]
            if tenant:
                args += ["--tenant", tenant]
            query_cli(self.database, *args, stdin=PASSWORD.encode())
        self.tokens = {
            who: query_cli(self.database, "token", "create", "--user",
                           f"{who}@example.com").stdout.decode().strip()
            for who in ["admin", "dealer"]
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [binary("fleet-query"), "serve", "--listen", f"127.0.0.1:{self.port}"],
            env=env(self.database), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode())
                time.sleep(0.1)
        raise RuntimeError("fleet-query did not become ready")

    def get(self, path, who="dealer"):
        request = urllib.request.Request(self.base + path,
                                         headers={"Authorization": f"Bearer {self.tokens[who]}"})
        with urllib.request.urlopen(request) as r:
            return r.headers, r.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        clickhouse(f"DROP DATABASE IF EXISTS {self.database}")

"""The query service through real clients: Schemathesis against the served OpenAPI document
(authenticated; no 5xx, every response as documented), XLSX read back with openpyxl, PDF text
with pdftotext and pages rendered with pdftoppm, CSV with Python's csv module.
"""

import csv
import io
import os
import shutil
import subprocess
import tempfile

import pytest

import fleet_env

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def service():
    s = fleet_env.Service("api")
    yield s
    s.stop()


@pytest.mark.parametrize("who", ["admin", "dealer"])
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(who, tmp_path):
    # A service of its own: the run creates, disables and revokes what it finds.
    service = fleet_env.Service(f"st_{who}")
    try:
        st = os.path.join(os.path.dirname(os.environ.get("FLEET_PYTHON", "python3")),
                          "schemathesis")
        if not os.path.exists(st):
            st = shutil.which("schemathesis") or pytest.fail("schemathesis is not installed")
        run = subprocess.run(
            [st, "run", f"{service.base}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {service.tokens[who]}",
             "--checks", "not_a_server_error,status_code_conformance,"
                         "content_type_conformance,response_schema_conformance",
             "--max-examples", "15", "--seed", "1", "--workers", "2",
             # Logging out and revoking API tokens would end the run's own credentials;
             # query/tests/sessions.rs covers both.
             "--exclude-path-regex", r"^/api/v1/(session|api-tokens/\{prefix\})$",
             "--report-dir", str(tmp_path), "--no-color"],
            capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, f"{who}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
        assert "passed" in run.stdout and " 0 generated" not in run.stdout, run.stdout[-3000:]
    finally:
        service.stop()


def test_xlsx_has_typed_cells_a_frozen_header_and_filters(service):
    headers, body = service.get("/api/v1/reports/meter-reads?from=2026-10&format=xlsx")
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:")
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Row", "Customer", "Device id"]
    usage = header.index("Usage") + 1
    opened = header.index("Opening read at") + 1
    rows = list(sheet.iter_rows(min_row=2, values_only=False))
    device1 = next(r for r in rows if r[2].value == "1" and r[8].value == "total")
    assert device1[usage - 1].value == 1000 and device1[usage - 1].number_format == "#,##0"
    assert device1[opened - 1].is_date
    assert device1[opened - 1].value.isoformat() == "2026-10-01T00:00:00"


def test_pdf_has_title_period_table_and_page_numbers(service):
    _, body = service.get("/api/v1/reports/meter-reads?from=2026-10&format=pdf")
    assert body.startswith(b"%PDF-")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.pdf")
        open(path, "wb").write(body)
        text = subprocess.run(["pdftotext", "-layout", path, "-"], check=True,
                              capture_output=True, text=True).stdout
        for expected in ["Meter reads", "fixture-dealer", "2026-10-01 to 2026-11-01",
                         "Europe/Berlin", "SER1", "nearest_before", "Page 1 of 1"]:
            assert expected in text, (expected, text)
        subprocess.run(["pdftoppm", "-png", "-r", "50", path, os.path.join(d, "page")],
                       check=True)
        pages = [f for f in os.listdir(d) if f.startswith("page")]
        assert len(pages) == 1
        assert os.path.getsize(os.path.join(d, pages[0])) > 2000


def test_csv_for_german_excel_and_the_command_line_give_the_same_file(service):
    path = "/api/v1/reports/meter-reads?from=2026-10&format=csv&csv_delimiter=%3B&bom=true"
    headers, body = service.get(path)
    assert headers["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["row", "customer", "device_id"]
    assert all(r[-1] == "" or r[-1].isdigit() for r in rows[1:])
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.csv")
        fleet_env.query_cli(service.database, "report", "meter-reads", "--tenant",
                            "fixture-dealer", "--from", "2026-10", "--format", "csv",
                            "--csv-delimiter", ";", "--bom", "--output", out)
        assert open(out, "rb").read() == body


def test_charts_are_svg_and_png(service):
    headers, body = service.get("/api/v1/devices/1/chart?from=2026-09-20&to=2026-11-05")
    assert headers["Content-Type"] == "image/svg+xml" and body.startswith(b"<svg")
    headers, body = service.get(
        "/api/v1/devices/1/chart?series=supplies&format=png&from=2026-09-01&to=2026-11-05")
    assert headers["Content-Type"] == "image/png" and body[1:4] == b"PNG"

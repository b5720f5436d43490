//! PDF: title, tenant, period, a summary chart, the table (up to [`PDF_ROW_LIMIT`] rows) and
//! page numbers, on A4 landscape pages. Text uses the Roboto font that charts-rs embeds.

use std::collections::BTreeMap;

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Size};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::table::{Column, Value};
use crate::{Report, ReportError, ReportName, chart};

/// Rows a PDF shows; beyond this it says how many were left out and points to CSV.
pub const PDF_ROW_LIMIT: usize = 2_000;

const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
const MARGIN: f32 = 36.0;
const ROW_HEIGHT: f32 = 11.0;
const FONT_SIZE: f32 = 7.0;

/// The columns a PDF prints per report (all others stay in CSV and XLSX).
fn printed(name: ReportName) -> &'static [&'static str] {
    match name {
        ReportName::MeterReads => &[
            "row",
            "customer",
            "serial",
            "model",
            "kind",
            "open_at",
            "open_value",
            "open_method",
            "close_at",
            "close_value",
            "close_method",
            "usage",
            "resets",
        ],
        ReportName::Supplies => &[
            "customer",
            "serial",
            "model",
            "kind",
            "color",
            "percent",
            "state",
            "per_day",
            "replacements",
            "empty_p10",
            "empty_p50",
            "empty_p90",
        ],
        ReportName::Inventory => &[
            "customer",
            "vendor",
            "model",
            "serial",
            "ip",
            "firmware",
            "location",
            "first_seen",
            "last_seen",
        ],
        ReportName::Utilization => &[
            "customer",
            "serial",
            "model",
            "location",
            "pages",
            "monthly_pages",
            "fleet_monthly_pages",
            "ratio_to_fleet",
            "flag",
        ],
        ReportName::Alerts => &[
            "customer",
            "serial",
            "model",
            "code",
            "severity",
            "group",
            "description",
            "episodes",
            "hours",
        ],
    }
}

/// The summary chart: one bar per label, summed over every row (not only the printed ones).
struct Summary {
    title: &'static str,
    sums: BTreeMap<String, f64>,
}

impl Summary {
    fn new(name: ReportName) -> Summary {
        let title = match name {
            ReportName::MeterReads => "Usage by counter kind",
            ReportName::Supplies => "Supplies by level",
            ReportName::Inventory => "Devices by vendor",
            ReportName::Utilization => "Devices by use",
            ReportName::Alerts => "Alert episodes by severity",
        };
        Summary {
            title,
            sums: BTreeMap::new(),
        }
    }

    fn add(&mut self, name: ReportName, columns: &[Column], row: &[Value]) {
        let get = |n: &str| columns.iter().position(|c| c.name == n).map(|i| &row[i]);
        let (label, amount) = match name {
            ReportName::MeterReads => {
                if get("row").map(Value::as_text) != Some("device") {
                    return;
                }
                let usage = get("usage").and_then(Value::as_int).unwrap_or(0) as f64;
                (get("kind").map(Value::display).unwrap_or_default(), usage)
            }
            ReportName::Supplies => {
                let band = match get("percent").and_then(Value::as_int) {
                    Some(p) if p < 10 => "under 10 %",
                    Some(p) if p < 25 => "10–25 %",
                    Some(p) if p < 50 => "25–50 %",
                    Some(_) => "50 % and more",
                    None => "no level",
                };
                (band.to_owned(), 1.0)
            }
            ReportName::Inventory => (get("vendor").map(Value::display).unwrap_or_default(), 1.0),
            ReportName::Utilization => (get("flag").map(Value::display).unwrap_or_default(), 1.0),
            ReportName::Alerts => (
                get("severity").map(Value::display).unwrap_or_default(),
                get("episodes").and_then(Value::as_int).unwrap_or(0) as f64,
            ),
        };
        *self.sums.entry(label).or_default() += amount;
    }

    fn png(self) -> Result<Option<Vec<u8>>, ReportError> {
        if self.sums.is_empty() {
            return Ok(None);
        }
        let (labels, values): (Vec<String>, Vec<f64>) = self.sums.into_iter().unzip();
        let svg = chart::bars(self.title, labels, values)?;
        chart::to_png(&svg).map(Some)
    }
}

pub(super) async fn write<W: AsyncWrite + Unpin>(
    mut report: Report,
    out: &mut W,
) -> Result<u64, ReportError> {
    let name = report.meta.name;
    let columns = report.columns.clone();
    let wanted: Vec<usize> = printed(name)
        .iter()
        .filter_map(|n| columns.iter().position(|c| c.name == *n))
        .collect();
    let mut summary = Summary::new(name);
    let mut kept: Vec<Vec<String>> = Vec::new();
    let mut total = 0u64;
    while let Some(row) = report.next_row().await? {
        summary.add(name, &columns, &row);
        total += 1;
        if kept.len() < PDF_ROW_LIMIT {
            kept.push(wanted.iter().map(|&i| row[i].display()).collect());
        }
    }
    let heads: Vec<&str> = wanted.iter().map(|&i| columns[i].title).collect();
    let lines = [
        report.meta.title(),
        format!("Period: {}", report.meta.period.describe()),
        format!(
            "Generated {}",
            jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
        ),
    ];
    let chart = summary.png()?;
    let bytes = super::blocking(|| layout(&lines, &heads, &kept, total, chart))?;
    out.write_all(&bytes).await.map_err(ReportError::write)?;
    Ok(total)
}

fn font() -> Result<Font, ReportError> {
    Font::new(charts_rs::DEFAULT_FONT_DATA.to_vec().into(), 0)
        .ok_or_else(|| ReportError::Write("pdf: the embedded font does not load".into()))
}

fn text(surface: &mut Surface<'_>, font: &Font, x: f32, y: f32, size: f32, s: &str) {
    surface.draw_text(
        Point::from_xy(x, y),
        font.clone(),
        size,
        s,
        false,
        TextDirection::Auto,
    );
}

/// Shortens text to about `width` points at the table's font size.
fn fit(s: &str, width: f32) -> String {
    let max = ((width - 3.0) / (FONT_SIZE * 0.5)).max(1.0) as usize;
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn layout(
    lines: &[String],
    heads: &[&str],
    rows: &[Vec<String>],
    total: u64,
    chart: Option<Vec<u8>>,
) -> Result<Vec<u8>, ReportError> {
    let font = font()?;
    let usable = WIDTH - 2.0 * MARGIN;
    let col_width = usable / heads.len().max(1) as f32;
    let rows_per_page = ((HEIGHT - 2.0 * MARGIN - 30.0) / ROW_HEIGHT) as usize;
    // The first page carries the heading and the chart; the table starts below them.
    let first_page_rows = rows_per_page.saturating_sub(if chart.is_some() { 28 } else { 6 });
    let mut pages: Vec<&[Vec<String>]> = Vec::new();
    let (first, mut rest) = rows.split_at(first_page_rows.min(rows.len()));
    pages.push(first);
    while !rest.is_empty() {
        let (page, more) = rest.split_at(rows_per_page.min(rest.len()));
        pages.push(page);
        rest = more;
    }
    let page_count = pages.len();
    let mut document = Document::new();
    for (n, page_rows) in pages.into_iter().enumerate() {
        let settings = PageSettings::from_wh(WIDTH, HEIGHT)
            .ok_or_else(|| ReportError::Write("pdf: bad page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let mut y = MARGIN + 10.0;
        if n == 0 {
            text(&mut surface, &font, MARGIN, y + 6.0, 16.0, &lines[0]);
            y += 24.0;
            for line in &lines[1..] {
                text(&mut surface, &font, MARGIN, y, 9.0, line);
                y += 12.0;
            }
            if let Some(png) = &chart {
                let image = Image::from_png(png.clone().into(), true)
                    .map_err(|e| ReportError::Write(format!("pdf chart: {e}")))?;
                let size = Size::from_wh(456.0, 180.0)
                    .ok_or_else(|| ReportError::Write("pdf: bad chart size".into()))?;
                surface.push_transform(&krilla::geom::Transform::from_translate(MARGIN, y));
                surface.draw_image(image, size);
                surface.pop();
                y += 186.0;
            }
            if total > rows.len() as u64 {
                let note = format!(
                    "This PDF shows the first {} of {total} rows; the CSV and XLSX formats hold \
                     them all.",
                    rows.len()
                );
                text(&mut surface, &font, MARGIN, y, 8.0, &note);
                y += 12.0;
            }
        }
        y += 4.0;
        for (i, head) in heads.iter().enumerate() {
            let x = MARGIN + i as f32 * col_width;
            text(&mut surface, &font, x, y, FONT_SIZE, &fit(head, col_width));
        }
        rule(&mut surface, y + 3.0);
        y += ROW_HEIGHT;
        for row in page_rows {
            for (i, cell) in row.iter().enumerate() {
                let x = MARGIN + i as f32 * col_width;
                text(&mut surface, &font, x, y, FONT_SIZE, &fit(cell, col_width));
            }
            y += ROW_HEIGHT;
        }
        if n == 0 && rows.is_empty() {
            text(
                &mut surface,
                &font,
                MARGIN,
                y,
                9.0,
                "No rows in this period.",
            );
        }
        let footer = format!("Page {} of {page_count}", n + 1);
        text(
            &mut surface,
            &font,
            WIDTH - MARGIN - 60.0,
            HEIGHT - MARGIN / 2.0,
            8.0,
            &footer,
        );
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Write(format!("pdf: {e:?}")))
}

fn rule(surface: &mut Surface<'_>, y: f32) {
    let mut path = PathBuilder::new();
    path.move_to(MARGIN, y);
    path.line_to(WIDTH - MARGIN, y);
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            opacity: NormalizedF32::ONE,
            width: 0.5,
            ..Default::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
        surface.set_fill(Some(Fill::default()));
    }
}

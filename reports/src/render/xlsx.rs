//! XLSX: typed cells, a frozen bold header, filters and number formats. The worksheet is
//! written in constant-memory mode (rows go to a temporary file as they come).

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::table::{Kind, Value};
use crate::{Report, ReportError};

/// Rows a worksheet holds, the header included.
const MAX_ROWS: u32 = 1_048_576;

fn xlsx(e: XlsxError) -> ReportError {
    ReportError::Write(format!("xlsx: {e}"))
}

pub(super) async fn write<W: AsyncWrite + Unpin>(
    mut report: Report,
    out: &mut W,
) -> Result<u64, ReportError> {
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold();
    let int = Format::new().set_num_format("#,##0");
    let float = Format::new().set_num_format("#,##0.00");
    let time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let columns = report.columns.clone();
    let sheet = workbook
        .add_worksheet_with_constant_memory()
        .map_err(xlsx)?;
    let mut name: String = report.meta.name.title().chars().take(31).collect();
    name.retain(|c| !"[]:*?/\\".contains(c));
    sheet.set_name(name).map_err(xlsx)?;
    for (i, c) in columns.iter().enumerate() {
        let width = match c.kind {
            Kind::Time => 19.0,
            Kind::Date => 11.0,
            Kind::Int | Kind::Float => 12.0,
            Kind::Text => (c.title.len() as f64 + 2.0).clamp(10.0, 28.0),
        };
        sheet.set_column_width(i as u16, width).map_err(xlsx)?;
        sheet
            .write_string_with_format(0, i as u16, c.title, &header)
            .map_err(xlsx)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
    let mut r: u32 = 0;
    while let Some(row) = report.next_row().await? {
        r += 1;
        if r >= MAX_ROWS {
            return Err(ReportError::TooLarge(format!(
                "the report has more than {} rows, more than a worksheet holds; use CSV",
                MAX_ROWS - 1
            )));
        }
        for (i, v) in row.iter().enumerate() {
            let c = i as u16;
            match v {
                Value::Null => continue,
                Value::Text(s) => sheet.write_string(r, c, s),
                Value::Int(n) => sheet.write_number_with_format(r, c, *n as f64, &int),
                Value::Float(f) => sheet.write_number_with_format(r, c, *f, &float),
                Value::Time(_, s) => match ExcelDateTime::parse_from_str(s) {
                    Ok(t) => sheet.write_datetime_with_format(r, c, t, &time),
                    Err(_) => sheet.write_string(r, c, s),
                },
                Value::Date(s) => match ExcelDateTime::parse_from_str(s) {
                    Ok(t) => sheet.write_datetime_with_format(r, c, t, &date),
                    Err(_) => sheet.write_string(r, c, s),
                },
            }
            .map_err(xlsx)?;
        }
    }
    let last_col = columns.len().saturating_sub(1) as u16;
    sheet.autofilter(0, 0, r, last_col).map_err(xlsx)?;
    let bytes = super::blocking(|| workbook.save_to_buffer()).map_err(xlsx)?;
    out.write_all(&bytes).await.map_err(ReportError::write)?;
    Ok(u64::from(r))
}

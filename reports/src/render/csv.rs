//! CSV (RFC 4180: CRLF line ends, quotes where needed), with an optional BOM and delimiter.

use tokio::io::AsyncWrite;

use super::{CsvOptions, drain};
use crate::{Report, ReportError};

pub(super) async fn write<W: AsyncWrite + Unpin>(
    mut report: Report,
    options: CsvOptions,
    out: &mut W,
) -> Result<u64, ReportError> {
    let mut builder = csv::WriterBuilder::new();
    builder
        .delimiter(options.delimiter)
        .terminator(csv::Terminator::CRLF);
    let mut first = Vec::with_capacity(super::CHUNK * 2);
    if options.bom {
        first.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut writer = builder.from_writer(first);
    writer
        .write_record(report.columns.iter().map(|c| c.name))
        .map_err(ReportError::write)?;
    let mut rows = 0u64;
    let mut field = String::with_capacity(64);
    while let Some(row) = report.next_row().await? {
        for v in &row {
            field.clear();
            v.write_to(&mut field);
            writer.write_field(&field).map_err(ReportError::write)?;
        }
        writer
            .write_record(None::<&[u8]>)
            .map_err(ReportError::write)?;
        rows += 1;
        if writer.get_ref().len() >= super::CHUNK {
            let mut buf = writer.into_inner().map_err(ReportError::write)?;
            drain(&mut buf, out, true).await?;
            writer = builder.from_writer(buf);
        }
    }
    let mut buf = writer.into_inner().map_err(ReportError::write)?;
    drain(&mut buf, out, true).await?;
    Ok(rows)
}

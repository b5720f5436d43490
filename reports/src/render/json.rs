//! JSON: an array of row objects, keyed by column name, written as it streams.

use tokio::io::AsyncWrite;

use super::drain;
use crate::{Report, ReportError};

pub(super) async fn write<W: AsyncWrite + Unpin>(
    mut report: Report,
    out: &mut W,
) -> Result<u64, ReportError> {
    let mut buf = Vec::with_capacity(super::CHUNK * 2);
    buf.push(b'[');
    let mut rows = 0u64;
    while let Some(row) = report.next_row().await? {
        if rows > 0 {
            buf.push(b',');
        }
        buf.push(b'\n');
        let object: serde_json::Map<String, serde_json::Value> = report
            .columns
            .iter()
            .zip(&row)
            .map(|(c, v)| (c.name.to_owned(), v.to_json()))
            .collect();
        serde_json::to_writer(&mut buf, &object).map_err(ReportError::write)?;
        rows += 1;
        drain(&mut buf, out, false).await?;
    }
    buf.extend_from_slice(b"\n]\n");
    drain(&mut buf, out, true).await?;
    Ok(rows)
}

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
        // Keys in column order (a JSON map would sort them).
        buf.push(b'{');
        for (i, (c, v)) in report.columns.iter().zip(&row).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            serde_json::to_writer(&mut buf, c.name).map_err(ReportError::write)?;
            buf.push(b':');
            serde_json::to_writer(&mut buf, &v.to_json()).map_err(ReportError::write)?;
        }
        buf.push(b'}');
        rows += 1;
        drain(&mut buf, out, false).await?;
    }
    buf.extend_from_slice(b"\n]\n");
    drain(&mut buf, out, true).await?;
    Ok(rows)
}

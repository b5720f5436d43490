//! Renderers: a running [`Report`] written to an async writer as JSON, CSV, XLSX or PDF.

mod csv;
mod json;
mod pdf;
mod xlsx;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::{Report, ReportError};

pub use pdf::PDF_ROW_LIMIT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, ReportError> {
        match text {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "pdf" => Ok(Format::Pdf),
            other => Err(ReportError::Invalid(format!(
                "format must be json, csv, xlsx or pdf, not `{other}`"
            ))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }
}

/// CSV dialect: RFC 4180 by default; German Excel wants `;` and a byte-order mark.
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub bom: bool,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions {
            delimiter: b',',
            bom: false,
        }
    }
}

impl CsvOptions {
    pub fn parse(delimiter: Option<&str>, bom: Option<bool>) -> Result<CsvOptions, ReportError> {
        let delimiter = match delimiter.unwrap_or(",") {
            "," => b',',
            ";" => b';',
            "\t" | "tab" => b'\t',
            other => {
                return Err(ReportError::Invalid(format!(
                    "csv_delimiter must be `,`, `;` or `tab`, not `{other}`"
                )));
            }
        };
        Ok(CsvOptions {
            delimiter,
            bom: bom.unwrap_or(false),
        })
    }
}

/// Bytes gathered before each write to the output.
const CHUNK: usize = 64 * 1024;

/// Writes the whole report. Returns the number of data rows written.
pub async fn write<W: AsyncWrite + Unpin + Send>(
    report: Report,
    format: Format,
    csv: CsvOptions,
    out: &mut W,
) -> Result<u64, ReportError> {
    let rows = match format {
        Format::Json => json::write(report, out).await?,
        Format::Csv => csv::write(report, csv, out).await?,
        Format::Xlsx => xlsx::write(report, out).await?,
        Format::Pdf => pdf::write(report, out).await?,
    };
    out.flush().await.map_err(ReportError::write)?;
    Ok(rows)
}

/// Sends `buf` on when it holds a chunk (or always, with `all`).
async fn drain<W: AsyncWrite + Unpin>(
    buf: &mut Vec<u8>,
    out: &mut W,
    all: bool,
) -> Result<(), ReportError> {
    if all || buf.len() >= CHUNK {
        out.write_all(buf).await.map_err(ReportError::write)?;
        buf.clear();
    }
    Ok(())
}

/// Runs CPU-heavy work (packing an XLSX, laying out a PDF) without stalling the other tasks
/// of a multi-threaded runtime.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

//! Charts as SVG and PNG (charts-rs; PNG through its resvg encoder with the embedded font).

use charts_rs::{BarChart, LineChart, Series};

use crate::ReportError;

/// Chart output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    Svg,
    Png,
}

impl ChartFormat {
    pub fn parse(text: &str) -> Result<ChartFormat, ReportError> {
        match text {
            "svg" => Ok(ChartFormat::Svg),
            "png" => Ok(ChartFormat::Png),
            other => Err(ReportError::Invalid(format!(
                "chart format must be svg or png, not `{other}`"
            ))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ChartFormat::Svg => "image/svg+xml",
            ChartFormat::Png => "image/png",
        }
    }
}

/// One named line of a trend chart: a value (or a gap) per x label.
#[derive(Debug)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

fn fail(e: impl std::fmt::Display) -> ReportError {
    ReportError::Write(format!("chart: {e}"))
}

/// A line chart over `labels` (counter trend, supply levels over time).
pub fn lines(title: &str, labels: Vec<String>, lines: Vec<Line>) -> Result<String, ReportError> {
    let series = lines
        .into_iter()
        .map(|l| {
            Series::new_nullable(
                l.name,
                l.values.into_iter().map(|v| v.map(|v| v as f32)).collect(),
            )
        })
        .collect();
    let mut chart = LineChart::new(series, labels);
    chart.title.text = title.to_owned();
    chart.width = 800.0;
    chart.height = 400.0;
    if chart.series_list.iter().all(|s| s.data.is_empty()) {
        chart.empty_text = Some("no data in this period".into());
    }
    chart.svg().map_err(fail)
}

/// A bar chart of one value per label (report summaries in PDFs).
pub fn bars(title: &str, labels: Vec<String>, values: Vec<f64>) -> Result<String, ReportError> {
    let series = vec![Series::new(
        title.to_owned(),
        values.into_iter().map(|v| v as f32).collect(),
    )];
    let mut chart = BarChart::new(series, labels);
    chart.title.text = title.to_owned();
    chart.width = 760.0;
    chart.height = 300.0;
    chart.svg().map_err(fail)
}

pub fn to_png(svg: &str) -> Result<Vec<u8>, ReportError> {
    charts_rs::svg_to_png(svg).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_chart_renders_as_svg_and_png() {
        let svg = lines(
            "Pages",
            vec!["Mon".into(), "Tue".into(), "Wed".into()],
            vec![Line {
                name: "total".into(),
                values: vec![Some(100.0), None, Some(140.0)],
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Pages"), "{svg}");
        let png = to_png(&svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}

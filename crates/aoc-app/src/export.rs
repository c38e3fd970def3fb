//! Exports of the filtered view as CSV or JSON lines. Pages are read with the keyset cursor and
//! rendered as they come, so an export of millions of events never sits in memory.

use futures::Stream;
use serde::Deserialize;

use aoc_domain::{Cursor, Event, EventQuery, MAX_PAGE_SIZE};

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::events::{EventParams, EventService};

/// `GET /api/events/export`: the filters and the format.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    // utoipa cannot flatten parameters: the OpenAPI path lists EventParams beside these.
    #[serde(flatten)]
    #[param(ignore)]
    pub filters: EventParams,
    /// `csv` (default) or `jsonl` (`ndjson` is accepted too).
    #[param(inline, value_type = Option<ExportFormat>)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn parse(raw: Option<&str>) -> AppResult<Self> {
        match raw.map(str::trim) {
            None | Some("") | Some("csv") => Ok(Self::Csv),
            Some("jsonl") | Some("ndjson") => Ok(Self::Jsonl),
            Some(_) => Err(AppError::BadRequest("format must be csv or jsonl".into())),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/x-ndjson",
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Self::Csv => "aoc-events.csv",
            Self::Jsonl => "aoc-events.jsonl",
        }
    }
}

const CSV_HEADER: &str =
    "timestamp,service,operation,result,actor,targets,summary,id,source,tags,result_detail\r\n";

/// A validated export: its format and the rendered text, chunk by chunk (a page a chunk). An
/// `Err` chunk means the export was cut short: the receiver must not present it as complete.
pub struct Export<S> {
    pub format: ExportFormat,
    pub chunks: S,
}

impl EventService {
    /// Validate `params` now (so a bad request is refused before anything is sent) and return
    /// the stream that renders the matching events.
    pub fn export(
        &self,
        params: &ExportParams,
        caller: &Caller,
    ) -> AppResult<Export<impl Stream<Item = AppResult<String>> + Send + 'static + use<>>> {
        let format = ExportFormat::parse(params.format.as_deref())?;
        let mut query = self.query(&params.filters, caller)?;
        query.page_size = MAX_PAGE_SIZE;
        query.cursor = None;
        let walk = Walk {
            service: self.clone(),
            query,
            first: true,
            done: false,
        };
        let chunks = futures::stream::unfold(walk, move |mut w| async move {
            if w.done {
                return None;
            }
            let mut out = String::new();
            if std::mem::take(&mut w.first) && format == ExportFormat::Csv {
                out.push_str(CSV_HEADER);
            }
            match w.service.page(&w.query).await {
                Ok(page) => {
                    for event in &page.items {
                        render(&mut out, format, event);
                    }
                    match page.next_cursor.as_deref().map(Cursor::decode) {
                        Some(Ok(c)) => w.query.cursor = Some(c),
                        _ => w.done = true,
                    }
                    Some((Ok(out), w))
                }
                Err(e) => {
                    tracing::error!(error = %e, "export aborted");
                    w.done = true;
                    Some((Err(e), w))
                }
            }
        });
        Ok(Export { format, chunks })
    }
}

struct Walk {
    service: EventService,
    query: EventQuery,
    first: bool,
    done: bool,
}

fn render(out: &mut String, format: ExportFormat, event: &Event) {
    match format {
        ExportFormat::Csv => write_csv_row(out, event),
        ExportFormat::Jsonl => {
            if let Ok(line) = serde_json::to_string(event) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
}

fn write_csv_row(out: &mut String, e: &Event) {
    let timestamp = e
        .timestamp
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let targets = e.target_displays.join("; ");
    let tags = e.tags.join("; ");
    // New columns go last, so scripts that read the original ten by position keep working.
    let fields: [&str; 11] = [
        &timestamp,
        &e.service,
        &e.operation,
        &e.result,
        &e.actor_display,
        &targets,
        &e.display_summary,
        &e.id,
        e.source.as_str(),
        &tags,
        &e.result_detail,
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// Quote when needed, and defuse spreadsheet formulas: audit data carries attacker-chosen names,
/// and a cell starting with = + - @ would run as a formula when an admin opens the export.
fn push_csv_field(out: &mut String, value: &str) {
    let defused = matches!(
        value.chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    );
    let needs_quotes = defused || value.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
    }
    if defused {
        out.push('\'');
    }
    for ch in value.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    if needs_quotes {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let cases = [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("line\nbreak", "\"line\nbreak\""),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            push_csv_field(&mut out, input);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn formats_parse() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Csv);
        assert_eq!(ExportFormat::parse(Some("csv")).unwrap(), ExportFormat::Csv);
        assert_eq!(
            ExportFormat::parse(Some("ndjson")).unwrap(),
            ExportFormat::Jsonl
        );
        assert!(ExportFormat::parse(Some("xml")).is_err());
    }
}

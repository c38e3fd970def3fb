//! Streaming export of the filtered view: pages are read with the keyset cursor and written as
//! they come, so an export of millions of events never sits in memory.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use aoc_app::AppContext;
use aoc_app::events::EventParams;
use aoc_domain::{Cursor, Event, EventQuery, MAX_PAGE_SIZE};

use super::CallerExt;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    #[serde(flatten)]
    filters: EventParams,
    format: Option<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Jsonl,
}

const CSV_HEADER: &str =
    "timestamp,service,operation,result,actor,targets,summary,id,source,tags\r\n";

pub async fn export(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let format = match params.format.as_deref().map(str::trim) {
        None | Some("") | Some("csv") => Format::Csv,
        Some("jsonl") | Some("ndjson") => Format::Jsonl,
        Some(_) => return Err(ApiError::bad_request("format must be csv or jsonl")),
    };
    let mut query = ctx.events.query(&params.filters, &caller)?;
    query.page_size = MAX_PAGE_SIZE;
    query.cursor = None;

    struct Walk {
        ctx: Arc<AppContext>,
        query: EventQuery,
        first: bool,
        done: bool,
    }
    let walk = Walk {
        ctx,
        query,
        first: true,
        done: false,
    };
    let stream = futures::stream::unfold(walk, move |mut w| async move {
        if w.done {
            return None;
        }
        let mut out = String::new();
        if w.first {
            w.first = false;
            if matches!(format, Format::Csv) {
                out.push_str(CSV_HEADER);
            }
        }
        match w.ctx.events.export_page(&w.query).await {
            Ok(page) => {
                for event in &page.items {
                    match format {
                        Format::Csv => write_csv_row(&mut out, event),
                        Format::Jsonl => {
                            if let Ok(line) = serde_json::to_string(event) {
                                out.push_str(&line);
                                out.push('\n');
                            }
                        }
                    }
                }
                match page.next_cursor.as_deref().map(Cursor::decode) {
                    Some(Ok(c)) => w.query.cursor = Some(c),
                    _ => w.done = true,
                }
                Some((Ok::<_, std::io::Error>(out), w))
            }
            Err(e) => {
                // Headers are gone already; cutting the stream short is the only honest signal.
                tracing::error!(error = %e, "export aborted");
                Some((
                    Err(std::io::Error::other("export aborted")),
                    Walk { done: true, ..w },
                ))
            }
        }
    });

    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "aoc-events.csv"),
        Format::Jsonl => ("application/x-ndjson", "aoc-events.jsonl"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        // Fused: the compression layer's reader polls its body again after the end, and an
        // unfold polled after returning None panics.
        Body::from_stream(futures::StreamExt::fuse(stream)),
    )
        .into_response())
}

fn write_csv_row(out: &mut String, e: &Event) {
    let fields = [
        e.timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        e.service.clone(),
        e.operation.clone(),
        e.result.clone(),
        e.actor_display.clone(),
        e.target_displays.join("; "),
        e.display_summary.clone(),
        e.id.clone(),
        e.source.as_str().to_string(),
        e.tags.join("; "),
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
    use super::push_csv_field;

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
}

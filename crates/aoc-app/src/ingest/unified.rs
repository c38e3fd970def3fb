//! Exchange, SharePoint, Teams and Entra records from the Office 365 Management Activity API.
//!
//! Each content type has its own watermark on `contentCreated`: it moves to the end of the
//! listed windows only when every listed blob was stored. Blobs that failed to download are
//! listed again by the next run (the overlap and dedupe make that safe).

use chrono::{TimeDelta, Utc};

use aoc_domain::RecordKind;
use aoc_m365::{BlobContent, M365Client, SkipReason};

use super::sink::Sink;
use super::{UNIFIED_OVERLAP, start_of};

pub(super) async fn run(
    sink: &Sink<'_>,
    client: &M365Client,
    window: TimeDelta,
) -> Result<(), String> {
    let subscriptions = client
        .ensure_subscriptions()
        .await
        .map_err(|e| format!("cannot check the Management API subscriptions: {e}"))?;
    if !subscriptions.started.is_empty() {
        tracing::info!(
            started = ?subscriptions.started,
            "started Management API subscriptions: Microsoft may take up to 12 hours to make their first content available"
        );
    }
    let mut failures = Vec::new();
    for content_type in &client.config().unified_content_types {
        if let Err(e) = content_type_run(sink, client, content_type, window).await {
            failures.push(format!("{content_type}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

async fn content_type_run(
    sink: &Sink<'_>,
    client: &M365Client,
    content_type: &str,
    window: TimeDelta,
) -> Result<(), String> {
    let key = format!("unified:{content_type}");
    let watermark = sink
        .store()
        .get_watermark(&key)
        .await
        .map_err(|e| format!("cannot read the watermark: {e}"))?;
    let now = Utc::now();
    let from = start_of(watermark, UNIFIED_OVERLAP, window, now);
    let listing = client
        .list_content(content_type, from, now)
        .await
        .map_err(|e| e.to_string())?;
    for warning in listing.warnings {
        // A first run asking for more than the API keeps is expected; a watermark that fell
        // out of the 7 days means content was lost, which the user must hear about.
        let clamped = warning.contains("older than the API keeps");
        if watermark.is_some() || !clamped {
            sink.warn(warning);
        } else {
            tracing::info!("{warning}");
        }
    }
    let fetched = client
        .fetch_blobs(
            listing.blobs,
            client.config().blob_concurrency,
            |blob: BlobContent| sink.put(RecordKind::Unified, blob.records),
        )
        .await;
    // What was read is stored even when a download failed (the watermark stays put).
    sink.flush()
        .await
        .map_err(|e| format!("cannot store events: {e}"))?;
    let report = fetched.map_err(|e| e.to_string())?;
    for skipped in &report.skipped {
        let why = match &skipped.reason {
            SkipReason::Expired { expired_at } => format!("it expired at {expired_at}"),
            SkipReason::Gone { status, code } => format!(
                "the API says it is gone (HTTP {status}{})",
                code.as_deref()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default()
            ),
        };
        sink.warn(format!(
            "{content_type}: content blob {} was skipped: {why}",
            skipped.content_id
        ));
    }
    if let Some(first) = report.failed.first() {
        return Err(format!(
            "{} content blob(s) could not be downloaded (first: {}); the next fetch tries again",
            report.failed.len(),
            first.error
        ));
    }
    if let Some(until) = listing.plan.covered_until() {
        sink.store()
            .set_watermark(&key, until)
            .await
            .map_err(|e| format!("cannot save the watermark: {e}"))?;
        sink.watermark_moved(until);
    }
    Ok(())
}

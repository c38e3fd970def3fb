//! Exchange, SharePoint, Teams and Entra records from the Office 365 Management Activity API.
//!
//! Each content type has its own watermark on `contentCreated`: it moves to the end of the
//! listed windows only when every listed blob was stored. Blobs that failed to download are
//! listed again by the next run (the overlap and dedupe make that safe).

use aoc_store::retry;
use chrono::{TimeDelta, Utc};

use aoc_domain::RecordKind;
use aoc_m365::{BlobContent, M365Client, SkipReason};

use super::error::SourceError;
use super::sink::Sink;
use super::{UNIFIED_OVERLAP, start_of};

pub(super) async fn run(
    sink: &Sink<'_>,
    client: &M365Client,
    window: TimeDelta,
) -> Result<(), SourceError> {
    let subscriptions = client
        .ensure_subscriptions()
        .await
        .map_err(SourceError::Subscriptions)?;
    if !subscriptions.started.is_empty() {
        tracing::info!(
            started = ?subscriptions.started,
            "started Management API subscriptions: Microsoft may take up to 12 hours to make their first content available"
        );
    }
    let mut failures = Vec::new();
    for content_type in &client.config().unified_content_types {
        if let Err(e) = content_type_run(sink, client, content_type, window).await {
            failures.push((content_type.clone(), e));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(SourceError::ContentTypes(failures))
    }
}

async fn content_type_run(
    sink: &Sink<'_>,
    client: &M365Client,
    content_type: &str,
    window: TimeDelta,
) -> Result<(), SourceError> {
    let key = format!("unified:{content_type}");
    // Reads and sets of a watermark are safe to repeat: a database restart is waited out.
    let watermark = retry::idempotent("reading the watermark", || sink.store().get_watermark(&key))
        .await
        .map_err(SourceError::ReadWatermark)?;
    let now = Utc::now();
    let from = start_of(watermark, UNIFIED_OVERLAP, window, now);
    let listing = client.list_content(content_type, from, now).await?;
    if let Some(clamped) = listing.plan.clamped_from {
        let warning = format!(
            "{content_type}: content before {} is older than the API keeps; listing from there",
            clamped.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        // A first run asking for more than the API keeps is expected; a watermark that fell
        // out of the 7 days means content was lost, which the user must hear about.
        if watermark.is_some() {
            sink.warn(warning);
        } else {
            tracing::info!("{warning}");
        }
    }
    for warning in listing.warnings {
        sink.warn(warning);
    }
    let fetched = client
        .fetch_blobs(
            listing.blobs,
            client.config().blob_concurrency,
            |blob: BlobContent| sink.put(RecordKind::Unified, blob.records),
        )
        .await;
    // What was read is stored even when a download failed (the watermark stays put).
    sink.flush().await?;
    let report = fetched?;
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
        return Err(SourceError::Blobs {
            failed: report.failed.len(),
            first: first.error.to_string(),
        });
    }
    if let Some(until) = listing.plan.covered_until() {
        retry::idempotent("saving the watermark", || {
            sink.store().set_watermark(&key, until)
        })
        .await
        .map_err(SourceError::SaveWatermark)?;
        sink.watermark_moved(until);
    }
    Ok(())
}

//! Entra directory audits and Intune audit events (Microsoft Graph), page by page.
//!
//! Graph does not promise an order within the filtered range, so the watermark moves to the
//! end of the range only once every page is stored.

use aoc_store::retry;
use chrono::{TimeDelta, Utc};
use futures::{StreamExt, stream::BoxStream};

use aoc_domain::{RecordKind, Source};
use aoc_m365::{GraphPage, M365Client, M365Error};

use super::error::SourceError;
use super::sink::Sink;
use super::{GRAPH_OVERLAP, start_of};

/// One Graph source: `Source::Directory` or `Source::Intune`.
pub(super) async fn run(
    sink: &Sink<'_>,
    client: &M365Client,
    source: Source,
    window: TimeDelta,
) -> Result<(), SourceError> {
    let key = source.as_str();
    // Reads and sets of a watermark are safe to repeat: a database restart is waited out.
    let watermark = retry::idempotent("reading the watermark", || sink.store().get_watermark(key))
        .await
        .map_err(SourceError::ReadWatermark)?;
    let to = Utc::now();
    let from = start_of(watermark, GRAPH_OVERLAP, window, to);
    let (kind, mut pages): (RecordKind, BoxStream<'static, Result<GraphPage, M365Error>>) =
        if source == Source::Directory {
            (
                RecordKind::Directory,
                client.directory_audits_stream(from, to).boxed(),
            )
        } else {
            (
                RecordKind::Intune,
                client.intune_audit_events_stream(from, to).boxed(),
            )
        };
    let paged = async {
        while let Some(page) = pages.next().await {
            sink.put(kind, page?.records).await?;
        }
        Ok::<(), SourceError>(())
    }
    .await;
    // What was read is stored even when paging failed part-way (the watermark stays put).
    sink.flush().await?;
    paged?;
    retry::idempotent("saving the watermark", || {
        sink.store().set_watermark(key, to)
    })
    .await
    .map_err(SourceError::SaveWatermark)?;
    sink.watermark_moved(to);
    Ok(())
}

//! Entra directory audits and Intune audit events (Microsoft Graph), page by page.
//!
//! Graph does not promise an order within the filtered range, so the watermark moves to the
//! end of the range only once every page is stored.

use chrono::{TimeDelta, Utc};
use futures::{StreamExt, stream::BoxStream};

use aoc_domain::RecordKind;
use aoc_m365::{GraphPage, M365Client, M365Error};

use super::sink::Sink;
use super::{GRAPH_OVERLAP, start_of};

pub(super) async fn run(
    sink: &Sink<'_>,
    client: &M365Client,
    name: &'static str,
    window: TimeDelta,
) -> Result<(), String> {
    let watermark = sink
        .store()
        .get_watermark(name)
        .await
        .map_err(|e| format!("cannot read the watermark: {e}"))?;
    let to = Utc::now();
    let from = start_of(watermark, GRAPH_OVERLAP, window, to);
    let (kind, mut pages): (RecordKind, BoxStream<'static, Result<GraphPage, M365Error>>) =
        if name == "directory" {
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
            let page = page.map_err(|e| e.to_string())?;
            sink.put(kind, page.records)
                .await
                .map_err(|e| format!("cannot store events: {e}"))?;
        }
        Ok::<(), String>(())
    }
    .await;
    // What was read is stored even when paging failed part-way (the watermark stays put).
    sink.flush()
        .await
        .map_err(|e| format!("cannot store events: {e}"))?;
    paged?;
    sink.store()
        .set_watermark(name, to)
        .await
        .map_err(|e| format!("cannot save the watermark: {e}"))?;
    sink.watermark_moved(to);
    Ok(())
}

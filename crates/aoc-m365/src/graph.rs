//! Microsoft Graph: directory audits, Intune audit events, and directory object names.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde_json::{Value, json};
use url::Url;

use crate::client::{Api, M365Client, graph_time};
use crate::error::{BoxError, M365Error, Service};

/// `directoryObjects/getByIds` takes at most this many IDs per request.
pub const GET_BY_IDS_BATCH: usize = 1000;

/// `$top` of every audit log request: the largest page Graph serves for its audit logs.
///
/// "List directoryAudits" documents `$top` without a number and "List auditEvents" (Intune)
/// documents no query options; "List signIns", the other audit log of the same API, documents
/// 1,000 as its maximum page size, and Graph's paging guide warns that a larger `$top` may be
/// refused. Without `$top` a page is far smaller, and the reports API allows only about five
/// requests per 10 seconds per tenant, so the page size is what bounds a busy tenant's fetch.
pub const GRAPH_AUDIT_PAGE_SIZE: usize = 1000;

/// Object types `get_by_ids` asks for.
pub const GET_BY_IDS_TYPES: [&str; 5] =
    ["user", "group", "servicePrincipal", "application", "device"];

/// Which Graph audit log a page came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GraphAuditSource {
    /// `GET /v1.0/auditLogs/directoryAudits`
    DirectoryAudits,
    /// `GET /v1.0/deviceManagement/auditEvents`
    IntuneAuditEvents,
}

impl GraphAuditSource {
    fn path(self) -> &'static str {
        match self {
            GraphAuditSource::DirectoryAudits => "/v1.0/auditLogs/directoryAudits",
            GraphAuditSource::IntuneAuditEvents => "/v1.0/deviceManagement/auditEvents",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GraphAuditSource::DirectoryAudits => "directoryAudits",
            GraphAuditSource::IntuneAuditEvents => "intuneAuditEvents",
        }
    }
}

/// One page of a Graph collection, as Microsoft sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphPage {
    pub source: GraphAuditSource,
    /// 1-based position of this page in the run.
    pub page_number: usize,
    /// The `value` array, each record untouched.
    pub records: Vec<Value>,
    /// `@odata.nextLink` of this page: `None` on the last page.
    pub next_link: Option<String>,
}

/// Totals of a completed paging run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagingSummary {
    pub pages: usize,
    pub records: usize,
}

impl M365Client {
    /// Entra ID directory audit records with `from <= activityDateTime <= to`, page by page.
    ///
    /// Requests are paced `graph_min_interval` apart. The stream ends after the page without
    /// `@odata.nextLink`, or after the first error (yielded as the last item). Dropping the
    /// stream stops paging. An inverted window (`from > to`) yields nothing.
    pub fn directory_audits_stream(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Stream<Item = Result<GraphPage, M365Error>> + Send + 'static {
        self.audit_pages(GraphAuditSource::DirectoryAudits, from, to)
    }

    /// Intune audit events with `from <= activityDateTime <= to`; see
    /// [`directory_audits_stream`](Self::directory_audits_stream).
    pub fn intune_audit_events_stream(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Stream<Item = Result<GraphPage, M365Error>> + Send + 'static {
        self.audit_pages(GraphAuditSource::IntuneAuditEvents, from, to)
    }

    /// Calls `on_page` with each page of directory audits in order, waiting for it before
    /// fetching the next page, so the caller can store and commit as it goes. A handler error
    /// stops paging and comes back as [`M365Error::Handler`].
    pub async fn directory_audits<F, Fut, E>(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        on_page: F,
    ) -> Result<PagingSummary, M365Error>
    where
        F: FnMut(GraphPage) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<BoxError>,
    {
        drive(self.directory_audits_stream(from, to), on_page).await
    }

    /// Intune audit events through a page handler; see [`directory_audits`](Self::directory_audits).
    pub async fn intune_audit_events<F, Fut, E>(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        on_page: F,
    ) -> Result<PagingSummary, M365Error>
    where
        F: FnMut(GraphPage) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<BoxError>,
    {
        drive(self.intune_audit_events_stream(from, to), on_page).await
    }

    fn audit_pages(
        &self,
        source: GraphAuditSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Stream<Item = Result<GraphPage, M365Error>> + Send + 'static {
        let first = if from > to {
            None
        } else {
            Some(self.audit_url(source, from, to).map(|url| (url, 1usize)))
        };
        let client = self.clone();
        futures::stream::unfold(first, move |state| {
            let client = client.clone();
            async move {
                let (url, page_number) = match state? {
                    Ok(s) => s,
                    Err(e) => return Some((Err(e), None)),
                };
                match client.graph_page(&url).await {
                    Ok((records, next_link)) => {
                        tracing::info!(
                            source = source.name(),
                            page = page_number,
                            records = records.len(),
                            more = next_link.is_some(),
                            "fetched Graph audit page"
                        );
                        let next = next_link.clone().map(|l| Ok((l, page_number + 1)));
                        let page = GraphPage {
                            source,
                            page_number,
                            records,
                            next_link,
                        };
                        Some((Ok(page), next))
                    }
                    Err(e) => Some((Err(e), None)),
                }
            }
        })
    }

    fn audit_url(
        &self,
        source: GraphAuditSource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<String, M365Error> {
        let raw = format!("{}{}", self.inner.endpoints.graph, source.path());
        let mut url =
            Url::parse(&raw).map_err(|e| M365Error::Config(format!("graph URL {raw:?}: {e}")))?;
        // set_query percent-encodes the spaces as %20 and leaves `$` alone, the form Graph's
        // own examples use.
        url.set_query(Some(&format!(
            "$filter=activityDateTime ge {} and activityDateTime le {}&$top={GRAPH_AUDIT_PAGE_SIZE}",
            graph_time(from),
            graph_time(to)
        )));
        Ok(url.into())
    }

    /// One page: its `value` records and its `@odata.nextLink`, checked to stay on Graph.
    async fn graph_page(&self, url: &str) -> Result<(Vec<Value>, Option<String>), M365Error> {
        let http = &self.inner.transport.http;
        let answer = self.call(Api::Graph, true, &|| http.get(url)).await?;
        let body = answer.json(Service::Graph)?;
        let (records, next) = split_collection(body)?;
        if let Some(next) = &next {
            self.check_origin(Api::Graph, next)?;
            if next == url {
                return Err(M365Error::Malformed {
                    service: Service::Graph,
                    message: "@odata.nextLink points at the page it came from".into(),
                });
            }
        }
        Ok((records, next))
    }

    /// Display names of directory objects (users, groups, service principals, applications,
    /// devices), keyed by object ID. IDs are deduplicated and sent in batches of 1000; IDs that
    /// do not resolve, or objects without a `displayName`, are simply absent from the map.
    pub async fn get_by_ids<S: AsRef<str>>(
        &self,
        ids: &[S],
    ) -> Result<HashMap<String, String>, M365Error> {
        let mut seen = HashSet::new();
        let unique: Vec<&str> = ids
            .iter()
            .map(|s| s.as_ref().trim())
            .filter(|s| !s.is_empty() && seen.insert(*s))
            .collect();
        let url = format!(
            "{}/v1.0/directoryObjects/getByIds",
            self.inner.endpoints.graph
        );
        let http = &self.inner.transport.http;
        let mut names = HashMap::new();
        for (batch_no, batch) in unique.chunks(GET_BY_IDS_BATCH).enumerate() {
            let body = json!({ "ids": batch, "types": GET_BY_IDS_TYPES });
            let answer = self
                .call(Api::Graph, false, &|| http.post(&url).json(&body))
                .await?;
            let (objects, _) = split_collection(answer.json(Service::Graph)?)?;
            let before = names.len();
            for object in objects {
                if let (Some(id), Some(name)) = (
                    object.get("id").and_then(Value::as_str),
                    object.get("displayName").and_then(Value::as_str),
                ) {
                    names.insert(id.to_owned(), name.to_owned());
                }
            }
            tracing::info!(
                batch = batch_no + 1,
                asked = batch.len(),
                resolved = names.len() - before,
                "resolved directory object names"
            );
        }
        Ok(names)
    }
}

/// Splits a Graph collection response into its `value` array and `@odata.nextLink`.
pub(crate) fn split_collection(body: Value) -> Result<(Vec<Value>, Option<String>), M365Error> {
    let malformed = |message: &str| M365Error::Malformed {
        service: Service::Graph,
        message: message.to_owned(),
    };
    let Value::Object(mut map) = body else {
        return Err(malformed("collection response is not a JSON object"));
    };
    let next = match map.remove("@odata.nextLink") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(_) => return Err(malformed("@odata.nextLink is not a URL string")),
    };
    match map.remove("value") {
        Some(Value::Array(records)) => Ok((records, next)),
        _ => Err(malformed("collection response has no value array")),
    }
}

async fn drive<S, F, Fut, E>(stream: S, mut on_page: F) -> Result<PagingSummary, M365Error>
where
    S: Stream<Item = Result<GraphPage, M365Error>>,
    F: FnMut(GraphPage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    let mut stream = std::pin::pin!(stream);
    let mut summary = PagingSummary::default();
    while let Some(page) = stream.next().await {
        let page = page?;
        summary.pages += 1;
        summary.records += page.records.len();
        on_page(page)
            .await
            .map_err(|e| M365Error::Handler(e.into()))?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn collections_are_split_into_records_and_next_link() {
        let (records, next) = split_collection(json!({
            "@odata.context": "x",
            "value": [{"id": "1"}, {"id": "2"}],
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/auditLogs/directoryAudits?$skiptoken=a"
        }))
        .unwrap();
        assert_eq!(records.len(), 2);
        assert!(next.unwrap().ends_with("skiptoken=a"));
        let (records, next) = split_collection(json!({"value": []})).unwrap();
        assert!(records.is_empty() && next.is_none());
        for bad in [
            json!([]),
            json!({"values": []}),
            json!({"value": {}}),
            json!({"value": [], "@odata.nextLink": 5}),
        ] {
            assert!(split_collection(bad).is_err());
        }
    }
}

//! Office 365 Management Activity API: subscriptions, content listing, content blobs.

use std::collections::HashSet;
use std::future::Future;

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::client::{Api, M365Client};
use crate::error::{BoxError, M365Error, Service};
use crate::windows::{ContentWindow, WindowPlan, api_time, plan_content_windows};

/// "No subscription found for the specified content type."
pub const AF_NO_SUBSCRIPTION: &str = "AF20022";
/// "The subscription was disabled by ..."
pub const AF_SUBSCRIPTION_DISABLED: &str = "AF20023";
/// "The subscription is already enabled." — success for our purposes.
pub const AF_ALREADY_ENABLED: &str = "AF20024";
/// "The specified content does not exist."
pub const AF_CONTENT_MISSING: &str = "AF20050";
/// "Content requested with the key ... has already expired."
pub const AF_CONTENT_EXPIRED: &str = "AF20051";

/// One entry of `subscriptions/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub content_type: String,
    /// `enabled` or `disabled`; absent in some answers.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub webhook: Option<Value>,
}

impl Subscription {
    pub fn is_enabled(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
    }
}

/// What `ensure_subscriptions` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionReport {
    /// Content types already enabled (including those `start` answered with `AF20024`).
    pub already_enabled: Vec<String>,
    /// Content types this call started.
    pub started: Vec<String>,
}

/// A content blob listed by `subscriptions/content`. Serializable with the API's own field
/// names, so a caller can keep pending blobs between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentBlob {
    pub content_uri: String,
    pub content_id: String,
    pub content_type: String,
    /// When the blob became available (not when its events happened).
    pub content_created: Option<DateTime<Utc>>,
    /// After this instant the blob can no longer be downloaded.
    pub content_expiration: Option<DateTime<Utc>>,
}

impl ContentBlob {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.content_expiration.is_some_and(|e| e <= now)
    }
}

/// The blobs listed for one content type and range.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentListing {
    pub content_type: String,
    /// The windows that were listed, with any clamping of the requested range.
    pub plan: WindowPlan,
    /// Distinct blobs (by `contentId`), in the order the API listed them.
    pub blobs: Vec<ContentBlob>,
    /// Things the caller should log or surface: skipped malformed entries. (A clamped range
    /// is `plan.clamped_from`.)
    pub warnings: Vec<String>,
}

/// A blob's records, handed to the `fetch_blobs` handler.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobContent {
    pub blob: ContentBlob,
    /// The blob's JSON array, each record untouched.
    pub records: Vec<Value>,
}

/// Why a blob was not downloaded. Nothing can be done about these: the content is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `contentExpiration` had passed before the download was tried.
    Expired { expired_at: DateTime<Utc> },
    /// The API said the content expired or does not exist (`AF20051`, `AF20050`, HTTP 404).
    Gone { status: u16, code: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedBlob {
    pub content_id: String,
    pub reason: SkipReason,
}

/// A blob whose download failed after all retries; listing it again later may succeed.
#[derive(Debug)]
pub struct FailedBlob {
    pub content_id: String,
    pub error: M365Error,
}

/// The outcome of `fetch_blobs`. The run is complete (a caller may advance its watermark) only
/// when `failed` is empty; skipped blobs are reported for logging but cannot be recovered.
#[derive(Debug, Default)]
pub struct BlobFetchReport {
    /// Blobs downloaded and accepted by the handler.
    pub fetched: usize,
    /// Records in those blobs.
    pub records: usize,
    pub skipped: Vec<SkippedBlob>,
    pub failed: Vec<FailedBlob>,
}

impl BlobFetchReport {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

impl M365Client {
    fn feed_url(&self, operation: &str) -> String {
        format!(
            "{}/api/v1.0/{}/activity/feed/{}",
            self.inner.endpoints.manage,
            self.inner.config.tenant_id.trim(),
            operation
        )
    }

    /// Adds `PublisherIdentifier` to a Management API URL unless it already has one, keeping
    /// the rest of the URL (a content URI's `$`-laden path, an existing query) as it was.
    pub(crate) fn with_publisher(&self, raw: &str) -> Result<String, M365Error> {
        let mut url = Url::parse(raw).map_err(|e| M365Error::Malformed {
            service: Service::Management,
            message: format!("{raw:?} is not a URL: {e}"),
        })?;
        let present = url
            .query_pairs()
            .any(|(k, _)| k.eq_ignore_ascii_case("PublisherIdentifier"));
        if !present {
            url.query_pairs_mut().append_pair(
                "PublisherIdentifier",
                self.inner.config.publisher_identifier(),
            );
        }
        Ok(url.into())
    }

    /// `GET subscriptions/list`.
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, M365Error> {
        let url = self.with_publisher(&self.feed_url("subscriptions/list"))?;
        let http = &self.inner.transport.http;
        let answer = self
            .call(Api::Management, false, &|| http.get(&url))
            .await?;
        serde_json::from_value(answer.json(Service::Management)?).map_err(|e| {
            M365Error::Malformed {
                service: Service::Management,
                message: format!("subscriptions/list: {e}"),
            }
        })
    }

    /// `POST subscriptions/start` for one content type; `AF20024` (already enabled) counts as
    /// success. Returns true when this call started it.
    pub async fn start_subscription(&self, content_type: &str) -> Result<bool, M365Error> {
        let mut url = Url::parse(&self.feed_url("subscriptions/start"))
            .map_err(|e| M365Error::Config(format!("manage_base_url: {e}")))?;
        url.query_pairs_mut()
            .append_pair("contentType", content_type)
            .append_pair(
                "PublisherIdentifier",
                self.inner.config.publisher_identifier(),
            );
        let url: String = url.into();
        let http = &self.inner.transport.http;
        // An explicit empty body gives `Content-Length: 0`, which IIS front ends want on POST.
        let sent = self
            .call(Api::Management, false, &|| {
                http.post(&url)
                    .header(reqwest::header::CONTENT_LENGTH, "0")
                    .body(Vec::new())
            })
            .await;
        match sent {
            Ok(_) => {
                tracing::info!(content_type, "started Management API subscription");
                Ok(true)
            }
            Err(e) if e.code() == Some(AF_ALREADY_ENABLED) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Makes sure every configured content type has an enabled subscription: lists them, and
    /// starts each one missing or disabled.
    pub async fn ensure_subscriptions(&self) -> Result<SubscriptionReport, M365Error> {
        let existing = self.list_subscriptions().await?;
        let mut report = SubscriptionReport::default();
        for wanted in &self.inner.config.unified_content_types {
            let enabled = existing
                .iter()
                .any(|s| s.content_type.eq_ignore_ascii_case(wanted) && s.is_enabled());
            if enabled || !self.start_subscription(wanted).await? {
                report.already_enabled.push(wanted.clone());
            } else {
                report.started.push(wanted.clone());
            }
        }
        tracing::info!(
            already_enabled = report.already_enabled.len(),
            started = report.started.len(),
            "Management API subscriptions checked"
        );
        Ok(report)
    }

    /// Lists the blobs of `content_type` that became available in `[from, to)`: the range is
    /// split into ≤24 h windows, `from` is moved forward rather than refused when older than
    /// the API's 7 days, and `NextPageUri` is followed to the end of each window. If the API
    /// says the subscription is missing or disabled (`AF20022`/`AF20023`), it is started and
    /// the listing tried once more.
    pub async fn list_content(
        &self,
        content_type: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<ContentListing, M365Error> {
        let plan = plan_content_windows(from, to, Utc::now());
        // A clamped start is in `plan.clamped_from`: whether it matters is the caller's call.
        let mut warnings = Vec::new();
        let mut seen = HashSet::new();
        let mut blobs = Vec::new();
        let mut restarted = false;
        for window in &plan.windows {
            let found = self
                .list_window(content_type, *window, &mut restarted, &mut warnings)
                .await?;
            for blob in found {
                if seen.insert(blob.content_id.clone()) {
                    blobs.push(blob);
                }
            }
        }
        Ok(ContentListing {
            content_type: content_type.to_owned(),
            plan,
            blobs,
            warnings,
        })
    }

    async fn list_window(
        &self,
        content_type: &str,
        window: ContentWindow,
        restarted: &mut bool,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<ContentBlob>, M365Error> {
        let mut first = Url::parse(&self.feed_url("subscriptions/content"))
            .map_err(|e| M365Error::Config(format!("manage_base_url: {e}")))?;
        first
            .query_pairs_mut()
            .append_pair("contentType", content_type)
            .append_pair("startTime", &api_time(window.start))
            .append_pair("endTime", &api_time(window.end))
            .append_pair(
                "PublisherIdentifier",
                self.inner.config.publisher_identifier(),
            );
        let mut url: String = first.into();
        let mut blobs = Vec::new();
        let mut page = 0usize;
        let http = &self.inner.transport.http;
        loop {
            let answer = match self.call(Api::Management, false, &|| http.get(&url)).await {
                Ok(a) => a,
                Err(e)
                    if !*restarted
                        && matches!(
                            e.code(),
                            Some(AF_NO_SUBSCRIPTION | AF_SUBSCRIPTION_DISABLED)
                        ) =>
                {
                    *restarted = true;
                    tracing::warn!(content_type, error = %e, "subscription missing; starting it");
                    self.start_subscription(content_type).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            page += 1;
            let found = parse_blob_list(answer.json(Service::Management)?, warnings)?;
            tracing::info!(
                content_type,
                window_start = %api_time(window.start),
                window_end = %api_time(window.end),
                page,
                blobs = found.len(),
                "listed Management API content"
            );
            blobs.extend(found);
            let next = answer
                .header("NextPageUri")
                .or_else(|| answer.header("NextPageUrl"))
                .map(|v| v.trim().replace("&amp;", "&"))
                .filter(|v| !v.is_empty());
            let Some(next) = next else {
                return Ok(blobs);
            };
            self.check_origin(Api::Management, &next)?;
            let next = self.with_publisher(&next)?;
            if next == url {
                return Err(M365Error::Malformed {
                    service: Service::Management,
                    message: "NextPageUri points at the page it came from".into(),
                });
            }
            url = next;
        }
    }

    /// Downloads `blobs`, at most `concurrency` at once, and hands each one's records to
    /// `on_blob` (called one blob at a time, in completion order). Blobs past their
    /// `contentExpiration`, and blobs the API reports gone, are skipped and reported; other
    /// download failures are collected in [`BlobFetchReport::failed`] while the rest continue.
    /// A handler error stops everything and is returned as [`M365Error::Handler`].
    pub async fn fetch_blobs<F, Fut, E>(
        &self,
        blobs: Vec<ContentBlob>,
        concurrency: usize,
        mut on_blob: F,
    ) -> Result<BlobFetchReport, M365Error>
    where
        F: FnMut(BlobContent) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<BoxError>,
    {
        let now = Utc::now();
        let mut report = BlobFetchReport::default();
        let mut live = Vec::with_capacity(blobs.len());
        for blob in blobs {
            match blob.content_expiration {
                Some(expired_at) if blob.is_expired(now) => {
                    tracing::warn!(content_id = %blob.content_id, %expired_at, "skipping expired content blob");
                    report.skipped.push(SkippedBlob {
                        content_id: blob.content_id,
                        reason: SkipReason::Expired { expired_at },
                    });
                }
                _ => live.push(blob),
            }
        }
        let total = live.len();
        let mut downloads = futures::stream::iter(live)
            .map(|blob| async move {
                let result = self.download_blob(&blob).await;
                (blob, result)
            })
            .buffer_unordered(concurrency.max(1));
        while let Some((blob, result)) = downloads.next().await {
            match result {
                Ok(records) => {
                    let count = records.len();
                    let content_id = blob.content_id.clone();
                    on_blob(BlobContent { blob, records })
                        .await
                        .map_err(|e| M365Error::Handler(e.into()))?;
                    report.fetched += 1;
                    report.records += count;
                    tracing::info!(
                        content_id = %content_id,
                        records = count,
                        done = report.fetched,
                        total,
                        "fetched content blob"
                    );
                }
                Err(e) if is_gone(&e) => {
                    tracing::warn!(content_id = %blob.content_id, error = %e, "content blob is gone");
                    report.skipped.push(SkippedBlob {
                        content_id: blob.content_id,
                        reason: SkipReason::Gone {
                            status: e.status().unwrap_or(404),
                            code: e.code().map(str::to_owned),
                        },
                    });
                }
                Err(error) => {
                    tracing::warn!(content_id = %blob.content_id, %error, "content blob download failed");
                    report.failed.push(FailedBlob {
                        content_id: blob.content_id,
                        error,
                    });
                }
            }
        }
        Ok(report)
    }

    async fn download_blob(&self, blob: &ContentBlob) -> Result<Vec<Value>, M365Error> {
        self.check_origin(Api::Management, &blob.content_uri)?;
        let url = self.with_publisher(&blob.content_uri)?;
        let http = &self.inner.transport.http;
        let answer = self
            .call(Api::Management, false, &|| http.get(&url))
            .await?;
        match answer.json(Service::Management)? {
            Value::Array(records) => Ok(records),
            _ => Err(M365Error::Malformed {
                service: Service::Management,
                message: format!("content blob {} is not a JSON array", blob.content_id),
            }),
        }
    }
}

fn is_gone(e: &M365Error) -> bool {
    matches!(e.code(), Some(AF_CONTENT_EXPIRED | AF_CONTENT_MISSING))
        || (e.status() == Some(404) && e.code().is_none())
        || e.status() == Some(410)
}

/// Reads a `subscriptions/content` page. Entries without a `contentUri` or `contentId` are
/// skipped with a warning rather than failing the listing.
fn parse_blob_list(body: Value, warnings: &mut Vec<String>) -> Result<Vec<ContentBlob>, M365Error> {
    let Value::Array(items) = body else {
        return Err(M365Error::Malformed {
            service: Service::Management,
            message: "subscriptions/content did not return a JSON array".into(),
        });
    };
    let mut blobs = Vec::with_capacity(items.len());
    for item in items {
        let text = |key: &str| {
            item.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (Some(content_uri), Some(content_id)) = (text("contentUri"), text("contentId")) else {
            let w = "skipped a listed content entry without contentUri/contentId".to_owned();
            tracing::info!("{w}");
            warnings.push(w);
            continue;
        };
        blobs.push(ContentBlob {
            content_uri,
            content_id,
            content_type: text("contentType").unwrap_or_default(),
            content_created: text("contentCreated")
                .as_deref()
                .and_then(parse_api_datetime),
            content_expiration: text("contentExpiration")
                .as_deref()
                .and_then(parse_api_datetime),
        });
    }
    Ok(blobs)
}

/// The API writes `2015-05-23T17:35:00.000Z`; zone-less forms are read as UTC.
pub(crate) fn parse_api_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn blob_lists_are_parsed_and_bad_entries_skipped() {
        let mut warnings = Vec::new();
        let blobs = parse_blob_list(
            json!([
                {
                    "contentType": "Audit.SharePoint",
                    "contentId": "492638008028$492638008028$f28a$04",
                    "contentUri": "https://manage.office.com/api/v1.0/t/activity/feed/audit/492638008028$04",
                    "contentCreated": "2015-05-23T17:35:00.000Z",
                    "contentExpiration": "2015-05-30T17:35:00.000Z"
                },
                {"contentType": "Audit.SharePoint"},
                "junk"
            ]),
            &mut warnings,
        )
        .unwrap();
        assert_eq!(blobs.len(), 1);
        assert_eq!(warnings.len(), 2);
        assert_eq!(
            blobs[0].content_expiration,
            Some(Utc.with_ymd_and_hms(2015, 5, 30, 17, 35, 0).unwrap())
        );
        assert!(blobs[0].is_expired(Utc::now()));
        assert!(parse_blob_list(json!({"value": []}), &mut warnings).is_err());
    }

    #[test]
    fn api_datetimes_with_and_without_zone() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(parse_api_datetime("2026-01-02T03:04:05Z"), Some(t));
        assert_eq!(parse_api_datetime("2026-01-02T03:04:05"), Some(t));
        assert_eq!(parse_api_datetime("2026-01-02T03:04:05.000"), Some(t));
        assert_eq!(parse_api_datetime("yesterday"), None);
    }

    #[test]
    fn blobs_round_trip_with_the_api_field_names() {
        let blob = ContentBlob {
            content_uri: "https://manage.office.com/x".into(),
            content_id: "id".into(),
            content_type: "Audit.General".into(),
            content_created: None,
            content_expiration: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
        };
        let v = serde_json::to_value(&blob).unwrap();
        assert!(v.get("contentUri").is_some() && v.get("contentExpiration").is_some());
        assert_eq!(serde_json::from_value::<ContentBlob>(v).unwrap(), blob);
    }
}

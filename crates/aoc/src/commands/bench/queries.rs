//! The query half of `aoc bench`: latency of `GET /api/events` over HTTP, for the shapes of
//! query people run, with parameters drawn from events that were actually stored.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};

use super::ingest::Sample;

pub const PAGE_SIZE: u32 = 50;
/// Depth of the cursor walk (the "page 200").
pub const WALK_PAGES: usize = 200;

/// Latencies of one query shape.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub key: &'static str,
    pub label: &'static str,
    pub latencies: Vec<Duration>,
    /// Mean items per page: says whether the query found something.
    pub mean_items: f64,
}

impl QueryResult {
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p).as_secs_f64() * 1000.0
    }

    /// One progress line while the bench runs.
    fn print_progress(&self) {
        eprintln!(
            "    {:<32} p50 {:>7.1} ms  p95 {:>7.1} ms  ({:.0} items/page)",
            self.label,
            self.percentile_ms(50.0),
            self.percentile_ms(95.0),
            self.mean_items
        );
    }
}

/// Nearest-rank percentile of unsorted samples.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
        .unwrap_or_default()
}

type Params = Vec<(&'static str, String)>;
/// A query shape: (JSON key, label, parameters drawn from a sample; None to skip it).
type Shape = (&'static str, &'static str, fn(&Sample) -> Option<Params>);

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A lowercase piece from the middle of an actor name (what someone half-remembering a
/// name types): at least 5 characters where the name allows.
fn actor_substring(actor: &str) -> String {
    let chars: Vec<char> = actor.chars().collect();
    let len = chars.len();
    if len <= 6 {
        return actor.to_lowercase();
    }
    let take = (len / 2).clamp(5, 10);
    let from = (len - take) / 2;
    chars[from..from + take]
        .iter()
        .collect::<String>()
        .to_lowercase()
}

/// The query shapes: (key, label, parameters for the i-th sample).
fn shapes() -> Vec<Shape> {
    vec![
        ("newest_page", "newest page, unfiltered", |_| Some(vec![])),
        ("actor_7d", "actor + 7-day range", |s| {
            Some(vec![
                ("actor", s.actor.clone()),
                ("start", time(s.timestamp - chrono::Duration::days(7))),
                ("end", time(s.timestamp)),
            ])
        }),
        ("service_operation", "service + operation", |s| {
            Some(vec![
                ("service", s.service.clone()),
                ("operation", s.operation.clone()),
            ])
        }),
        ("text_rare_raw", "free text: rare raw token", |s| {
            s.raw_token.clone().map(|t| vec![("search", t)])
        }),
        ("text_actor_substring", "free text: actor substring", |s| {
            Some(vec![("search", actor_substring(&s.actor))])
        }),
        ("text_service_range", "free text + service + 7 days", |s| {
            Some(vec![
                ("search", actor_substring(&s.actor)),
                ("service", s.service.clone()),
                ("start", time(s.timestamp - chrono::Duration::days(7))),
                ("end", time(s.timestamp)),
            ])
        }),
    ]
}

/// One timed request: latency to the whole body, and the number of items.
async fn timed_get(
    client: &reqwest::Client,
    url: &str,
    params: &Params,
) -> anyhow::Result<(Duration, usize, Option<String>)> {
    let t = Instant::now();
    let response = client
        .get(url)
        .query(params)
        .send()
        .await
        .context("query request failed")?;
    let status = response.status();
    let body = response.bytes().await.context("query response failed")?;
    let took = t.elapsed();
    if !status.is_success() {
        anyhow::bail!(
            "GET /api/events {params:?}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let page: serde_json::Value = serde_json::from_slice(&body).context("query response")?;
    let items = page
        .get("items")
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    let next = page
        .get("next_cursor")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Ok((took, items, next))
}

/// Run every shape `per_shape` times (cycling through the samples), then the cursor walk.
pub async fn run(
    client: &reqwest::Client,
    base_url: &str,
    samples: &[Sample],
    per_shape: usize,
) -> anyhow::Result<Vec<QueryResult>> {
    let url = format!("{base_url}/api/events");
    let page_size = ("page_size", PAGE_SIZE.to_string());
    // Warm the connection (not the data): the first request pays for TCP set-up.
    timed_get(
        client,
        &format!("{base_url}/api/events"),
        &vec![page_size.clone()],
    )
    .await?;
    let mut results = Vec::new();
    for (key, label, make) in shapes() {
        let params: Vec<Params> = samples.iter().filter_map(make).collect();
        if params.is_empty() {
            continue;
        }
        let mut latencies = Vec::with_capacity(per_shape);
        let mut items = 0usize;
        for i in 0..per_shape {
            let mut p = params[i % params.len()].clone();
            p.push(page_size.clone());
            let (took, n, _) = timed_get(client, &url, &p).await?;
            latencies.push(took);
            items += n;
        }
        let r = QueryResult {
            key,
            label,
            latencies,
            mean_items: items as f64 / per_shape.max(1) as f64,
        };
        r.print_progress();
        results.push(r);
    }

    // Page 200 of a newest-first cursor walk: walk there once, then time that page again
    // and again (each request decodes the cursor and seeks from it; no OFFSET).
    let mut cursor: Option<String> = None;
    let mut walked = 0;
    for _ in 1..WALK_PAGES {
        let mut p = vec![page_size.clone()];
        if let Some(c) = &cursor {
            p.push(("cursor", c.clone()));
        }
        let (_, _, next) = timed_get(client, &url, &p).await?;
        match next {
            Some(next) => {
                cursor = Some(next);
                walked += 1;
            }
            None => break,
        }
    }
    if let Some(c) = cursor {
        let p = vec![page_size.clone(), ("cursor", c)];
        let mut latencies = Vec::with_capacity(per_shape);
        let mut items = 0;
        for _ in 0..per_shape {
            let (took, n, _) = timed_get(client, &url, &p).await?;
            latencies.push(took);
            items += n;
        }
        let r = QueryResult {
            key: "cursor_page_200",
            label: if walked + 1 >= WALK_PAGES {
                "page 200 of a cursor walk"
            } else {
                "last page of a cursor walk"
            },
            latencies,
            mean_items: items as f64 / per_shape.max(1) as f64,
        };
        r.print_progress();
        results.push(r);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 95.0), Duration::from_millis(95));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn actor_substrings_come_from_the_middle() {
        assert_eq!(actor_substring("Adele.Vance@contoso.com"), "vance@cont");
        assert_eq!(actor_substring("Bob"), "bob");
    }
}

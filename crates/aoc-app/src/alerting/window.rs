//! The threshold rule's window, in one place: the evaluator and the back-test both ask it where
//! a threshold is reached, so a test of a rule predicts what evaluation raises.

use chrono::{DateTime, Duration, Utc};

/// Over these match times, sorted, where "at least `count` within `window`" is reached, one per
/// `suppress` period: for each, (index of the first match in the window, index of the match
/// that reaches the count).
pub fn crossings(
    times: &[DateTime<Utc>],
    count: u32,
    window: Duration,
    suppress: Duration,
) -> Vec<(usize, usize)> {
    let needed = usize::try_from(count).unwrap_or(usize::MAX).max(1);
    let mut found = Vec::new();
    let mut quiet_until: Option<DateTime<Utc>> = None;
    let mut start = 0;
    for (end, at) in times.iter().enumerate() {
        while times[start] < *at - window {
            start += 1;
        }
        if end + 1 - start >= needed && quiet_until.is_none_or(|q| *at > q) {
            found.push((start, end));
            quiet_until = Some(*at + suppress);
        }
    }
    found
}

/// `existing` with `add` appended where not already there (ignoring case); None when nothing
/// changes, so an event that has every tag is not written again.
pub fn merged_tags<'a>(
    existing: &[String],
    add: impl IntoIterator<Item = &'a String>,
) -> Option<Vec<String>> {
    let mut merged = existing.to_vec();
    for tag in add {
        if !merged.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            merged.push(tag.clone());
        }
    }
    (merged.len() != existing.len()).then_some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minute)
    }

    #[test]
    fn a_burst_raises_once_and_a_spread_never() {
        let window = Duration::minutes(10);
        let burst: Vec<_> = (0..60)
            .map(|i| at(1000) + Duration::seconds(i * 5))
            .collect();
        assert_eq!(crossings(&burst, 50, window, window), [(0, 49)]);
        let spread: Vec<_> = (0..60).map(|i| at(i * 5)).collect();
        assert!(crossings(&spread, 50, window, window).is_empty());
        let two: Vec<_> = (0..50)
            .map(|i| at(0) + Duration::seconds(i))
            .chain((0..50).map(|i| at(600) + Duration::seconds(i)))
            .collect();
        assert_eq!(crossings(&two, 50, window, window).len(), 2);
    }

    #[test]
    fn tags_merge_ignoring_case() {
        let existing = vec!["Privilege".to_string()];
        let add = ["privilege".to_string(), "detection".to_string()];
        assert_eq!(
            merged_tags(&existing, &add),
            Some(vec!["Privilege".to_string(), "detection".to_string()])
        );
        assert_eq!(merged_tags(&existing, &add[..1]), None);
    }
}

//! Dedupe keys. They depend on the record's kind, never on how it arrived, so a record imported
//! from an export and the same record fetched from Microsoft meet in one event. They never
//! depend on the resolver either: a name learned later must not make a known record look new.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::RecordKind;
use super::timestamp::canonical;

pub(crate) fn prefix(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Directory => "dir",
        RecordKind::Unified => "uni",
        RecordKind::Intune => "int",
    }
}

/// `dir:<id>`, `int:<id>` (scope None) or `uni:<OrganizationId>:<Id>`.
pub(crate) fn with_id(kind: RecordKind, scope: Option<&str>, id: &str) -> String {
    let p = prefix(kind);
    match scope {
        Some(scope) => format!("{p}:{scope}:{id}"),
        None => format!("{p}:{id}"),
    }
}

/// For records without an id: `<kind>:h:` + SHA-256 over the timestamp, service, operation and
/// the sorted target keys. Each part is length-prefixed, so no choice of text in one part can
/// imitate a boundary between two.
pub(crate) fn hashed(
    kind: RecordKind,
    timestamp: &DateTime<Utc>,
    service: &str,
    operation: &str,
    target_keys: &mut [&str],
) -> String {
    target_keys.sort_unstable();
    let mut hasher = Sha256::new();
    let ts = canonical(timestamp);
    for part in [ts.as_str(), service, operation]
        .into_iter()
        .chain(target_keys.iter().copied())
    {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{}:h:{}", prefix(kind), hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::normalize::timestamp::parse_timestamp;

    #[test]
    fn hash_ignores_target_order_but_not_boundaries() {
        let ts = parse_timestamp("2024-03-05T14:07:33.1234567Z").unwrap();
        let a = hashed(
            RecordKind::Directory,
            &ts,
            "UserManagement",
            "Add user",
            &mut ["b", "a"],
        );
        let b = hashed(
            RecordKind::Directory,
            &ts,
            "UserManagement",
            "Add user",
            &mut ["a", "b"],
        );
        assert_eq!(a, b);
        assert!(a.starts_with("dir:h:") && a.len() == "dir:h:".len() + 64);
        let shifted = hashed(
            RecordKind::Directory,
            &ts,
            "UserManagementAdd",
            " user",
            &mut ["a", "b"],
        );
        assert_ne!(a, shifted);
        let other_kind = hashed(
            RecordKind::Intune,
            &ts,
            "UserManagement",
            "Add user",
            &mut ["a", "b"],
        );
        assert_ne!(a, other_kind);
    }
}

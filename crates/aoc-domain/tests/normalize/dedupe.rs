use aoc_domain::{NoResolver, Normalizer, RecordKind, Source};
use serde_json::{Value, json};

use crate::support::{all_fixtures, fixture, normalize_with, resolver, reversed_keys};

fn key(kind: RecordKind, raw: Value) -> String {
    normalize_with(kind, raw, &NoResolver).dedupe_key
}

#[test]
fn same_record_twice_or_reordered_gives_the_same_key_and_event() {
    for (file, kind) in all_fixtures() {
        let raw = fixture(&file);
        let first = normalize_with(kind, raw.clone(), &NoResolver);
        let again = normalize_with(kind, raw.clone(), &NoResolver);
        assert_eq!(first, again, "{file}");
        let reordered = normalize_with(kind, reversed_keys(&raw), &NoResolver);
        assert_eq!(reordered.dedupe_key, first.dedupe_key, "{file}");
        assert_eq!(reordered.id, first.id, "{file}");
        assert_eq!(reordered.display_summary, first.display_summary, "{file}");
    }
}

#[test]
fn fetched_and_imported_records_share_a_key() {
    let normalizer = Normalizer::default();
    for (file, kind) in all_fixtures() {
        let raw = fixture(&file);
        let fetched = normalizer
            .normalize(kind, kind.fetched_source(), raw.clone(), &NoResolver)
            .unwrap();
        let imported = normalizer
            .normalize(kind, Source::Import, raw, &NoResolver)
            .unwrap();
        assert_eq!(imported.source, Source::Import);
        assert_eq!(fetched.dedupe_key, imported.dedupe_key, "{file}");
        assert_eq!(fetched.id, imported.id, "{file}");
    }
}

#[test]
fn keys_are_prefixed_by_kind() {
    let cases = [
        (
            "directory/add_member_to_group.json",
            RecordKind::Directory,
            "dir:Directory_",
        ),
        (
            "directory/minimal_no_id.json",
            RecordKind::Directory,
            "dir:h:",
        ),
        (
            "unified/aad_update_user.json",
            RecordKind::Unified,
            "uni:b3f2c7a1-4d5e-4f60-8a91-2c3d4e5f6a7b:4f5a6b7c",
        ),
        (
            "unified/no_id_no_result.json",
            RecordKind::Unified,
            "uni:h:",
        ),
        (
            "intune/wipe_device.json",
            RecordKind::Intune,
            "int:9a8b7c6d",
        ),
        ("intune/user_id_only.json", RecordKind::Intune, "int:h:"),
    ];
    for (file, kind, prefix) in cases {
        let k = key(kind, fixture(file));
        assert!(k.starts_with(prefix), "{file}: {k}");
    }
}

#[test]
fn hashed_keys_ignore_time_notation_and_target_order() {
    let record = |time: &str, targets: Value| {
        json!({"activityDisplayName": "Update policy", "activityDateTime": time, "category": "Policy",
               "targetResources": targets})
    };
    let a = json!({"id": "11111111-2222-4333-8444-555555555555", "displayName": "A"});
    let b = json!({"id": null, "displayName": "B"});
    let base = key(
        RecordKind::Directory,
        record("2024-04-02T10:00:00Z", json!([a, b])),
    );
    for (time, targets) in [
        ("2024-04-02T10:00:00.0000000Z", json!([a, b])),
        ("2024-04-02T10:00:00", json!([b, a])),
        ("2024-04-02T12:00:00+02:00", json!([a, b])),
        ("2024-04-02T10:00:00.0000004Z", json!([a, b])),
    ] {
        assert_eq!(
            key(RecordKind::Directory, record(time, targets.clone())),
            base,
            "{time} {targets}"
        );
    }
    for (time, targets) in [
        ("2024-04-02T10:00:00.000001Z", json!([a, b])),
        ("2024-04-02T10:00:00Z", json!([a])),
        ("2024-04-02T10:00:00Z", json!([a, {"displayName": "C"}])),
    ] {
        assert_ne!(
            key(RecordKind::Directory, record(time, targets.clone())),
            base,
            "{time} {targets}"
        );
    }
}

#[test]
fn hashed_keys_do_not_depend_on_the_resolver() {
    let mut raw = fixture("directory/resolver_ids_only.json");
    raw.as_object_mut().unwrap().remove("id");
    let without = normalize_with(RecordKind::Directory, raw.clone(), &NoResolver);
    let with = normalize_with(RecordKind::Directory, raw, &resolver());
    assert_ne!(without.target_displays, with.target_displays);
    assert_eq!(without.dedupe_key, with.dedupe_key);
    assert!(with.dedupe_key.starts_with("dir:h:"));
}

#[test]
fn the_same_id_under_different_kinds_or_tenants_does_not_collide() {
    let dir = json!({"id": "abc", "activityDisplayName": "X", "activityDateTime": "2024-01-01T00:00:00Z", "category": "C"});
    let int = json!({"id": "abc", "activity": "X", "activityDateTime": "2024-01-01T00:00:00Z", "actor": null, "resources": []});
    let uni = |org: &str| json!({"Id": "abc", "OrganizationId": org, "Operation": "X", "CreationTime": "2024-01-01T00:00:00", "Workload": "W"});
    let keys = [
        key(RecordKind::Directory, dir),
        key(RecordKind::Intune, int),
        key(RecordKind::Unified, uni("t1")),
        key(RecordKind::Unified, uni("t2")),
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

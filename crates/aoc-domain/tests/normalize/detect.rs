use aoc_domain::RecordKind;
use serde_json::json;

use crate::support::{all_fixtures, fixture};

#[test]
fn every_fixture_is_detected_as_its_kind() {
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 15);
    for (file, kind) in fixtures {
        assert_eq!(RecordKind::detect(&fixture(&file)), Some(kind), "{file}");
    }
}

#[test]
fn minimal_shapes_are_detected() {
    let cases = [
        (
            json!({"activityDateTime": "2024-01-01T00:00:00Z", "activityDisplayName": "Add user", "category": "UserManagement"}),
            RecordKind::Directory,
        ),
        (
            json!({"activityDateTime": "2024-01-01T00:00:00Z", "activityDisplayName": "Add user", "initiatedBy": null}),
            RecordKind::Directory,
        ),
        (
            json!({"CreationTime": "2024-01-01T00:00:00", "Operation": "FileAccessed", "Workload": "OneDrive"}),
            RecordKind::Unified,
        ),
        (
            json!({"CreationTime": "2024-01-01T00:00:00", "Operation": "Set-Mailbox", "RecordType": 1}),
            RecordKind::Unified,
        ),
        (
            json!({"activityDateTime": "2024-01-01T00:00:00Z", "activity": "Wipe", "actor": {}, "resources": []}),
            RecordKind::Intune,
        ),
        (
            json!({"activityDateTime": "2024-01-01T00:00:00Z", "activityType": "Wipe", "actor": null, "componentName": "Devices"}),
            RecordKind::Intune,
        ),
    ];
    for (raw, kind) in cases {
        assert_eq!(RecordKind::detect(&raw), Some(kind), "{raw}");
    }
}

#[test]
fn other_shapes_are_not_guessed() {
    let cases = [
        json!({}),
        json!([]),
        json!("activityDateTime"),
        json!(null),
        // A Graph signIn record.
        json!({"id": "x", "createdDateTime": "2024-01-01T00:00:00Z", "userPrincipalName": "a@b", "appDisplayName": "Teams"}),
        json!({"activityDateTime": "2024-01-01T00:00:00Z"}),
        json!({"activityDateTime": "2024-01-01T00:00:00Z", "activityDisplayName": "Add user"}),
        json!({"activityDateTime": "<null>", "activityDisplayName": "Add user", "category": "X"}),
        json!({"activityDateTime": "2024-01-01T00:00:00Z", "activity": "Wipe", "resources": []}),
        json!({"CreationTime": "2024-01-01T00:00:00", "Operation": "FileAccessed"}),
        json!({"CreationTime": "2024-01-01T00:00:00", "Operation": "<null>", "Workload": "Exchange"}),
    ];
    for raw in cases {
        assert_eq!(RecordKind::detect(&raw), None, "{raw}");
    }
}

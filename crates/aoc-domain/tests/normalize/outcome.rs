//! One outcome vocabulary for every source's spelling; the source's word stays as the detail.

use aoc_domain::{NoResolver, Outcome, RecordKind, outcome_filter};
use serde_json::{Value, json};

use crate::support::{fixture, normalize_with};

/// Each source's documented spellings (and the shapes exports write) and what they mean.
const SPELLINGS: &[(RecordKind, &str, &str)] = &[
    // Graph directoryAudit `result` (operationResult).
    (RecordKind::Directory, "success", "success"),
    (RecordKind::Directory, "failure", "failure"),
    (RecordKind::Directory, "timeout", "failure"),
    (RecordKind::Directory, "unknownFutureValue", "unknown"),
    // Intune auditEvent `activityResult`.
    (RecordKind::Intune, "Success", "success"),
    (RecordKind::Intune, "Failure", "failure"),
    (RecordKind::Intune, "failed", "failure"),
    // Management Activity API `ResultStatus`.
    (RecordKind::Unified, "Succeeded", "success"),
    (RecordKind::Unified, "Success", "success"),
    (RecordKind::Unified, "PartiallySucceeded", "partial"),
    (RecordKind::Unified, "Partially Succeeded", "partial"),
    (RecordKind::Unified, "Failed", "failure"),
    (RecordKind::Unified, "Failure", "failure"),
    (RecordKind::Unified, "True", "success"),
    (RecordKind::Unified, "False", "failure"),
    (RecordKind::Unified, "Something new", "unknown"),
];

fn with_result(kind: RecordKind, value: Value) -> Value {
    let (file, key) = match kind {
        RecordKind::Directory => ("directory/add_member_to_group.json", "result"),
        RecordKind::Intune => ("intune/wipe_device.json", "activityResult"),
        RecordKind::Unified => ("unified/exchange_set_mailbox.json", "ResultStatus"),
    };
    let mut raw = fixture(file);
    raw[key] = value;
    raw
}

#[test]
fn every_source_spelling_maps_to_the_vocabulary_and_keeps_its_word() {
    for (kind, spelling, want) in SPELLINGS {
        let event = normalize_with(*kind, with_result(*kind, json!(spelling)), &NoResolver);
        assert_eq!(event.result, *want, "{kind:?} {spelling}");
        assert_eq!(event.result_detail, *spelling, "{kind:?} {spelling}");
        assert_eq!(
            event.raw[match kind {
                RecordKind::Directory => "result",
                RecordKind::Intune => "activityResult",
                RecordKind::Unified => "ResultStatus",
            }],
            json!(spelling),
            "the raw record keeps it too"
        );
    }
}

#[test]
fn booleans_and_absent_results() {
    let cases = [
        (json!(true), "success", "true"),
        (json!(false), "failure", "false"),
        (Value::Null, "unknown", ""),
        (json!(""), "unknown", ""),
        (json!("<null>"), "unknown", ""),
    ];
    for kind in [
        RecordKind::Directory,
        RecordKind::Intune,
        RecordKind::Unified,
    ] {
        for (value, result, detail) in &cases {
            let event = normalize_with(kind, with_result(kind, value.clone()), &NoResolver);
            assert_eq!(event.result, *result, "{kind:?} {value}");
            assert_eq!(event.result_detail, *detail, "{kind:?} {value}");
        }
    }
    // SharePoint file operations carry no ResultStatus at all.
    let event = normalize_with(
        RecordKind::Unified,
        fixture("unified/sharepoint_file_deleted.json"),
        &NoResolver,
    );
    assert_eq!(
        (event.result.as_str(), event.result_detail.as_str()),
        ("unknown", "")
    );
}

#[test]
fn a_failed_sts_logon_is_a_failure_whatever_result_status_says() {
    let mut raw = fixture("unified/aad_update_user.json");
    raw["Operation"] = json!("UserLoginFailed");
    raw["RecordType"] = json!(15);
    raw["ResultStatus"] = json!("Succeeded");
    raw["LogonError"] = json!("InvalidUserNameOrPassword");
    let event = normalize_with(RecordKind::Unified, raw.clone(), &NoResolver);
    assert_eq!(event.result, "failure");
    assert_eq!(event.result_detail, "Succeeded");

    raw["LogonError"] = Value::Null;
    raw["ErrorCode"] = json!("0");
    assert_eq!(
        normalize_with(RecordKind::Unified, raw.clone(), &NoResolver).result,
        "success"
    );
    raw["ErrorCode"] = json!(50126);
    assert_eq!(
        normalize_with(RecordKind::Unified, raw, &NoResolver).result,
        "failure"
    );
}

#[test]
fn summaries_say_the_outcome_in_the_vocabulary() {
    let yaml = "summaries:\n  set-mailbox: \"{actor} {operation} ({result})\"\n";
    let normalizer =
        aoc_domain::Normalizer::new(aoc_domain::Mappings::from_yaml_str(yaml).unwrap());
    let raw = with_result(RecordKind::Unified, json!("False"));
    let event = normalizer
        .normalize(
            RecordKind::Unified,
            aoc_domain::Source::Unified,
            raw,
            &NoResolver,
        )
        .unwrap();
    assert_eq!(
        event.display_summary,
        "meganb@contoso.onmicrosoft.com Set-Mailbox (failure)"
    );
}

#[test]
fn filter_values_are_read_as_a_person_writes_them() {
    for (written, want) in [
        ("failure", "failure"),
        ("FAILURE", "failure"),
        (" Failure ", "failure"),
        ("False", "failure"),
        ("failed", "failure"),
        ("Success", "success"),
        ("true", "success"),
        ("Partial", "partial"),
        ("PartiallySucceeded", "partial"),
        ("UNKNOWN", "unknown"),
        ("bogus", "bogus"),
        ("Bogus", "bogus"),
    ] {
        assert_eq!(outcome_filter(written), want, "{written}");
    }
    assert_eq!(Outcome::parse("bogus"), None);
    assert_eq!(
        Outcome::ALL.map(Outcome::as_str),
        ["success", "failure", "partial", "unknown"]
    );
}

use aoc_domain::{NoResolver, Normalizer, RecordKind};
use serde_json::{Value, json};

use crate::support::{ADELE_ID, Expected, fixture, normalize_with, resolver};

const CASES: &[Expected] = &[
    Expected {
        file: "intune/wipe_device.json",
        id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        timestamp: "2024-03-11T13:14:15.161718Z",
        service: "Intune",
        operation: "Wipe device",
        result: "success",
        result_detail: "Success",
        actor_display: "meganb@contoso.onmicrosoft.com",
        target_displays: &["DESKTOP-BK01"],
        summary: "meganb@contoso.onmicrosoft.com Wipe device DESKTOP-BK01",
    },
    // App actor (UPN null), activity null -> displayName, offset time, a nameless resource.
    Expected {
        file: "intune/app_actor_policy.json",
        id: "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e",
        timestamp: "2024-03-11T23:00:00Z",
        service: "Intune",
        operation: "Patch DeviceConfiguration",
        result: "success",
        result_detail: "Success",
        actor_display: "Contoso Autopilot Automation",
        target_displays: &[
            "Windows – Sicherheitsbaseline",
            "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
        ],
        summary: "Contoso Autopilot Automation Patch DeviceConfiguration Windows – Sicherheitsbaseline, 4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
    },
    // id "<null>" (hash key), only a userId for the actor and no resolver: the id shows.
    Expected {
        file: "intune/user_id_only.json",
        id: "",
        timestamp: "2024-03-13T09:09:09.999999Z",
        service: "Intune",
        operation: "Delete app",
        result: "failure",
        result_detail: "Failure",
        actor_display: ADELE_ID,
        target_displays: &["Zoom – Ärzte Edition"],
        summary: "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716 Delete app Zoom – Ärzte Edition",
    },
];

#[test]
fn fixtures_normalize_as_documented() {
    for case in CASES {
        case.check(RecordKind::Intune, &NoResolver);
    }
}

#[test]
fn actor_and_targets_are_the_records_own() {
    let raw = fixture("intune/wipe_device.json");
    let event = normalize_with(RecordKind::Intune, raw.clone(), &NoResolver);
    assert_eq!(event.actor, raw["actor"]);
    assert_eq!(Value::Array(event.targets), raw["resources"]);
    assert_eq!(event.dedupe_key, "int:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
}

#[test]
fn resolver_names_an_actor_known_only_by_user_id() {
    let raw = fixture("intune/user_id_only.json");
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Intune, &raw),
        [ADELE_ID]
    );
    let event = normalize_with(RecordKind::Intune, raw, &resolver());
    assert_eq!(event.actor_display, "Adele Vance");
    assert!(event.dedupe_key.starts_with("int:h:"));

    for named in ["intune/wipe_device.json", "intune/app_actor_policy.json"] {
        assert!(
            Normalizer::ids_to_resolve(RecordKind::Intune, &fixture(named)).is_empty(),
            "{named}"
        );
    }
}

#[test]
fn the_person_beats_the_portal_they_used() {
    let mut raw = fixture("intune/wipe_device.json");
    assert_eq!(
        normalize_with(RecordKind::Intune, raw.clone(), &NoResolver).actor_display,
        "meganb@contoso.onmicrosoft.com"
    );
    // An IT pro without a UPN: their id is looked up, not replaced by the portal's name.
    raw["actor"]["userPrincipalName"] = json!("<null>");
    raw["actor"]["userId"] = json!(ADELE_ID);
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Intune, &raw),
        [ADELE_ID]
    );
    assert_eq!(
        normalize_with(RecordKind::Intune, raw.clone(), &resolver()).actor_display,
        "Adele Vance"
    );
    assert_eq!(
        normalize_with(RecordKind::Intune, raw.clone(), &NoResolver).actor_display,
        ADELE_ID
    );
    // No person at all: the application acted.
    raw["actor"]["userId"] = Value::Null;
    assert_eq!(
        normalize_with(RecordKind::Intune, raw.clone(), &NoResolver).actor_display,
        "Microsoft Intune portal extension"
    );
    raw["actor"]["applicationDisplayName"] = Value::Null;
    raw["actor"]["servicePrincipalName"] = json!("Contoso Autopilot");
    assert_eq!(
        normalize_with(RecordKind::Intune, raw.clone(), &NoResolver).actor_display,
        "Contoso Autopilot"
    );
    raw["actor"] = Value::Null;
    let event = normalize_with(RecordKind::Intune, raw, &NoResolver);
    assert_eq!(event.actor_display, aoc_domain::UNKNOWN_ACTOR);
    assert!(event.display_summary.starts_with("Someone "));
    assert_eq!(event.actor, Value::Null);
}

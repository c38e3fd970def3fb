use aoc_domain::{NoResolver, Normalizer, RecordKind, UNKNOWN_ACTOR};
use serde_json::{Value, json};

use crate::support::{ADELE_ID, Expected, LEE_ID, fixture, normalize_with, resolver};

const CASES: &[Expected] = &[
    Expected {
        file: "directory/add_member_to_group.json",
        id: "Directory_4f1c2b9e-0d8a-4c7b-9e6f-5a4b3c2d1e0f_WRV3Y_25867045",
        timestamp: "2024-03-05T14:07:33.581128Z",
        service: "GroupManagement",
        operation: "Add member to group",
        result: "success",
        result_detail: "success",
        actor_display: "Megan Bowen",
        target_displays: &["bob.kelly@contoso.com", "Sales Team"],
        summary: "Megan Bowen added bob.kelly@contoso.com to group Sales Team",
    },
    // initiatedBy.user is null: the app's displayName names the actor.
    Expected {
        file: "directory/app_update_user.json",
        id: "Directory_9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a_7PN5Q_112233",
        timestamp: "2024-03-06T02:15:00Z",
        service: "UserManagement",
        operation: "Update user",
        result: "success",
        result_detail: "success",
        actor_display: "Microsoft Entra Connect Cloud Sync",
        target_displays: &["Bob Kelly"],
        summary: "Microsoft Entra Connect Cloud Sync updated user Bob Kelly",
    },
    // displayName null, UPN present, for both actor and target.
    Expected {
        file: "directory/reset_password_upn_only.json",
        id: "Directory_1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e_ABCDE_900",
        timestamp: "2024-03-07T09:00:01.100000Z",
        service: "UserManagement",
        operation: "Reset user password",
        result: "failure",
        result_detail: "failure",
        actor_display: "meganb@contoso.onmicrosoft.com",
        target_displays: &["bob.kelly@contoso.com"],
        summary: "meganb@contoso.onmicrosoft.com reset the password of bob.kelly@contoso.com",
    },
    Expected {
        file: "directory/non_ascii_add_owner.json",
        id: "Directory_7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918_ZQ81L_4410",
        timestamp: "2024-04-01T08:30:45Z",
        service: "GroupManagement",
        operation: "Add owner to group",
        result: "success",
        result_detail: "success",
        actor_display: "Zoë Ångström",
        target_displays: &["山田 太郎", "Ventes – Île-de-France 🇫🇷"],
        summary: "Zoë Ångström made 山田 太郎 an owner of group Ventes – Île-de-France 🇫🇷",
    },
    // No id, result, initiatedBy or targets.
    Expected {
        file: "directory/minimal_no_id.json",
        id: "",
        timestamp: "2024-04-02T10:00:00Z",
        service: "DirectoryManagement",
        operation: "Set company information",
        result: "unknown",
        result_detail: "",
        actor_display: "unknown actor",
        target_displays: &[],
        summary: "Someone changed company information",
    },
    // Without a resolver: the actor has only an id, so the id shows; targets fall back to ids.
    Expected {
        file: "directory/resolver_ids_only.json",
        id: "Directory_2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a_K9J8H_77",
        timestamp: "2024-04-03T16:20:10.123Z",
        service: "RoleManagement",
        operation: "Add member to role",
        result: "success",
        result_detail: "success",
        actor_display: ADELE_ID,
        target_displays: &[LEE_ID, "Exchange Administrator", "Policy_not-a-guid"],
        summary: "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716 added 91a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8 to role Exchange Administrator",
    },
    // Opaque id with spaces, 7-digit offset-less time, `<null>` everywhere, user "<null>".
    Expected {
        file: "directory/messy.json",
        id: "Directory_ 5c1e0a22 7d0e_S0M3 ID 42",
        timestamp: "2024-03-05T14:07:33.123456Z",
        service: "Policy",
        operation: "Update policy",
        result: "unknown",
        result_detail: "",
        actor_display: "Contoso-Provisioning",
        target_displays: &["Default Token Lifetime"],
        summary: "Contoso-Provisioning updated policy Default Token Lifetime",
    },
    Expected {
        file: "directory/large_ca_policy.json",
        id: "Directory_ab12cd34-ef56-4a78-9b01-c2d3e4f5a6b7_BIGRC_1",
        timestamp: "2024-05-10T11:12:13.456789Z",
        service: "Policy",
        operation: "Update conditional access policy",
        result: "success",
        result_detail: "success",
        actor_display: "Megan Bowen",
        target_displays: &["Require MFA for all users"],
        summary: "Megan Bowen updated conditional access policy Require MFA for all users",
    },
];

#[test]
fn fixtures_normalize_as_documented() {
    for case in CASES {
        case.check(RecordKind::Directory, &NoResolver);
    }
}

#[test]
fn actor_is_initiated_by_and_targets_are_target_resources() {
    let raw = fixture("directory/add_member_to_group.json");
    let event = normalize_with(RecordKind::Directory, raw.clone(), &NoResolver);
    assert_eq!(event.actor, raw["initiatedBy"]);
    assert_eq!(Value::Array(event.targets), raw["targetResources"]);
    assert_eq!(
        event.dedupe_key,
        format!("dir:{}", raw["id"].as_str().unwrap())
    );

    let messy = normalize_with(
        RecordKind::Directory,
        fixture("directory/messy.json"),
        &NoResolver,
    );
    assert_eq!(
        messy.targets.len(),
        2,
        "the all-<null> target stays a target, without a display"
    );
}

#[test]
fn large_record_keeps_everything() {
    let raw = fixture("directory/large_ca_policy.json");
    let size = serde_json::to_string(&raw).unwrap().len();
    assert!(size > 55_000, "fixture is {size} bytes");
    let event = normalize_with(RecordKind::Directory, raw, &NoResolver);
    assert_eq!(event.targets.len(), 1);
    assert!(
        event.targets[0]["modifiedProperties"][0]["newValue"]
            .as_str()
            .unwrap()
            .len()
            > 25_000
    );
}

#[test]
fn resolver_names_actor_and_targets_without_names() {
    let event = normalize_with(
        RecordKind::Directory,
        fixture("directory/resolver_ids_only.json"),
        &resolver(),
    );
    assert_eq!(event.actor_display, "Adele Vance");
    assert_eq!(
        event.target_displays,
        ["Lee Gu", "Exchange Administrator", "Policy_not-a-guid"]
    );
    assert_eq!(
        event.display_summary,
        "Adele Vance added Lee Gu to role Exchange Administrator"
    );
}

#[test]
fn names_in_the_record_win_over_the_resolver_but_resolver_beats_upn() {
    let raw = json!({
        "id": "x", "category": "UserManagement", "activityDisplayName": "Update user",
        "activityDateTime": "2024-01-01T00:00:00Z",
        "initiatedBy": {"user": {"id": ADELE_ID, "displayName": null, "userPrincipalName": "adele@contoso.com"}},
        "targetResources": [
            {"id": LEE_ID, "displayName": "Lee (from record)", "userPrincipalName": null},
            {"id": LEE_ID, "displayName": null, "userPrincipalName": "lee@contoso.com"}
        ]
    });
    let event = normalize_with(RecordKind::Directory, raw.clone(), &resolver());
    assert_eq!(event.actor_display, "Adele Vance");
    assert_eq!(
        event.target_displays,
        ["Lee (from record)", "lee@contoso.com"]
    );
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Directory, &raw),
        [ADELE_ID]
    );
}

#[test]
fn ids_to_resolve_lists_nameless_guids_once() {
    let raw = fixture("directory/resolver_ids_only.json");
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Directory, &raw),
        [ADELE_ID, LEE_ID]
    );

    let mut twice = raw.clone();
    let extra = twice["targetResources"][0].clone();
    twice["targetResources"].as_array_mut().unwrap().push(extra);
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Directory, &twice),
        [ADELE_ID, LEE_ID]
    );

    for named in [
        "add_member_to_group.json",
        "app_update_user.json",
        "messy.json",
    ] {
        let raw = fixture(&format!("directory/{named}"));
        assert!(
            Normalizer::ids_to_resolve(RecordKind::Directory, &raw).is_empty(),
            "{named}"
        );
    }
}

/// An id the resolver does not know (an object deleted since).
const GONE: &str = "0e4d3c2b-1a09-4f8e-8d7c-6b5a49382716";

#[test]
fn actor_fallback_chain() {
    let base = |initiated_by: Value| {
        json!({"activityDisplayName": "Update user", "activityDateTime": "2024-01-01T00:00:00Z",
               "category": "UserManagement", "initiatedBy": initiated_by})
    };
    let cases = [
        (
            json!({"user": {"displayName": "Name", "userPrincipalName": "upn@x"}}),
            "Name",
        ),
        (
            json!({"user": {"id": ADELE_ID, "userPrincipalName": "upn@x"}}),
            "Adele Vance",
        ),
        (
            json!({"user": {"id": LEE_ID.replace('9', "0"), "userPrincipalName": "upn@x"}}),
            "upn@x",
        ),
        (json!({"user": null, "app": {"displayName": "App"}}), "App"),
        (
            json!({"user": null, "app": {"displayName": null, "servicePrincipalName": "spn"}}),
            "spn",
        ),
        // Only a service principal id: looked up, else shown as the id.
        (
            json!({"user": null, "app": {"appId": null, "displayName": null, "servicePrincipalId": LEE_ID}}),
            "Lee Gu",
        ),
        (
            json!({"user": null, "app": {"appId": "app-id", "servicePrincipalId": GONE}}),
            GONE,
        ),
        (json!({"user": null, "app": {"appId": "app-id"}}), "app-id"),
        // A user known by id alone whom nobody can name (deleted since).
        (json!({"user": {"id": GONE}, "app": null}), GONE),
        (
            json!({"user": {"displayName": "<null>"}, "app": {"displayName": ""}}),
            UNKNOWN_ACTOR,
        ),
        (json!({"user": null, "app": null}), UNKNOWN_ACTOR),
        (Value::Null, UNKNOWN_ACTOR),
        (json!("<null>"), UNKNOWN_ACTOR),
    ];
    for (initiated_by, want) in cases {
        let event = normalize_with(
            RecordKind::Directory,
            base(initiated_by.clone()),
            &resolver(),
        );
        assert_eq!(event.actor_display, want, "{initiated_by}");
        if want == UNKNOWN_ACTOR {
            assert!(
                event.display_summary.starts_with("Someone "),
                "{initiated_by}"
            );
        }
    }
}

#[test]
fn an_app_known_only_by_its_service_principal_id_is_looked_up() {
    let raw = json!({"activityDisplayName": "Update user", "activityDateTime": "2024-01-01T00:00:00Z",
        "initiatedBy": {"user": null, "app": {"appId": null, "displayName": null,
            "servicePrincipalId": LEE_ID, "servicePrincipalName": null}}});
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Directory, &raw),
        [LEE_ID]
    );
    // A named app, or a named or UPN-bearing user beside it, needs no lookup of the app.
    let mut named = raw.clone();
    named["initiatedBy"]["app"]["servicePrincipalName"] = json!("Backup Connector");
    assert!(Normalizer::ids_to_resolve(RecordKind::Directory, &named).is_empty());
}

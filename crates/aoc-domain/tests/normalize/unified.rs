use aoc_domain::{NoResolver, Normalizer, RecordKind};
use serde_json::{Value, json};

use crate::support::{Expected, fixture, normalize_with};

const TENANT: &str = "b3f2c7a1-4d5e-4f60-8a91-2c3d4e5f6a7b";

const CASES: &[Expected] = &[
    // Exchange admin: Parameters as the documented array; Identity comes first.
    Expected {
        file: "unified/exchange_set_mailbox.json",
        id: "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e",
        timestamp: "2024-03-05T14:07:33Z",
        service: "Exchange",
        operation: "Set-Mailbox",
        result: "success",
        result_detail: "True",
        actor_display: "meganb@contoso.onmicrosoft.com",
        target_displays: &[
            "bob.kelly@contoso.com",
            "EURPR05A003.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/Bob Kelly",
        ],
        summary: "meganb@contoso.onmicrosoft.com changed mailbox bob.kelly@contoso.com",
    },
    // Parameters as a string holding JSON; 7-digit time without offset.
    Expected {
        file: "unified/exchange_params_json_string.json",
        id: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        timestamp: "2024-03-05T15:00:00.123456Z",
        service: "Exchange",
        operation: "Add-MailboxPermission",
        result: "success",
        result_detail: "True",
        actor_display: "meganb@contoso.onmicrosoft.com",
        target_displays: &["finance@contoso.com", "Shared Finance"],
        summary: "meganb@contoso.onmicrosoft.com granted mailbox permissions on finance@contoso.com",
    },
    // Parameters as the cmdlet line; ObjectId, UserKey and ClientIP are "<null>".
    Expected {
        file: "unified/exchange_params_cmdlet_text.json",
        id: "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f60",
        timestamp: "2024-03-05T15:30:00Z",
        service: "Exchange",
        operation: "New-InboxRule",
        result: "success",
        result_detail: "True",
        actor_display: "bob.kelly@contoso.com",
        target_displays: &["Bob Kelly"],
        summary: "bob.kelly@contoso.com created an inbox rule on Bob Kelly",
    },
    // SharePoint: no ResultStatus, ClientIP with a port, non-ASCII file name.
    Expected {
        file: "unified/sharepoint_file_deleted.json",
        id: "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b",
        timestamp: "2024-03-08T07:45:12Z",
        service: "SharePoint",
        operation: "FileDeleted",
        result: "unknown",
        result_detail: "",
        actor_display: "bob.kelly@contoso.com",
        target_displays: &[
            "https://contoso.sharepoint.com/sites/Finance/Shared Documents/Budget 2024 – Entwurf.xlsx",
        ],
        summary: "bob.kelly@contoso.com deleted https://contoso.sharepoint.com/sites/Finance/Shared Documents/Budget 2024 – Entwurf.xlsx",
    },
    Expected {
        file: "unified/aad_update_user.json",
        id: "4f5a6b7c-8d9e-4f0a-9b1c-2d3e4f5a6b7c",
        timestamp: "2024-03-09T12:00:00Z",
        service: "AzureActiveDirectory",
        operation: "Update user.",
        result: "success",
        result_detail: "Success",
        actor_display: "meganb@contoso.onmicrosoft.com",
        target_displays: &["bob.kelly@contoso.com"],
        summary: "meganb@contoso.onmicrosoft.com Update user. bob.kelly@contoso.com",
    },
    Expected {
        file: "unified/no_id_no_result.json",
        id: "",
        timestamp: "2024-03-10T18:05:59.9Z",
        service: "SharePoint",
        operation: "SiteCollectionAdminAdded",
        result: "unknown",
        result_detail: "",
        actor_display: "admin@contoso.onmicrosoft.com",
        target_displays: &["https://contoso.sharepoint.com/sites/Legal"],
        summary: "admin@contoso.onmicrosoft.com added a site collection admin to https://contoso.sharepoint.com/sites/Legal",
    },
];

#[test]
fn fixtures_normalize_as_documented() {
    for case in CASES {
        case.check(RecordKind::Unified, &NoResolver);
    }
}

#[test]
fn actor_is_a_small_object_with_normalized_addresses() {
    let cases = [
        (
            "unified/exchange_set_mailbox.json",
            json!({"UserId": "meganb@contoso.onmicrosoft.com",
                   "UserKey": "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
                   "UserType": 2, "ClientIP": "2603:10a6:208:ab::14"}),
        ),
        (
            "unified/exchange_params_cmdlet_text.json",
            json!({"UserId": "bob.kelly@contoso.com", "UserType": 0}),
        ),
        (
            "unified/sharepoint_file_deleted.json",
            json!({"UserId": "bob.kelly@contoso.com", "UserKey": "i:0h.f|membership|10032001a2b3c4d5@live.com",
                   "UserType": 0, "ClientIP": "203.0.113.50"}),
        ),
        (
            "unified/aad_update_user.json",
            json!({"UserId": "meganb@contoso.onmicrosoft.com", "UserKey": "10032001E5F6A7B8@contoso.onmicrosoft.com",
                   "UserType": 0, "ClientIP": "192.0.2.10", "ActorIpAddress": "192.0.2.10"}),
        ),
        (
            "unified/no_id_no_result.json",
            json!({"UserId": "admin@contoso.onmicrosoft.com", "UserType": 0, "ClientIP": "2001:db8::1"}),
        ),
    ];
    for (file, want) in cases {
        let event = normalize_with(RecordKind::Unified, fixture(file), &NoResolver);
        assert_eq!(event.actor, want, "{file}");
    }
}

#[test]
fn targets_name_their_field() {
    let event = normalize_with(
        RecordKind::Unified,
        fixture("unified/exchange_set_mailbox.json"),
        &NoResolver,
    );
    assert_eq!(
        event.targets[0],
        json!({"field": "Identity", "id": "bob.kelly@contoso.com"})
    );
    assert_eq!(event.targets[1]["field"], "ObjectId");
    assert_eq!(
        event.dedupe_key,
        format!("uni:{TENANT}:0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e")
    );
}

#[test]
fn identity_equal_to_object_id_is_one_target_and_non_exchange_parameters_are_ignored() {
    let mut raw = fixture("unified/exchange_set_mailbox.json");
    raw["ObjectId"] = json!("bob.kelly@contoso.com");
    let event = normalize_with(RecordKind::Unified, raw.clone(), &NoResolver);
    assert_eq!(event.target_displays, ["bob.kelly@contoso.com"]);

    raw["Workload"] = json!("MicrosoftTeams");
    raw["ObjectId"] = json!("Team A");
    let event = normalize_with(RecordKind::Unified, raw, &NoResolver);
    assert_eq!(event.target_displays, ["Team A"]);
}

#[test]
fn parameters_in_any_shape_give_the_same_identity() {
    let shapes = [
        json!([{"Name": "Identity", "Value": "Room – Zürich 1"}]),
        json!("[{\"Name\":\"Identity\",\"Value\":\"Room – Zürich 1\"}]"),
        json!("{\"Identity\":\"wrong\",\"Identity\":\"Room – Zürich 1\"}"),
        json!("-Identity \"Room – Zürich 1\" -ResourceCapacity 12"),
        json!("-Identity:'Room – Zürich 1'"),
    ];
    for parameters in shapes {
        let mut raw = fixture("unified/exchange_set_mailbox.json");
        raw["Parameters"] = parameters.clone();
        raw["ObjectId"] = Value::Null;
        let event = normalize_with(RecordKind::Unified, raw, &NoResolver);
        assert_eq!(event.target_displays, ["Room – Zürich 1"], "{parameters}");
    }
}

#[test]
fn non_string_result_and_no_resolution_needed() {
    let mut raw = fixture("unified/sharepoint_file_deleted.json");
    raw["ResultStatus"] = json!(true);
    let event = normalize_with(RecordKind::Unified, raw.clone(), &NoResolver);
    assert_eq!(event.result, "success");
    assert_eq!(event.result_detail, "true");
    assert!(Normalizer::ids_to_resolve(RecordKind::Unified, &raw).is_empty());
}

#[test]
fn missing_organization_still_keys_by_id() {
    let mut raw = fixture("unified/sharepoint_file_deleted.json");
    raw.as_object_mut().unwrap().remove("OrganizationId");
    let event = normalize_with(RecordKind::Unified, raw, &NoResolver);
    assert_eq!(
        event.dedupe_key,
        "uni::3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b"
    );
}

use aoc_domain::normalize::{PropertyChange, modified_properties};
use serde_json::{Value, json};

use crate::support::fixture;

fn change(name: &str, old: Value, new: Value) -> PropertyChange {
    PropertyChange {
        name: name.into(),
        old,
        new,
    }
}

#[test]
fn directory_values_are_decoded_from_json_strings() {
    let changes = modified_properties(&fixture("directory/app_update_user.json"));
    assert_eq!(
        changes,
        [
            change(
                "JobTitle",
                json!(["Account Executive"]),
                json!(["Senior Account Executive"])
            ),
            change(
                "StrongAuthenticationMethod",
                json!([{"MethodType": 6, "Default": true}]),
                json!([{"MethodType": 6, "Default": true}, {"MethodType": 7, "Default": false}])
            ),
            change(
                "Included Updated Properties",
                Value::Null,
                json!("JobTitle, StrongAuthenticationMethod")
            ),
            change("TargetId.UserType", Value::Null, json!("Member")),
        ]
    );
    let group = modified_properties(&fixture("directory/add_member_to_group.json"));
    assert_eq!(
        group[1],
        change("Group.DisplayName", Value::Null, json!("Sales Team"))
    );
    let non_ascii = modified_properties(&fixture("directory/non_ascii_add_owner.json"));
    assert_eq!(
        non_ascii,
        [change(
            "Group.DisplayName",
            Value::Null,
            json!("Ventes – Île-de-France 🇫🇷")
        )]
    );
}

#[test]
fn messy_values_fall_back_to_text_and_repeated_keys_keep_the_last() {
    let changes = modified_properties(&fixture("directory/messy.json"));
    assert_eq!(
        changes,
        [
            change(
                "PolicyDetail",
                json!({"TokenLifetimePolicy": {"Version": 2}}),
                json!("not json at all")
            ),
            change(
                "Included Updated Properties",
                Value::Null,
                json!("PolicyDetail")
            ),
        ]
    );
}

#[test]
fn large_policy_decodes_to_objects() {
    let changes = modified_properties(&fixture("directory/large_ca_policy.json"));
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old["state"], "enabledForReportingButNotEnforced");
    assert_eq!(changes[0].new["state"], "enabled");
    assert_eq!(
        changes[0].new["conditions"]["users"]["excludeUsers"]
            .as_array()
            .unwrap()
            .len(),
        360
    );
}

#[test]
fn intune_values_stay_text() {
    assert_eq!(
        modified_properties(&fixture("intune/wipe_device.json")),
        [
            change("KeepEnrollmentData", Value::Null, json!("False")),
            change("KeepUserData", Value::Null, json!("True")),
        ]
    );
    assert_eq!(
        modified_properties(&fixture("intune/app_actor_policy.json")),
        [change("PasswordMinimumLength", json!("8"), json!("14"))]
    );
}

#[test]
fn unified_modified_properties() {
    assert_eq!(
        modified_properties(&fixture("unified/aad_update_user.json")),
        [
            change("Department", json!(["Sales"]), json!(["Vertrieb – Süd"])),
            change(
                "Included Updated Properties",
                json!(""),
                json!("Department")
            ),
        ]
    );
    assert_eq!(
        modified_properties(&fixture("unified/exchange_params_json_string.json")),
        [change("AccessRights", json!(""), json!("FullAccess"))]
    );
    assert!(modified_properties(&fixture("unified/sharepoint_file_deleted.json")).is_empty());
}

#[test]
fn serializes_for_the_ui() {
    let changes = modified_properties(&fixture("directory/add_member_to_group.json"));
    let json = serde_json::to_value(&changes[1]).unwrap();
    assert_eq!(
        json,
        json!({"name": "Group.DisplayName", "old": null, "new": "Sales Team"})
    );
}

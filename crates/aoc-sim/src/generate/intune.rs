//! Intune `auditEvent` records as `GET /v1.0/deviceManagement/auditEvents` returns them.
//!
//! Unlike Entra, Intune writes `oldValue`/`newValue` as plain strings ("False", "True"), and the
//! actor is an `auditActor` with `auditActorType` "ItPro" (a person) or "Application".

use serde_json::{Value, json};

use super::common::{client_ip, obj};
use super::plant::Plant;
use crate::rng::Rng;
use crate::tenant::{Tenant, User, planted_actor};
use crate::time::graph_time;
use crate::timeline::Slot;

const INTUNE_PORTAL_APP_ID: &str = "5926fc8e-304e-4f59-8bed-58ca97cc39a4";

/// Builds the record for one slot; `plant` makes it a detection positive or near miss.
pub(crate) fn record(tenant: &Tenant, slot: &Slot, plant: Option<&Plant>) -> Value {
    let mut r = Rng::new(slot.hash);
    let id = r.uuid();
    let correlation = r.uuid();
    let choice = r.below(10);
    let (activity, operation, component, category, resource) = match (plant, choice) {
        (Some(p), _) => device_action(tenant, &mut r, Some(p)),
        (None, 0..=4) => policy_change(tenant, &mut r),
        (None, _) => device_action(tenant, &mut r, None),
    };
    let actor = match plant {
        Some(_) => planted_it_pro(tenant, &mut r),
        None => actor(tenant, &mut r),
    };
    let result = if plant.is_none() && r.chance(3) {
        "Failure"
    } else {
        "Success"
    };
    obj! {
        "id" => id,
        "displayName" => &activity,
        "componentName" => component,
        "actor" => actor,
        "activity" => &activity,
        "activityDateTime" => graph_time(slot.time),
        "activityType" => activity,
        "activityOperationType" => operation,
        "activityResult" => result,
        "correlationId" => correlation,
        "resources" => vec![resource],
        "category" => category,
    }
}

type Built = (String, &'static str, &'static str, &'static str, Value);

fn policy_change(tenant: &Tenant, r: &mut Rng) -> Built {
    let Some(policy) = r.pick(&tenant.intune_policies) else {
        return empty();
    };
    let (verb, operation) = *r
        .pick(&[
            ("Create", "Create"),
            ("Patch", "Patch"),
            ("Patch", "Patch"),
            ("Delete", "Delete"),
            ("Assign", "Action"),
        ])
        .unwrap_or(&("Patch", "Patch"));
    let props = match (verb, policy.entity) {
        ("Patch", "DeviceCompliancePolicy") => vec![
            prop("PasswordRequired", "False", "True"),
            prop("OsMinimumVersion", "10.0.19045", "10.0.22631"),
        ],
        ("Patch", "MobileApp") => vec![prop("DisplayVersion", "16.0.17628", "16.0.17726")],
        ("Patch", _) => vec![
            prop("DefenderRequireRealTimeMonitoring", "False", "True"),
            prop("Description", "", "Geändert für Pilotgruppe – Zürich"),
        ],
        ("Create", _) => vec![prop("DisplayName", "", policy.display_name)],
        ("Assign", _) => {
            let group = r
                .pick(&tenant.groups)
                .map(|g| g.id.clone())
                .unwrap_or_default();
            vec![
                prop("Target.GroupId", "", &group),
                prop("Intent", "", "Apply"),
            ]
        }
        _ => vec![],
    };
    let activity = format!("{verb} {}", policy.entity);
    let category = match policy.component {
        "DeviceCompliance" => "Compliance",
        "MobileApps" => "Application",
        _ => "DeviceConfiguration",
    };
    (
        activity,
        operation,
        policy.component,
        category,
        json!({
            "displayName": policy.display_name,
            "modifiedProperties": props,
            "type": policy.odata_type,
            "auditResourceType": policy.odata_type,
            "resourceId": policy.id,
        }),
    )
}

fn device_action(tenant: &Tenant, r: &mut Rng, plant: Option<&Plant>) -> Built {
    let Some(device) = r.pick(&tenant.devices) else {
        return empty();
    };
    let choice = r.below(6);
    // Wipes and retires are planted only; ordinary records lock or locate a device instead.
    let choice = match plant {
        Some(p) if p.positive => p.variant % 2,
        Some(p) if p.variant.is_multiple_of(2) => 2,
        Some(_) => 4,
        None if choice == 0 => 6,
        None if choice == 1 => 7,
        None => choice,
    };
    let (activity, operation, props) = match choice {
        0 => (
            "wipe ManagedDevice",
            "Action",
            vec![prop("KeepEnrollmentData", "", "False")],
        ),
        1 => ("retire ManagedDevice", "Action", vec![]),
        6 => ("remoteLock ManagedDevice", "Action", vec![]),
        7 => ("locateDevice ManagedDevice", "Action", vec![]),
        2 => ("syncDevice ManagedDevice", "Action", vec![]),
        3 => (
            "Patch ManagedDevice",
            "Patch",
            vec![prop("ManagedDeviceOwnerType", "Personal", "Company")],
        ),
        4 => ("rebootNow ManagedDevice", "Action", vec![]),
        _ => ("Delete ManagedDevice", "Delete", vec![]),
    };
    let owner = tenant
        .users
        .get(device.owner)
        .map(|u| u.display_name.as_str())
        .unwrap_or("");
    let mut props = props;
    props.push(prop("OperatingSystem", device.os, device.os));
    props.push(prop("UserDisplayName", owner, owner));
    (
        activity.to_string(),
        operation,
        "Devices",
        "Device",
        json!({
            "displayName": device.name,
            "modifiedProperties": props,
            "type": "ManagedDevice",
            "auditResourceType": "ManagedDevice",
            "resourceId": device.id,
        }),
    )
}

fn empty() -> Built {
    (String::new(), "Patch", "Other", "Other", Value::Null)
}

fn prop(name: &str, old: &str, new: &str) -> Value {
    obj! { "displayName" => name, "oldValue" => old, "newValue" => new }
}

fn planted_it_pro(tenant: &Tenant, r: &mut Rng) -> Value {
    it_pro(planted_actor(tenant, r), r)
}

fn actor(tenant: &Tenant, r: &mut Rng) -> Value {
    if r.chance(15) {
        let app = r.pick(&tenant.apps);
        return json!({
            "type": "Application",
            "auditActorType": "Application",
            "userPermissions": [],
            "applicationId": app.map(|a| a.app_id.clone()),
            "applicationDisplayName": app.map(|a| a.display_name),
            "userPrincipalName": null,
            "servicePrincipalName": app.map(|a| a.display_name),
            "ipAddress": null,
            "userId": null,
        });
    }
    let admins = &tenant.users[..(tenant.users.len() / 3).max(1)];
    let user = r.pick(admins);
    it_pro(user, r)
}

fn it_pro(user: Option<&User>, r: &mut Rng) -> Value {
    json!({
        "type": "ItPro",
        "auditActorType": "ItPro",
        "userPermissions": ["*"],
        "applicationId": INTUNE_PORTAL_APP_ID,
        "applicationDisplayName": "Microsoft Intune portal extension",
        "userPrincipalName": user.map(|u| u.upn.clone()),
        "servicePrincipalName": null,
        "ipAddress": if r.chance(50) { Value::String(client_ip(r)) } else { Value::Null },
        "userId": user.map(|u| u.id.clone()),
    })
}

pub(crate) fn record_id(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

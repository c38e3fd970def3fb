//! Office 365 Management Activity API common schema (and the Exchange admin, SharePoint and
//! AzureActiveDirectory schemas built on it).

use serde_json::{Map, Value};

use super::exchange::parameter;
use super::fields::{as_text, has, scalar_text, text};
use super::ip::normalize_client_ip;
use super::{Extracted, NormalizeError, RecordKind, dedupe, required_timestamp};

/// The user fields copied into the event's actor object.
const ACTOR_FIELDS: [&str; 3] = ["UserId", "UserKey", "UserType"];
/// Address fields, copied in normalized form.
const ACTOR_ADDRESS_FIELDS: [&str; 2] = ["ClientIP", "ActorIpAddress"];

pub(crate) fn extract(raw: &Value) -> Result<Extracted, NormalizeError> {
    let timestamp = required_timestamp(raw, "CreationTime")?;
    let operation = text(raw, "Operation").ok_or(NormalizeError::Field("Operation"))?;
    let service = text(raw, "Workload").unwrap_or_default();

    let mut target_displays: Vec<String> = Vec::with_capacity(2);
    let mut targets = Vec::with_capacity(2);
    // The Identity an admin typed reads better than Exchange's ObjectId (a directory path), so
    // it comes first and `{target}` in a summary is the name the admin used.
    if service.eq_ignore_ascii_case("Exchange")
        && let Some(identity) = raw.get("Parameters").and_then(|p| parameter(p, "Identity"))
    {
        targets.push(target("Identity", &identity));
        target_displays.push(identity);
    }
    if let Some(object_id) = text(raw, "ObjectId")
        && !target_displays.iter().any(|d| d == object_id)
    {
        targets.push(target("ObjectId", object_id));
        target_displays.push(object_id.to_owned());
    }

    let own_id = text(raw, "Id");
    let dedupe_key = match own_id {
        Some(id) => dedupe::with_id(
            RecordKind::Unified,
            Some(text(raw, "OrganizationId").unwrap_or_default()),
            id,
        ),
        None => {
            let mut keys: Vec<&str> = target_displays.iter().map(String::as_str).collect();
            dedupe::hashed(
                RecordKind::Unified,
                &timestamp,
                service,
                operation,
                &mut keys,
            )
        }
    };

    Ok(Extracted {
        own_id: own_id.map(str::to_owned),
        dedupe_key,
        timestamp,
        service: service.to_owned(),
        operation: operation.to_owned(),
        result: scalar_text(raw, "ResultStatus").unwrap_or_default(),
        actor_display: text(raw, "UserId").unwrap_or_default().to_owned(),
        actor: actor(raw),
        targets,
        target_displays,
    })
}

fn target(field: &str, id: &str) -> Value {
    let mut map = Map::with_capacity(2);
    map.insert("field".into(), Value::String(field.to_owned()));
    map.insert("id".into(), Value::String(id.to_owned()));
    Value::Object(map)
}

/// `{UserId, UserKey, UserType, ClientIP, ActorIpAddress}`, each only when the record has it.
fn actor(raw: &Value) -> Value {
    let mut map = Map::with_capacity(ACTOR_FIELDS.len() + ACTOR_ADDRESS_FIELDS.len());
    for key in ACTOR_FIELDS {
        if has(raw, key)
            && let Some(v) = raw.get(key)
        {
            map.insert(key.to_owned(), v.clone());
        }
    }
    for key in ACTOR_ADDRESS_FIELDS {
        if let Some(ip) = raw.get(key).and_then(as_text) {
            map.insert(key.to_owned(), Value::String(normalize_client_ip(ip)));
        }
    }
    Value::Object(map)
}

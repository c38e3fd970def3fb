//! Office 365 Management Activity API common schema (and the Exchange admin, SharePoint and
//! AzureActiveDirectory schemas built on it).

use serde_json::{Map, Value};

use super::actor::{object_id, system_label};
use super::exchange::parameter;
use super::fields::{array, as_text, has, scalar_text, text};
use super::ip::normalize_client_ip;
use super::outcome::Outcome;
use super::{Extracted, NameResolver, NormalizeError, RecordKind, dedupe, required_timestamp};

/// The user fields copied into the event's actor object.
const ACTOR_FIELDS: [&str; 3] = ["UserId", "UserKey", "UserType"];
/// Address fields, copied in normalized form.
const ACTOR_ADDRESS_FIELDS: [&str; 2] = ["ClientIP", "ActorIpAddress"];

pub(crate) fn extract(
    raw: &Value,
    resolver: &dyn NameResolver,
) -> Result<Extracted, NormalizeError> {
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
        result_detail: scalar_text(raw, "ResultStatus").unwrap_or_default(),
        outcome: failed_logon(raw).then_some(Outcome::Failure),
        actor_display: actor_display(raw, resolver),
        actor: actor(raw),
        targets,
        target_displays,
    })
}

/// For Entra STS logons the common schema warns that `ResultStatus: Succeeded` only means the
/// HTTP operation worked; `LogonError` (or an `ErrorCode` other than 0) says the logon failed.
fn failed_logon(raw: &Value) -> bool {
    text(raw, "LogonError").is_some()
        || scalar_text(raw, "ErrorCode").is_some_and(|code| code != "0")
}

/// Entra `IdentityTypeValuePair.Type` values as the records carry them (the schema page lists
/// the names only: Claim, Name, Other, PUID, SPN, UPN, numbered in that order).
const IDENTITY_NAME: i64 = 1;
const IDENTITY_UPN: i64 = 5;

/// The `ID` of the first `Actor` entry of `kind` (`Type` as a number, a digit string or the
/// member name).
fn actor_entry(raw: &Value, kind: i64) -> Option<&str> {
    array(raw, "Actor").iter().find_map(|entry| {
        let matches = match entry.get("Type") {
            Some(Value::Number(n)) => n.as_i64() == Some(kind),
            Some(Value::String(s)) => {
                s.trim().parse::<i64>().ok() == Some(kind)
                    || (kind == IDENTITY_NAME && s.trim().eq_ignore_ascii_case("Name"))
                    || (kind == IDENTITY_UPN && s.trim().eq_ignore_ascii_case("UPN"))
            }
            _ => false,
        };
        if matches { text(entry, "ID") } else { None }
    })
}

/// The app a user or service principal acted through, when the record names it
/// (`AppAccessContext.ClientAppName`; one object, or the first of a collection).
fn client_app_name(raw: &Value) -> Option<&str> {
    match raw.get("AppAccessContext") {
        Some(Value::Array(items)) => items.iter().find_map(|c| text(c, "ClientAppName")),
        Some(context) => text(context, "ClientAppName"),
        None => None,
    }
}

/// The directory object ids in the `Actor` array (`ServicePrincipal_<id>`, `User_<id>` or a
/// bare GUID), in order.
fn actor_object_ids(raw: &Value) -> impl Iterator<Item = &str> {
    array(raw, "Actor")
        .iter()
        .filter_map(|entry| text(entry, "ID").and_then(object_id))
}

/// `UserId` as the common schema defines it (a UPN, or a system account), with the forms
/// that are not words turned into names: a system account becomes a label; an object id
/// (`ServicePrincipal_<id>`, a bare GUID) becomes the name the record's `Actor` array or app
/// context gives, or the one looked up for the id, and stays the id only when nobody knows
/// it. Entra records without `UserId` are read from their `Actor` array. Empty when the
/// record names nobody.
fn actor_display(raw: &Value, resolver: &dyn NameResolver) -> String {
    let resolved = |id: &str| resolver.resolve(id).filter(|n| !n.trim().is_empty());
    if let Some(user_id) = text(raw, "UserId") {
        if let Some(label) = system_label(user_id) {
            return match (label.as_str(), client_app_name(raw)) {
                // `app@sharepoint` is an app acting with SharePoint's permissions.
                ("SharePoint app", Some(app)) => app.to_owned(),
                _ => label,
            };
        }
        let Some(id) = object_id(user_id) else {
            return user_id.to_owned();
        };
        return actor_entry(raw, IDENTITY_NAME)
            .map(str::to_owned)
            .or_else(|| resolved(id))
            .or_else(|| client_app_name(raw).map(str::to_owned))
            .unwrap_or_else(|| user_id.to_owned());
    }
    if let Some(name) = actor_entry(raw, IDENTITY_UPN).or_else(|| actor_entry(raw, IDENTITY_NAME)) {
        return name.to_owned();
    }
    if let Some(name) = actor_object_ids(raw).find_map(resolved) {
        return name;
    }
    client_app_name(raw)
        .or_else(|| {
            array(raw, "Actor")
                .iter()
                .find_map(|entry| text(entry, "ID").filter(|id| object_id(id).is_some()))
        })
        .unwrap_or_default()
        .to_owned()
}

/// See [`super::Normalizer::ids_to_resolve`]: the object behind a `UserId` such as
/// `ServicePrincipal_<id>` when the record carries no name for it, or the `Actor` array's
/// object ids when there is no `UserId` and no UPN or name.
pub(crate) fn ids_to_resolve(raw: &Value, out: &mut Vec<String>) {
    if actor_entry(raw, IDENTITY_NAME).is_some() {
        return;
    }
    match text(raw, "UserId") {
        Some(user_id) => {
            if system_label(user_id).is_none()
                && let Some(id) = object_id(user_id)
            {
                out.push(id.to_owned());
            }
        }
        None => {
            if actor_entry(raw, IDENTITY_UPN).is_none() {
                out.extend(actor_object_ids(raw).map(str::to_owned));
            }
        }
    }
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

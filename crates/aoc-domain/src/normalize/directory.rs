//! Graph `directoryAudit` (Entra ID audit log).

use serde_json::Value;

use super::fields::{array, is_guid, object, scalar_text, text};
use super::{Extracted, NameResolver, NormalizeError, RecordKind, dedupe, required_timestamp};

pub(crate) fn extract(
    raw: &Value,
    resolver: &dyn NameResolver,
) -> Result<Extracted, NormalizeError> {
    let timestamp = required_timestamp(raw, "activityDateTime")?;
    let operation =
        text(raw, "activityDisplayName").ok_or(NormalizeError::Field("activityDisplayName"))?;
    let service = text(raw, "category").unwrap_or_default();
    let initiated_by = object(raw, "initiatedBy");

    let targets = array(raw, "targetResources");
    let mut target_displays = Vec::with_capacity(targets.len());
    let mut target_keys = Vec::with_capacity(targets.len());
    for target in targets {
        if let Some(display) = target_display(target, resolver) {
            target_displays.push(display);
        }
        if let Some(key) = text(target, "id")
            .or_else(|| text(target, "displayName"))
            .or_else(|| text(target, "userPrincipalName"))
        {
            target_keys.push(key);
        }
    }

    let own_id = text(raw, "id");
    let dedupe_key = match own_id {
        Some(id) => dedupe::with_id(RecordKind::Directory, None, id),
        None => dedupe::hashed(
            RecordKind::Directory,
            &timestamp,
            service,
            operation,
            &mut target_keys,
        ),
    };

    Ok(Extracted {
        own_id: own_id.map(str::to_owned),
        dedupe_key,
        timestamp,
        service: service.to_owned(),
        operation: operation.to_owned(),
        result_detail: scalar_text(raw, "result").unwrap_or_default(),
        outcome: None,
        actor_display: actor_display(initiated_by, resolver),
        actor: initiated_by.cloned().unwrap_or(Value::Null),
        targets: targets.to_vec(),
        target_displays,
    })
}

/// A person's name, then their UPN; an app's name; a name looked up for the user or the
/// service principal; and only then a bare id (an object deleted since, or no permission to
/// look it up). Empty when `initiatedBy` names nobody.
fn actor_display(initiated_by: Option<&Value>, resolver: &dyn NameResolver) -> String {
    let user = initiated_by.and_then(|i| object(i, "user"));
    let app = initiated_by.and_then(|i| object(i, "app"));
    if let Some(name) = user.and_then(|u| text(u, "displayName")) {
        return name.to_owned();
    }
    if let Some(name) = user.and_then(|u| resolve(u, "id", resolver)) {
        return name;
    }
    if let Some(name) = user
        .and_then(|u| text(u, "userPrincipalName"))
        .or_else(|| app.and_then(|a| text(a, "displayName")))
        .or_else(|| app.and_then(|a| text(a, "servicePrincipalName")))
    {
        return name.to_owned();
    }
    if let Some(name) = app.and_then(|a| resolve(a, "servicePrincipalId", resolver)) {
        return name;
    }
    user.and_then(|u| text(u, "id"))
        .or_else(|| app.and_then(|a| text(a, "servicePrincipalId")))
        .or_else(|| app.and_then(|a| text(a, "appId")))
        .unwrap_or_default()
        .to_owned()
}

fn target_display(target: &Value, resolver: &dyn NameResolver) -> Option<String> {
    if let Some(name) = text(target, "displayName").or_else(|| text(target, "userPrincipalName")) {
        return Some(name.to_owned());
    }
    resolve(target, "id", resolver).or_else(|| text(target, "id").map(str::to_owned))
}

fn resolve(object: &Value, key: &str, resolver: &dyn NameResolver) -> Option<String> {
    let id = text(object, key).filter(|id| is_guid(id))?;
    resolver.resolve(id).filter(|name| !name.trim().is_empty())
}

/// See [`super::Normalizer::ids_to_resolve`].
pub(crate) fn ids_to_resolve(raw: &Value, out: &mut Vec<String>) {
    let initiated_by = object(raw, "initiatedBy");
    let user = initiated_by.and_then(|i| object(i, "user"));
    let app = initiated_by.and_then(|i| object(i, "app"));
    let user_name = user.and_then(|u| text(u, "displayName"));
    let user_id = user.and_then(|u| text(u, "id")).filter(|id| is_guid(id));
    let upn = user.and_then(|u| text(u, "userPrincipalName"));
    let app_name =
        app.and_then(|a| text(a, "displayName").or_else(|| text(a, "servicePrincipalName")));
    let sp_id = app
        .and_then(|a| text(a, "servicePrincipalId"))
        .filter(|id| is_guid(id));
    if user_name.is_none() {
        // A user id is asked about even beside a UPN: the name reads better.
        if let Some(id) = user_id {
            out.push(id.to_owned());
        } else if upn.is_none()
            && app_name.is_none()
            && let Some(id) = sp_id
        {
            out.push(id.to_owned());
        }
    }
    for target in array(raw, "targetResources") {
        if text(target, "displayName").is_none()
            && text(target, "userPrincipalName").is_none()
            && let Some(id) = text(target, "id").filter(|id| is_guid(id))
        {
            out.push(id.to_owned());
        }
    }
}

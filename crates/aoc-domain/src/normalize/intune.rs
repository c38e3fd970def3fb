//! Graph Intune `auditEvent`.

use serde_json::Value;

use super::fields::{array, is_guid, object, scalar_text, text};
use super::{Extracted, NameResolver, NormalizeError, RecordKind, dedupe, required_timestamp};

pub(crate) const SERVICE: &str = "Intune";

pub(crate) fn extract(
    raw: &Value,
    resolver: &dyn NameResolver,
) -> Result<Extracted, NormalizeError> {
    let timestamp = required_timestamp(raw, "activityDateTime")?;
    let operation = text(raw, "activity")
        .or_else(|| text(raw, "displayName"))
        .ok_or(NormalizeError::Field("activity"))?;
    let actor = object(raw, "actor");

    let resources = array(raw, "resources");
    let mut target_displays = Vec::with_capacity(resources.len());
    let mut target_keys = Vec::with_capacity(resources.len());
    for resource in resources {
        let name = text(resource, "displayName");
        let id = text(resource, "resourceId");
        // The name when Intune gives one; the id keeps a nameless resource visible.
        if let Some(display) = name.or(id) {
            target_displays.push(display.to_owned());
        }
        if let Some(key) = id.or(name) {
            target_keys.push(key);
        }
    }

    let own_id = text(raw, "id");
    let dedupe_key = match own_id {
        Some(id) => dedupe::with_id(RecordKind::Intune, None, id),
        None => dedupe::hashed(
            RecordKind::Intune,
            &timestamp,
            SERVICE,
            operation,
            &mut target_keys,
        ),
    };

    Ok(Extracted {
        own_id: own_id.map(str::to_owned),
        dedupe_key,
        timestamp,
        service: SERVICE.to_owned(),
        operation: operation.to_owned(),
        result_detail: scalar_text(raw, "activityResult").unwrap_or_default(),
        outcome: None,
        actor_display: actor
            .map(|a| actor_display(a, resolver))
            .unwrap_or_default(),
        actor: actor.cloned().unwrap_or(Value::Null),
        targets: resources.to_vec(),
        target_displays,
    })
}

/// A person first (an IT pro works through the Intune portal, whose app name the actor also
/// carries, but the person acted): their UPN, else the name looked up for their id. Then the
/// app: its name, its service principal name. Then a bare id. Empty when the actor names
/// nobody.
fn actor_display(actor: &Value, resolver: &dyn NameResolver) -> String {
    if let Some(upn) = text(actor, "userPrincipalName") {
        return upn.to_owned();
    }
    let user_id = text(actor, "userId");
    if let Some(name) = user_id
        .filter(|id| is_guid(id))
        .and_then(|id| resolver.resolve(id))
        .filter(|name| !name.trim().is_empty())
    {
        return name;
    }
    if let Some(id) = user_id {
        return id.to_owned();
    }
    text(actor, "applicationDisplayName")
        .or_else(|| text(actor, "servicePrincipalName"))
        .or_else(|| text(actor, "applicationId"))
        .unwrap_or_default()
        .to_owned()
}

/// See [`super::Normalizer::ids_to_resolve`].
pub(crate) fn ids_to_resolve(raw: &Value, out: &mut Vec<String>) {
    if let Some(actor) = object(raw, "actor")
        && text(actor, "userPrincipalName").is_none()
        && let Some(id) = text(actor, "userId").filter(|id| is_guid(id))
    {
        out.push(id.to_owned());
    }
}

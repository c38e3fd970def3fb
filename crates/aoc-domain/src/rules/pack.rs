//! The shipped detection pack: docs/DETECTIONS.md is its catalogue. The rules are data
//! (`pack.json`), written in the same language people write custom rules in, so the pack is
//! also the language's best example.

use serde_json::Value;

use super::model::Rule;

const PACK: &str = include_str!("pack.json");

/// The Entra roles that control the tenant, its identities or its security. `pack.json`
/// writes `"@ROLES"` where this list goes, so the three places that need it stay one list.
pub const PRIVILEGED_ROLES: &[&str] = &[
    "Global Administrator",
    "Privileged Role Administrator",
    "Privileged Authentication Administrator",
    "Security Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "User Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Conditional Access Administrator",
    "Authentication Administrator",
    "Intune Administrator",
    "Hybrid Identity Administrator",
];

const ROLES_MARK: &str = "@ROLES";

fn expand(value: &mut Value) {
    match value {
        Value::String(s) if s == ROLES_MARK => {
            *value = Value::Array(
                PRIVILEGED_ROLES
                    .iter()
                    .map(|r| Value::String((*r).to_owned()))
                    .collect(),
            );
        }
        Value::Array(items) => items.iter_mut().for_each(expand),
        Value::Object(map) => map.values_mut().for_each(expand),
        _ => {}
    }
}

/// The shipped pack: every rule `builtin`, enabled, with the catalogue's id.
pub fn builtin_pack() -> Vec<Rule> {
    // pack.json is part of the source and the tests parse every rule in it against the
    // catalogue, so nothing is dropped in a released build; skipping keeps the library
    // panic-free regardless.
    let mut bodies: Value = serde_json::from_str(PACK).unwrap_or(Value::Null);
    expand(&mut bodies);
    let Value::Array(bodies) = bodies else {
        return Vec::new();
    };
    bodies
        .iter()
        .filter_map(|body| Rule::parse(body).ok())
        .map(|mut rule| {
            rule.builtin = true;
            rule.enabled = true;
            rule
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn every_body_in_the_file_parses() {
        let mut bodies: Value = serde_json::from_str(PACK).unwrap();
        expand(&mut bodies);
        let bodies = bodies.as_array().unwrap();
        for body in bodies {
            if let Err(e) = Rule::parse(body) {
                panic!("built-in rule {}: {e}", body["id"]);
            }
        }
        assert_eq!(builtin_pack().len(), bodies.len());
    }
}

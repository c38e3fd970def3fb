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
    // The pack is compiled in and every rule is parsed by the tests, so a failure here is a
    // defect in this crate, not in anything a user wrote.
    let mut bodies: Value = serde_json::from_str(PACK).expect("pack.json is valid JSON");
    expand(&mut bodies);
    let Value::Array(bodies) = bodies else {
        panic!("pack.json holds an array of rules");
    };
    bodies
        .iter()
        .map(|body| {
            let mut rule =
                Rule::parse(body).unwrap_or_else(|e| panic!("built-in rule {}: {e}", body["id"]));
            rule.builtin = true;
            rule.enabled = true;
            rule
        })
        .collect()
}

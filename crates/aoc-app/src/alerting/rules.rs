//! The rule service: CRUD over stored rules (validated by `aoc_domain::rules`), the built-in
//! pack seeded at start-up, and the compiled set the evaluator runs.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use aoc_domain::rules::{CompiledRule, Rule, builtin_pack};
use aoc_store::{EventStore, StoredRule};

use crate::activity::ActivityLog;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

pub const ACTION_RULE_CREATE: &str = "rule.create";
pub const ACTION_RULE_UPDATE: &str = "rule.update";
pub const ACTION_RULE_DELETE: &str = "rule.delete";

/// Most rules a deployment may hold: evaluation cost grows with each one.
pub const MAX_RULES: usize = 500;

/// How long the evaluator trusts its compiled copy before looking at the store again: a rule
/// changed on another replica takes effect within this time (on this one, at once).
const RELOAD_AFTER: Duration = Duration::from_secs(10);

/// A rule as the API shows it: the definition plus when it was created and changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// The rule (see docs/API.md, Alert rules, for every field).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub rule: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

struct Compiled {
    rules: Arc<Vec<Arc<CompiledRule>>>,
    loaded: Instant,
}

#[derive(Clone)]
pub struct RuleService {
    store: Arc<dyn EventStore>,
    activity: ActivityLog,
    compiled: Arc<RwLock<Option<Compiled>>>,
}

impl RuleService {
    pub fn new(store: Arc<dyn EventStore>, activity: ActivityLog) -> Self {
        Self {
            store,
            activity,
            compiled: Arc::new(RwLock::new(None)),
        }
    }

    /// Store every built-in rule that is not stored yet; a user's changes to one (disabled, a
    /// tuned threshold) are kept. Returns how many were added.
    pub async fn seed_builtin(&self) -> AppResult<usize> {
        let mut added = 0;
        for rule in builtin_pack() {
            let definition = serde_json::to_value(&rule)
                .map_err(|e| AppError::Unavailable(format!("built-in rule {}: {e}", rule.id)))?;
            if self
                .store
                .insert_rule_if_absent(&rule.id, &definition)
                .await?
            {
                added += 1;
            }
        }
        self.invalidate();
        Ok(added)
    }

    pub async fn list(&self) -> AppResult<Vec<RuleView>> {
        let mut rules: Vec<RuleView> = self
            .store
            .list_rules()
            .await?
            .into_iter()
            .map(view)
            .collect();
        // Built-in first, then by name: the order a person scans a rule list in.
        rules.sort_by(|a, b| {
            let key = |v: &RuleView| {
                (
                    !v.rule["builtin"].as_bool().unwrap_or(false),
                    v.rule["name"].as_str().unwrap_or("").to_lowercase(),
                )
            };
            key(a).cmp(&key(b))
        });
        Ok(rules)
    }

    pub async fn get(&self, id: &str) -> AppResult<RuleView> {
        self.store
            .get_rule(id)
            .await?
            .map(view)
            .ok_or_else(|| not_found(id))
    }

    /// Validate a rule body as a client sent it (for create and the test route).
    pub fn parse(body: &Value) -> AppResult<Rule> {
        if !body.is_object() {
            return Err(AppError::BadRequest(
                "body: expected a JSON object describing the rule".into(),
            ));
        }
        Rule::parse(body).map_err(|e| AppError::BadRequest(e.to_string()))
    }

    pub async fn create(&self, body: &Value, caller: &Caller) -> AppResult<RuleView> {
        let mut rule = Self::parse(body)?;
        if self.store.list_rules().await?.len() >= MAX_RULES {
            return Err(AppError::BadRequest(format!(
                "rules: at most {MAX_RULES} rules; delete unused ones first"
            )));
        }
        rule.id = new_rule_id(&rule.name);
        // Only the shipped pack is built in; a client cannot mark its own rule so.
        rule.builtin = false;
        let stored = self.put(&rule).await?;
        self.activity
            .record(
                caller,
                ACTION_RULE_CREATE,
                Some(&rule.id),
                json!({ "name": rule.name, "severity": rule.severity.as_str() }),
            )
            .await;
        Ok(stored)
    }

    /// Change a rule: the fields sent replace the stored ones, so `{"enabled": false}` switches a
    /// rule off and a full body replaces it. A built-in rule stays built in with its id.
    pub async fn update(&self, id: &str, body: &Value, caller: &Caller) -> AppResult<RuleView> {
        let Value::Object(changes) = body else {
            return Err(AppError::BadRequest(
                "body: expected a JSON object with the fields to change".into(),
            ));
        };
        let existing = self
            .store
            .get_rule(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut merged: Map<String, Value> = match existing.definition {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        for (key, value) in changes {
            if key == "id" || key == "builtin" {
                continue;
            }
            merged.insert(key.clone(), value.clone());
        }
        let builtin = merged
            .get("builtin")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        merged.remove("id");
        merged.remove("builtin");
        let mut rule = Self::parse(&Value::Object(merged))?;
        rule.id = id.to_string();
        rule.builtin = builtin;
        let stored = self.put(&rule).await?;
        let changed: Vec<&String> = changes.keys().collect();
        self.activity
            .record(
                caller,
                ACTION_RULE_UPDATE,
                Some(id),
                json!({ "name": rule.name, "enabled": rule.enabled, "fields": changed }),
            )
            .await;
        Ok(stored)
    }

    pub async fn delete(&self, id: &str, caller: &Caller) -> AppResult<()> {
        let existing = self
            .store
            .get_rule(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if existing.definition["builtin"].as_bool().unwrap_or(false) {
            return Err(AppError::BadRequest(format!(
                "id: {id} is a built-in rule; disable it with PUT {{\"enabled\": false}} instead"
            )));
        }
        if !self.store.delete_rule(id).await? {
            return Err(not_found(id));
        }
        self.invalidate();
        self.activity
            .record(
                caller,
                ACTION_RULE_DELETE,
                Some(id),
                json!({ "name": existing.definition["name"] }),
            )
            .await;
        Ok(())
    }

    async fn put(&self, rule: &Rule) -> AppResult<RuleView> {
        let definition =
            serde_json::to_value(rule).map_err(|e| AppError::BadRequest(format!("rule: {e}")))?;
        let stored = self.store.put_rule(&rule.id, &definition).await?;
        self.invalidate();
        Ok(view(stored))
    }

    fn invalidate(&self) {
        if let Ok(mut guard) = self.compiled.write() {
            *guard = None;
        }
    }

    /// The enabled rules, compiled; reloaded from the store after a local change or every few
    /// seconds (changes made on another replica). A stored rule that no longer compiles (written
    /// by an older or newer version) is skipped with a warning rather than stopping evaluation.
    pub async fn enabled(&self) -> AppResult<Arc<Vec<Arc<CompiledRule>>>> {
        if let Ok(guard) = self.compiled.read()
            && let Some(c) = guard.as_ref()
            && c.loaded.elapsed() < RELOAD_AFTER
        {
            return Ok(c.rules.clone());
        }
        let mut rules = Vec::new();
        for stored in self.store.list_rules().await? {
            match serde_json::from_value::<Rule>(stored.definition.clone())
                .map_err(|e| e.to_string())
                .and_then(|mut r| {
                    r.id = stored.id.clone();
                    CompiledRule::new(r).map_err(|e| e.to_string())
                }) {
                Ok(c) if c.rule().enabled => rules.push(Arc::new(c)),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(rule = %stored.id, error = %e, "stored rule skipped: it does not compile");
                }
            }
        }
        let rules = Arc::new(rules);
        if let Ok(mut guard) = self.compiled.write() {
            *guard = Some(Compiled {
                rules: rules.clone(),
                loaded: Instant::now(),
            });
        }
        Ok(rules)
    }
}

fn view(stored: StoredRule) -> RuleView {
    let mut rule = stored.definition;
    if let Value::Object(map) = &mut rule {
        map.insert("id".into(), Value::String(stored.id));
    }
    RuleView {
        rule,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no rule with id {id}"))
}

/// A readable, unique id: the name's first words as a slug, then a random suffix.
fn new_rule_id(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if slug.len() >= 40 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let suffix = &suffix[..8];
    if slug.is_empty() {
        format!("rule-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_slugs_with_a_suffix() {
        let id = new_rule_id("Mass download: SharePoint!");
        assert!(id.starts_with("mass-download-sharepoint-"), "{id}");
        assert_eq!(id.len(), "mass-download-sharepoint-".len() + 8);
        assert!(new_rule_id("???").starts_with("rule-"));
        assert_ne!(new_rule_id("x"), new_rule_id("x"));
    }
}

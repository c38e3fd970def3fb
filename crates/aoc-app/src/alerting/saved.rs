//! Saved searches: named `/api/events` filters, owned by the caller's token subject (`local`
//! with auth off), optionally shared with everyone. One can become an alert rule.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use aoc_store::{EventStore, SavedSearch};

use super::rules::{RuleService, RuleView};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

/// The owner of searches saved with auth off.
pub const LOCAL_OWNER: &str = "local";
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_FILTER_LEN: usize = 500;
/// Searches one owner may keep.
pub const MAX_PER_OWNER: usize = 200;

/// The `/api/events` filters a saved search may hold.
pub const FILTER_KEYS: [&str; 7] = [
    "service",
    "actor",
    "operation",
    "result",
    "search",
    "start",
    "end",
];

/// What a client sends to create or replace a saved search.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedSearchBody {
    /// 1 to 200 characters, not only spaces, no control characters.
    #[schema(
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0][^\x00-\x1f\x7f-\x9f]*$",
        max_length = 200
    )]
    pub name: String,
    /// `/api/events` filters (each optional, at most 500 characters, no control characters).
    #[schema(value_type = Option<SavedFilters>)]
    #[serde(default)]
    pub filters: Value,
    /// Visible to everyone (only the owner may change or delete it).
    #[serde(default)]
    pub shared: bool,
}

/// The filters a saved search may hold, as the OpenAPI document describes them.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents `SavedSearchBody::filters`, which is validated by hand
pub struct SavedFilters {
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    service: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    actor: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    operation: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    result: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    search: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    start: Option<String>,
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", max_length = 500)]
    end: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedSearchView {
    pub id: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub filters: Value,
    pub shared: bool,
    pub owner: String,
    /// Whether the caller owns it (and so may change it).
    pub mine: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/saved-searches/{id}/rule`: make an alert rule from a saved search.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchToRule {
    /// low, medium, high or critical.
    #[schema(pattern = "^(low|medium|high|critical)$")]
    pub severity: String,
    /// The rule's name (default: the search's).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone)]
pub struct SavedSearchService {
    store: Arc<dyn EventStore>,
    rules: RuleService,
}

fn owner_of(caller: &Caller) -> String {
    caller
        .subject
        .clone()
        .unwrap_or_else(|| LOCAL_OWNER.to_string())
}

impl SavedSearchService {
    pub fn new(store: Arc<dyn EventStore>, rules: RuleService) -> Self {
        Self { store, rules }
    }

    pub async fn list(&self, caller: &Caller) -> AppResult<Vec<SavedSearchView>> {
        let owner = owner_of(caller);
        Ok(self
            .store
            .list_saved_searches(&owner)
            .await?
            .into_iter()
            .map(|s| view(s, &owner))
            .collect())
    }

    pub async fn get(&self, id: &str, caller: &Caller) -> AppResult<SavedSearchView> {
        let owner = owner_of(caller);
        let search = self.visible(id, &owner).await?;
        Ok(view(search, &owner))
    }

    pub async fn create(
        &self,
        body: &SavedSearchBody,
        caller: &Caller,
    ) -> AppResult<SavedSearchView> {
        let owner = owner_of(caller);
        let (name, filters) = validate(body)?;
        let mine = self
            .store
            .list_saved_searches(&owner)
            .await?
            .into_iter()
            .filter(|s| s.owner == owner)
            .count();
        if mine >= MAX_PER_OWNER {
            return Err(AppError::BadRequest(format!(
                "name: at most {MAX_PER_OWNER} saved searches each; delete some first"
            )));
        }
        let now = Utc::now();
        let stored = self
            .store
            .put_saved_search(&SavedSearch {
                id: uuid::Uuid::new_v4().simple().to_string(),
                owner: owner.clone(),
                name,
                shared: body.shared,
                filters,
                created_at: now,
                updated_at: now,
            })
            .await?;
        Ok(view(stored, &owner))
    }

    pub async fn update(
        &self,
        id: &str,
        body: &SavedSearchBody,
        caller: &Caller,
    ) -> AppResult<SavedSearchView> {
        let owner = owner_of(caller);
        let existing = self.owned(id, &owner).await?;
        let (name, filters) = validate(body)?;
        let stored = self
            .store
            .put_saved_search(&SavedSearch {
                name,
                filters,
                shared: body.shared,
                updated_at: Utc::now(),
                ..existing
            })
            .await?;
        Ok(view(stored, &owner))
    }

    pub async fn delete(&self, id: &str, caller: &Caller) -> AppResult<()> {
        let owner = owner_of(caller);
        self.owned(id, &owner).await?;
        if self.store.delete_saved_search(id).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// A rule matching what the saved search finds (its time filters are left out: a rule looks
    /// at every new event).
    pub async fn to_rule(
        &self,
        id: &str,
        request: &SearchToRule,
        caller: &Caller,
    ) -> AppResult<RuleView> {
        let owner = owner_of(caller);
        let search = self.visible(id, &owner).await?;
        let mut matcher = Map::new();
        if let Value::Object(filters) = &search.filters {
            for key in ["service", "actor", "operation", "result", "search"] {
                if let Some(Value::String(v)) = filters.get(key)
                    && !v.trim().is_empty()
                {
                    matcher.insert(key.to_string(), Value::String(v.trim().to_string()));
                }
            }
        }
        if matcher.is_empty() {
            return Err(AppError::BadRequest(
                "filters: the saved search has no filter a rule could match on (service, actor, operation, result or search)".into(),
            ));
        }
        let body = json!({
            "name": request.name.clone().unwrap_or_else(|| search.name.clone()),
            "description": request.description.clone().unwrap_or_else(|| format!("From the saved search \"{}\"", search.name)),
            "severity": request.severity,
            "match": Value::Object(matcher),
        });
        self.rules.create(&body, caller).await
    }

    async fn visible(&self, id: &str, owner: &str) -> AppResult<SavedSearch> {
        match self.store.get_saved_search(id).await? {
            Some(s) if s.owner == owner || s.shared => Ok(s),
            _ => Err(not_found(id)),
        }
    }

    async fn owned(&self, id: &str, owner: &str) -> AppResult<SavedSearch> {
        let search = self.visible(id, owner).await?;
        if search.owner != owner {
            return Err(AppError::Forbidden(format!(
                "saved search {id} is shared with you; only its owner may change it"
            )));
        }
        Ok(search)
    }
}

fn validate(body: &SavedSearchBody) -> AppResult<(String, Value)> {
    let name = body.name.trim();
    if name.is_empty() {
        return Err(AppError::BadRequest("name: required".into()));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(AppError::BadRequest(format!(
            "name: at most {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "name: control characters are not allowed".into(),
        ));
    }
    let filters = match &body.filters {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        _ => {
            return Err(AppError::BadRequest(
                "filters: expected an object of /api/events filters".into(),
            ));
        }
    };
    let mut clean = Map::new();
    for (key, value) in filters {
        if !FILTER_KEYS.contains(&key.as_str()) {
            return Err(AppError::BadRequest(format!(
                "filters.{key}: not a filter (expected {})",
                FILTER_KEYS.join(", ")
            )));
        }
        let text = match value {
            Value::String(s) => s,
            Value::Null => continue,
            _ => {
                return Err(AppError::BadRequest(format!(
                    "filters.{key}: expected a string"
                )));
            }
        };
        if text.chars().count() > MAX_FILTER_LEN || text.chars().any(char::is_control) {
            return Err(AppError::BadRequest(format!(
                "filters.{key}: at most {MAX_FILTER_LEN} characters, no control characters"
            )));
        }
        if !text.trim().is_empty() {
            clean.insert(key, Value::String(text));
        }
    }
    Ok((name.to_string(), Value::Object(clean)))
}

fn view(search: SavedSearch, owner: &str) -> SavedSearchView {
    SavedSearchView {
        mine: search.owner == owner,
        id: search.id,
        name: search.name,
        filters: search.filters,
        shared: search.shared,
        owner: search.owner,
        created_at: search.created_at,
        updated_at: search.updated_at,
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no saved search with id {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(filters: Value) -> SavedSearchBody {
        SavedSearchBody {
            name: "Role changes".into(),
            filters,
            shared: false,
        }
    }

    #[test]
    fn filters_are_checked_by_name_and_type() {
        let ok = validate(&body(
            json!({"service": "Exchange", "start": "2026-01-01", "actor": ""}),
        ));
        let (_, filters) = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            filters,
            json!({"service": "Exchange", "start": "2026-01-01"})
        );
        let err = validate(&body(json!({"colour": "red"})))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("filters.colour:")));
        let err = validate(&body(json!({"service": ["a"]})))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("filters.service:")));
        let err = validate(&body(json!([1]))).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("filters:")));
        let mut blank = body(json!({}));
        blank.name = "  ".into();
        assert!(validate(&blank).is_err());
    }
}

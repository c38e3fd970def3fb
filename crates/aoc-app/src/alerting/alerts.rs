//! The alert service: list, open and acknowledge or resolve alerts, privacy applied.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use aoc_domain::{Event, Visibility};
use aoc_store::{Alert, AlertQuery, EventStore};

use super::{SEVERITIES, STATUSES};
use crate::activity::ActivityLog;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::events::{EventService, parse_time};

pub const ACTION_ALERT_UPDATE: &str = "alert.update";
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
pub const MAX_NOTE_LEN: usize = 2_000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// open, acknowledged or resolved.
    #[param(pattern = "^(open|acknowledged|resolved)?$")]
    pub status: Option<String>,
    /// low, medium, high or critical.
    #[param(pattern = "^(low|medium|high|critical)?$")]
    pub severity: Option<String>,
    /// A rule id.
    pub rule: Option<String>,
    /// Alerts raised at or after this time (RFC 3339; empty means unset).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Alerts raised at or before this time (RFC 3339; empty means unset).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Alerts per page (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^0*[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

/// An alert as a caller may see it. When it is about events the caller may not see (privacy
/// settings), what would tell about them is withheld and `restricted` is true.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    pub id: i64,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: String,
    pub status: String,
    pub summary: String,
    /// The actor or target a threshold rule grouped by.
    pub group_key: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub event_ids: Vec<String>,
    pub event_count: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub note: Option<String>,
    pub restricted: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertPage {
    pub items: Vec<AlertView>,
    /// Pass back as `cursor` for older alerts; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertView,
    /// The alert's events the caller may see, oldest first.
    pub events: Vec<Event>,
}

/// `PATCH /api/alerts/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertUpdate {
    /// open, acknowledged or resolved.
    pub status: String,
    /// Why (kept with the alert and in the activity log).
    #[serde(default)]
    pub note: Option<String>,
}

/// Open alerts per severity, for the header badge.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertSummary {
    pub open: u64,
    pub acknowledged: u64,
    pub open_by_severity: std::collections::BTreeMap<String, u64>,
}

#[derive(Clone)]
pub struct AlertService {
    store: Arc<dyn EventStore>,
    events: EventService,
    activity: ActivityLog,
}

impl AlertService {
    pub fn new(store: Arc<dyn EventStore>, events: EventService, activity: ActivityLog) -> Self {
        Self {
            store,
            events,
            activity,
        }
    }

    pub async fn list(&self, params: &AlertParams, caller: &Caller) -> AppResult<AlertPage> {
        let limit = match params.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(AppError::BadRequest(format!(
                        "limit: expected a whole number from 1 to {MAX_LIMIT}"
                    )));
                }
            },
        };
        let before_id = match params.cursor.as_deref() {
            None => None,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(AppError::BadRequest(
                        "cursor: not a cursor from this list".into(),
                    ));
                }
            },
        };
        let query = AlertQuery {
            status: one_of("status", params.status.as_deref(), &STATUSES)?,
            severity: one_of("severity", params.severity.as_deref(), &SEVERITIES)?,
            rule_id: params
                .rule
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            since: params
                .since
                .as_deref()
                .map(|t| parse_time("since", t))
                .transpose()?,
            until: params
                .until
                .as_deref()
                .map(|t| parse_time("until", t))
                .transpose()?,
            before_id,
            limit: limit + 1,
        };
        let mut alerts = self.store.list_alerts(&query).await?;
        let more = alerts.len() > limit as usize;
        alerts.truncate(limit as usize);
        let next_cursor = if more {
            alerts.last().map(|a| a.id.to_string())
        } else {
            None
        };
        let visibility = self.events.visibility(caller);
        let mut items = Vec::with_capacity(alerts.len());
        for alert in alerts {
            let sensitive = self.about_sensitive_operation(&alert, &visibility).await?;
            let mut v = view(alert, &visibility);
            if sensitive {
                restrict(&mut v);
            }
            items.push(v);
        }
        Ok(AlertPage { items, next_cursor })
    }

    pub async fn get(&self, id: i64, caller: &Caller) -> AppResult<AlertDetail> {
        let alert = self
            .store
            .get_alert(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let visibility = self.events.visibility(caller);
        let mut events = Vec::new();
        for event_id in alert.event_ids.iter().take(200) {
            match self.events.get(event_id, caller).await {
                Ok(e) => events.push(e),
                // Hidden from this caller, or deleted by retention since.
                Err(AppError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut view = view(alert, &visibility);
        if events.is_empty() && !view.event_ids.is_empty() && !visibility.hides_nothing() {
            // Every event is hidden from this caller: the alert tells nothing more than its rule.
            restrict(&mut view);
        }
        Ok(AlertDetail {
            alert: view,
            events,
        })
    }

    /// Services are on the alert itself; operations are not, so when PRIVACY_SENSITIVE_OPERATIONS
    /// hides some, look at the alert's first events.
    async fn about_sensitive_operation(
        &self,
        alert: &Alert,
        visibility: &Visibility,
    ) -> AppResult<bool> {
        if visibility.hidden_operations().is_empty() {
            return Ok(false);
        }
        for id in alert.event_ids.iter().take(3) {
            if let Some(event) = self.store.get(id).await?
                && !visibility.allows(&event.service, &event.operation)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub async fn update(
        &self,
        id: i64,
        change: &AlertUpdate,
        caller: &Caller,
    ) -> AppResult<AlertView> {
        let status = one_of("status", Some(&change.status), &STATUSES)?
            .ok_or_else(|| AppError::BadRequest("status: required".into()))?;
        let note = change
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(note) = note {
            if note.chars().count() > MAX_NOTE_LEN {
                return Err(AppError::BadRequest(format!(
                    "note: at most {MAX_NOTE_LEN} characters"
                )));
            }
            if note
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(AppError::BadRequest(
                    "note: control characters are not allowed".into(),
                ));
            }
        }
        let updated = self
            .store
            .update_alert(id, &status, &caller.name, note)
            .await?
            .ok_or_else(|| not_found(id))?;
        self.activity
            .record(
                caller,
                ACTION_ALERT_UPDATE,
                Some(&format!("alert:{id}")),
                json!({ "status": status, "note": note, "rule": updated.rule_id }),
            )
            .await;
        let visibility = self.events.visibility(caller);
        let sensitive = self
            .about_sensitive_operation(&updated, &visibility)
            .await?;
        let mut v = view(updated, &visibility);
        if sensitive {
            restrict(&mut v);
        }
        Ok(v)
    }

    pub async fn summary(&self) -> AppResult<AlertSummary> {
        let mut summary = AlertSummary {
            open: 0,
            acknowledged: 0,
            open_by_severity: SEVERITIES.iter().map(|s| (s.to_string(), 0)).collect(),
        };
        for c in self.store.alert_counts().await? {
            match c.status.as_str() {
                "open" => {
                    summary.open += c.count;
                    *summary.open_by_severity.entry(c.severity).or_default() += c.count;
                }
                "acknowledged" => summary.acknowledged += c.count,
                _ => {}
            }
        }
        Ok(summary)
    }
}

fn view(alert: Alert, visibility: &Visibility) -> AlertView {
    let hidden = alert.services.iter().any(|s| !visibility.allows(s, ""));
    let mut view = AlertView {
        id: alert.id,
        rule_id: alert.rule_id,
        rule_name: alert.rule_name,
        severity: alert.severity,
        status: alert.status,
        summary: alert.summary,
        group_key: alert.group_key,
        first_seen: alert.first_seen,
        last_seen: alert.last_seen,
        event_count: alert.event_ids.len(),
        event_ids: alert.event_ids,
        created_at: alert.created_at,
        updated_at: alert.updated_at,
        updated_by: alert.updated_by,
        note: alert.note,
        restricted: false,
    };
    if hidden {
        restrict(&mut view);
    }
    view
}

fn restrict(view: &mut AlertView) {
    view.summary = "details withheld: the alert is about events you may not see".into();
    view.group_key = None;
    view.event_ids.clear();
    view.restricted = true;
}

fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> AppResult<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    // Exactly as documented (lowercase): the document's enum is the contract.
    allowed
        .iter()
        .find(|a| **a == value)
        .map(|a| Some(a.to_string()))
        .ok_or_else(|| {
            AppError::BadRequest(format!("{field}: expected one of {}", allowed.join(", ")))
        })
}

fn not_found(id: i64) -> AppError {
    AppError::NotFound(format!("no alert with id {id}"))
}

//! The activity log: AOC's own write actions (tag changes, comments, fetches), who did them and
//! when. Append-only; read newest first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    /// Assigned by the store, increasing with every append: the log's order and its cursor.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Display name of who did it ("anonymous" without sign-in, "scheduler" for the timer).
    pub actor: String,
    /// Token subject of the actor, when signed in.
    pub subject: Option<String>,
    /// What was done: `tags.set`, `comment.add`, `fetch`.
    pub action: String,
    /// The event acted on, if any.
    pub target: Option<String>,
    /// A small JSON object with the particulars (new tags, comment length, fetch counts).
    pub detail: Value,
}

/// An action to append; the store assigns `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub subject: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Value,
}

impl NewActivity {
    pub fn with_id(self, id: i64) -> Activity {
        Activity {
            id,
            at: self.at,
            actor: self.actor,
            subject: self.subject,
            action: self.action,
            target: self.target,
            detail: self.detail,
        }
    }
}

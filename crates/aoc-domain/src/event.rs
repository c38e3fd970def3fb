use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Where an event came from. `Import` marks records loaded from exported files; their
/// dedupe key is the same as if they had been fetched, so both roads meet in one event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Directory,
    Unified,
    Intune,
    Import,
}

impl Source {
    pub const ALL: [Source; 4] = [
        Source::Directory,
        Source::Unified,
        Source::Intune,
        Source::Import,
    ];
    /// The sources that are fetched from Microsoft 365 (and so have watermarks).
    pub const FETCHED: [Source; 3] = [Source::Directory, Source::Unified, Source::Intune];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Directory => "directory",
            Source::Unified => "unified",
            Source::Intune => "intune",
            Source::Import => "import",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "directory" => Ok(Source::Directory),
            "unified" => Ok(Source::Unified),
            "intune" => Ok(Source::Intune),
            "import" => Ok(Source::Import),
            other => Err(format!(
                "unknown source '{other}' (expected directory, unified, intune or import)"
            )),
        }
    }
}

/// A comment a person left on an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub author: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// One normalized audit event: the stored shape and the JSON the API returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// The source's own id when it has one, else the dedupe key.
    pub id: String,
    pub source: Source,
    /// RFC 3339, UTC.
    pub timestamp: DateTime<Utc>,
    pub service: String,
    pub operation: String,
    /// The outcome in one vocabulary for every source: `success`, `failure`, `partial` or
    /// `unknown` (see `normalize::Outcome`).
    pub result: String,
    /// The source's own result value as it wrote it (Graph `result`, Intune
    /// `activityResult`, Management Activity API `ResultStatus`), "" when the record has
    /// none.
    #[serde(default)]
    #[schema(required = true)]
    pub result_detail: String,
    /// Who acted, in words: a name, a UPN, a system account's label, a bare id only when
    /// nobody could name it, or `unknown actor` when the record names no one.
    pub actor_display: String,
    /// The initiator as the source describes it (Graph `initiatedBy`, Intune `actor`, or a
    /// small object built from the unified record's user fields).
    pub actor: Value,
    pub target_displays: Vec<String>,
    pub targets: Vec<Value>,
    pub display_summary: String,
    pub dedupe_key: String,
    /// The untouched source record.
    pub raw: Value,
    // Always in what the API sends, so required in the OpenAPI document (`default` only
    // makes reading lenient).
    #[serde(default)]
    #[schema(required = true)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(required = true)]
    pub comments: Vec<Comment>,
}

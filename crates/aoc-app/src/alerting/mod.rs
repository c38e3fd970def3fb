//! Alert rules, the alerts they raise and saved searches.
//!
//! Rules are evaluated by [`evaluator::RuleEvaluator`], a consumer of the stored event sequence
//! (see `consumer`): every stored event is looked at once, whichever door stored it (fetch,
//! webhook-triggered fetch, import), and alerts are unique per (rule, event) or per (rule, group,
//! window) in the store, so a re-delivered batch or a restart never raises an alert twice.

pub mod alerts;
pub mod backtest;
pub mod evaluator;
pub mod rules;
pub mod saved;
pub mod window;

pub use alerts::{AlertDetail, AlertPage, AlertParams, AlertService, AlertUpdate, AlertView};
pub use backtest::{RuleTest, RuleTestResult};
pub use evaluator::{EVALUATOR_NAME, RuleEvaluator};
pub use rules::{RuleService, RuleView};
pub use saved::{SavedSearchBody, SavedSearchService, SavedSearchView};

/// Severities in rising order, as rules and settings spell them.
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// Statuses an alert moves between.
pub const STATUSES: [&str; 3] = ["open", "acknowledged", "resolved"];

/// Metric names recorded here (rendered by the server's /metrics).
pub mod metric_names {
    /// Counter {rule, severity}: alerts raised.
    pub const ALERTS_RAISED: &str = "aoc_alerts_raised_total";
    /// Counter: events the rule evaluator looked at.
    pub const EVENTS_EVALUATED: &str = "aoc_alert_events_evaluated_total";
}

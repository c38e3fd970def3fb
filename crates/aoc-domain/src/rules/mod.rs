//! The alert-rule language: what a rule says ([`Rule`], [`Match`], [`Condition`]), how a body
//! a person wrote is checked ([`Rule::parse`]), how an event is tested ([`CompiledRule`]), and
//! the detections AOC ships ([`builtin_pack`], catalogued in docs/DETECTIONS.md).
//!
//! A match's fields test the normalized event (service, operation, outcome, actor, targets);
//! its conditions test the raw source record through paths (see [`path`]), because what makes
//! an event dangerous (the role granted, the forwarding address) is only in the record.

mod matcher;
mod model;
mod pack;
pub mod path;
mod text;
mod validate;

#[cfg(test)]
mod tests;

pub use matcher::{CompiledRule, EventView};
pub use model::{
    Condition, GroupBy, Match, MatchContext, OneOrMany, Op, Rule, RuleError, Severity, Threshold,
};
pub use pack::{PRIVILEGED_ROLES, builtin_pack};
pub use validate::MAX_WINDOW_MINUTES;

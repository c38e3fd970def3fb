//! Evaluating rules: a [`CompiledRule`] holds its paths parsed and its needles lowercased, so
//! testing an event compares borrowed text; an [`EventView`] renders what several rules may
//! want from one event (its raw JSON text, its actor's UPN) at most once.

use std::cell::OnceCell;

use serde_json::Value;

use super::model::{GroupBy, Match, MatchContext, Op, Rule, RuleError};
use super::path::Path;
use super::text::{contains_ci, eq_ci, is_present, texts};
use crate::normalize::{Outcome, UNKNOWN_ACTOR};
use crate::{Event, canonical_service};

/// One event as the rules see it, with what is costly to derive computed on first use.
pub struct EventView<'a> {
    event: &'a Event,
    raw_text: OnceCell<String>,
    actor_upn: OnceCell<Option<&'a str>>,
}

impl<'a> EventView<'a> {
    pub fn new(event: &'a Event) -> Self {
        Self {
            event,
            raw_text: OnceCell::new(),
            actor_upn: OnceCell::new(),
        }
    }

    pub fn event(&self) -> &'a Event {
        self.event
    }

    /// The raw record as JSON text, lowercased (for `search`).
    fn raw_text(&self) -> &str {
        self.raw_text.get_or_init(|| {
            let mut text = self.event.raw.to_string();
            if text.is_ascii() {
                text.make_ascii_lowercase();
                text
            } else {
                text.to_lowercase()
            }
        })
    }

    /// The acting user's UPN: where each normalizer keeps it (Graph `initiatedBy.user`,
    /// Intune `actor`, Management Activity API `UserId`), else the display when it is one.
    fn actor_upn(&self) -> Option<&'a str> {
        *self.actor_upn.get_or_init(|| {
            let actor = &self.event.actor;
            let candidates = [
                actor.pointer("/user/userPrincipalName"),
                actor.get("userPrincipalName"),
                actor.get("UserId"),
                self.event.raw.get("UserId"),
            ];
            candidates
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .chain(std::iter::once(self.event.actor_display.as_str()))
                .map(str::trim)
                .find(|s| s.contains('@'))
        })
    }

    fn actor_domain(&self) -> Option<&'a str> {
        self.actor_upn()
            .and_then(|upn| upn.rsplit_once('@'))
            .map(|(_, domain)| domain.trim())
            .filter(|d| !d.is_empty())
    }
}

#[derive(Debug, Clone)]
enum Test {
    Eq(String),
    Contains(Vec<String>),
    In(Vec<String>),
    Exists,
    External,
}

#[derive(Debug, Clone)]
struct CompiledCondition {
    path: Path,
    test: Test,
    not: bool,
}

#[derive(Debug, Clone)]
struct CompiledMatch {
    service: Option<String>,
    operations: Vec<String>,
    result: Option<&'static str>,
    actor: Option<String>,
    target: Option<String>,
    search: Option<String>,
    conditions: Vec<CompiledCondition>,
    any: Vec<CompiledMatch>,
}

/// A validated rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    rule: Rule,
    matcher: CompiledMatch,
}

impl CompiledRule {
    pub fn new(rule: Rule) -> Result<CompiledRule, RuleError> {
        rule.validate()?;
        let matcher = compile_match(&rule.matcher, "match")?;
        Ok(CompiledRule { rule, matcher })
    }

    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// Whether this event matches (a threshold is applied elsewhere, by counting matches).
    pub fn matches(&self, event: &Event, ctx: &MatchContext) -> bool {
        self.matches_view(&EventView::new(event), ctx)
    }

    /// [`Self::matches`] over a view shared by every rule testing the same event.
    pub fn matches_view(&self, view: &EventView<'_>, ctx: &MatchContext) -> bool {
        self.matcher.matches(view, ctx)
    }

    /// For threshold rules, the group this event counts towards: the lowercased actor display,
    /// or the first target display. None without a threshold or when the event names no one.
    pub fn group_key(&self, event: &Event) -> Option<String> {
        let threshold = self.rule.threshold.as_ref()?;
        let key = match threshold.group_by {
            GroupBy::Actor => Some(event.actor_display.trim()).filter(|a| *a != UNKNOWN_ACTOR),
            GroupBy::Target => event
                .target_displays
                .iter()
                .map(|t| t.trim())
                .find(|t| !t.is_empty()),
        };
        key.filter(|k| !k.is_empty()).map(str::to_lowercase)
    }
}

fn lower(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_lowercase())
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compile_match(m: &Match, at: &str) -> Result<CompiledMatch, RuleError> {
    let mut conditions = Vec::with_capacity(m.conditions.len());
    for (i, c) in m.conditions.iter().enumerate() {
        let field = format!("{at}.conditions[{i}]");
        let path = Path::parse(&c.path).map_err(|e| RuleError::new(format!("{field}.path"), e))?;
        let value = c.value.as_ref();
        let list = || -> Vec<String> {
            match value {
                Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
                Some(v) => scalar_text(v).into_iter().collect(),
                None => Vec::new(),
            }
        };
        let test =
            match c.op {
                Op::Eq => Test::Eq(value.and_then(scalar_text).ok_or_else(|| {
                    RuleError::new(format!("{field}.value"), "'eq' needs a value")
                })?),
                Op::Contains => Test::Contains(list()),
                Op::In => Test::In(list()),
                Op::Exists => Test::Exists,
                Op::External => Test::External,
            };
        conditions.push(CompiledCondition {
            path,
            test,
            not: c.not,
        });
    }
    let any = m
        .any
        .iter()
        .enumerate()
        .map(|(i, sub)| compile_match(sub, &format!("{at}.any[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(CompiledMatch {
        service: m
            .service
            .as_ref()
            .map(|s| canonical_service(s).to_lowercase()),
        operations: m
            .operation
            .as_ref()
            .map(|o| o.values().iter().map(|v| v.trim().to_lowercase()).collect())
            .unwrap_or_default(),
        result: m
            .result
            .as_deref()
            .and_then(Outcome::parse)
            .map(Outcome::as_str),
        actor: lower(&m.actor),
        target: lower(&m.target),
        search: lower(&m.search),
        conditions,
        any,
    })
}

impl CompiledMatch {
    /// Cheap criteria first: most events fail on their operation.
    fn matches(&self, view: &EventView<'_>, ctx: &MatchContext) -> bool {
        let event = view.event;
        if !self.operations.is_empty() {
            let op = event.operation.trim();
            if !self.operations.iter().any(|o| eq_ci(op, o)) {
                return false;
            }
        }
        if let Some(service) = &self.service
            && !eq_ci(event.service.trim(), service)
        {
            return false;
        }
        if let Some(result) = self.result
            && !event.result.eq_ignore_ascii_case(result)
        {
            return false;
        }
        if let Some(actor) = &self.actor
            && !contains_ci(&event.actor_display, actor)
            && !view.actor_upn().is_some_and(|upn| contains_ci(upn, actor))
        {
            return false;
        }
        if let Some(target) = &self.target
            && !event.target_displays.iter().any(|t| contains_ci(t, target))
        {
            return false;
        }
        if !self.conditions.iter().all(|c| c.holds(view, ctx)) {
            return false;
        }
        if !self.any.is_empty() && !self.any.iter().any(|m| m.matches(view, ctx)) {
            return false;
        }
        if let Some(search) = &self.search {
            let found = view.raw_text().contains(search.as_str())
                || [
                    event.operation.as_str(),
                    event.service.as_str(),
                    event.actor_display.as_str(),
                    event.display_summary.as_str(),
                ]
                .iter()
                .any(|s| contains_ci(s, search))
                || event.target_displays.iter().any(|t| contains_ci(t, search));
            if !found {
                return false;
            }
        }
        true
    }
}

impl CompiledCondition {
    fn holds(&self, view: &EventView<'_>, ctx: &MatchContext) -> bool {
        let raw = &view.event.raw;
        let found = match &self.test {
            Test::Exists => self.path.any(raw, &mut |v| is_present(v)),
            Test::Eq(want) => self
                .path
                .any(raw, &mut |v| texts(v, &mut |t| eq_ci(t, want))),
            Test::In(wanted) => self.path.any(raw, &mut |v| {
                texts(v, &mut |t| wanted.iter().any(|w| eq_ci(t, w)))
            }),
            Test::Contains(needles) => self.path.any(raw, &mut |v| match v {
                Value::Object(_) => {
                    let text = v.to_string();
                    needles.iter().any(|n| contains_ci(&text, n))
                }
                _ => texts(v, &mut |t| needles.iter().any(|n| contains_ci(t, n))),
            }),
            Test::External => self.path.any(raw, &mut |v| {
                texts(v, &mut |t| has_external_address(t, view, ctx))
            }),
        };
        found != self.not
    }
}

/// Whether `text` holds an email address outside the organisation: its domain is neither
/// one of the internal domains (or under one) nor the acting user's own domain. Addresses
/// may carry an `smtp:` prefix, angle brackets or quotes, and come several to a text.
fn has_external_address(text: &str, view: &EventView<'_>, ctx: &MatchContext) -> bool {
    let separators = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ';' | ',' | '<' | '>' | '[' | ']' | '"' | '\'' | '(' | ')'
            )
    };
    text.split(separators).any(|token| {
        let address = match token.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("smtp:") => &token[5..],
            _ => token,
        };
        let Some((local, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let domain = domain.trim_end_matches('.');
        if local.is_empty() || domain.is_empty() || !domain.contains('.') {
            return false;
        }
        let internal = |d: &str| {
            domain.eq_ignore_ascii_case(d)
                || (domain.len() > d.len() + 1
                    && domain.is_char_boundary(domain.len() - d.len() - 1)
                    && domain[domain.len() - d.len() - 1..].starts_with('.')
                    && domain[domain.len() - d.len()..].eq_ignore_ascii_case(d))
        };
        !(ctx.internal_domains.iter().any(|d| internal(d))
            || view.actor_domain().is_some_and(internal))
    })
}

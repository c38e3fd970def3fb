//! Reading a rule body a person wrote: every field is checked by hand rather than by serde so
//! each problem names where it is (`match.conditions[1].op: unknown op 'equals' ...`).

use serde_json::{Map, Value};

use super::model::{
    Condition, GroupBy, Match, OneOrMany, Op, Rule, RuleError, Severity, Threshold,
};
use super::path::Path;
use crate::normalize::Outcome;

/// The longest suppression and threshold window: one week.
pub const MAX_WINDOW_MINUTES: u32 = 10_080;
const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 4_000;
const MAX_TAG_CHARS: usize = 64;
const MAX_TAGS: usize = 20;
const MAX_ID_CHARS: usize = 64;
/// How deep `any` may nest: deeper is surely a generated mistake, and bounds recursion.
const MAX_DEPTH: usize = 8;

const RULE_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "enabled",
    "severity",
    "builtin",
    "match",
    "threshold",
    "suppress_minutes",
    "tags",
];
const MATCH_FIELDS: &[&str] = &[
    "service",
    "operation",
    "result",
    "actor",
    "target",
    "search",
    "conditions",
    "any",
];
const CONDITION_FIELDS: &[&str] = &["path", "op", "value", "not"];
const THRESHOLD_FIELDS: &[&str] = &["count", "minutes", "group_by"];

impl Rule {
    /// Reads and validates a rule body (JSON). Unknown fields are rejected; every error names
    /// the field path, e.g. `match.conditions[1].path`.
    pub fn parse(body: &Value) -> Result<Rule, RuleError> {
        let rule = decode_rule(body)?;
        rule.validate()?;
        Ok(rule)
    }

    /// Checks what the types cannot say: names, windows, paths, values fitting their op, and
    /// that the match asks for something.
    pub fn validate(&self) -> Result<(), RuleError> {
        check_id(&self.id)?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err(RuleError::new("name", "must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(RuleError::new(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(RuleError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        validate_match(&self.matcher, "match", 0)?;
        if let Some(t) = &self.threshold {
            if t.count < 2 {
                return Err(RuleError::new("threshold.count", "must be at least 2"));
            }
            check_window(t.minutes, "threshold.minutes")?;
        }
        if let Some(minutes) = self.suppress_minutes {
            check_window(minutes, "suppress_minutes")?;
        }
        if self.tags.len() > MAX_TAGS {
            return Err(RuleError::new("tags", format!("at most {MAX_TAGS} tags")));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            let t = tag.trim();
            if t.is_empty()
                || t.chars().count() > MAX_TAG_CHARS
                || t.chars().any(char::is_control)
                || t != tag
            {
                return Err(RuleError::new(
                    format!("tags[{i}]"),
                    format!(
                        "a tag is 1 to {MAX_TAG_CHARS} printable characters without surrounding spaces"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn check_id(id: &str) -> Result<(), RuleError> {
    if id.is_empty() {
        return Ok(());
    }
    if id.len() > MAX_ID_CHARS
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(RuleError::new(
            "id",
            format!("an id is 1 to {MAX_ID_CHARS} letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(())
}

fn check_window(minutes: u32, field: &str) -> Result<(), RuleError> {
    if minutes == 0 || minutes > MAX_WINDOW_MINUTES {
        return Err(RuleError::new(
            field,
            format!("must be between 1 and {MAX_WINDOW_MINUTES} minutes"),
        ));
    }
    Ok(())
}

fn non_blank(value: &Option<String>, field: String) -> Result<bool, RuleError> {
    match value {
        None => Ok(false),
        Some(v) if v.trim().is_empty() => Err(RuleError::new(field, "must not be empty")),
        Some(_) => Ok(true),
    }
}

fn validate_match(m: &Match, at: &str, depth: usize) -> Result<(), RuleError> {
    if depth > MAX_DEPTH {
        return Err(RuleError::new(
            format!("{at}.any"),
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let mut criteria = 0;
    for (value, name) in [
        (&m.service, "service"),
        (&m.actor, "actor"),
        (&m.target, "target"),
        (&m.search, "search"),
    ] {
        criteria += usize::from(non_blank(value, format!("{at}.{name}"))?);
    }
    if let Some(result) = &m.result {
        if Outcome::parse(result).is_none() {
            return Err(RuleError::new(
                format!("{at}.result"),
                format!(
                    "unknown outcome '{result}' (expected success, failure, partial or unknown)"
                ),
            ));
        }
        criteria += 1;
    }
    if let Some(ops) = &m.operation {
        let names = ops.values();
        if names.is_empty() {
            return Err(RuleError::new(
                format!("{at}.operation"),
                "must name at least one operation",
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                let field = match ops {
                    OneOrMany::One(_) => format!("{at}.operation"),
                    OneOrMany::Many(_) => format!("{at}.operation[{i}]"),
                };
                return Err(RuleError::new(field, "must not be empty"));
            }
        }
        criteria += 1;
    }
    for (i, c) in m.conditions.iter().enumerate() {
        validate_condition(c, &format!("{at}.conditions[{i}]"))?;
    }
    for (i, sub) in m.any.iter().enumerate() {
        validate_match(sub, &format!("{at}.any[{i}]"), depth + 1)?;
    }
    criteria += m.conditions.len() + m.any.len();
    if criteria == 0 {
        return Err(RuleError::new(
            at,
            "matches every event: give at least one of service, operation, result, actor, target, search, conditions or any",
        ));
    }
    Ok(())
}

fn validate_condition(c: &Condition, at: &str) -> Result<(), RuleError> {
    Path::parse(&c.path).map_err(|m| RuleError::new(format!("{at}.path"), m))?;
    let field = format!("{at}.value");
    let value = c.value.as_ref().filter(|v| !v.is_null());
    match (c.op, value) {
        (Op::Eq, None) | (Op::Contains, None) | (Op::In, None) => Err(RuleError::new(
            field,
            format!("'{}' needs a value", c.op.as_str()),
        )),
        (Op::Exists | Op::External, Some(_)) => Err(RuleError::new(
            field,
            format!("'{}' takes no value", c.op.as_str()),
        )),
        (Op::Exists | Op::External, None) => Ok(()),
        (Op::Eq, Some(v)) => {
            if matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                Ok(())
            } else {
                Err(RuleError::new(
                    field,
                    "'eq' compares with a string, number or boolean (use 'in' for a list)",
                ))
            }
        }
        (Op::Contains, Some(Value::String(s))) => {
            if s.trim().is_empty() {
                Err(RuleError::new(field, "must not be empty"))
            } else {
                Ok(())
            }
        }
        (Op::Contains, Some(Value::Array(items))) => {
            if items.is_empty() {
                return Err(RuleError::new(field, "must list at least one text"));
            }
            for (i, item) in items.iter().enumerate() {
                if item.as_str().is_none_or(|s| s.trim().is_empty()) {
                    return Err(RuleError::new(
                        format!("{field}[{i}]"),
                        "must be a non-empty string",
                    ));
                }
            }
            Ok(())
        }
        (Op::Contains, Some(_)) => Err(RuleError::new(
            field,
            "'contains' takes a string or a list of strings",
        )),
        (Op::In, Some(Value::Array(items))) => {
            if items.is_empty() {
                return Err(RuleError::new(field, "must list at least one value"));
            }
            for (i, item) in items.iter().enumerate() {
                if !matches!(item, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    return Err(RuleError::new(
                        format!("{field}[{i}]"),
                        "must be a string, number or boolean",
                    ));
                }
            }
            Ok(())
        }
        (Op::In, Some(_)) => Err(RuleError::new(field, "'in' takes an array of values")),
    }
}

// ---- decoding -------------------------------------------------------------------------

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, RuleError> {
    value.as_object().ok_or_else(|| {
        RuleError::new(
            if at.is_empty() { "body" } else { at },
            "must be a JSON object",
        )
    })
}

fn known_fields(map: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), RuleError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(RuleError::new(
            join(at, unknown),
            format!("unknown field (expected one of {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// The value of `key`, treating null as absent.
fn get<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn opt_string(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, RuleError> {
    match get(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RuleError::new(join(at, key), "must be a string")),
    }
}

fn opt_bool(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<bool>, RuleError> {
    match get(map, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(RuleError::new(join(at, key), "must be true or false")),
    }
}

fn opt_u32(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u32>, RuleError> {
    match get(map, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| RuleError::new(join(at, key), "must be a whole number, 0 or more")),
    }
}

fn required<T>(value: Option<T>, key: &str, at: &str) -> Result<T, RuleError> {
    value.ok_or_else(|| RuleError::new(join(at, key), "is required"))
}

fn decode_rule(body: &Value) -> Result<Rule, RuleError> {
    let map = object(body, "")?;
    known_fields(map, RULE_FIELDS, "")?;
    let severity = required(opt_string(map, "severity", "")?, "severity", "")?;
    let severity = severity
        .parse::<Severity>()
        .map_err(|m| RuleError::new("severity", m))?;
    let matcher = decode_match(required(get(map, "match"), "match", "")?, "match", 0)?;
    let threshold = get(map, "threshold")
        .map(|t| decode_threshold(t, "threshold"))
        .transpose()?;
    let tags = match get(map, "tags") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| RuleError::new(format!("tags[{i}]"), "must be a string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(RuleError::new("tags", "must be an array of strings")),
    };
    Ok(Rule {
        id: opt_string(map, "id", "")?.unwrap_or_default(),
        name: required(opt_string(map, "name", "")?, "name", "")?,
        description: opt_string(map, "description", "")?.unwrap_or_default(),
        enabled: opt_bool(map, "enabled", "")?.unwrap_or(true),
        severity,
        builtin: opt_bool(map, "builtin", "")?.unwrap_or(false),
        matcher,
        threshold,
        suppress_minutes: opt_u32(map, "suppress_minutes", "")?,
        tags,
    })
}

fn decode_threshold(value: &Value, at: &str) -> Result<Threshold, RuleError> {
    let map = object(value, at)?;
    known_fields(map, THRESHOLD_FIELDS, at)?;
    let group_by = match opt_string(map, "group_by", at)? {
        None => GroupBy::default(),
        Some(g) => match g.trim().to_ascii_lowercase().as_str() {
            "actor" => GroupBy::Actor,
            "target" => GroupBy::Target,
            _ => {
                return Err(RuleError::new(
                    join(at, "group_by"),
                    format!("unknown group_by '{g}' (expected actor or target)"),
                ));
            }
        },
    };
    Ok(Threshold {
        count: required(opt_u32(map, "count", at)?, "count", at)?,
        minutes: required(opt_u32(map, "minutes", at)?, "minutes", at)?,
        group_by,
    })
}

fn decode_match(value: &Value, at: &str, depth: usize) -> Result<Match, RuleError> {
    if depth > MAX_DEPTH {
        return Err(RuleError::new(
            at,
            format!("nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    let map = object(value, at)?;
    known_fields(map, MATCH_FIELDS, at)?;
    let operation = match get(map, "operation") {
        None => None,
        Some(Value::String(s)) => Some(OneOrMany::One(s.clone())),
        Some(Value::Array(items)) => Some(OneOrMany::Many(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        RuleError::new(format!("{at}.operation[{i}]"), "must be a string")
                    })
                })
                .collect::<Result<_, _>>()?,
        )),
        Some(_) => {
            return Err(RuleError::new(
                format!("{at}.operation"),
                "must be a string or an array of strings",
            ));
        }
    };
    let conditions = match get(map, "conditions") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, c)| decode_condition(c, &format!("{at}.conditions[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(RuleError::new(
                format!("{at}.conditions"),
                "must be an array",
            ));
        }
    };
    let any = match get(map, "any") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| decode_match(m, &format!("{at}.any[{i}]"), depth + 1))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(RuleError::new(format!("{at}.any"), "must be an array")),
    };
    Ok(Match {
        service: opt_string(map, "service", at)?,
        operation,
        result: opt_string(map, "result", at)?,
        actor: opt_string(map, "actor", at)?,
        target: opt_string(map, "target", at)?,
        search: opt_string(map, "search", at)?,
        conditions,
        any,
    })
}

fn decode_condition(value: &Value, at: &str) -> Result<Condition, RuleError> {
    let map = object(value, at)?;
    known_fields(map, CONDITION_FIELDS, at)?;
    let op_text = required(opt_string(map, "op", at)?, "op", at)?;
    let op = Op::ALL
        .into_iter()
        .find(|op| op.as_str().eq_ignore_ascii_case(op_text.trim()))
        .ok_or_else(|| {
            RuleError::new(
                join(at, "op"),
                format!("unknown op '{op_text}' (expected eq, contains, in, exists or external)"),
            )
        })?;
    Ok(Condition {
        path: required(opt_string(map, "path", at)?, "path", at)?,
        op,
        value: get(map, "value").cloned(),
        not: opt_bool(map, "not", at)?.unwrap_or(false),
    })
}

//! The slice of OData `$filter` that "List directoryAudits" documents and audit clients use:
//!
//! - `activityDateTime` with `ge`, `gt`, `le`, `lt`, `eq` and an unquoted `DateTimeOffset`
//!   literal;
//! - on directory audits, `activityDisplayName eq '...'` and
//!   `startswith(activityDisplayName, '...')`;
//! - clauses joined by `and`, optionally in parentheses.
//!
//! Anything else is rejected, loudly, so a client that builds a filter the simulator does not
//! understand finds out in tests rather than being silently handed unfiltered data.

use crate::time::{Ticks, parse_rfc3339};

/// Inclusive bounds on `activityDateTime`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimeBounds {
    pub lo: Option<Ticks>,
    pub hi: Option<Ticks>,
}

impl TimeBounds {
    fn raise_lo(&mut self, t: Ticks) {
        self.lo = Some(self.lo.map_or(t, |lo| lo.max(t)));
    }

    fn lower_hi(&mut self, t: Ticks) {
        self.hi = Some(self.hi.map_or(t, |hi| hi.min(t)));
    }
}

/// A condition on `activityDisplayName`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NameTest {
    Eq(String),
    StartsWith(String),
}

impl NameTest {
    /// Case-insensitive: Microsoft does not say how audit log string filters compare, and
    /// directory string filters ignore case, so the simulator does too (its own choice).
    fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        match self {
            NameTest::Eq(v) => name == v.to_lowercase(),
            NameTest::StartsWith(v) => name.starts_with(&v.to_lowercase()),
        }
    }
}

/// A parsed `$filter`: every condition must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub time: TimeBounds,
    pub names: Vec<NameTest>,
}

impl Filter {
    /// Whether a record's `activityDisplayName` passes the name conditions.
    pub(crate) fn name_matches(&self, name: Option<&str>) -> bool {
        self.names
            .iter()
            .all(|t| name.is_some_and(|n| t.matches(n)))
    }
}

/// The resource a filter runs against: it decides which properties exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entity {
    /// `microsoft.graph.directoryAudit`
    DirectoryAudit,
    /// `microsoft.graph.auditEvent` (Intune): no `activityDisplayName`.
    AuditEvent,
}

impl Entity {
    fn type_name(self) -> &'static str {
        match self {
            Entity::DirectoryAudit => "microsoft.graph.directoryAudit",
            Entity::AuditEvent => "microsoft.graph.auditEvent",
        }
    }

    fn has_display_name(self) -> bool {
        self == Entity::DirectoryAudit
    }
}

const DATE_TIME: &str = "activityDateTime";
const DISPLAY_NAME: &str = "activityDisplayName";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(format!(
                                "Invalid filter clause: unterminated string literal in '{filter}'."
                            ));
                        }
                        // OData doubles a quote inside a string literal.
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => text.push(c),
                    }
                }
                tokens.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    entity: Entity,
    filter: &'a str,
    out: Filter,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn incomplete(&self) -> String {
        format!(
            "Invalid filter clause: incomplete expression in '{}'.",
            self.filter
        )
    }

    fn expect(&mut self, want: &Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            _ => Err(format!(
                "Invalid filter clause: expected {what} in '{}'.",
                self.filter
            )),
        }
    }

    /// `clause (and clause)*`, up to the end or a closing parenthesis.
    fn conjunction(&mut self) -> Result<(), String> {
        loop {
            self.clause()?;
            match self.peek() {
                None | Some(Token::Close) => return Ok(()),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => {
                    self.pos += 1;
                }
                Some(Token::Word(w)) => {
                    return Err(format!(
                        "Invalid filter clause: '{w}' is not supported; join conditions with 'and'."
                    ));
                }
                Some(_) => return Err(self.incomplete()),
            }
        }
    }

    fn clause(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Token::Open) => {
                self.conjunction()?;
                self.expect(&Token::Close, "')'")
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("startswith") => self.starts_with(),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => Err(format!(
                "Invalid filter clause: 'not' is not supported in '{}'.",
                self.filter
            )),
            Some(Token::Word(property)) => self.comparison(&property),
            Some(_) => Err(format!(
                "Invalid filter clause: a property name was expected in '{}'.",
                self.filter
            )),
            None => Err(self.incomplete()),
        }
    }

    fn property(&self, name: &str) -> Result<&'static str, String> {
        if name.eq_ignore_ascii_case(DATE_TIME) {
            return Ok(DATE_TIME);
        }
        if name.eq_ignore_ascii_case(DISPLAY_NAME) {
            if self.entity.has_display_name() {
                return Ok(DISPLAY_NAME);
            }
            return Err(format!(
                "Invalid filter clause: Could not find a property named '{name}' on type '{}'.",
                self.entity.type_name()
            ));
        }
        let supported = if self.entity.has_display_name() {
            "activityDateTime and activityDisplayName"
        } else {
            "activityDateTime"
        };
        Err(format!(
            "Invalid filter clause: filtering on '{name}' is not supported by the simulator; only {supported} conditions joined by 'and' are."
        ))
    }

    fn starts_with(&mut self) -> Result<(), String> {
        self.expect(&Token::Open, "'(' after startswith")?;
        let Some(Token::Word(name)) = self.next() else {
            return Err(self.incomplete());
        };
        if self.property(&name)? != DISPLAY_NAME {
            return Err(format!(
                "Invalid filter clause: startswith is supported on activityDisplayName only, not on '{name}'."
            ));
        }
        self.expect(&Token::Comma, "','")?;
        let Some(Token::Text(prefix)) = self.next() else {
            return Err(format!(
                "Invalid filter clause: startswith needs a quoted string in '{}'.",
                self.filter
            ));
        };
        self.expect(&Token::Close, "')'")?;
        self.out.names.push(NameTest::StartsWith(prefix));
        Ok(())
    }

    fn comparison(&mut self, name: &str) -> Result<(), String> {
        let property = self.property(name)?;
        let Some(Token::Word(op)) = self.next() else {
            return Err(self.incomplete());
        };
        let op = op.to_ascii_lowercase();
        let value = self.next().ok_or_else(|| self.incomplete())?;
        if property == DISPLAY_NAME {
            let Token::Text(text) = value else {
                return Err(format!(
                    "Invalid filter clause: activityDisplayName is compared with a quoted string, as in activityDisplayName eq 'Add user', in '{}'.",
                    self.filter
                ));
            };
            if op != "eq" {
                return Err(format!(
                    "Invalid filter clause: operator '{op}' is not supported for activityDisplayName (eq and startswith are)."
                ));
            }
            self.out.names.push(NameTest::Eq(text));
            return Ok(());
        }
        let literal = match value {
            Token::Word(w) => w,
            Token::Text(_) => {
                return Err(format!(
                    "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind '{op}'."
                ));
            }
            _ => return Err(self.incomplete()),
        };
        let t = parse_rfc3339(&literal).ok_or_else(|| {
            format!("Invalid filter clause: '{literal}' is not a valid DateTimeOffset literal.")
        })?;
        let bounds = &mut self.out.time;
        match op.as_str() {
            "ge" => bounds.raise_lo(t),
            "gt" => bounds.raise_lo(t.saturating_add(1)),
            "le" => bounds.lower_hi(t),
            "lt" => bounds.lower_hi(t.saturating_sub(1)),
            "eq" => {
                bounds.raise_lo(t);
                bounds.lower_hi(t);
            }
            other => {
                return Err(format!(
                    "Invalid filter clause: operator '{other}' is not supported for activityDateTime."
                ));
            }
        }
        Ok(())
    }
}

pub(crate) fn parse_filter(filter: &str, entity: Entity) -> Result<Filter, String> {
    let tokens = tokenize(filter)?;
    if tokens.is_empty() {
        return Err("Invalid filter clause: the filter is empty.".into());
    }
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        entity,
        filter,
        out: Filter::default(),
    };
    parser.conjunction()?;
    if parser.pos != tokens.len() {
        return Err(format!(
            "Invalid filter clause: unbalanced parentheses in '{filter}'."
        ));
    }
    Ok(parser.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(f: &str) -> Result<Filter, String> {
        parse_filter(f, Entity::DirectoryAudit)
    }

    #[test]
    fn accepts_ranges() {
        let b = dir(
            "activityDateTime ge 2024-01-01T00:00:00Z and activityDateTime le 2024-01-02T00:00:00.5Z",
        )
        .unwrap_or_default()
        .time;
        assert_eq!(b.lo, parse_rfc3339("2024-01-01T00:00:00Z"));
        assert_eq!(b.hi, parse_rfc3339("2024-01-02T00:00:00.5Z"));
        let gt = dir("activityDateTime gt 2024-01-01T00:00:00Z")
            .unwrap_or_default()
            .time;
        assert_eq!(gt.lo, parse_rfc3339("2024-01-01T00:00:00.0000001Z"));
        let eq = dir("ActivityDateTime eq 2024-01-01T00:00:00+01:00")
            .unwrap_or_default()
            .time;
        assert_eq!(eq.lo, eq.hi);
    }

    #[test]
    fn accepts_display_name_conditions_with_the_range() {
        let f = dir(
            "(activityDateTime ge 2024-01-01T00:00:00Z and activityDateTime le 2024-01-02T00:00:00Z) and startswith(activityDisplayName, 'Add ') and activityDisplayName eq 'Add member to group'",
        )
        .unwrap_or_default();
        assert!(f.time.lo.is_some() && f.time.hi.is_some());
        assert_eq!(
            f.names,
            [
                NameTest::StartsWith("Add ".into()),
                NameTest::Eq("Add member to group".into())
            ]
        );
        assert!(f.name_matches(Some("add member to group")));
        assert!(!f.name_matches(Some("Add user")));
        assert!(!f.name_matches(None));
        let quoted =
            dir("activityDisplayName eq 'Consent to application ''Contoso'''").unwrap_or_default();
        assert_eq!(
            quoted.names,
            [NameTest::Eq("Consent to application 'Contoso'".into())]
        );
        assert!(Filter::default().name_matches(None));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "category eq 'UserManagement'",
            "activityDateTime ge '2024-01-01T00:00:00Z'",
            "activityDateTime ge 2024-01-01",
            "activityDateTime ge 2024-01-01T00:00:00Z or activityDateTime le 2024-01-02T00:00:00Z",
            "activityDateTime ne 2024-01-01T00:00:00Z",
            "activityDateTime ge",
            "activityDisplayName eq Add",
            "activityDisplayName ne 'Add user'",
            "activityDisplayName eq 'Add user",
            "startswith(activityDateTime, '2024')",
            "startswith(activityDisplayName 'Add')",
            "not activityDisplayName eq 'Add user'",
            "(activityDisplayName eq 'Add user'",
            "activityDisplayName eq 'Add user')",
        ] {
            assert!(dir(bad).is_err(), "{bad}");
        }
        let intune = parse_filter("activityDisplayName eq 'x'", Entity::AuditEvent);
        assert!(
            intune
                .as_ref()
                .is_err_and(|e| e.contains("microsoft.graph.auditEvent")),
            "{intune:?}"
        );
    }
}

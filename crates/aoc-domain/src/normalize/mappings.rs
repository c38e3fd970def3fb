//! Category labels and display-summary templates. The built-ins live in `mappings.yml` beside
//! this file (the same shape a user's file has), so what ships is also the documentation of
//! what can be overridden.

use std::collections::HashMap;

use serde::Deserialize;

const BUILTIN_YAML: &str = include_str!("mappings.yml");
const FALLBACK_DEFAULT: &str = "{actor} {operation} {targets}";
/// A summary lists at most this many targets; the rest are counted.
const MAX_LISTED_TARGETS: usize = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingsError {
    #[error("mappings are not valid YAML: {0}")]
    Yaml(String),
    #[error("summary template for '{key}' is invalid: {reason}")]
    Template { key: String, reason: String },
}

/// Category labels and summary templates (built-in defaults, overridable by a YAML file).
/// `Default` is the built-in set.
#[derive(Debug, Clone)]
pub struct Mappings {
    categories: HashMap<String, String>,
    /// Keyed by lowercased operation.
    summaries: HashMap<String, Template>,
    default_summary: Template,
    /// Stands in for `{actor}` when a record names no initiator.
    unknown_actor: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MappingsFile {
    #[serde(default)]
    categories: HashMap<String, String>,
    #[serde(default)]
    summaries: HashMap<String, String>,
    #[serde(default)]
    default_summary: Option<String>,
    #[serde(default)]
    unknown_actor: Option<String>,
}

impl Default for Mappings {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Mappings {
    /// The built-in labels and templates.
    pub fn builtin() -> Self {
        let empty = Mappings {
            categories: HashMap::new(),
            summaries: HashMap::new(),
            default_summary: Template::parse(FALLBACK_DEFAULT).unwrap_or_default(),
            unknown_actor: String::new(),
        };
        // The built-in file is part of the source and a test parses it, so this cannot fail in
        // a released build; falling back keeps the library panic-free regardless.
        empty.clone().with_overrides(BUILTIN_YAML).unwrap_or(empty)
    }

    /// The built-ins with a user's YAML merged over them.
    pub fn from_yaml_str(text: &str) -> Result<Self, MappingsError> {
        Self::builtin().with_overrides(text)
    }

    /// These mappings with `text` (YAML: `categories`, `summaries`, `default_summary`,
    /// `unknown_actor`) merged
    /// over them. An empty document changes nothing.
    pub fn with_overrides(mut self, text: &str) -> Result<Self, MappingsError> {
        if text.trim().is_empty() {
            return Ok(self);
        }
        let file: Option<MappingsFile> =
            serde_norway::from_str(text).map_err(|e| MappingsError::Yaml(e.to_string()))?;
        let Some(file) = file else {
            return Ok(self);
        };
        for (key, template) in file.summaries {
            let parsed = Template::parse(&template).map_err(|reason| MappingsError::Template {
                key: key.clone(),
                reason,
            })?;
            self.summaries.insert(key.to_lowercase(), parsed);
        }
        if let Some(template) = file.default_summary {
            self.default_summary =
                Template::parse(&template).map_err(|reason| MappingsError::Template {
                    key: "default_summary".into(),
                    reason,
                })?;
        }
        if let Some(unknown) = file.unknown_actor {
            self.unknown_actor = unknown;
        }
        self.categories.extend(file.categories);
        Ok(self)
    }

    /// The label for a category / workload, or the name itself when none is configured.
    pub fn category_label<'a>(&'a self, category: &'a str) -> &'a str {
        self.categories
            .get(category)
            .map_or(category, String::as_str)
    }

    /// Render the summary of one event.
    pub fn summarize(&self, ctx: &SummaryContext<'_>) -> String {
        let template = self.template_for(ctx.operation);
        let actor = if ctx.actor.is_empty() {
            self.unknown_actor.as_str()
        } else {
            ctx.actor
        };
        template.render(
            &SummaryContext { actor, ..*ctx },
            self.category_label(ctx.service),
        )
    }

    fn template_for(&self, operation: &str) -> &Template {
        // Keys are stored lowercased. Short ASCII operations (nearly all) are lowercased in a
        // stack buffer, so a million lookups allocate nothing.
        let mut buf = [0u8; 64];
        let found = match buf.get_mut(..operation.len()) {
            Some(slot) if operation.is_ascii() => {
                slot.copy_from_slice(operation.as_bytes());
                slot.make_ascii_lowercase();
                std::str::from_utf8(slot)
                    .ok()
                    .and_then(|key| self.summaries.get(key))
            }
            _ => self.summaries.get(&operation.to_lowercase()),
        };
        found.unwrap_or(&self.default_summary)
    }
}

/// What a summary template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct SummaryContext<'a> {
    pub actor: &'a str,
    pub operation: &'a str,
    /// The raw category / workload; rendered through its label.
    pub service: &'a str,
    pub result: &'a str,
    pub targets: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Actor,
    Operation,
    Service,
    Result,
    /// The nth target (0-based).
    Target(usize),
    Targets,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Slot),
}

/// A template parsed once at load, so rendering a million events does no parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Template(Vec<Piece>);

impl Template {
    fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for n in chars.by_ref() {
                        if n == '}' {
                            closed = true;
                            break;
                        }
                        name.push(n);
                    }
                    if !closed {
                        return Err(format!("unclosed '{{' before '{name}'"));
                    }
                    let slot = slot_named(name.trim()).ok_or_else(|| {
                        format!(
                            "unknown placeholder '{{{name}}}' (known: {{actor}} {{operation}} {{service}} \
                             {{result}} {{target}} {{target2}} {{target3}} {{targets}})"
                        )
                    })?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Slot(slot));
                }
                '}' => return Err("unmatched '}' (write '}}' for a literal brace)".into()),
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template(pieces))
    }

    fn render(&self, ctx: &SummaryContext<'_>, service_label: &str) -> String {
        let mut out = String::with_capacity(96);
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(Slot::Actor) => out.push_str(ctx.actor),
                Piece::Slot(Slot::Operation) => out.push_str(ctx.operation),
                Piece::Slot(Slot::Service) => out.push_str(service_label),
                Piece::Slot(Slot::Result) => out.push_str(ctx.result),
                Piece::Slot(Slot::Target(n)) => {
                    if let Some(t) = ctx.targets.get(*n) {
                        out.push_str(t);
                    }
                }
                Piece::Slot(Slot::Targets) => push_target_list(&mut out, ctx.targets),
            }
        }
        if is_tidy(&out) { out } else { tidy(&out) }
    }
}

fn slot_named(name: &str) -> Option<Slot> {
    Some(match name {
        "actor" => Slot::Actor,
        "operation" => Slot::Operation,
        "service" | "category" => Slot::Service,
        "result" => Slot::Result,
        "target" | "target1" => Slot::Target(0),
        "target2" => Slot::Target(1),
        "target3" => Slot::Target(2),
        "targets" => Slot::Targets,
        _ => return None,
    })
}

fn push_target_list(out: &mut String, targets: &[String]) {
    for (i, t) in targets.iter().take(MAX_LISTED_TARGETS).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(t);
    }
    if targets.len() > MAX_LISTED_TARGETS {
        out.push_str(&format!(" and {} more", targets.len() - MAX_LISTED_TARGETS));
    }
}

/// One line, single spaces: empty placeholders leave no gaps, names with line breaks
/// cannot break the UI's list.
fn is_tidy(s: &str) -> bool {
    let mut previous_space = true; // a leading space is untidy
    for c in s.chars() {
        if c.is_whitespace() {
            if c != ' ' || previous_space {
                return false;
            }
            previous_space = true;
        } else {
            previous_space = false;
        }
    }
    !previous_space || s.is_empty()
}

fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ctx<'a>(targets: &'a [String]) -> SummaryContext<'a> {
        SummaryContext {
            actor: "alice@contoso.com",
            operation: "Do thing",
            service: "UserManagement",
            result: "success",
            targets,
        }
    }

    #[test]
    fn builtin_file_parses_in_full() {
        let parsed = Mappings {
            categories: HashMap::new(),
            summaries: HashMap::new(),
            default_summary: Template::default(),
            unknown_actor: String::new(),
        }
        .with_overrides(BUILTIN_YAML)
        .unwrap();
        assert!(parsed.summaries.len() > 40);
        assert_eq!(parsed.category_label("UserManagement"), "User management");
        assert_eq!(
            parsed.default_summary,
            Template::parse(FALLBACK_DEFAULT).unwrap()
        );
        assert_eq!(parsed.unknown_actor, "Someone");
    }

    #[test]
    fn templates_render_every_slot() {
        let t = Template::parse(
            "{actor}|{operation}|{service}|{result}|{target}|{target2}|{target3}|{targets}|{{x}}",
        )
        .unwrap();
        let targets = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            t.render(&ctx(&targets), "User management"),
            "alice@contoso.com|Do thing|User management|success|a|b||a, b|{x}"
        );
    }

    #[test]
    fn empty_slots_leave_no_double_spaces_and_long_lists_are_counted() {
        let t = Template::parse("{actor} {operation} {targets}").unwrap();
        assert_eq!(t.render(&ctx(&[]), ""), "alice@contoso.com Do thing");
        let many: Vec<String> = (1..=8).map(|i| format!("t{i}")).collect();
        assert_eq!(
            t.render(&ctx(&many), ""),
            "alice@contoso.com Do thing t1, t2, t3, t4, t5 and 3 more"
        );
    }

    #[test]
    fn lookups_ignore_case_for_short_long_and_non_ascii_operations() {
        let long_op = "Update-SomethingWithAVeryLongCmdletNameThatIsLongerThanSixtyFourBytes";
        let yaml = format!(
            "summaries:\n  \"{long_op}\": \"long\"\n  \"Änderung Benutzer\": \"umlaut\"\n  \"add user\": \"short\"\n"
        );
        let m = Mappings::from_yaml_str(&yaml).unwrap();
        let render = |op: &str| {
            m.summarize(&SummaryContext {
                operation: op,
                ..ctx(&[])
            })
        };
        assert_eq!(render(&long_op.to_uppercase()), "long");
        assert_eq!(render("änderung BENUTZER"), "umlaut");
        assert_eq!(render("ADD USER"), "short");
        assert_eq!(render("Something else"), "alice@contoso.com Something else");
    }

    #[test]
    fn tidy_check_matches_tidy() {
        for s in ["a b", " a", "a ", "a  b", "a\nb", "", "a\tb", "ä b"] {
            assert_eq!(is_tidy(s), tidy(s) == s, "{s:?}");
        }
    }

    #[test]
    fn bad_templates_are_named() {
        for bad in ["{actor", "{nobody} did it", "a } b"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        let err =
            Mappings::from_yaml_str("summaries:\n  \"Add user\": \"{who} added\"\n").unwrap_err();
        assert!(
            matches!(&err, MappingsError::Template { key, .. } if key == "Add user"),
            "{err}"
        );
        assert!(err.to_string().contains("{who}"), "{err}");
    }
}

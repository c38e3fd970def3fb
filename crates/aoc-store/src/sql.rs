//! A small SQL builder shared by both backends: the WHERE clause of a search is the same
//! except for placeholders, list parameters and the free-text condition, which each
//! [`Dialect`] supplies.

use aoc_domain::EventQuery;
use chrono::{DateTime, Utc};

use crate::text::FreeText;

/// A bound value; each backend maps it to its own types.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    List(Vec<String>),
}

/// What differs between SQLite and PostgreSQL in a WHERE clause.
pub(crate) trait Dialect {
    /// The placeholder for the `n`th argument (1-based) of this kind.
    fn placeholder(&self, n: usize, arg: &Arg) -> String;
    /// `column NOT IN list`, given the list's placeholder.
    fn not_in(&self, column: &str, list: &str) -> String;
    /// `column` with ASCII letters lowercased and every other character as stored, the way
    /// `str::to_ascii_lowercase` does (and `Visibility::allows` compares).
    fn ascii_lower(&self, column: &str) -> String;
    /// The free-text condition (with its arguments) over the events table aliased `e`.
    fn free_text(&self, sql: &mut Sql, text: &FreeText);
}

/// SQL text plus its arguments, in order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append the placeholder for `arg`.
    pub(crate) fn arg(&mut self, d: &dyn Dialect, arg: Arg) -> &mut Self {
        let p = d.placeholder(self.args.len() + 1, &arg);
        self.args.push(arg);
        self.text.push_str(&p);
        self
    }
}

/// Which parts of a query a WHERE clause applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Filters, hidden lists, free text and the cursor (search).
    Page,
    /// Everything but the cursor (count_matching, histogram).
    All,
    /// Only the hidden lists (filter_options).
    HiddenOnly,
}

/// Append ` WHERE ...` (or nothing) for `query` over the events table aliased `e`. Returns
/// whether a WHERE was written.
pub(crate) fn push_where(sql: &mut Sql, d: &dyn Dialect, query: &EventQuery, scope: Scope) -> bool {
    let mut wrote = false;
    let mut and = |sql: &mut Sql| {
        sql.push(if wrote { " AND " } else { " WHERE " });
        wrote = true;
    };
    // Hidden names match ignoring ASCII case, so a list written `exchange` still hides
    // `Exchange`. They stay a residual filter: the other conditions keep their indexes.
    let hidden = [
        ("e.service", &query.hidden_services),
        ("e.operation", &query.hidden_operations),
    ];
    for (column, names) in hidden {
        if names.is_empty() {
            continue;
        }
        and(sql);
        let p = d.placeholder(sql.args.len() + 1, &Arg::List(Vec::new()));
        sql.push(&d.not_in(&d.ascii_lower(column), &p));
        let lowered = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        sql.args.push(Arg::List(lowered));
    }
    if scope == Scope::HiddenOnly {
        return wrote;
    }
    // Results are stored in the outcome vocabulary; a filter written in any case or in a
    // source's own spelling (`False`, `Failed`) means the same outcome.
    let result = query.result.as_deref().map(aoc_domain::outcome_filter);
    let exact = [
        ("e.service", query.service.as_deref()),
        ("e.actor_display", query.actor.as_deref()),
        ("e.operation", query.operation.as_deref()),
        ("e.result", result.as_deref()),
    ];
    for (column, value) in exact {
        if let Some(value) = value {
            and(sql);
            sql.push(column)
                .push(" = ")
                .arg(d, Arg::Text(value.to_owned()));
        }
    }
    if let Some(start) = query.start {
        and(sql);
        sql.push("e.ts >= ").arg(d, Arg::Time(start));
    }
    if let Some(end) = query.end {
        and(sql);
        sql.push("e.ts <= ").arg(d, Arg::Time(end));
    }
    if let Some(text) = query.search.as_deref().and_then(FreeText::parse) {
        and(sql);
        d.free_text(sql, &text);
    }
    if scope == Scope::Page
        && let Some(cursor) = &query.cursor
    {
        and(sql);
        sql.push("(e.ts, e.id) < (")
            .arg(d, Arg::Time(cursor.timestamp))
            .push(", ")
            .arg(d, Arg::Text(cursor.id.clone()))
            .push(")");
    }
    wrote
}

/// The page size of a search, clamped (a search fetches one row more to learn whether more
/// exist).
pub(crate) fn page_limit(query: &EventQuery) -> u32 {
    query.page_size.clamp(1, aoc_domain::MAX_PAGE_SIZE)
}

/// Bucket width in microseconds; a non-positive width is treated as one second.
pub(crate) fn bucket_micros(bucket_seconds: i64) -> i64 {
    bucket_seconds.max(1).saturating_mul(1_000_000)
}

/// The outcome vocabulary among a column's distinct stored results, sorted like every other
/// option list. Rows are migrated to the vocabulary; mapping here as well keeps the dropdown
/// to it even for a row written by something else.
pub(crate) fn outcome_options(stored: Vec<String>) -> Vec<String> {
    let present: std::collections::BTreeSet<&'static str> = stored
        .iter()
        .map(|r| aoc_domain::Outcome::from_source(Some(r)).as_str())
        .collect();
    present.into_iter().map(str::to_owned).collect()
}

//! The slice of OData `$filter` the audit endpoints are used with:
//! `activityDateTime ge 2024-01-01T00:00:00Z and activityDateTime le 2024-01-02T00:00:00Z`.
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

pub(crate) fn parse_filter(filter: &str) -> Result<TimeBounds, String> {
    let tokens: Vec<&str> = filter.split_whitespace().collect();
    if tokens.is_empty() {
        return Err("Invalid filter clause: the filter is empty.".into());
    }
    let mut bounds = TimeBounds::default();
    let mut rest = tokens.as_slice();
    loop {
        let [field, op, value, tail @ ..] = rest else {
            return Err(format!(
                "Invalid filter clause: incomplete expression in '{filter}'."
            ));
        };
        if !field.eq_ignore_ascii_case("activityDateTime") {
            return Err(format!(
                "Invalid filter clause: filtering on '{field}' is not supported by the simulator; only activityDateTime comparisons joined by 'and' are."
            ));
        }
        if value.starts_with('\'') || value.starts_with('"') {
            return Err(format!(
                "Invalid filter clause: A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind '{op}'."
            ));
        }
        let t = parse_rfc3339(value).ok_or_else(|| {
            format!("Invalid filter clause: '{value}' is not a valid DateTimeOffset literal.")
        })?;
        match op.to_ascii_lowercase().as_str() {
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
        match tail {
            [] => return Ok(bounds),
            [join, more @ ..] if join.eq_ignore_ascii_case("and") => rest = more,
            [join, ..] => {
                return Err(format!(
                    "Invalid filter clause: '{join}' is not supported; join activityDateTime comparisons with 'and'."
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ranges() {
        let b = parse_filter(
            "activityDateTime ge 2024-01-01T00:00:00Z and activityDateTime le 2024-01-02T00:00:00.5Z",
        )
        .unwrap_or_default();
        assert_eq!(b.lo, parse_rfc3339("2024-01-01T00:00:00Z"));
        assert_eq!(b.hi, parse_rfc3339("2024-01-02T00:00:00.5Z"));
        let gt = parse_filter("activityDateTime gt 2024-01-01T00:00:00Z").unwrap_or_default();
        assert_eq!(gt.lo, parse_rfc3339("2024-01-01T00:00:00.0000001Z"));
        let eq = parse_filter("ActivityDateTime eq 2024-01-01T00:00:00+01:00").unwrap_or_default();
        assert_eq!(eq.lo, eq.hi);
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
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}

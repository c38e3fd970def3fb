//! Warnings for environment variables that look meant for AOC but that AOC does not read: a
//! typo (`CLIENT_SECERT`) or a setting of the original service (`MONGO_URI`) is otherwise
//! silently ignored, and the deployment runs with a default nobody chose.

use super::known::{FILE_SUFFIX, FOREIGN, SETTINGS, file_variable, is_secret, setting};

/// Prefixes of AOC's own settings (and of families it may grow): an unknown name with one of
/// them is almost surely meant for AOC.
const PREFIXES: &[&str] = &[
    "AUTH_",
    "PRIVACY_",
    "RATE_LIMIT_",
    "SIEM_",
    "SPLUNK_",
    "SYSLOG_",
    "LLM_",
    "AZURE_",
    "GRAPH_",
    "MANAGEMENT_",
    "MANAGE_",
    "ALERTS_",
    "METRICS_",
    "WEBHOOK_",
    "FETCH_",
    "RETENTION_",
    "UNIFIED_",
    "LOGIN_",
    "PERIODIC_",
    "DATABASE_",
    "REDIS_",
    "CORS_",
    "DOCS_",
    "HSTS_",
    "MAPPINGS_",
    "TRUSTED_",
    "AI_",
];

/// The warnings to log for these variable names (only names: values may be secrets). Sorted by
/// variable name; empty when every name is known or unrelated.
pub fn unknown_variable_warnings<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
    names.sort();
    names.dedup();
    let mut warnings = Vec::new();
    let mongo: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| n.to_ascii_uppercase().starts_with("MONGO"))
        .collect();
    if !mongo.is_empty() {
        warnings.push(mongo_warning(&mongo));
    }
    for name in &names {
        if let Some(w) = warning_for(name) {
            warnings.push(w);
        }
    }
    warnings
}

fn mongo_warning(names: &[&str]) -> String {
    let (list, verb) = match names {
        [one] => ((*one).to_string(), "is"),
        _ => (names.join(", "), "are"),
    };
    format!(
        "{list} {verb} not used: AOC does not use MongoDB. Events are stored where DATABASE_URL \
         says (sqlite://PATH, the default sqlite://aoc.db, or postgres://user:pass@host/db). To \
         bring the old service's events over, export them with `mongoexport --uri=... \
         --collection=... --jsonArray --out=events.json` and load them with `aoc import \
         events.json`"
    )
}

fn warning_for(name: &str) -> Option<String> {
    if is_known(name) || name.to_ascii_uppercase().starts_with("MONGO") {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    if upper != name && is_known(&upper) {
        return Some(format!(
            "{name} is ignored: variable names are case-sensitive, AOC reads {upper}"
        ));
    }
    if let Some(base) = upper.strip_suffix(FILE_SUFFIX)
        && setting(base).is_some()
    {
        return Some(format!(
            "{name} is ignored: only secrets can be read from a file ({}); set {base} itself",
            secret_file_variables().join(", ")
        ));
    }
    if looks_like_kubernetes_service_link(&upper) {
        return None;
    }
    let closest = closest_known(&upper);
    let near = closest.filter(|(known, d)| *d <= typo_budget(known));
    let prefix = PREFIXES.iter().find(|p| upper.starts_with(*p));
    match (near, prefix) {
        (Some((known, _)), _) => Some(format!(
            "{name} is not an AOC setting and is ignored: did you mean {known}?"
        )),
        (None, Some(prefix)) => {
            // Only a name of the same family is worth suggesting; the nearest name overall
            // is usually unrelated.
            let same_family = closest_known_with_prefix(&upper, prefix);
            Some(match same_family {
                Some(known) => {
                    format!("{name} is not an AOC setting and is ignored: the closest is {known}")
                }
                None => format!(
                    "{name} is not an AOC setting and is ignored (AOC has no {prefix}* settings)"
                ),
            })
        }
        (None, None) => None,
    }
}

fn is_known(name: &str) -> bool {
    setting(name).is_some()
        || FOREIGN.contains(&name)
        || name.strip_suffix(FILE_SUFFIX).is_some_and(is_secret)
}

/// Every name AOC recognises: the settings and the file variants of the secrets.
fn known_names() -> impl Iterator<Item = String> {
    SETTINGS
        .iter()
        .map(|s| s.name.to_string())
        .chain(secret_file_variables())
}

fn secret_file_variables() -> Vec<String> {
    SETTINGS
        .iter()
        .filter(|s| s.secret)
        .map(|s| file_variable(s.name))
        .collect()
}

/// Edits a name may be off by and still count as a typo: one for short names, two from eight
/// characters on (so `AOC_LOGS` is a typo of `AOC_LOG`, but `CORS_ORIGIN` and `CLIENT_ID`
/// stay far apart from common variables of other tools).
fn typo_budget(known: &str) -> usize {
    if known.len() >= 8 { 2 } else { 1 }
}

fn closest_known(name: &str) -> Option<(String, usize)> {
    known_names()
        .map(|k| {
            let d = edit_distance(name, &k);
            (k, d)
        })
        .min_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
}

/// The family member that shares the most words with `name` (`AUTH_ROLES` is after
/// `AUTH_ALLOWED_ROLES`, not the fewer edits away `AUTH_SCOPES`), then the fewest edits.
fn closest_known_with_prefix(name: &str, prefix: &str) -> Option<String> {
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    known_names()
        .filter(|k| k.starts_with(prefix))
        .map(|k| {
            let shared = k.split('_').filter(|w| words.contains(w)).count();
            let d = edit_distance(name, &k);
            (k, shared, d)
        })
        .min_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.2.cmp(&b.2))
                .then_with(|| a.0.cmp(&b.0))
        })
        .map(|(k, ..)| k)
}

/// Kubernetes gives every pod `{SERVICE}_SERVICE_HOST`, `{SERVICE}_PORT_8000_TCP_ADDR` and the
/// like for each service in the namespace; a service called `metrics` or `redis` would
/// otherwise look like AOC settings.
fn looks_like_kubernetes_service_link(name: &str) -> bool {
    if name.ends_with("_SERVICE_HOST") || name.ends_with("_SERVICE_PORT") || name.ends_with("_PORT")
    {
        return true;
    }
    if name.contains("_SERVICE_PORT_") {
        return true;
    }
    // {SERVICE}_PORT_{n}_{TCP|UDP|SCTP}[_{PROTO|PORT|ADDR}]
    let Some((_, tail)) = name.rsplit_once("_PORT_") else {
        return false;
    };
    let mut parts = tail.split('_');
    let port_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let proto_ok = parts
        .next()
        .is_some_and(|p| matches!(p, "TCP" | "UDP" | "SCTP"));
    let field_ok = match parts.next() {
        None => true,
        Some(f) => matches!(f, "PROTO" | "PORT" | "ADDR") && parts.next().is_none(),
    };
    port_ok && proto_ok && field_ok
}

/// Edit distance where swapping two neighbouring characters is one edit (optimal string
/// alignment), since `SECERT` for `SECRET` is the typo people make.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back (for transpositions), previous and current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn one(name: &str) -> String {
        let w = unknown_variable_warnings([name]);
        assert_eq!(w.len(), 1, "{name}: {w:?}");
        w.into_iter().next().unwrap()
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("CLIENT_SECERT", "CLIENT_SECRET"), 1);
        assert_eq!(edit_distance("AOC_LOG", "AOC_LOGS"), 1);
        assert_eq!(edit_distance("", "ABC"), 3);
        assert_eq!(edit_distance("KITTEN", "SITTING"), 3);
        assert_eq!(edit_distance("SAME", "SAME"), 0);
    }

    #[test]
    fn known_and_unrelated_names_are_quiet() {
        let names = [
            "PATH",
            "HOME",
            "HOSTNAME",
            "RUST_LOG",
            "TERM",
            "LANG",
            "CLIENT_SECRET",
            "CLIENT_SECRET_FILE",
            "DATABASE_URL_FILE",
            "AZURE_CLIENT_SECRET_FILE",
            "AZURE_KEY_VAULT_NAME",
            "IDENTITY_HEADER",
            "AZURE_FEDERATED_TOKEN_FILE",
            "TRUSTED_PROXIES",
            "AOC_LOG",
            "AOC_TEST_POSTGRES_URL",
            "CARGO_MANIFEST_DIR",
            "KUBERNETES_SERVICE_HOST",
            "REDIS_PORT",
            "REDIS_SERVICE_HOST",
            "METRICS_PORT_9090_TCP_ADDR",
            "METRICS_SERVICE_PORT_HTTP",
        ];
        assert_eq!(unknown_variable_warnings(names), Vec::<String>::new());
        assert!(unknown_variable_warnings(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn typos_suggest_the_intended_name() {
        let w = one("CLIENT_SECERT");
        assert!(w.starts_with("CLIENT_SECERT "), "{w}");
        assert!(w.contains("did you mean CLIENT_SECRET?"), "{w}");
        assert!(one("TENANTID").contains("did you mean TENANT_ID?"));
        assert!(one("AOC_LOGS").contains("did you mean AOC_LOG?"));
        assert!(one("DATABSE_URL").contains("did you mean DATABASE_URL?"));
        assert!(one("CLIENT_SECRET_FIEL").contains("did you mean CLIENT_SECRET_FILE?"));
    }

    #[test]
    fn family_prefixes_suggest_the_closest_of_the_family() {
        let w = one("AUTH_ROLES");
        assert!(w.contains("the closest is AUTH_ALLOWED_ROLES"), "{w}");
        let w = one("RATE_LIMIT_PER_MINUTE");
        assert!(w.contains("the closest is RATE_LIMIT_"), "{w}");
        let w = one("PERIODIC_FETCH");
        assert!(w.contains("AOC has no PERIODIC_* settings"), "{w}");
        let w = one("SIEM_WEBHOOK_FORMATS");
        assert!(w.contains("did you mean SIEM_WEBHOOK_FORMAT?"), "{w}");
        let w = one("AZURE_CLIENT_CERTIFICATE_PATH");
        assert!(w.contains("ignored"), "{w}");
    }

    #[test]
    fn case_and_file_mistakes_are_named() {
        let w = one("client_secret");
        assert!(
            w.contains("case-sensitive") && w.contains("CLIENT_SECRET"),
            "{w}"
        );
        let w = one("BIND_ADDR_FILE");
        assert!(w.contains("only secrets can be read from a file"), "{w}");
        assert!(
            w.contains("CLIENT_SECRET_FILE") && w.contains("set BIND_ADDR itself"),
            "{w}"
        );
    }

    #[test]
    fn mongo_settings_point_at_database_url_and_import() {
        let w = unknown_variable_warnings(["MONGO_URI", "PATH"]);
        assert_eq!(w.len(), 1, "{w:?}");
        let w = &w[0];
        assert!(w.starts_with("MONGO_URI is not used"), "{w}");
        for part in [
            "DATABASE_URL",
            "sqlite://",
            "postgres://",
            "mongoexport",
            "--jsonArray",
            "aoc import",
        ] {
            assert!(w.contains(part), "{part} in {w}");
        }
        let w = unknown_variable_warnings(["MONGO_DB_NAME", "MONGO_URI"]);
        assert_eq!(w.len(), 1, "one message for the whole family: {w:?}");
        assert!(
            w[0].starts_with("MONGO_DB_NAME, MONGO_URI are not used"),
            "{w:?}"
        );
    }

    #[test]
    fn warnings_come_sorted_and_once() {
        let w = unknown_variable_warnings(["TENANTID", "AUTH_ROLES", "TENANTID"]);
        assert_eq!(w.len(), 2);
        assert!(w[0].starts_with("AUTH_ROLES"));
        assert!(w[1].starts_with("TENANTID"));
    }
}

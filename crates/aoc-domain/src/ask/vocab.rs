//! The everyday words of a question: services, intents and outcomes.

use crate::visibility::canonical_service;

/// Everyday service words and the stored service they mean. Single words; `azure ad` and the
/// like are joined before lookup (see [`service_in`]).
const SERVICE_WORDS: &[(&str, &str)] = &[
    ("mail", "exchange"),
    ("email", "exchange"),
    ("emails", "exchange"),
    ("e-mail", "exchange"),
    ("mailbox", "exchange"),
    ("mailboxes", "exchange"),
    ("inbox", "exchange"),
    ("outlook", "exchange"),
    ("exchange", "exchange"),
    ("exo", "exchange"),
    ("teams", "teams"),
    ("sharepoint", "sharepoint"),
    ("spo", "sharepoint"),
    ("onedrive", "onedrive"),
    ("intune", "intune"),
    ("device", "intune"),
    ("devices", "intune"),
    ("entra", "entra"),
    ("aad", "entra"),
    ("azuread", "entra"),
    ("directory", "entra"),
];

/// Two-word names, joined to one key first.
const SERVICE_PAIRS: &[(&str, &str, &str)] = &[
    ("azure", "ad", "entra"),
    ("active", "directory", "entra"),
    ("entra", "id", "entra"),
    ("endpoint", "manager", "intune"),
    ("one", "drive", "onedrive"),
    ("microsoft", "teams", "teams"),
];

/// The stored services the question names, in order of appearance, without repeats.
pub fn services_in(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let next = words.get(i + 1).map(String::as_str).unwrap_or("");
        let (key, used) = match SERVICE_PAIRS
            .iter()
            .find(|(a, b, _)| *a == words[i] && *b == next)
        {
            Some((_, _, key)) => (Some(*key), 2),
            None => (
                SERVICE_WORDS
                    .iter()
                    .find(|(w, _)| *w == words[i])
                    .map(|(_, k)| *k),
                1,
            ),
        };
        if let Some(key) = key {
            let stored = canonical_service(key);
            if !out.contains(&stored) {
                out.push(stored);
            }
        }
        i += used;
    }
    out
}

/// A kind of change a question asks about, matched on the operation name (any of
/// `operations`, as substrings ignoring case) or, for forwarding, on the record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intent {
    pub name: &'static str,
    pub operations: &'static [&'static str],
    /// Also matches an event whose raw record mentions this (ignoring case).
    pub mentions: Option<&'static str>,
}

pub const INTENTS: &[Intent] = &[
    Intent {
        name: "role_assigned",
        operations: &["member to role", "rolegroupmember", "role assignment"],
        mentions: None,
    },
    Intent {
        name: "password_reset",
        operations: &["password"],
        mentions: None,
    },
    Intent {
        name: "consent",
        operations: &["consent"],
        mentions: None,
    },
    Intent {
        name: "forwarding",
        operations: &["forward"],
        mentions: Some("forward"),
    },
    Intent {
        name: "sharing_link",
        operations: &["linkcreated", "sharinginvitation", "securelink"],
        mentions: None,
    },
    Intent {
        name: "wipe",
        operations: &["wipe"],
        mentions: None,
    },
    Intent {
        name: "deleted",
        operations: &["delete", "remove-mailbox", "hard delete"],
        mentions: None,
    },
];

pub fn intent(name: &str) -> Option<&'static Intent> {
    INTENTS.iter().find(|i| i.name == name)
}

/// The intents the question names, most specific first.
pub fn intents_in(words: &[String]) -> Vec<&'static Intent> {
    let has = |pred: &dyn Fn(&str) -> bool| words.iter().any(|w| pred(w));
    let mut out = Vec::new();
    let mut push = |name: &str| {
        if let Some(i) = intent(name) {
            out.push(i);
        }
    };
    if has(&|w| w.starts_with("role"))
        && has(&|w| {
            w.starts_with("assign")
                || w.starts_with("grant")
                || matches!(w, "added" | "add" | "gave" | "given" | "member" | "members")
        })
    {
        push("role_assigned");
    }
    if has(&|w| w.starts_with("password")) {
        push("password_reset");
    }
    if has(&|w| w.starts_with("consent")) {
        push("consent");
    }
    if has(&|w| w.starts_with("forward")) {
        push("forwarding");
    }
    if has(&|w| w.starts_with("link"))
        && has(&|w| w.starts_with("shar") || matches!(w, "anonymous" | "anyone" | "public"))
    {
        push("sharing_link");
    }
    if has(&|w| w.starts_with("wipe")) {
        push("wipe");
    }
    if has(&|w| w.starts_with("delet")) {
        push("deleted");
    }
    out
}

/// `failure` or `success` when the question asks for one outcome.
pub fn outcome_in(words: &[String]) -> Option<&'static str> {
    const FAILURE: &[&str] = &[
        "failed",
        "fail",
        "fails",
        "failure",
        "failures",
        "failing",
        "unsuccessful",
        "denied",
        "blocked",
        "rejected",
        "error",
        "errors",
    ];
    const SUCCESS: &[&str] = &["succeeded", "successful", "successfully", "success"];
    if words.iter().any(|w| FAILURE.contains(&w.as_str())) {
        Some("failure")
    } else if words.iter().any(|w| SUCCESS.contains(&w.as_str())) {
        Some("success")
    } else {
        None
    }
}

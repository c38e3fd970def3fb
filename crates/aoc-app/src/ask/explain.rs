//! One event explained without a model: what happened (the mapped summary), who, what changed
//! (the decoded modified properties, as the UI's diff shows them), why it may matter and what
//! to check next, from what the operation and the changes say.

use serde::Serialize;
use serde_json::Value;

use aoc_domain::{Event, modified_properties};

/// One modified property.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub property: String,
    /// JSON-decoded when the source wrote JSON text (Entra ID does), else the text.
    pub old: Value,
    pub new: Value,
}

/// The answer of `POST /api/events/{id}/explain`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub event_id: String,
    pub what_happened: String,
    pub who: String,
    pub changes: Vec<Change>,
    pub why_it_matters: String,
    pub next_steps: Vec<String>,
    /// The model's narrative, when one is configured and answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    pub llm_used: bool,
    pub warnings: Vec<String>,
}

/// What a kind of change means and what to look at next.
struct Concern {
    /// Any of these in the operation (lower case) marks the kind.
    operation: &'static [&'static str],
    /// Or any of these in a modified property's name or the record (lower case).
    mention: &'static [&'static str],
    why: &'static str,
    next: &'static str,
}

const CONCERNS: &[Concern] = &[
    Concern {
        operation: &["member to role", "rolegroupmember", "role assignment"],
        mention: &[],
        why: "A role assignment grants administrative power; an unexpected one is a common \
              privilege-escalation and persistence step.",
        next: "Check that the assignment was requested and approved, and whether it should be \
               eligible (PIM) rather than permanent.",
    },
    Concern {
        operation: &["password"],
        mention: &[],
        why: "A password reset by someone other than the account's owner can hand the account \
              to whoever set the new password.",
        next: "Confirm with the account's owner, and look for sign-ins and MFA changes on the \
               account right after the reset.",
    },
    Concern {
        operation: &["consent"],
        mention: &[],
        why: "Consent lets an application read or change data on someone's behalf; illicit \
              consent grants are a known way into mailboxes and files.",
        next: "Review the application's publisher and the permissions granted; revoke the grant \
               if the app is not known.",
    },
    Concern {
        operation: &["forward"],
        mention: &[
            "forwardingsmtpaddress",
            "forwardingaddress",
            "forwardto",
            "redirectto",
        ],
        why: "Mail forwarding, especially outside the organisation, is a common way to siphon \
              mail from a compromised mailbox.",
        next: "Check where the mail goes; an external address the owner does not know should be \
               removed and the mailbox's sign-ins reviewed.",
    },
    Concern {
        operation: &["inboxrule"],
        mention: &[],
        why: "Inbox rules can hide, delete or forward mail without the owner noticing.",
        next: "Read the rule's conditions and actions with the mailbox owner.",
    },
    Concern {
        operation: &["linkcreated", "sharinginvitation", "securelink"],
        mention: &[],
        why: "A sharing link can expose a file or folder beyond the people meant to see it; \
              anyone links need no sign-in at all.",
        next: "Check what was shared and with whom; remove the link if it was not meant to be \
               public.",
    },
    Concern {
        operation: &["wipe", "retire"],
        mention: &[],
        why: "A wipe erases a device; done by mistake or by an attacker it destroys data and \
              evidence.",
        next: "Confirm the device was lost, stolen or being retired, and who asked for it.",
    },
    Concern {
        operation: &["credential", "certificate", "secret", "key"],
        mention: &["keydescription", "keyidentifier"],
        why: "New credentials on an application let it sign in as itself, outside any user's \
              MFA: a favoured persistence step.",
        next: "Check that the application's owners added the credential, and its expiry.",
    },
    Concern {
        operation: &["policy", "conditional access"],
        mention: &[],
        why: "A policy change can weaken protection for many accounts at once.",
        next: "Compare the old and new values and confirm the change was planned.",
    },
    Concern {
        operation: &["mailboxpermission", "sendas", "sendonbehalf"],
        mention: &[],
        why: "Mailbox permissions give one account access to another person's mail.",
        next: "Confirm the delegate is meant to have access, and for how long.",
    },
    Concern {
        operation: &["member to group", "owner to group"],
        mention: &[],
        why: "Group membership often grants access to data, apps or roles.",
        next: "Check what the group grants and whether the member should have it.",
    },
    Concern {
        operation: &["delet", "remove-mailbox", "harddelete", "softdelete"],
        mention: &[],
        why: "A deletion can destroy data or evidence, or disrupt the people who relied on it.",
        next: "Check whether it can be restored (recycle bin, soft-deleted objects) and whether it \
               was intended.",
    },
];

pub fn build(event: &Event) -> Explanation {
    let changes: Vec<Change> = modified_properties(&event.raw)
        .into_iter()
        .map(|c| Change {
            property: c.name,
            old: c.old,
            new: c.new,
        })
        .collect();
    let summary = if event.display_summary.trim().is_empty() {
        format!("{} performed {}", event.actor_display, event.operation)
    } else {
        event.display_summary.trim_end_matches('.').to_string()
    };
    let outcome = match event.result.as_str() {
        "success" => "it succeeded".to_string(),
        "failure" => "it failed".to_string(),
        other => format!("result: {other}"),
    };
    let what_happened = format!(
        "{summary} ({}, {} on {} UTC; {outcome}).",
        event.service,
        event.operation,
        event.timestamp.format("%Y-%m-%d %H:%M:%S")
    );
    let who = who(event);

    let operation = event.operation.to_lowercase();
    let properties: Vec<String> = changes.iter().map(|c| c.property.to_lowercase()).collect();
    let raw = event.raw.to_string().to_lowercase();
    let mut why = Vec::new();
    let mut next_steps = Vec::new();
    for concern in CONCERNS {
        let by_operation = concern.operation.iter().any(|o| operation.contains(o));
        let by_mention = concern
            .mention
            .iter()
            .any(|m| properties.iter().any(|p| p.contains(m)) || raw.contains(m));
        if by_operation || by_mention {
            why.push(concern.why);
            next_steps.push(concern.next.to_string());
        }
        if why.len() == 2 {
            break;
        }
    }
    if why.is_empty() {
        why.push(
            "An administrative change; on its own it is routine, so it matters mostly when it was \
             not expected or comes with other unusual activity by the same account.",
        );
    }
    let mut why_it_matters = why.join(" ");
    if event.result == "failure" {
        why_it_matters.push_str(
            " It failed: one failure is usually a mistake, repeated ones may be someone trying \
             without the rights to.",
        );
    }
    next_steps.push(format!(
        "Confirm with {} that the change was intended.",
        event.actor_display
    ));
    next_steps.push(format!(
        "Review the other events by {} around {} UTC.",
        event.actor_display,
        event.timestamp.format("%Y-%m-%d %H:%M")
    ));
    if let Some(target) = event.target_displays.first().filter(|t| !t.is_empty()) {
        next_steps.push(format!("Look for further changes to {target}."));
    }
    Explanation {
        event_id: event.id.clone(),
        what_happened,
        who,
        changes,
        why_it_matters,
        next_steps,
        narrative: None,
        llm_used: false,
        warnings: Vec::new(),
    }
}

/// The actor in words, with the UPN and address when the record gives them.
fn who(event: &Event) -> String {
    let mut parts = vec![event.actor_display.clone()];
    let upn = ["/user/userPrincipalName", "/userPrincipalName", "/UserId"]
        .iter()
        .find_map(|p| event.actor.pointer(p).and_then(Value::as_str))
        .filter(|u| !u.is_empty() && !u.eq_ignore_ascii_case(&event.actor_display));
    if let Some(upn) = upn {
        parts.push(format!("({upn})"));
    }
    let ip = ["/user/ipAddress", "/ipAddress", "/ClientIP"]
        .iter()
        .find_map(|p| event.actor.pointer(p).and_then(Value::as_str))
        .or_else(|| event.raw.get("ClientIP").and_then(Value::as_str))
        .filter(|ip| !ip.is_empty());
    if let Some(ip) = ip {
        parts.push(format!("from {ip}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn event(operation: &str, raw: Value, result: &str) -> Event {
        Event {
            id: "e1".into(),
            source: aoc_domain::Source::Directory,
            timestamp: chrono::DateTime::parse_from_rfc3339("2026-03-03T10:00:00Z")
                .unwrap()
                .into(),
            service: "RoleManagement".into(),
            operation: operation.into(),
            result: result.into(),
            result_detail: String::new(),
            actor_display: "Adele Vance".into(),
            actor: json!({"user": {"userPrincipalName": "adele@contoso.com", "ipAddress": "203.0.113.9"}}),
            target_displays: vec!["Megan Bowen".into(), "Global Administrator".into()],
            targets: vec![],
            display_summary: "Adele Vance added Megan Bowen to role Global Administrator".into(),
            dedupe_key: "k".into(),
            raw,
            tags: vec![],
            comments: vec![],
        }
    }

    #[test]
    fn a_role_assignment_is_explained_with_its_changes() {
        let raw = json!({"targetResources": [{"modifiedProperties": [
            {"displayName": "Role.DisplayName", "oldValue": null, "newValue": "\"Global Administrator\""}
        ]}]});
        let x = build(&event("Add member to role", raw, "success"));
        assert!(
            x.what_happened
                .starts_with("Adele Vance added Megan Bowen to role")
        );
        assert_eq!(x.who, "Adele Vance (adele@contoso.com) from 203.0.113.9");
        assert_eq!(x.changes.len(), 1);
        assert_eq!(x.changes[0].property, "Role.DisplayName");
        assert_eq!(x.changes[0].new, json!("Global Administrator"));
        assert!(x.why_it_matters.contains("privilege-escalation"));
        assert!(x.next_steps[0].contains("PIM"));
        assert!(x.next_steps.iter().any(|s| s.contains("Megan Bowen")));
    }

    #[test]
    fn forwarding_is_recognised_from_the_parameters_and_failure_is_said() {
        let raw = json!({"Parameters": [{"Name": "ForwardingSmtpAddress", "Value": "smtp:x@evil.example"}]});
        let x = build(&event("Set-Mailbox", raw, "failure"));
        assert!(x.why_it_matters.contains("Mail forwarding"));
        assert!(x.why_it_matters.contains("It failed"));
        let plain = build(&event("Update device", json!({}), "success"));
        assert!(plain.why_it_matters.contains("routine"));
    }
}

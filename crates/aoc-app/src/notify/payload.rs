//! The message each kind of receiver expects. Alert text comes from audit events an attacker
//! can shape (display names, operation parameters), so it is escaped for the receiver's
//! markup: a summary must not become a link, a mention or a fake heading.

use aoc_store::Alert;
use serde_json::{Value, json};

use super::channel::ChannelKind;

/// How many event ids a chat message lists (the generic payload carries them all).
const CHAT_EVENT_IDS: usize = 5;
/// Longest text a chat message quotes; Slack refuses section text above 3000 characters.
const CHAT_TEXT_MAX: usize = 1000;

/// The body to POST for `alert` to a receiver of `kind`. `ui_base_url` (the service's public
/// address) adds a link to the alert.
pub fn payload_for(alert: &Alert, kind: ChannelKind, ui_base_url: Option<&str>) -> Value {
    let link = ui_base_url.map(|base| alert_link(base, alert.id));
    match kind {
        ChannelKind::Generic => generic(alert, link),
        ChannelKind::Teams => teams(alert, link),
        ChannelKind::Slack => slack(alert, link),
    }
}

/// Where the web UI shows an alert.
pub fn alert_link(ui_base_url: &str, id: i64) -> String {
    format!("{}/#alerts/{id}", ui_base_url.trim_end_matches('/'))
}

fn generic(alert: &Alert, link: Option<String>) -> Value {
    json!({
        "type": "aoc.alert",
        "id": alert.id,
        "rule_id": alert.rule_id,
        "rule_name": alert.rule_name,
        "severity": alert.severity,
        "summary": alert.summary,
        "group_key": alert.group_key,
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
        "event_ids": alert.event_ids,
        "services": alert.services,
        "status": alert.status,
        "created_at": alert.created_at,
        "link": link,
    })
}

fn title(alert: &Alert) -> String {
    format!("[{}] {}", alert.severity.to_uppercase(), alert.rule_name)
}

/// The first few event ids, each escaped by `escape` (ids come from the source's records).
fn event_ids_line(alert: &Alert, escape: fn(&str) -> String) -> String {
    let shown: Vec<String> = alert
        .event_ids
        .iter()
        .take(CHAT_EVENT_IDS)
        .map(|id| escape(id))
        .collect();
    let more = alert.event_ids.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (+{more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn seen_line(alert: &Alert) -> String {
    let fmt = "%Y-%m-%d %H:%M:%S UTC";
    if alert.first_seen == alert.last_seen {
        alert.first_seen.format(fmt).to_string()
    } else {
        format!(
            "{} to {}",
            alert.first_seen.format(fmt),
            alert.last_seen.format(fmt)
        )
    }
}

/// One line, at most `max` characters: newlines would let text start a markdown block.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// Adaptive Card text is markdown: escape what would format, link or quote.
fn teams_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text, CHAT_TEXT_MAX).chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '`' | '~' | '#' | '<' | '>' | '!' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Slack's own escaping: `<`, `>` and `&` are what make links and mentions (`<!channel>`).
fn slack_escape(text: &str) -> String {
    one_line(text, CHAT_TEXT_MAX)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn teams_color(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "attention",
        "medium" => "warning",
        _ => "default",
    }
}

fn teams(alert: &Alert, link: Option<String>) -> Value {
    let mut facts = vec![
        json!({"title": "Severity", "value": teams_escape(&alert.severity)}),
        json!({"title": "Rule", "value": teams_escape(&alert.rule_name)}),
        json!({"title": "Seen", "value": seen_line(alert)}),
        json!({"title": "Status", "value": teams_escape(&alert.status)}),
    ];
    if let Some(group) = &alert.group_key {
        facts.push(json!({"title": "Group", "value": teams_escape(group)}));
    }
    if !alert.services.is_empty() {
        facts.push(json!({"title": "Services", "value": teams_escape(&alert.services.join(", "))}));
    }
    facts.push(json!({"title": "Events", "value": event_ids_line(alert, teams_escape)}));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": teams_escape(&title(alert)),
                "weight": "Bolder",
                "size": "Medium",
                "color": teams_color(&alert.severity),
                "wrap": true,
            },
            {"type": "TextBlock", "text": teams_escape(&alert.summary), "wrap": true},
            {"type": "FactSet", "facts": facts},
        ],
    });
    if let (Some(link), Some(obj)) = (link, card.as_object_mut()) {
        obj.insert(
            "actions".into(),
            json!([{"type": "Action.OpenUrl", "title": "Open in AOC", "url": link}]),
        );
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

fn slack(alert: &Alert, link: Option<String>) -> Value {
    let escaped_title = slack_escape(&title(alert));
    let summary = slack_escape(&alert.summary);
    let mut fields = vec![
        format!("*Severity:* {}", slack_escape(&alert.severity)),
        format!("*Rule:* {}", slack_escape(&alert.rule_name)),
        format!("*Seen:* {}", seen_line(alert)),
        format!("*Events:* {}", event_ids_line(alert, slack_escape)),
    ];
    if let Some(group) = &alert.group_key {
        fields.push(format!("*Group:* {}", slack_escape(group)));
    }
    let mut blocks = vec![
        // plain_text: a header cannot carry markup at all.
        json!({"type": "header", "text": {"type": "plain_text", "text": one_line(&title(alert), 150)}}),
        json!({"type": "section", "text": {"type": "plain_text", "text": one_line(&alert.summary, CHAT_TEXT_MAX)}}),
        json!({
            "type": "section",
            "fields": fields.iter().map(|f| json!({"type": "mrkdwn", "text": f})).collect::<Vec<_>>(),
        }),
    ];
    if let Some(link) = &link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in AOC"},
                "url": link,
            }],
        }));
    }
    let text = match &link {
        Some(link) => format!(
            "{escaped_title}: {summary} <{}|Open in AOC>",
            slack_escape(link)
        ),
        None => format!("{escaped_title}: {summary}"),
    };
    json!({"text": text, "blocks": blocks})
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use chrono::{TimeZone, Utc};

    pub(crate) fn alert(id: i64, severity: &str) -> Alert {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).unwrap();
        Alert {
            id,
            rule_id: "mass-delete".into(),
            rule_name: "Mass deletion".into(),
            severity: severity.into(),
            dedupe_key: format!("mass-delete:{id}"),
            group_key: Some("alice@contoso.com".into()),
            first_seen: at,
            last_seen: at + chrono::Duration::minutes(5),
            event_ids: (1..=7).map(|n| format!("ev{n}")).collect(),
            services: vec!["SharePoint".into()],
            summary: "alice@contoso.com deleted 120 files".into(),
            status: "open".into(),
            created_at: at,
            updated_at: at,
            updated_by: None,
            note: None,
        }
    }

    #[test]
    fn generic_is_the_alert_with_a_link() {
        let body = payload_for(
            &alert(42, "high"),
            ChannelKind::Generic,
            Some("https://aoc.contoso.com/"),
        );
        assert_eq!(body["id"], 42);
        assert_eq!(body["rule_name"], "Mass deletion");
        assert_eq!(body["severity"], "high");
        assert_eq!(body["group_key"], "alice@contoso.com");
        assert_eq!(body["event_ids"].as_array().unwrap().len(), 7);
        assert_eq!(body["status"], "open");
        assert_eq!(body["first_seen"], "2026-12-01T08:30:00Z");
        assert_eq!(body["link"], "https://aoc.contoso.com/#alerts/42");
        assert_eq!(
            payload_for(&alert(1, "low"), ChannelKind::Generic, None)["link"],
            Value::Null
        );
    }

    #[test]
    fn teams_is_a_message_with_an_adaptive_card() {
        let body = payload_for(
            &alert(42, "critical"),
            ChannelKind::Teams,
            Some("https://aoc.contoso.com"),
        );
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["color"], "attention");
        let text = card.to_string();
        assert!(
            text.contains("CRITICAL") && text.contains("Mass deletion"),
            "{text}"
        );
        let facts = card["body"][2]["facts"].as_array().unwrap();
        assert!(
            facts
                .iter()
                .any(|f| f["title"] == "Severity" && f["value"] == "critical")
        );
        assert_eq!(
            card["actions"][0]["url"],
            "https://aoc.contoso.com/#alerts/42"
        );
        assert!(text.contains("ev5 (+2 more)"), "{text}");
    }

    #[test]
    fn teams_text_cannot_link_or_format() {
        let mut a = alert(1, "high");
        a.summary = "click [here](https://evil.example) **now**\n# heading".into();
        let body = payload_for(&a, ChannelKind::Teams, None);
        let summary = body["attachments"][0]["content"]["body"][1]["text"]
            .as_str()
            .unwrap();
        assert_eq!(
            summary,
            r"click \[here\]\(https://evil.example\) \*\*now\*\* \# heading"
        );
        assert!(body["attachments"][0]["content"].get("actions").is_none());
    }

    #[test]
    fn slack_has_text_and_blocks_escaped() {
        let mut a = alert(7, "medium");
        a.summary = "<!channel> <https://evil.example|login> & more".into();
        a.group_key = Some("<@U123>".into());
        let body = payload_for(&a, ChannelKind::Slack, Some("https://aoc.contoso.com"));
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with("[MEDIUM] Mass deletion: &lt;!channel&gt; &lt;https://evil.example|login&gt; &amp; more"),
            "{text}"
        );
        assert!(
            text.ends_with("<https://aoc.contoso.com/#alerts/7|Open in AOC>"),
            "{text}"
        );
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[1]["text"]["type"], "plain_text");
        let fields = blocks[2]["fields"].to_string();
        assert!(
            fields.contains("&lt;@U123&gt;") && !fields.contains("<@U123>"),
            "{fields}"
        );
        assert_eq!(
            blocks[3]["elements"][0]["url"],
            "https://aoc.contoso.com/#alerts/7"
        );
    }

    #[test]
    fn chat_text_is_one_bounded_line() {
        let long = "x\ny".repeat(2000);
        let line = one_line(&long, CHAT_TEXT_MAX);
        assert!(!line.contains('\n'));
        assert_eq!(line.chars().count(), CHAT_TEXT_MAX + 1);
    }
}

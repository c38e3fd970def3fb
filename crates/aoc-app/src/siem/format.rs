//! What each kind of receiver is sent: the whole normalized event (its `id` is the stable key
//! receivers dedupe on), framed as the receiver expects.

use chrono::SecondsFormat;
use serde::Serialize;

use aoc_domain::Event;

use super::target::{SyslogPayload, WebhookFormat};

/// The generic webhook body for a batch.
pub fn webhook_body(events: &[Event], format: WebhookFormat) -> Result<Vec<u8>, serde_json::Error> {
    match format {
        WebhookFormat::JsonArray => serde_json::to_vec(events),
        WebhookFormat::Ndjson => {
            let mut out = Vec::with_capacity(events.len() * 1024);
            for e in events {
                serde_json::to_writer(&mut out, e)?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

/// One event in Splunk's HEC event format.
#[derive(Serialize)]
struct HecEvent<'a> {
    /// Epoch seconds with milliseconds, as HEC reads it.
    time: f64,
    host: &'a str,
    source: String,
    sourcetype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a str>,
    event: &'a Event,
}

/// The HEC body for a batch: the event objects one after another (HEC's batch form),
/// newline-separated for readability (HEC accepts either).
pub fn hec_body(
    events: &[Event],
    host: &str,
    sourcetype: &str,
    index: Option<&str>,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(events.len() * 1024);
    for e in events {
        let wrapped = HecEvent {
            time: e.timestamp.timestamp_millis() as f64 / 1000.0,
            host,
            source: format!("aoc:{}", e.source.as_str()),
            sourcetype,
            index,
            event: e,
        };
        serde_json::to_writer(&mut out, &wrapped)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// RFC 5424 facility 13, "log audit": what these events are.
const FACILITY: u8 = 13;
/// The SD-ID of the element that carries the event id: `name@<enterprise number>`; 32473 is
/// the number RFC 5612 reserves for examples, as AOC has none of its own.
pub const SD_ID: &str = "aoc@32473";
const APP_NAME: &str = "aoc";

/// One event as an RFC 5424 message with octet-counting framing (RFC 6587 3.4.1):
/// `LEN SP <PRI>1 TIMESTAMP HOST aoc - MSGID [aoc@32473 id=".." source=".."] PAYLOAD`.
pub fn syslog_frame(
    event: &Event,
    host: &str,
    payload: SyslogPayload,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    let severity: u8 = if event.result == "failure" { 5 } else { 6 };
    let mut msg = format!(
        "<{}>1 {} {} {APP_NAME} - {} [{SD_ID} id=\"{}\" source=\"{}\"] ",
        u16::from(FACILITY) * 8 + u16::from(severity),
        event.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
        header_field(host, 255),
        header_field(&event.operation, 32),
        sd_escape(&event.id),
        sd_escape(event.source.as_str()),
    )
    .into_bytes();
    match payload {
        SyslogPayload::Json => serde_json::to_writer(&mut msg, event)?,
        SyslogPayload::Cef => msg.extend_from_slice(cef(event).as_bytes()),
    }
    out.extend_from_slice(msg.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(&msg);
    Ok(())
}

/// A header field: printable ASCII without spaces, at most `max` characters, `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() { "-".into() } else { field }
}

/// PARAM-VALUE escaping (RFC 5424 6.3.3): `"`, `\` and `]`.
fn sd_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The event as an ArcSight CEF line:
/// `CEF:0|AOC|AOC|<version>|<operation>|<summary>|<severity>|<extension>`.
pub fn cef(event: &Event) -> String {
    let severity = match event.result.as_str() {
        "failure" => 7,
        "success" => 3,
        _ => 5,
    };
    let mut line = format!(
        "CEF:0|AOC|AOC|{}|{}|{}|{severity}|",
        cef_header(env!("CARGO_PKG_VERSION")),
        cef_header(&event.operation),
        cef_header(&truncate(&event.display_summary, 512)),
    );
    let targets = event.target_displays.join(", ");
    let rt = event.timestamp.timestamp_millis().to_string();
    let fields: [(&str, &str); 10] = [
        ("externalId", &event.id),
        ("rt", &rt),
        ("cat", &event.service),
        ("act", &event.operation),
        ("outcome", &event.result),
        ("suser", &event.actor_display),
        ("duser", &targets),
        ("cs1Label", "source"),
        ("cs1", event.source.as_str()),
        ("msg", &event.display_summary),
    ];
    let mut first = true;
    for (key, value) in fields {
        if value.is_empty() {
            continue;
        }
        if !first {
            line.push(' ');
        }
        first = false;
        line.push_str(key);
        line.push('=');
        line.push_str(&cef_extension(value));
    }
    line
}

fn truncate(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}

/// Header fields escape `\` and `|`; a line break would end the record, so it becomes a space.
fn cef_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Extension values escape `\` and `=`, and write line breaks as `\n` / `\r`.
fn cef_extension(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// This machine's name for the `host` fields (HEC, syslog HOSTNAME); `aoc` when unknown.
pub fn local_host_name() -> String {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|n| header_field(n.trim(), 255))
        .unwrap_or_default();
    if name.is_empty() || name == "-" {
        "aoc".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use aoc_domain::Source;
    use chrono::{TimeZone, Utc};
    use serde_json::{Value, json};

    fn event(id: &str) -> Event {
        Event {
            id: id.to_string(),
            source: Source::Unified,
            timestamp: Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()
                + chrono::Duration::milliseconds(250),
            service: "Exchange".into(),
            operation: "New-InboxRule".into(),
            result: "success".into(),
            result_detail: "Succeeded".into(),
            actor_display: "adele@contoso.com".into(),
            actor: json!({}),
            target_displays: vec!["Fwd|all=yes".into()],
            targets: Vec::new(),
            display_summary: "rule a|b \\ c\nnext".into(),
            dedupe_key: format!("key-{id}"),
            raw: json!({ "Id": id }),
            tags: Vec::new(),
            comments: Vec::new(),
        }
    }

    #[test]
    fn webhook_bodies_are_an_array_or_one_line_per_event() {
        let batch = [event("a"), event("b")];
        let array: Value =
            serde_json::from_slice(&webhook_body(&batch, WebhookFormat::JsonArray).unwrap())
                .unwrap();
        assert_eq!(array[1]["id"], "b");
        let nd = String::from_utf8(webhook_body(&batch, WebhookFormat::Ndjson).unwrap()).unwrap();
        let ids: Vec<String> = nd
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .into()
            })
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn hec_body_is_concatenated_event_objects_in_splunks_shape() {
        let body = hec_body(
            &[event("a"), event("b")],
            "aoc-1",
            "aoc:event",
            Some("audit"),
        )
        .unwrap();
        let objects: Vec<Value> = serde_json::Deserializer::from_slice(&body)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(objects.len(), 2);
        let o = &objects[0];
        assert_eq!(o["time"].as_f64().unwrap(), 1_772_600_767.25);
        assert_eq!(o["host"], "aoc-1");
        assert_eq!(o["source"], "aoc:unified");
        assert_eq!(o["sourcetype"], "aoc:event");
        assert_eq!(o["index"], "audit");
        assert_eq!(o["event"]["id"], "a");
        let no_index = hec_body(&[event("a")], "h", "st", None).unwrap();
        let o: Value = serde_json::from_slice(&no_index).unwrap();
        assert!(o.get("index").is_none());
    }

    #[test]
    fn syslog_frames_are_octet_counted_rfc5424() {
        let mut e = event("id\"with]quote");
        e.result = "failure".into();
        let mut out = Vec::new();
        syslog_frame(&e, "host one", SyslogPayload::Json, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (len, msg) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        let head = "<109>1 2026-03-04T05:06:07.250000Z hostone aoc - New-InboxRule \
                    [aoc@32473 id=\"id\\\"with\\]quote\" source=\"unified\"] ";
        assert!(msg.starts_with(head), "{msg}");
        let payload: Value = serde_json::from_str(&msg[head.len()..]).unwrap();
        assert_eq!(payload["id"], "id\"with]quote");
    }

    #[test]
    fn cef_escapes_header_and_extension() {
        let line = cef(&event("x=1"));
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            line.starts_with(&format!(
                "CEF:0|AOC|AOC|{version}|New-InboxRule|rule a\\|b \\\\ c next|3|externalId=x\\=1 rt=1772600767250 "
            )),
            "{line}"
        );
        assert!(line.contains("duser=Fwd|all\\=yes"), "{line}");
        assert!(line.contains("msg=rule a|b \\\\ c\\nnext"), "{line}");
        assert!(!line.contains('\n'));
    }
}

//! The language end to end: bodies as people write them, events as ingest produces them
//! (raw records through the real normalizers), and every shipped detection against a
//! positive and the near misses docs/DETECTIONS.md names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;
use crate::Event;
use crate::normalize::{Mappings, NoResolver, Normalizer, RecordKind};

// ---- building events the way ingest does ------------------------------------------------

fn normalize(kind: RecordKind, raw: Value) -> Event {
    Normalizer::new(Mappings::builtin())
        .normalize(kind, kind.fetched_source(), raw, &NoResolver)
        .expect("test record normalizes")
}

const ADMIN_UPN: &str = "meganb@contoso.com";

/// A Graph directoryAudit record.
fn graph(activity: &str, category: &str, target_resources: Value) -> Event {
    normalize(
        RecordKind::Directory,
        json!({
            "id": "Directory_0b1c2d3e",
            "category": category,
            "correlationId": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
            "result": "success",
            "resultReason": "",
            "activityDisplayName": activity,
            "activityDateTime": "2024-03-11T09:15:00.1234567Z",
            "loggedByService": "Core Directory",
            "operationType": "Assign",
            "initiatedBy": {
                "app": null,
                "user": {
                    "id": "6a1f0c2e-93b4-4d7a-8e15-0b2c4d6e8f10",
                    "displayName": "Megan Bowen",
                    "userPrincipalName": ADMIN_UPN,
                    "ipAddress": "203.0.113.24"
                }
            },
            "targetResources": target_resources,
            "additionalDetails": []
        }),
    )
}

fn prop(name: &str, old: Value, new: Value) -> Value {
    json!({"displayName": name, "oldValue": old, "newValue": new})
}

/// A user target with modified properties, as Graph writes one.
fn user_target(props: Vec<Value>) -> Value {
    json!({
        "id": "c0d1e2f3-a4b5-4c6d-8e7f-901a2b3c4d5e",
        "displayName": null,
        "type": "User",
        "userPrincipalName": "bob.kelly@contoso.com",
        "modifiedProperties": props
    })
}

fn graph_role_change(activity: &str, role: &str) -> Event {
    graph(
        activity,
        "RoleManagement",
        json!([user_target(vec![
            prop(
                "Role.ObjectID",
                Value::Null,
                json!("\"62e90394-69f5-4237-9190-012177145e10\"")
            ),
            prop(
                "Role.DisplayName",
                Value::Null,
                json!(format!("\"{role}\""))
            ),
            prop(
                "Role.TemplateId",
                Value::Null,
                json!("\"62e90394-69f5-4237-9190-012177145e10\"")
            ),
            prop(
                "Role.WellKnownObjectName",
                Value::Null,
                json!("\"TenantAdmins\"")
            ),
        ])]),
    )
}

/// A Management Activity API record.
fn unified(operation: &str, workload: &str, user: &str, extra: Value) -> Event {
    let mut raw = json!({
        "CreationTime": "2024-03-05T14:07:33",
        "Id": "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e",
        "Operation": operation,
        "OrganizationId": "b3f2c7a1-4d5e-4f60-8a91-2c3d4e5f6a7b",
        "RecordType": 1,
        "ResultStatus": "True",
        "UserKey": "10032001E5F6A7B8",
        "UserType": 2,
        "Version": 1,
        "Workload": workload,
        "ClientIP": "203.0.113.24:49262",
        "UserId": user,
    });
    if let (Some(map), Value::Object(more)) = (raw.as_object_mut(), extra) {
        map.extend(more);
    }
    normalize(RecordKind::Unified, raw)
}

/// An Exchange admin cmdlet, as the Management Activity API records it.
fn cmdlet(operation: &str, params: &[(&str, &str)]) -> Event {
    let parameters: Vec<Value> = params
        .iter()
        .map(|(n, v)| json!({"Name": n, "Value": v}))
        .collect();
    unified(
        operation,
        "Exchange",
        ADMIN_UPN,
        json!({
            "ObjectId": "EURPR05A003.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/Bob Kelly",
            "OrganizationName": "contoso.onmicrosoft.com",
            "OriginatingServer": "AM6PR05MB1234 (15.20.7409.000)",
            "Parameters": parameters,
        }),
    )
}

fn sharepoint(operation: &str, user: &str) -> Event {
    unified(
        operation,
        "SharePoint",
        user,
        json!({
            "RecordType": 6,
            "ObjectId": "https://contoso.sharepoint.com/sites/Finance/Shared Documents/Budget.xlsx",
            "ItemType": "File",
            "SiteUrl": "https://contoso.sharepoint.com/sites/Finance/",
            "SourceFileName": "Budget.xlsx",
            "EventSource": "SharePoint",
        }),
    )
}

/// A Graph Intune auditEvent.
fn intune(activity: &str, activity_type: &str) -> Event {
    normalize(
        RecordKind::Intune,
        json!({
            "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "displayName": activity_type,
            "componentName": "DeviceManagement",
            "actor": {
                "type": "ItPro",
                "auditActorType": "ItPro",
                "applicationDisplayName": "Microsoft Intune portal extension",
                "userPrincipalName": ADMIN_UPN,
                "userId": "6a1f0c2e-93b4-4d7a-8e15-0b2c4d6e8f10"
            },
            "activity": activity,
            "activityDateTime": "2024-03-11T13:14:15.1617181Z",
            "activityType": activity_type,
            "activityOperationType": "Action",
            "activityResult": "Success",
            "resources": [{
                "displayName": "DESKTOP-BK01",
                "type": "ManagedDevice",
                "resourceId": "7c6d5e4f-3a2b-4c1d-8e0f-9a8b7c6d5e4f",
                "modifiedProperties": []
            }],
            "category": "Device"
        }),
    )
}

fn ctx() -> MatchContext {
    MatchContext::new(["Contoso.com", "contoso.onmicrosoft.com"])
}

fn pack_rule(id: &str) -> CompiledRule {
    let rule = builtin_pack()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no built-in rule {id}"));
    CompiledRule::new(rule).unwrap()
}

fn fires(id: &str, event: &Event) -> bool {
    pack_rule(id).matches(event, &ctx())
}

fn compile(body: Value) -> CompiledRule {
    CompiledRule::new(Rule::parse(&body).unwrap()).unwrap()
}

fn rule_with(matcher: Value) -> CompiledRule {
    compile(json!({"name": "t", "severity": "low", "match": matcher}))
}

fn parse_error(body: Value) -> RuleError {
    Rule::parse(&body).expect_err("body should be rejected")
}

// ---- parsing ------------------------------------------------------------------------------

#[test]
fn parse_errors_name_the_field() {
    let ok_match = json!({"operation": "Set-Mailbox"});
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"name": "x", "severity": "urgent", "match": ok_match}),
            "severity",
            "unknown severity",
        ),
        (
            json!({"name": "x", "match": ok_match}),
            "severity",
            "is required",
        ),
        (
            json!({"name": " ", "severity": "low", "match": ok_match}),
            "name",
            "must not be empty",
        ),
        (
            json!({"severity": "low", "match": ok_match}),
            "name",
            "is required",
        ),
        (
            json!({"name": "x", "severity": "low"}),
            "match",
            "is required",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {}}),
            "match",
            "matches every event",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "colour": "red"}),
            "colour",
            "unknown field",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [
                {"path": "a", "op": "exists"},
                {"path": "Parameters[Name=X.Value", "op": "exists"}
            ]}}),
            "match.conditions[1].path",
            "without its ']'",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "", "op": "exists"}]}}),
            "match.conditions[0].path",
            "must not be empty",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "a", "op": "equals", "value": 1}]}}),
            "match.conditions[0].op",
            "unknown op",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "a", "op": "in", "value": "x"}]}}),
            "match.conditions[0].value",
            "array",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "a", "op": "eq"}]}}),
            "match.conditions[0].value",
            "needs a value",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"conditions": [{"path": "a", "op": "contains", "value": null}]}}),
            "match.conditions[0].value",
            "needs a value",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"any": [{"operation": "a"}, {"service": "x", "colour": 1}]}}),
            "match.any[1].colour",
            "unknown field",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"any": [{}]}}),
            "match.any[0]",
            "matches every event",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"result": "maybe"}}),
            "match.result",
            "unknown outcome",
        ),
        (
            json!({"name": "x", "severity": "low", "match": {"operation": ["a", " "]}}),
            "match.operation[1]",
            "must not be empty",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "threshold": {"count": 1, "minutes": 10}}),
            "threshold.count",
            "must be at least 2",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "threshold": {"count": 5, "minutes": 0}}),
            "threshold.minutes",
            "between 1 and 10080",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "threshold": {"count": 5, "minutes": 10081}}),
            "threshold.minutes",
            "between 1 and 10080",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "threshold": {"count": 5, "minutes": 5, "group_by": "ip"}}),
            "threshold.group_by",
            "unknown group_by",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "threshold": {"count": -5, "minutes": 5}}),
            "threshold.count",
            "whole number",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "suppress_minutes": 0}),
            "suppress_minutes",
            "between 1 and 10080",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "tags": ["ok", "bad\ntag"]}),
            "tags[1]",
            "printable",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "tags": ["x".repeat(65)]}),
            "tags[0]",
            "printable",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "tags": [3]}),
            "tags[0]",
            "must be a string",
        ),
        (
            json!({"name": "x", "severity": "low", "match": ok_match, "id": "has space"}),
            "id",
            "letters, digits",
        ),
        (json!("a rule"), "body", "JSON object"),
    ];
    for (body, field, message) in cases {
        let err = parse_error(body.clone());
        assert_eq!(err.field, field, "{body}: {err}");
        assert!(err.message.contains(message), "{body}: {err}");
        assert_eq!(err.to_string(), format!("{}: {}", err.field, err.message));
    }
}

#[test]
fn a_full_body_parses_with_defaults_and_round_trips() {
    let rule = Rule::parse(&json!({
        "name": "Forwarding by the CEO",
        "severity": "High",
        "match": {
            "service": "exo",
            "operation": "Set-Mailbox",
            "actor": "megan",
            "conditions": [{"path": "Parameters[Name=ForwardingSmtpAddress].Value", "op": "external"}]
        },
        "threshold": {"count": 2, "minutes": 60},
        "tags": ["vip"]
    }))
    .unwrap();
    assert!(rule.enabled);
    assert!(!rule.builtin);
    assert_eq!(rule.id, "");
    assert_eq!(rule.severity, Severity::High);
    assert_eq!(
        rule.threshold,
        Some(Threshold {
            count: 2,
            minutes: 60,
            group_by: GroupBy::Actor
        })
    );
    let text = serde_json::to_value(&rule).unwrap();
    assert_eq!(text["match"]["operation"], "Set-Mailbox");
    assert_eq!(Rule::parse(&text).unwrap(), rule);
    assert_eq!(serde_json::from_value::<Rule>(text).unwrap(), rule);
}

#[test]
fn severities_order_and_read_back() {
    assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
    for s in Severity::ALL {
        assert_eq!(s.as_str().parse::<Severity>(), Ok(s));
        assert_eq!(s.as_str().to_uppercase().parse::<Severity>(), Ok(s));
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
    assert!("urgent".parse::<Severity>().is_err());
}

// ---- matching -----------------------------------------------------------------------------

#[test]
fn the_two_documented_paths_reach_their_values() {
    let forward = rule_with(json!({"conditions": [{
        "path": "Parameters[Name=ForwardingSmtpAddress].Value",
        "op": "eq", "value": "SMTP:bob.external@fabrikam.com"
    }]}));
    let set = cmdlet(
        "Set-Mailbox",
        &[
            ("Identity", "bob.kelly@contoso.com"),
            ("ForwardingSmtpAddress", "smtp:bob.external@fabrikam.com"),
        ],
    );
    assert!(forward.matches(&set, &ctx()));
    let other = cmdlet(
        "Set-Mailbox",
        &[
            ("Identity", "bob.kelly@contoso.com"),
            ("ForwardingSmtpAddress", "smtp:carol@fabrikam.com"),
        ],
    );
    assert!(!forward.matches(&other, &ctx()));

    let role = rule_with(json!({"conditions": [{
        "path": "targetResources[].modifiedProperties[displayName=Role.DisplayName].newValue",
        "op": "eq", "value": "Global Administrator"
    }]}));
    assert!(role.matches(
        &graph_role_change("Add member to role", "Global Administrator"),
        &ctx()
    ));
    assert!(!role.matches(
        &graph_role_change("Add member to role", "Reports Reader"),
        &ctx()
    ));
    // The encoded text itself compares too.
    let encoded = rule_with(json!({"conditions": [{
        "path": "targetResources[].modifiedProperties[displayName=Role.DisplayName].newValue",
        "op": "eq", "value": "\"global administrator\""
    }]}));
    assert!(encoded.matches(
        &graph_role_change("Add member to role", "Global Administrator"),
        &ctx()
    ));
}

#[test]
fn each_op_and_its_negation() {
    let e = cmdlet(
        "Add-MailboxPermission",
        &[
            ("Identity", "Bob Kelly"),
            ("User", "mallory@fabrikam.com"),
            ("AccessRights", "FullAccess"),
            ("InheritanceType", "All"),
        ],
    );
    let cond = |c: Value| rule_with(json!({"conditions": [c]})).matches(&e, &ctx());
    let p = "Parameters[Name=AccessRights].Value";
    assert!(cond(json!({"path": p, "op": "eq", "value": "fullaccess"})));
    assert!(!cond(json!({"path": p, "op": "eq", "value": "full"})));
    assert!(cond(
        json!({"path": p, "op": "eq", "value": "full", "not": true})
    ));
    assert!(cond(
        json!({"path": p, "op": "contains", "value": "ULLACC"})
    ));
    assert!(cond(
        json!({"path": p, "op": "contains", "value": ["SendAs", "Access"]})
    ));
    assert!(!cond(
        json!({"path": p, "op": "contains", "value": ["SendAs", "Read"]})
    ));
    assert!(cond(
        json!({"path": p, "op": "in", "value": ["ReadPermission", "FULLACCESS"]})
    ));
    assert!(!cond(
        json!({"path": p, "op": "in", "value": ["ReadPermission"]})
    ));
    assert!(cond(
        json!({"path": p, "op": "in", "value": ["ReadPermission"], "not": true})
    ));
    assert!(cond(json!({"path": p, "op": "exists"})));
    assert!(!cond(
        json!({"path": "Parameters[Name=Deny].Value", "op": "exists"})
    ));
    assert!(cond(
        json!({"path": "Parameters[Name=Deny].Value", "op": "exists", "not": true})
    ));
    assert!(cond(
        json!({"path": "Parameters[Name=User].Value", "op": "external"})
    ));
    assert!(!cond(
        json!({"path": "Parameters[Name=User].Value", "op": "external", "not": true})
    ));
    assert!(!cond(
        json!({"path": "Parameters[Name=Identity].Value", "op": "external"})
    ));
    // Numbers and booleans compare by their text.
    assert!(cond(json!({"path": "RecordType", "op": "eq", "value": 1})));
    assert!(cond(
        json!({"path": "RecordType", "op": "in", "value": ["1", 2]})
    ));
    // Empty values do not exist.
    let cleared = cmdlet(
        "Set-Mailbox",
        &[("Identity", "Bob"), ("ForwardingSmtpAddress", "")],
    );
    let exists = rule_with(
        json!({"conditions": [{"path": "Parameters[Name=ForwardingSmtpAddress].Value", "op": "exists"}]}),
    );
    assert!(!exists.matches(&cleared, &ctx()));
}

#[test]
fn external_addresses() {
    let forwarding = |value: &str, user: &str| {
        let mut e = cmdlet(
            "Set-Mailbox",
            &[("Identity", "Bob"), ("ForwardingSmtpAddress", value)],
        );
        e.raw["UserId"] = json!(user);
        e.actor["UserId"] = json!(user);
        e.actor_display = user.to_owned();
        rule_with(json!({"conditions": [{"path": "Parameters[Name=ForwardingSmtpAddress].Value", "op": "external"}]}))
            .matches(&e, &ctx())
    };
    assert!(forwarding("smtp:x@fabrikam.com", ADMIN_UPN));
    assert!(forwarding("SMTP:x@FABRIKAM.COM", ADMIN_UPN));
    assert!(!forwarding("smtp:x@contoso.com", ADMIN_UPN));
    assert!(!forwarding("x@CONTOSO.COM", ADMIN_UPN));
    assert!(
        !forwarding("x@eu.contoso.com", ADMIN_UPN),
        "subdomains are internal"
    );
    assert!(
        forwarding("x@notcontoso.com", ADMIN_UPN),
        "a suffix is not a subdomain"
    );
    assert!(forwarding("a@contoso.com; b@fabrikam.com", ADMIN_UPN));
    assert!(forwarding(
        "a@contoso.com,\"Mallory\" <b@fabrikam.com>",
        ADMIN_UPN
    ));
    assert!(!forwarding(
        "a@contoso.com, c@contoso.onmicrosoft.com",
        ADMIN_UPN
    ));
    // The actor's own domain is internal even when not configured.
    assert!(!forwarding("x@tailspin.com", "admin@tailspin.com"));
    assert!(
        !forwarding("Bob Kelly", ADMIN_UPN),
        "a name is not an address"
    );
    assert!(!forwarding("", ADMIN_UPN));
}

#[test]
fn nested_any_and_event_fields() {
    let e = cmdlet(
        "New-InboxRule",
        &[("Name", "x"), ("ForwardTo", "mallory@fabrikam.com")],
    );
    let r = |m: Value| rule_with(m).matches(&e, &ctx());
    assert!(r(
        json!({"any": [{"operation": "Nope"}, {"any": [{"service": "Teams"}, {"service": "EXO"}]}]})
    ));
    assert!(!r(
        json!({"any": [{"operation": "Nope"}, {"any": [{"service": "Teams"}, {"result": "failure"}]}]})
    ));
    assert!(r(
        json!({"operation": ["set-inboxrule", " new-inboxrule "], "result": "Succeeded"})
    ));
    assert!(!r(
        json!({"operation": "New-InboxRule", "result": "failure"})
    ));
    assert!(r(json!({"actor": "MEGANB@"})));
    assert!(r(json!({"target": "bob kelly"})));
    assert!(!r(json!({"target": "carol"})));
    assert!(
        r(json!({"search": "MALLORY@FABRIKAM"})),
        "raw text is searched"
    );
    assert!(
        r(json!({"search": "new-inbox"})),
        "display fields are searched"
    );
    assert!(!r(json!({"search": "nowhere to be found"})));
    // Every criterion must hold.
    assert!(!r(
        json!({"operation": "New-InboxRule", "actor": "someone else"})
    ));
    // A Graph event: actor search by name or UPN.
    let g = graph_role_change("Add member to role", "Global Administrator");
    assert!(rule_with(json!({"actor": "megan bowen"})).matches(&g, &ctx()));
    assert!(rule_with(json!({"actor": "meganb@contoso"})).matches(&g, &ctx()));
    assert!(rule_with(json!({"service": "RoleManagement"})).matches(&g, &ctx()));
}

#[test]
fn a_view_is_shared_between_rules() {
    let e = sharepoint("FileDownloaded", "bob.kelly@contoso.com");
    let view = EventView::new(&e);
    let rules = [
        rule_with(json!({"search": "budget.xlsx"})),
        rule_with(json!({"search": "finance/"})),
        rule_with(json!({"search": "absent"})),
    ];
    let hits: Vec<bool> = rules
        .iter()
        .map(|r| r.matches_view(&view, &ctx()))
        .collect();
    assert_eq!(hits, [true, true, false]);
}

// ---- the pack -----------------------------------------------------------------------------

#[test]
fn the_pack_is_the_catalogue() {
    let pack = builtin_pack();
    let doc = include_str!("../../../../docs/DETECTIONS.md");
    let rows: Vec<(String, String)> = doc
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let id = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((id.to_owned(), cells.get(2)?.to_string()))
        })
        .collect();
    let ours: Vec<(String, String)> = pack
        .iter()
        .map(|r| (r.id.clone(), r.severity.as_str().to_owned()))
        .collect();
    assert_eq!(ours, rows);
    for rule in &pack {
        assert!(rule.builtin && rule.enabled, "{}", rule.id);
        CompiledRule::new(rule.clone()).unwrap();
        // What the store keeps reads back as the same rule.
        let stored = serde_json::to_value(rule).unwrap();
        assert_eq!(&Rule::parse(&stored).unwrap(), rule, "{}", rule.id);
    }
}

#[test]
fn the_catalogues_example_rule_parses() {
    let doc = include_str!("../../../../docs/DETECTIONS.md");
    let block = doc
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("DETECTIONS.md has a json example");
    let rule = Rule::parse(&serde_json::from_str(block).unwrap()).unwrap();
    let e = cmdlet(
        "Set-Mailbox",
        &[
            ("Identity", "CEO"),
            ("ForwardingSmtpAddress", "smtp:x@fabrikam.com"),
        ],
    );
    let mut by_ceo = e.clone();
    by_ceo.actor_display = "ceo@contoso.com".into();
    let compiled = CompiledRule::new(rule).unwrap();
    assert!(compiled.matches(&by_ceo, &ctx()));
    assert!(!compiled.matches(&e, &ctx()));
}

#[test]
fn privileged_role_assigned() {
    let id = "privileged-role-assigned";
    for role in PRIVILEGED_ROLES {
        assert!(
            fires(id, &graph_role_change("Add member to role", role)),
            "{role}"
        );
    }
    assert!(fires(
        id,
        &graph_role_change(
            "Add member to role completed (PIM activation)",
            "Security Administrator"
        )
    ));
    // A PIM activation that names the role only as a target.
    let pim = graph(
        "Add member to role completed (PIM activation)",
        "RoleManagement",
        json!([
            {"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator", "type": "Role", "modifiedProperties": []},
            {"id": "c0d1e2f3-a4b5-4c6d-8e7f-901a2b3c4d5e", "displayName": "Bob Kelly", "type": "User", "modifiedProperties": []}
        ]),
    );
    assert!(fires(id, &pim));
    let unified_role = |role: &str| {
        unified(
            "Add member to role.",
            "AzureActiveDirectory",
            ADMIN_UPN,
            json!({
                "RecordType": 8,
                "ObjectId": "bob.kelly@contoso.com",
                "ModifiedProperties": [
                    {"Name": "Role.ObjectID", "NewValue": "62e90394-69f5-4237-9190-012177145e10", "OldValue": ""},
                    {"Name": "Role.DisplayName", "NewValue": role, "OldValue": ""},
                    {"Name": "Role.WellKnownObjectName", "NewValue": "TenantAdmins", "OldValue": ""}
                ],
                "Target": [{"ID": "bob.kelly@contoso.com", "Type": 5}]
            }),
        )
    };
    assert!(fires(id, &unified_role("Global Administrator")));
    assert!(fires(
        id,
        &unified_role("[\r\n  \"Exchange Administrator\"\r\n]")
    ));
    // Near misses.
    assert!(!fires(
        id,
        &graph_role_change("Add member to role", "Reports Reader")
    ));
    assert!(!fires(
        id,
        &graph_role_change("Add member to role", "Message Center Reader")
    ));
    assert!(!fires(
        id,
        &graph_role_change("Remove member from role", "Global Administrator")
    ));
    assert!(!fires(id, &unified_role("Reports Reader")));
    assert!(!fires(
        id,
        &graph_role_change("Add member to role", "Global Administrator Reader")
    ));
}

#[test]
fn mail_forwarding_external() {
    let id = "mail-forwarding-external";
    assert!(fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[
                ("Identity", "bob.kelly@contoso.com"),
                ("ForwardingSmtpAddress", "smtp:bob.external@fabrikam.com"),
                ("DeliverToMailboxAndForward", "True")
            ]
        )
    ));
    assert!(fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[
                ("Identity", "Bob Kelly"),
                ("ForwardingAddress", "mallory@fabrikam.com")
            ]
        )
    ));
    assert!(fires(
        id,
        &cmdlet(
            "New-InboxRule",
            &[
                ("Mailbox", "Bob Kelly"),
                ("Name", "fwd"),
                ("ForwardTo", "mallory@fabrikam.com")
            ]
        )
    ));
    assert!(fires(
        id,
        &cmdlet(
            "Set-InboxRule",
            &[
                ("Identity", "Bob Kelly\\fwd"),
                (
                    "ForwardAsAttachmentTo",
                    "a@contoso.com;mallory@fabrikam.com"
                )
            ]
        )
    ));
    assert!(fires(
        id,
        &cmdlet(
            "New-InboxRule",
            &[("Name", "r"), ("RedirectTo", "mallory@fabrikam.com")]
        )
    ));
    // Near misses.
    assert!(!fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[
                ("Identity", "bob.kelly@contoso.com"),
                ("ForwardingSmtpAddress", "smtp:carol@contoso.com")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[
                ("Identity", "bob.kelly@contoso.com"),
                ("ForwardingSmtpAddress", "")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[
                ("Identity", "bob.kelly@contoso.com"),
                ("ForwardingSmtpAddress", "<null>")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "New-InboxRule",
            &[
                ("Name", "tidy"),
                ("MoveToFolder", "Archive"),
                ("From", "news@fabrikam.com")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Remove-InboxRule",
            &[("Identity", "x"), ("ForwardTo", "mallory@fabrikam.com")]
        )
    ));
}

#[test]
fn mailbox_permission_granted() {
    let id = "mailbox-permission-granted";
    assert!(fires(
        id,
        &cmdlet(
            "Add-MailboxPermission",
            &[
                ("Identity", "CEO"),
                ("User", "mallory@contoso.com"),
                ("AccessRights", "FullAccess"),
                ("InheritanceType", "All")
            ]
        )
    ));
    assert!(fires(
        id,
        &cmdlet(
            "Add-RecipientPermission",
            &[
                ("Identity", "CEO"),
                ("Trustee", "mallory@contoso.com"),
                ("AccessRights", "SendAs")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Add-MailboxPermission",
            &[
                ("Identity", "CEO"),
                ("User", "x@contoso.com"),
                ("AccessRights", "ReadPermission")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Remove-MailboxPermission",
            &[
                ("Identity", "CEO"),
                ("User", "x@contoso.com"),
                ("AccessRights", "FullAccess")
            ]
        )
    ));
}

fn consent(is_admin: &str, scopes: &str) -> Event {
    graph(
        "Consent to application",
        "ApplicationManagement",
        json!([{
            "id": "3c5e7a9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d",
            "displayName": "Contoso Mail Helper",
            "type": "ServicePrincipal",
            "modifiedProperties": [
                prop("ConsentContext.IsAdminConsent", Value::Null, json!(format!("\"{is_admin}\""))),
                prop("ConsentContext.IsAppOnly", Value::Null, json!("\"False\"")),
                prop("ConsentContext.OnBehalfOfAll", Value::Null, json!(format!("\"{is_admin}\""))),
                prop("ConsentContext.Tags", Value::Null, json!("\"WindowsAzureActiveDirectoryIntegratedApp\"")),
                prop("ConsentAction.Permissions", Value::Null, json!(format!(
                    "\"[] => [[Id: abc, ClientId: 3c5e7a9b, PrincipalId: 6a1f0c2e, ResourceId: 9d8c7b6a, ConsentType: Principal, Scope: {scopes}, CreatedDateTime: , LastModifiedDateTime ]]; \""
                ))),
                prop("TargetId.ServicePrincipalNames", Value::Null, json!("\"3c5e7a9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d\""))
            ]
        }]),
    )
}

#[test]
fn consent_to_application() {
    let id = "consent-to-application";
    assert!(fires(id, &consent("True", "User.Read openid profile")));
    assert!(fires(
        id,
        &consent("False", "User.Read Mail.ReadWrite offline_access")
    ));
    assert!(fires(id, &consent("False", "Files.ReadWrite.All")));
    assert!(!fires(id, &consent("False", "User.Read openid profile")));
    assert!(
        !fires(id, &consent("False", "Mail.Read")),
        "read-only mail is not on the list"
    );
}

#[test]
fn app_credentials_added() {
    let id = "app-credentials-added";
    let app_change = |activity: &str, property: &str| {
        graph(
            activity,
            "ApplicationManagement",
            json!([{
                "id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
                "displayName": "Payroll Connector",
                "type": "Application",
                "modifiedProperties": [prop(property, json!("[]"), json!("[{\"KeyIdentifier\":\"8b1e\",\"KeyType\":\"Password\",\"KeyUsage\":\"Verify\",\"DisplayName\":\"ci\"}]"))]
            }]),
        )
    };
    // Microsoft's names: an en dash, and a trailing space the normalizer trims.
    assert!(fires(
        id,
        &app_change(
            "Update application – Certificates and secrets management ",
            "KeyDescription"
        )
    ));
    assert!(fires(
        id,
        &app_change("Add service principal credentials", "KeyDescription")
    ));
    assert!(!fires(id, &app_change("Update application", "DisplayName")));
    assert!(!fires(
        id,
        &app_change("Remove service principal credentials", "KeyDescription")
    ));
}

fn ca_policy(activity: &str, state: Option<&str>) -> Event {
    let props = match state {
        Some(state) => vec![prop(
            "ConditionalAccessPolicy",
            json!(
                "{\"id\":\"0f1e2d3c\",\"displayName\":\"Require MFA for admins\",\"state\":\"enabled\"}"
            ),
            json!(format!(
                "{{\"id\":\"0f1e2d3c\",\"displayName\":\"Require MFA for admins\",\"createdDateTime\":\"2024-01-02T03:04:05Z\",\"state\":\"{state}\",\"conditions\":{{}}}}"
            )),
        )],
        None => vec![],
    };
    graph(
        activity,
        "Policy",
        json!([{"id": "0f1e2d3c-4b5a-4968-8a7b-6c5d4e3f2a1b", "displayName": "Require MFA for admins", "type": "Policy", "modifiedProperties": props}]),
    )
}

#[test]
fn conditional_access_weakened() {
    let id = "conditional-access-weakened";
    assert!(fires(
        id,
        &ca_policy("Delete conditional access policy", None)
    ));
    assert!(fires(
        id,
        &ca_policy("Update conditional access policy", Some("disabled"))
    ));
    assert!(fires(
        id,
        &ca_policy(
            "Update conditional access policy",
            Some("enabledForReportingButNotEnforced")
        )
    ));
    assert!(!fires(
        id,
        &ca_policy("Update conditional access policy", Some("enabled"))
    ));
    assert!(!fires(
        id,
        &ca_policy("Add conditional access policy", Some("disabled"))
    ));
}

#[test]
fn auth_methods_reset() {
    let id = "auth-methods-reset";
    let update = |property: &str| {
        graph(
            "Update user",
            "UserManagement",
            json!([user_target(vec![
                prop(
                    property,
                    json!("[{\"MethodType\":6,\"Default\":true}]"),
                    json!("[]")
                ),
                prop(
                    "Included Updated Properties",
                    Value::Null,
                    json!(format!("\"{property}\""))
                ),
            ])]),
        )
    };
    assert!(fires(id, &update("StrongAuthenticationMethod")));
    assert!(fires(
        id,
        &graph(
            "Admin deleted security info",
            "UserManagement",
            json!([user_target(vec![])])
        )
    ));
    assert!(!fires(id, &update("DisplayName")));
    assert!(!fires(
        id,
        &graph(
            "User registered security info",
            "UserManagement",
            json!([user_target(vec![])])
        )
    ));
}

#[test]
fn anonymous_link_created() {
    let id = "anonymous-link-created";
    assert!(fires(
        id,
        &sharepoint("AnonymousLinkCreated", "bob.kelly@contoso.com")
    ));
    let mut onedrive = sharepoint("AnonymousLinkCreated", "bob.kelly@contoso.com");
    onedrive.service = "OneDrive".into();
    assert!(fires(id, &onedrive));
    assert!(!fires(
        id,
        &sharepoint("CompanyLinkCreated", "bob.kelly@contoso.com")
    ));
    assert!(!fires(
        id,
        &sharepoint("SecureLinkCreated", "bob.kelly@contoso.com")
    ));
}

#[test]
fn mass_download_and_delete_count_per_actor() {
    for (id, positives, negative) in [
        (
            "mass-download",
            ["FileDownloaded", "FileSyncDownloadedFull"],
            "FileAccessed",
        ),
        (
            "mass-delete",
            ["FileDeleted", "FileRecycled"],
            "FileModified",
        ),
    ] {
        let rule = pack_rule(id);
        let t = rule.rule().threshold.clone().unwrap();
        assert_eq!(
            (t.count, t.minutes, t.group_by),
            (50, 10, GroupBy::Actor),
            "{id}"
        );
        for op in positives {
            let e = sharepoint(op, "Bob.Kelly@contoso.com");
            assert!(rule.matches(&e, &ctx()), "{id} {op}");
            assert_eq!(rule.group_key(&e).as_deref(), Some("bob.kelly@contoso.com"));
        }
        assert!(
            !rule.matches(&sharepoint(negative, "bob.kelly@contoso.com"), &ctx()),
            "{id}"
        );
    }
    // Without a threshold there is no group; without an actor neither.
    let e = sharepoint("FileDownloaded", "bob.kelly@contoso.com");
    assert_eq!(pack_rule("anonymous-link-created").group_key(&e), None);
    let mut nobody = e.clone();
    nobody.actor_display = crate::UNKNOWN_ACTOR.into();
    assert_eq!(pack_rule("mass-download").group_key(&nobody), None);
    let by_target = compile(
        json!({"name": "t", "severity": "low", "match": {"operation": "FileDownloaded"},
        "threshold": {"count": 3, "minutes": 5, "group_by": "target"}}),
    );
    assert_eq!(
        by_target.group_key(&e).as_deref(),
        Some("https://contoso.sharepoint.com/sites/finance/shared documents/budget.xlsx")
    );
}

#[test]
fn audit_logging_disabled() {
    let id = "audit-logging-disabled";
    assert!(fires(
        id,
        &cmdlet(
            "Set-AdminAuditLogConfig",
            &[("UnifiedAuditLogIngestionEnabled", "False")]
        )
    ));
    assert!(fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[("Identity", "CEO"), ("AuditEnabled", "False")]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Set-AdminAuditLogConfig",
            &[("UnifiedAuditLogIngestionEnabled", "True")]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet(
            "Set-Mailbox",
            &[("Identity", "CEO"), ("AuditEnabled", "True")]
        )
    ));
}

#[test]
fn transport_rule_created() {
    let id = "transport-rule-created";
    assert!(fires(
        id,
        &cmdlet(
            "New-TransportRule",
            &[
                ("Name", "copy all"),
                ("BlindCopyTo", "mallory@fabrikam.com")
            ]
        )
    ));
    assert!(!fires(
        id,
        &cmdlet("Remove-TransportRule", &[("Identity", "copy all")])
    ));
    assert!(!fires(
        id,
        &cmdlet("Disable-TransportRule", &[("Identity", "copy all")])
    ));
}

#[test]
fn intune_wipe_retire() {
    let id = "intune-wipe-retire";
    let wipe = intune("Wipe device", "wipe ManagedDevice");
    assert_eq!(
        wipe.operation, "Wipe device",
        "Intune's operation is its activity"
    );
    assert!(fires(id, &wipe));
    assert!(fires(id, &intune("Retire device", "retire ManagedDevice")));
    assert!(!fires(
        id,
        &intune("Sync device", "syncDevice ManagedDevice")
    ));
    assert!(!fires(
        id,
        &intune("Reboot device", "rebootNow ManagedDevice")
    ));
}

/// Evaluation cost of the pack plus 50 custom rules, by kind of rule, beside the cost of
/// normalizing the same records (the machine's load cancels out of the ratio): run with
/// `cargo test -p aoc-domain --release --lib rules::tests::evaluation_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn evaluation_cost() {
    let custom = |kind: u32, i: u32| {
        let matcher = match kind {
            0 => json!({"operation": format!("Op{i}"), "actor": "mallory"}),
            1 => json!({"service": "Exchange", "conditions": [
                {"path": "Parameters[Name=Identity].Value", "op": "contains", "value": format!("vip{i}")}]}),
            2 => json!({"search": format!("needle-{i}")}),
            3 => json!({"result": "failure", "target": format!("secret{i}")}),
            _ => json!({"any": [{"operation": "FileDownloaded", "actor": format!("user{i}")},
                {"conditions": [{"path": "targetResources[].modifiedProperties[displayName=Role.DisplayName].newValue", "op": "eq", "value": format!("Role {i}")}]}]}),
        };
        compile(json!({"name": format!("custom {i}"), "severity": "low", "match": matcher}))
    };
    let pack: Vec<CompiledRule> = builtin_pack()
        .into_iter()
        .map(|r| CompiledRule::new(r).unwrap())
        .collect();
    let mut groups = vec![("pack".to_owned(), pack)];
    for kind in 0..5 {
        groups.push((
            format!("10 custom of kind {kind}"),
            (0..10).map(|i| custom(kind, i)).collect(),
        ));
    }
    let events = [
        cmdlet(
            "Set-Mailbox",
            &[
                ("Identity", "bob.kelly@contoso.com"),
                ("ForwardingSmtpAddress", "smtp:x@fabrikam.com"),
            ],
        ),
        sharepoint("FileDownloaded", "bob.kelly@contoso.com"),
        graph_role_change("Add member to role", "Global Administrator"),
        consent("False", "User.Read openid profile"),
        intune("Wipe device", "wipe ManagedDevice"),
    ];
    let ctx = ctx();
    let rounds = 10_000;
    let best = |f: &mut dyn FnMut(usize)| {
        (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                (0..rounds).for_each(&mut *f);
                start.elapsed() / rounds as u32
            })
            .min()
            .unwrap()
    };
    let normalizer = Normalizer::new(Mappings::builtin());
    let normalize = best(&mut |n| {
        let e = &events[n % events.len()];
        let kind = RecordKind::detect(&e.raw).unwrap();
        assert!(
            normalizer
                .normalize(kind, e.source, e.raw.clone(), &NoResolver)
                .is_ok()
        );
    });
    println!("normalizing: {normalize:?} per event");
    for (name, rules) in &groups {
        let cost = best(&mut |n| {
            let view = EventView::new(&events[n % events.len()]);
            std::hint::black_box(rules.iter().filter(|r| r.matches_view(&view, &ctx)).count());
        });
        println!("{name}: {cost:?} per event");
    }
    let all: Vec<&CompiledRule> = groups.iter().flat_map(|(_, r)| r).collect();
    let cost = best(&mut |n| {
        let view = EventView::new(&events[n % events.len()]);
        std::hint::black_box(all.iter().filter(|r| r.matches_view(&view, &ctx)).count());
    });
    println!("all {} rules: {cost:?} per event", all.len());
}

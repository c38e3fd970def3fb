use aoc_domain::normalize::MappingsError;
use aoc_domain::{Mappings, NoResolver, Normalizer, RecordKind, Source};

use crate::support::fixture;

fn summary(mappings: Mappings, file: &str, kind: RecordKind) -> String {
    Normalizer::new(mappings)
        .normalize(kind, Source::Import, fixture(file), &NoResolver)
        .unwrap()
        .display_summary
}

const GROUP_ADD: &str = "directory/add_member_to_group.json";

#[test]
fn yaml_overrides_merge_over_builtins() {
    let yaml = r#"
categories:
  GroupManagement: "Groups"
summaries:
  "Add member to group": "{actor} put {target} in {target2} ({service}, {result})"
"#;
    let mappings = Mappings::from_yaml_str(yaml).unwrap();
    assert_eq!(
        summary(mappings.clone(), GROUP_ADD, RecordKind::Directory),
        "Megan Bowen put bob.kelly@contoso.com in Sales Team (Groups, success)"
    );
    // Untouched built-ins stay.
    assert_eq!(
        summary(
            mappings.clone(),
            "directory/app_update_user.json",
            RecordKind::Directory
        ),
        "Microsoft Entra Connect Cloud Sync updated user Bob Kelly"
    );
    assert_eq!(mappings.category_label("UserManagement"), "User management");
    assert_eq!(mappings.category_label("GroupManagement"), "Groups");
    assert_eq!(mappings.category_label("Unheard-of"), "Unheard-of");
    assert_eq!(
        Normalizer::new(mappings).service_label("GroupManagement"),
        "Groups"
    );
}

#[test]
fn default_template_and_unknown_actor_can_be_replaced() {
    let yaml = "default_summary: \"[{service}] {actor}: {operation} -> {targets}\"\nunknown_actor: \"(nobody)\"\n";
    let mappings = Mappings::from_yaml_str(yaml).unwrap();
    assert_eq!(
        summary(
            mappings.clone(),
            "intune/wipe_device.json",
            RecordKind::Intune
        ),
        "[Intune] meganb@contoso.onmicrosoft.com: Wipe device -> DESKTOP-BK01"
    );
    let mut nobody = fixture("intune/user_id_only.json");
    nobody["actor"] = serde_json::Value::Null;
    let event = Normalizer::new(mappings)
        .normalize(RecordKind::Intune, Source::Import, nobody, &NoResolver)
        .unwrap();
    assert_eq!(
        event.display_summary,
        "[Intune] (nobody): Delete app -> Zoom – Ärzte Edition"
    );
    assert_eq!(event.actor_display, aoc_domain::UNKNOWN_ACTOR);
}

#[test]
fn operation_keys_match_without_case() {
    let mappings =
        Mappings::from_yaml_str("summaries:\n  set-mailbox: \"{actor} touched {target}\"\n")
            .unwrap();
    assert_eq!(
        summary(
            mappings,
            "unified/exchange_set_mailbox.json",
            RecordKind::Unified
        ),
        "meganb@contoso.onmicrosoft.com touched bob.kelly@contoso.com"
    );
}

#[test]
fn default_and_empty_files_are_the_builtins() {
    for mappings in [
        Mappings::default(),
        Mappings::builtin(),
        Mappings::from_yaml_str("").unwrap(),
        Mappings::from_yaml_str("# nothing\n").unwrap(),
    ] {
        assert_eq!(
            summary(mappings, GROUP_ADD, RecordKind::Directory),
            "Megan Bowen added bob.kelly@contoso.com to group Sales Team"
        );
    }
}

#[test]
fn bad_files_are_clear_errors() {
    let yaml_errors = [
        "summaries: [unclosed",
        "sumaries:\n  X: \"{actor}\"\n",
        "summaries:\n  X: [1, 2]\n",
        "categories: just text\n",
        "- a list\n",
    ];
    for text in yaml_errors {
        let err = Mappings::from_yaml_str(text).unwrap_err();
        assert!(matches!(err, MappingsError::Yaml(_)), "{text:?}: {err}");
        assert!(
            err.to_string().starts_with("mappings are not valid YAML"),
            "{err}"
        );
    }
    let err = Mappings::from_yaml_str("sumaries: {}\n").unwrap_err();
    assert!(err.to_string().contains("sumaries"), "{err}");

    for (text, key) in [
        ("summaries:\n  \"Add user\": \"{actor added\"\n", "Add user"),
        ("default_summary: \"{whom}\"\n", "default_summary"),
    ] {
        let err = Mappings::from_yaml_str(text).unwrap_err();
        assert!(
            matches!(&err, MappingsError::Template { key: k, .. } if k == key),
            "{text:?}: {err}"
        );
        assert!(err.to_string().contains(key), "{err}");
    }
}

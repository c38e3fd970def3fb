//! Who acted, per workload shape: names, system labels, looked-up ids, and a label for nobody.

use aoc_domain::{NoResolver, Normalizer, RecordKind, UNKNOWN_ACTOR};
use serde_json::{Value, json};

use crate::support::{ADELE_ID, LEE_ID, fixture, normalize_with, resolver};

/// An id no resolver knows (an object deleted since).
const GONE: &str = "0e4d3c2b-1a09-4f8e-8d7c-6b5a49382716";

fn unified(file: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut raw = fixture(file);
    edit(&mut raw);
    raw
}

fn shown(raw: Value) -> String {
    normalize_with(RecordKind::Unified, raw, &resolver()).actor_display
}

#[test]
fn system_accounts_get_labels() {
    let cases = [
        (
            "unified/exchange_set_mailbox.json",
            "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
            "Exchange Online (system)",
        ),
        (
            "unified/sharepoint_file_deleted.json",
            "SHAREPOINT\\system",
            "SharePoint (system)",
        ),
        (
            "unified/sharepoint_file_deleted.json",
            "app@sharepoint",
            "SharePoint app",
        ),
    ];
    for (file, user_id, label) in cases {
        let raw = unified(file, |r| r["UserId"] = json!(user_id));
        assert!(Normalizer::ids_to_resolve(RecordKind::Unified, &raw).is_empty());
        let event = normalize_with(RecordKind::Unified, raw, &NoResolver);
        assert_eq!(event.actor_display, label, "{user_id}");
        assert!(
            event.display_summary.starts_with(label),
            "{}",
            event.display_summary
        );
        assert_eq!(
            event.actor["UserId"], user_id,
            "the actor object keeps the source's id"
        );
    }
    // app@sharepoint acting for a named app: the app's name.
    let raw = unified("unified/sharepoint_file_deleted.json", |r| {
        r["UserId"] = json!("app@sharepoint");
        r["AppAccessContext"] = json!({"ClientAppId": LEE_ID, "ClientAppName": "Contoso Backup"});
    });
    assert_eq!(shown(raw), "Contoso Backup");
}

#[test]
fn people_stay_as_the_source_names_them_in_every_workload() {
    for (file, want) in [
        (
            "unified/exchange_set_mailbox.json",
            "meganb@contoso.onmicrosoft.com",
        ),
        (
            "unified/sharepoint_file_deleted.json",
            "bob.kelly@contoso.com",
        ),
        (
            "unified/aad_update_user.json",
            "meganb@contoso.onmicrosoft.com",
        ),
    ] {
        let raw = fixture(file);
        assert!(
            Normalizer::ids_to_resolve(RecordKind::Unified, &raw).is_empty(),
            "{file}"
        );
        assert_eq!(shown(raw), want, "{file}");
    }
    let teams = unified("unified/aad_update_user.json", |r| {
        r["Workload"] = json!("MicrosoftTeams");
        r["RecordType"] = json!(25);
        r["UserId"] = json!("zoë@contoso.com");
        r.as_object_mut().unwrap().remove("Actor");
    });
    assert_eq!(shown(teams), "zoë@contoso.com");
}

/// An Entra record by an app, as the Management Activity API writes it.
fn by_service_principal(sp: &str, name: Option<&str>) -> Value {
    unified("unified/aad_update_user.json", |r| {
        let principal = format!("ServicePrincipal_{sp}");
        r["UserId"] = json!(principal);
        r["UserKey"] = json!(principal);
        r["UserType"] = json!(4);
        let mut actor = vec![
            json!({"ID": sp, "Type": 2}),
            json!({"ID": principal, "Type": 2}),
        ];
        if let Some(name) = name {
            actor.insert(0, json!({"ID": name, "Type": 1}));
        }
        r["Actor"] = Value::Array(actor);
    })
}

#[test]
fn service_principals_read_as_names() {
    // The record names the app itself.
    let raw = by_service_principal(LEE_ID, Some("Contoso HR Sync"));
    assert!(Normalizer::ids_to_resolve(RecordKind::Unified, &raw).is_empty());
    assert_eq!(shown(raw), "Contoso HR Sync");

    // Only ids: looked up.
    let raw = by_service_principal(LEE_ID, None);
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Unified, &raw),
        [LEE_ID]
    );
    assert_eq!(shown(raw.clone()), "Lee Gu");
    // Nobody knows it (deleted): the source's own id stays, never an empty actor.
    assert_eq!(
        normalize_with(RecordKind::Unified, raw, &NoResolver).actor_display,
        format!("ServicePrincipal_{LEE_ID}")
    );
    assert_eq!(
        shown(by_service_principal(GONE, None)),
        format!("ServicePrincipal_{GONE}")
    );

    // A bare object id in UserId.
    let raw = unified("unified/exchange_set_mailbox.json", |r| {
        r["UserId"] = json!(ADELE_ID)
    });
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Unified, &raw),
        [ADELE_ID]
    );
    assert_eq!(shown(raw), "Adele Vance");
}

#[test]
fn entra_records_without_user_id_read_the_actor_array() {
    let without_user_id = |actor: Value| {
        unified("unified/aad_update_user.json", |r| {
            r.as_object_mut().unwrap().remove("UserId");
            r["Actor"] = actor;
        })
    };
    let upn = without_user_id(json!([{"ID": "meganb@contoso.onmicrosoft.com", "Type": 5},
                                     {"ID": format!("User_{ADELE_ID}"), "Type": 2}]));
    assert!(Normalizer::ids_to_resolve(RecordKind::Unified, &upn).is_empty());
    assert_eq!(shown(upn), "meganb@contoso.onmicrosoft.com");

    let name = without_user_id(json!([{"ID": "Azure AD Cloud Sync", "Type": "1"}]));
    assert_eq!(shown(name), "Azure AD Cloud Sync");

    let ids = without_user_id(json!([{"ID": format!("ServicePrincipal_{LEE_ID}"), "Type": 2}]));
    assert_eq!(
        Normalizer::ids_to_resolve(RecordKind::Unified, &ids),
        [LEE_ID]
    );
    assert_eq!(shown(ids.clone()), "Lee Gu");
    assert_eq!(
        normalize_with(RecordKind::Unified, ids, &NoResolver).actor_display,
        format!("ServicePrincipal_{LEE_ID}")
    );

    for nobody in [json!([]), Value::Null, json!([{"ID": "", "Type": 2}])] {
        let event = normalize_with(
            RecordKind::Unified,
            without_user_id(nobody.clone()),
            &NoResolver,
        );
        assert_eq!(event.actor_display, UNKNOWN_ACTOR, "{nobody}");
        assert!(
            event.display_summary.starts_with("Someone "),
            "{}",
            event.display_summary
        );
    }
}

#[test]
fn no_event_has_an_empty_actor() {
    for (file, kind) in crate::support::all_fixtures() {
        let mut raw = fixture(&file);
        for key in ["initiatedBy", "actor", "UserId", "Actor"] {
            if let Some(obj) = raw.as_object_mut() {
                obj.remove(key);
            }
        }
        let event = normalize_with(kind, raw, &NoResolver);
        assert_eq!(event.actor_display, UNKNOWN_ACTOR, "{file}");
    }
}

#[test]
fn names_on_a_stored_event_are_recovered_for_its_ids() {
    // Directory: an actor and a target known only by id, resolved when first stored.
    let raw = fixture("directory/resolver_ids_only.json");
    let stored = normalize_with(RecordKind::Directory, raw.clone(), &resolver());
    assert_eq!(stored.actor_display, "Adele Vance");
    let mut names = Normalizer::names_on(RecordKind::Directory, &stored);
    names.sort();
    assert_eq!(
        names,
        [
            (ADELE_ID.to_owned(), "Adele Vance".to_owned()),
            (LEE_ID.to_owned(), "Lee Gu".to_owned())
        ]
    );
    // Stored without names: nothing to recover.
    let bare = normalize_with(RecordKind::Directory, raw, &NoResolver);
    assert!(Normalizer::names_on(RecordKind::Directory, &bare).is_empty());

    // Management API service principal.
    let stored = normalize_with(
        RecordKind::Unified,
        by_service_principal(LEE_ID, None),
        &resolver(),
    );
    assert_eq!(
        Normalizer::names_on(RecordKind::Unified, &stored),
        [(LEE_ID.to_owned(), "Lee Gu".to_owned())]
    );

    // Intune: an older normalizer showed the portal's name for an IT pro without a UPN; that
    // is the record's own text, not the person's name.
    let mut raw = fixture("intune/wipe_device.json");
    raw["actor"]["userPrincipalName"] = Value::Null;
    raw["actor"]["userId"] = json!(ADELE_ID);
    let mut stored = normalize_with(RecordKind::Intune, raw, &NoResolver);
    stored.actor_display = "Microsoft Intune portal extension".into();
    assert!(Normalizer::names_on(RecordKind::Intune, &stored).is_empty());
    stored.actor_display = "Adele Vance".into();
    assert_eq!(
        Normalizer::names_on(RecordKind::Intune, &stored),
        [(ADELE_ID.to_owned(), "Adele Vance".to_owned())]
    );
}

//! Office 365 Management Activity API records (the unified audit log).
//!
//! Every record has the common schema (`CreationTime`, `Id`, `Operation`, `OrganizationId`,
//! `RecordType`, `UserKey`, `UserType`, `Version`, `Workload`, `UserId`, ...) plus the fields of its
//! service-specific schema: Exchange admin (RecordType 1, `Parameters` as `[{Name, Value}]`),
//! SharePoint file operations (6), SharePoint sharing (14), Microsoft Teams (25) and Azure Active
//! Directory (8). `CreationTime` is UTC without zone designator or fraction.

use serde_json::{Value, json};

use super::common::{USER_AGENTS, client_ip, crlf_array, obj};
use super::plant::{Entry, Plant};
use crate::burst::{Burst, BurstMember};
use crate::rng::Rng;
use crate::tenant::{INITIAL_DOMAIN, Tenant, User, pick_role, planted_actor};
use crate::time::creation_time;
use crate::timeline::Slot;

/// The content types the simulator publishes (Management Activity API `contentType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentType {
    /// `Audit.AzureActiveDirectory`
    AzureActiveDirectory,
    /// `Audit.Exchange`
    Exchange,
    /// `Audit.SharePoint`
    SharePoint,
    /// `Audit.General` (Teams lands here)
    General,
}

impl ContentType {
    pub const ALL: [ContentType; 4] = [
        ContentType::AzureActiveDirectory,
        ContentType::Exchange,
        ContentType::SharePoint,
        ContentType::General,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::AzureActiveDirectory => "Audit.AzureActiveDirectory",
            ContentType::Exchange => "Audit.Exchange",
            ContentType::SharePoint => "Audit.SharePoint",
            ContentType::General => "Audit.General",
        }
    }

    /// Content types are matched case-insensitively, as the service does.
    pub fn parse(s: &str) -> Option<ContentType> {
        ContentType::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            ContentType::AzureActiveDirectory => 0,
            ContentType::Exchange => 1,
            ContentType::SharePoint => 2,
            ContentType::General => 3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ExchangeAdmin,
    SharePointFile,
    SharePointSharing,
    Teams,
    AzureAd,
}

/// How the record reaches clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// In its own time bucket's blob.
    Normal,
    /// In its bucket's blob and again in the next bucket's blob.
    Duplicate,
    /// Only in a blob published days after the record happened.
    Late,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub kind: Kind,
    pub content_type: ContentType,
    pub delivery: Delivery,
}

/// The cheap part of a record: enough to place it in blobs without building its JSON.
pub(crate) fn meta(slot: &Slot) -> Meta {
    if slot.burst.is_some() {
        return Meta {
            kind: Kind::SharePointFile,
            content_type: ContentType::SharePoint,
            delivery: Delivery::Normal,
        };
    }
    let mut r = Rng::new(slot.hash);
    meta_from(&mut r)
}

/// The kind of record a planted entry needs: planting picks a slot of that kind, so the
/// record's content type (and blob) is what the slot says anyway.
pub(crate) fn kind_for(entry: Entry) -> Kind {
    match entry {
        Entry::RoleUnified => Kind::AzureAd,
        Entry::AnonymousLink => Kind::SharePointSharing,
        _ => Kind::ExchangeAdmin,
    }
}

fn meta_from(r: &mut Rng) -> Meta {
    let kind = match r.below(100) {
        0..=29 => Kind::ExchangeAdmin,
        30..=57 => Kind::SharePointFile,
        58..=67 => Kind::SharePointSharing,
        68..=77 => Kind::Teams,
        _ => Kind::AzureAd,
    };
    let content_type = match kind {
        Kind::ExchangeAdmin => ContentType::Exchange,
        Kind::SharePointFile | Kind::SharePointSharing => ContentType::SharePoint,
        Kind::Teams => ContentType::General,
        Kind::AzureAd => ContentType::AzureActiveDirectory,
    };
    let delivery = match r.below(1000) {
        0..=14 => Delivery::Late,
        15..=44 => Delivery::Duplicate,
        _ => Delivery::Normal,
    };
    Meta {
        kind,
        content_type,
        delivery,
    }
}

/// Builds the record for one slot; `plant` makes it a detection positive or near miss.
pub(crate) fn record(
    tenant: &Tenant,
    tenant_id: &str,
    slot: &Slot,
    plant: Option<&Plant>,
) -> Value {
    let mut r = Rng::new(slot.hash);
    if let Some(member) = slot.burst {
        let base = Base {
            time: creation_time(slot.time),
            id: r.uuid(),
            org: tenant_id,
        };
        return burst_file(tenant, &mut r, base, &member);
    }
    let meta = meta_from(&mut r);
    let id = r.uuid();
    let base = Base {
        time: creation_time(slot.time),
        id,
        org: tenant_id,
    };
    match meta.kind {
        Kind::ExchangeAdmin => exchange_admin(tenant, &mut r, base, plant),
        Kind::SharePointFile => sharepoint_file(tenant, &mut r, base),
        Kind::SharePointSharing => sharepoint_sharing(tenant, &mut r, base, plant),
        Kind::Teams => teams(tenant, &mut r, base),
        Kind::AzureAd => azure_ad(tenant, &mut r, base, tenant_id, plant),
    }
}

/// The person behind a burst. Every burst of a day has its own, so two bursts never add up.
pub(crate) fn burst_actor<'t>(tenant: &'t Tenant, burst: &Burst) -> Option<&'t User> {
    let people: Vec<&User> = tenant.users.iter().filter(|u| !u.guest).collect();
    if people.is_empty() {
        return None;
    }
    let i = burst.actor_turn % people.len() as u64;
    people.get(i as usize).copied()
}

fn burst_file(tenant: &Tenant, r: &mut Rng, b: Base, member: &BurstMember) -> Value {
    let Some(f) = file_ref(tenant, r) else {
        return Value::Null;
    };
    let operation = match (member.burst.kind.deletes(), r.below(100)) {
        (true, 0..=69) => "FileDeleted",
        (true, _) => "FileRecycled",
        (false, 0..=84) => "FileDownloaded",
        (false, _) => "FileSyncDownloadedFull",
    };
    let user = burst_actor(tenant, &member.burst);
    Value::Object(sharepoint_common(r, &b, operation, 6, &f, user))
}

struct Base<'a> {
    time: String,
    id: String,
    org: &'a str,
}

fn admin<'t>(tenant: &'t Tenant, r: &mut Rng) -> Option<&'t User> {
    r.pick(&tenant.users[..(tenant.users.len() / 3).max(1)])
}

fn exchange_admin(tenant: &Tenant, r: &mut Rng, b: Base, plant: Option<&Plant>) -> Value {
    let target = r.pick(&tenant.users);
    let other = r.pick(&tenant.users);
    let name = target.map(|u| u.display_name.clone()).unwrap_or_default();
    let other_upn = other.map(|u| u.upn.clone()).unwrap_or_default();
    let p = |n: &str, v: &str| obj! { "Name" => n, "Value" => v };
    let rule_name = *r
        .pick(&[
            "Externe Weiterleitung blockieren",
            "BCC legal on outbound",
            "Disclaimer – Société",
            "Block .iso attachments",
        ])
        .unwrap_or(&"Rule");
    // Ordinary records never fire a built-in detection; those are planted (see `planted_exchange`).
    let choice = r.below(11);
    // A colleague with a tenant UPN: a guest's `#EXT#@contoso.onmicrosoft.com` address is not
    // in the acting admin's domain, so forwarding there would not be a near miss.
    let colleague = other
        .filter(|u| !u.guest)
        .or_else(|| tenant.users.iter().find(|u| !u.guest))
        .map(|u| u.upn.clone())
        .unwrap_or_default();
    let planted = plant.map(|pl| planted_exchange(pl, &name, &colleague, rule_name));
    let (operation, object, params): (&str, String, Vec<Value>) = match (planted, choice) {
        (Some(x), _) => x,
        (None, 0 | 1) => {
            let extra = match r.below(4) {
                0 => p("RetainDeletedItemsFor", "30.00:00:00"),
                1 => p("LitigationHoldEnabled", "True"),
                2 => p("AuditEnabled", "True"),
                _ => p("GrantSendOnBehalfTo", &other_upn),
            };
            (
                "Set-Mailbox",
                name.clone(),
                vec![p("Identity", &name), extra],
            )
        }
        (None, 2 | 3) => (
            "Add-MailboxPermission",
            name.clone(),
            vec![
                p("Identity", &name),
                p("User", &other_upn),
                p("AccessRights", "ReadPermission"),
                p("InheritanceType", "All"),
            ],
        ),
        (None, 4) => (
            "Remove-MailboxPermission",
            name.clone(),
            vec![
                p("Identity", &name),
                p("User", &other_upn),
                p("AccessRights", "FullAccess"),
                p("Confirm", "False"),
            ],
        ),
        (None, 5) => (
            "Remove-RecipientPermission",
            name.clone(),
            vec![
                p("Identity", &name),
                p("Trustee", &other_upn),
                p("AccessRights", "SendAs"),
            ],
        ),
        (None, 6) => (
            "Disable-TransportRule",
            rule_name.to_string(),
            vec![p("Identity", rule_name), p("Confirm", "False")],
        ),
        (None, 7) => (
            "Set-TransportRule",
            rule_name.to_string(),
            vec![
                p("Identity", rule_name),
                p("Enabled", "True"),
                p("Priority", "0"),
            ],
        ),
        (None, 8) => (
            "New-InboxRule",
            format!("{name}\\Move to RSS"),
            vec![
                p("Mailbox", &name),
                p("Name", "Move to RSS"),
                p("MoveToFolder", &format!("{name}:\\RSS Feeds")),
                p("StopProcessingRules", "True"),
            ],
        ),
        (None, 9) => (
            "Set-CASMailbox",
            name.clone(),
            vec![
                p("Identity", &name),
                p(
                    if r.chance(50) {
                        "PopEnabled"
                    } else {
                        "ImapEnabled"
                    },
                    "False",
                ),
            ],
        ),
        _ => (
            "Set-AdminAuditLogConfig",
            "Admin Audit Log Settings".to_string(),
            vec![p("UnifiedAuditLogIngestionEnabled", "True")],
        ),
    };
    let system = plant.is_none() && r.chance(15);
    let actor = match plant {
        Some(_) => planted_actor(tenant, r),
        None => admin(tenant, r),
    };
    let (user_id, user_key, user_type) = if system {
        (
            "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)".to_string(),
            "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)".to_string(),
            4,
        )
    } else {
        (
            actor.map(|u| u.upn.clone()).unwrap_or_default(),
            actor.map(|u| u.puid.clone()).unwrap_or_default(),
            2,
        )
    };
    let result = if r.chance(3) { "False" } else { "True" };
    obj! { "CreationTime" => &b.time, "Id" => &b.id, "Operation" => operation, "OrganizationId" => &b.org, "RecordType" => 1, "ResultStatus" => result, "UserKey" => user_key, "UserType" => user_type, "Version" => 1, "Workload" => "Exchange", "ClientIP" => if system { String::new() } else { format!("{}:{}", client_ip(r), 1024 + r.below(60000)) }, "ObjectId" => object, "UserId" => user_id, "AppId" => "", "ClientAppId" => "", "ExternalAccess" => system, "OrganizationName" => INITIAL_DOMAIN, "OriginatingServer" => format!("AM{}PR0{}MB{} (15.20.{}.{:03})", 1 + r.below(9), 1 + r.below(8), 1000 + r.below(9000), 7000 + r.below(900), r.below(40)), "Parameters" => params, "SessionId" => r.uuid() }
}

const FILES: &[(&str, &str)] = &[
    ("Budget 2025.xlsx", "xlsx"),
    ("Übersicht Q3.xlsx", "xlsx"),
    ("Contrat – Société Générale.docx", "docx"),
    ("Roadmap.pptx", "pptx"),
    ("Zoë – Notizen.docx", "docx"),
    ("Gehaltsliste 2025.xlsx", "xlsx"),
    ("Onboarding checklist.pdf", "pdf"),
    ("Architecture diagram.vsdx", "vsdx"),
    ("Kundenliste_Zürich.csv", "csv"),
    ("Meeting notes 2025-03-14.docx", "docx"),
];

const FOLDERS: &[&str] = &["", "/Reports", "/2025/Q3", "/Verträge", "/Archive/Old"];

struct FileRef {
    site_id: String,
    web_id: String,
    site_url: String,
    relative: String,
    name: &'static str,
    ext: &'static str,
    workload: &'static str,
}

fn file_ref(tenant: &Tenant, r: &mut Rng) -> Option<FileRef> {
    let site = r.pick(&tenant.sites)?;
    let (name, ext) = *r.pick(FILES)?;
    let folder = r.pick(FOLDERS).copied().unwrap_or("");
    Some(FileRef {
        site_id: site.id.clone(),
        web_id: site.web_id.clone(),
        site_url: format!("{}/", site.url),
        relative: format!("{}{folder}", site.library),
        name,
        ext,
        workload: if site.url.contains("-my.sharepoint.com") {
            "OneDrive"
        } else {
            "SharePoint"
        },
    })
}

fn sharepoint_common(
    r: &mut Rng,
    b: &Base,
    operation: &str,
    record_type: u8,
    f: &FileRef,
    user: Option<&User>,
) -> serde_json::Map<String, Value> {
    let object = format!("{}{}/{}", f.site_url, f.relative, f.name);
    let mut m = serde_json::Map::new();
    m.insert("CreationTime".into(), json!(b.time));
    m.insert("Id".into(), json!(b.id));
    m.insert("Operation".into(), json!(operation));
    m.insert("OrganizationId".into(), json!(b.org));
    m.insert("RecordType".into(), json!(record_type));
    m.insert(
        "UserKey".into(),
        json!(format!(
            "i:0h.f|membership|{}@live.com",
            user.map(|u| u.puid.to_ascii_lowercase())
                .unwrap_or_default()
        )),
    );
    m.insert("UserType".into(), json!(0));
    m.insert("Version".into(), json!(1));
    m.insert("Workload".into(), json!(f.workload));
    m.insert("ClientIP".into(), json!(client_ip(r)));
    m.insert("ObjectId".into(), json!(object));
    m.insert(
        "UserId".into(),
        json!(user.map(|u| u.upn.clone()).unwrap_or_default()),
    );
    m.insert("CorrelationId".into(), json!(r.uuid()));
    m.insert("EventSource".into(), json!("SharePoint"));
    m.insert("ItemType".into(), json!("File"));
    m.insert("ListId".into(), json!(r.uuid()));
    m.insert("ListItemUniqueId".into(), json!(r.uuid()));
    m.insert("Site".into(), json!(f.site_id));
    m.insert(
        "UserAgent".into(),
        json!(r.pick(USER_AGENTS).copied().unwrap_or("")),
    );
    m.insert("WebId".into(), json!(f.web_id));
    m.insert("SourceFileExtension".into(), json!(f.ext));
    m.insert("SiteUrl".into(), json!(f.site_url));
    m.insert("SourceFileName".into(), json!(f.name));
    m.insert("SourceRelativeUrl".into(), json!(f.relative));
    m
}

fn sharepoint_file(tenant: &Tenant, r: &mut Rng, b: Base) -> Value {
    let Some(f) = file_ref(tenant, r) else {
        return Value::Null;
    };
    let operation = match r.below(100) {
        0..=34 => "FileAccessed",
        35..=54 => "FileModified",
        55..=69 => "FileDownloaded",
        70..=81 => "FileUploaded",
        82..=89 => "FileDeleted",
        90..=94 => "FileMoved",
        _ => "FileCopied",
    };
    let user = r.pick(&tenant.users);
    let mut m = sharepoint_common(r, &b, operation, 6, &f, user);
    if matches!(operation, "FileMoved" | "FileCopied") {
        m.insert(
            "DestinationRelativeUrl".into(),
            json!(format!("{}/Archive", f.relative)),
        );
        m.insert("DestinationFileName".into(), json!(f.name));
        m.insert("DestinationFileExtension".into(), json!(f.ext));
    }
    Value::Object(m)
}

fn sharepoint_sharing(tenant: &Tenant, r: &mut Rng, b: Base, plant: Option<&Plant>) -> Value {
    let Some(f) = file_ref(tenant, r) else {
        return Value::Null;
    };
    let user = match plant {
        Some(_) => planted_actor(tenant, r),
        None => r.pick(&tenant.users),
    };
    let target = r.pick(&tenant.users);
    let choice = r.below(6);
    // Anonymous links are planted only; an ordinary record shares with named people instead.
    let choice = match plant {
        Some(p) if p.positive => 2,
        Some(p) if p.variant.is_multiple_of(2) => 3,
        Some(_) => 6,
        None if choice == 2 => 6,
        None => choice,
    };
    let (operation, target_name, target_type, event_data) = match choice {
        0 => (
            "SharingSet",
            target.map(|u| u.upn.clone()).unwrap_or_default(),
            "Member",
            "<PermissionsGranted>Contribute</PermissionsGranted>",
        ),
        1 => (
            "SharingInvitationCreated",
            "partner.contact@fabrikam.com".to_string(),
            "Guest",
            "<Type>Edit</Type><MembershipType>3</MembershipType>",
        ),
        2 => (
            "AnonymousLinkCreated",
            "Anonymous".to_string(),
            "Guest",
            "<Type>View</Type>",
        ),
        3 => (
            "CompanyLinkCreated",
            "SharingLinks.Company".to_string(),
            "SharePointGroup",
            "<Type>View</Type>",
        ),
        6 => (
            "SecureLinkCreated",
            "SharingLinks.Specific".to_string(),
            "SharePointGroup",
            "<Type>Edit</Type>",
        ),
        4 => (
            "AddedToSecureLink",
            target.map(|u| u.upn.clone()).unwrap_or_default(),
            "Member",
            "<Type>Edit</Type>",
        ),
        _ => (
            "SharingRevoked",
            target.map(|u| u.upn.clone()).unwrap_or_default(),
            "Member",
            "<PermissionsRevoked>Contribute</PermissionsRevoked>",
        ),
    };
    let mut m = sharepoint_common(r, &b, operation, 14, &f, user);
    m.insert("TargetUserOrGroupName".into(), json!(target_name));
    m.insert("TargetUserOrGroupType".into(), json!(target_type));
    m.insert("EventData".into(), json!(event_data));
    Value::Object(m)
}

fn teams(tenant: &Tenant, r: &mut Rng, b: Base) -> Value {
    let (Some(team), Some(actor), Some(member)) = (
        r.pick(&tenant.teams),
        r.pick(&tenant.users),
        r.pick(&tenant.users),
    ) else {
        return Value::Null;
    };
    let group_id = tenant
        .groups
        .get(team.group)
        .map(|g| g.id.clone())
        .unwrap_or_default();
    let operation = match r.below(10) {
        0..=3 => "MemberAdded",
        4..=5 => "MemberRemoved",
        6..=7 => "MemberRoleChanged",
        8 => "ChannelAdded",
        _ => "TeamCreated",
    };
    // Role: 1 = owner, 2 = member, 3 = guest (Teams schema).
    let role = if member.guest {
        3
    } else if operation == "MemberRoleChanged" || r.chance(15) {
        1
    } else {
        2
    };
    let mut v = obj! { "CreationTime" => &b.time, "Id" => &b.id, "Operation" => operation, "OrganizationId" => &b.org, "RecordType" => 25, "UserKey" => &actor.id, "UserType" => 0, "Version" => 1, "Workload" => "MicrosoftTeams", "ClientIP" => client_ip(r), "UserId" => &actor.upn, "CommunicationType" => "Team", "AADGroupId" => group_id, "ItemName" => &team.name, "TeamGuid" => &team.thread, "TeamName" => &team.name };
    if let Some(obj) = v.as_object_mut() {
        if matches!(
            operation,
            "MemberAdded" | "MemberRemoved" | "MemberRoleChanged"
        ) {
            obj.insert(
                "Members".into(),
                json!([{ "DisplayName": member.display_name, "Role": role, "UPN": member.upn }]),
            );
        }
        if operation == "ChannelAdded" {
            obj.insert("ChannelName".into(), json!("Projekt – Übergabe"));
            obj.insert("ChannelType".into(), json!("Standard"));
        }
    }
    v
}

fn azure_ad(
    tenant: &Tenant,
    r: &mut Rng,
    b: Base,
    tenant_id: &str,
    plant: Option<&Plant>,
) -> Value {
    let (Some(target), Some(group), Some(role)) = (
        r.pick(&tenant.users),
        r.pick(&tenant.groups),
        r.pick(&tenant.roles),
    ) else {
        return Value::Null;
    };
    let mp = |name: &str, old: Value, new: Value| obj! { "Name" => name, "NewValue" => crlf_array(&new), "OldValue" => crlf_array(&old) };
    let included = |names: &str| obj! { "Name" => "Included Updated Properties", "NewValue" => names, "OldValue" => "" };
    let choice = r.below(9);
    // Ordinary role assignments are to roles no detection cares about; privileged ones, and the
    // removal near miss, are planted.
    let (choice, role) = match plant {
        Some(p) if p.positive => (6, pick_role(tenant, r, true).unwrap_or(role)),
        Some(p) if p.variant.is_multiple_of(2) => (6, pick_role(tenant, r, false).unwrap_or(role)),
        Some(_) => (
            9,
            tenant
                .roles
                .iter()
                .find(|x| x.display_name == "Global Administrator")
                .unwrap_or(role),
        ),
        None if choice == 6 => (6, pick_role(tenant, r, false).unwrap_or(role)),
        None => (choice, role),
    };
    let (operation, category, props): (&str, &str, Vec<Value>) = match choice {
        0 => (
            "Add user.",
            "User",
            vec![
                mp("AccountEnabled", Value::Null, json!(true)),
                mp("DisplayName", Value::Null, json!(target.display_name)),
                mp("UserPrincipalName", Value::Null, json!(target.upn)),
                included("AccountEnabled, DisplayName, UserPrincipalName"),
            ],
        ),
        1 | 2 => (
            "Update user.",
            "User",
            vec![
                mp("JobTitle", json!(target.job_title), json!("Team Lead")),
                included("JobTitle"),
            ],
        ),
        3 => ("Delete user.", "User", vec![]),
        4 => (
            "Add member to group.",
            "Group",
            vec![
                obj! { "Name" => "Group.ObjectID", "NewValue" => &group.id, "OldValue" => "" },
                obj! { "Name" => "Group.DisplayName", "NewValue" => &group.display_name, "OldValue" => "" },
            ],
        ),
        5 => (
            "Remove member from group.",
            "Group",
            vec![
                obj! { "Name" => "Group.ObjectID", "NewValue" => "", "OldValue" => &group.id },
                obj! { "Name" => "Group.DisplayName", "NewValue" => "", "OldValue" => &group.display_name },
            ],
        ),
        6 => (
            "Add member to role.",
            "Role",
            vec![
                obj! { "Name" => "Role.ObjectID", "NewValue" => &role.object_id, "OldValue" => "" },
                obj! { "Name" => "Role.DisplayName", "NewValue" => &role.display_name, "OldValue" => "" },
                obj! { "Name" => "Role.TemplateId", "NewValue" => &role.template_id, "OldValue" => "" },
            ],
        ),
        7 => ("Reset user password.", "User", vec![]),
        9 => (
            "Remove member from role.",
            "Role",
            vec![
                obj! { "Name" => "Role.ObjectID", "NewValue" => "", "OldValue" => &role.object_id },
                obj! { "Name" => "Role.DisplayName", "NewValue" => "", "OldValue" => &role.display_name },
                obj! { "Name" => "Role.TemplateId", "NewValue" => "", "OldValue" => &role.template_id },
            ],
        ),
        _ => (
            "Change user license.",
            "User",
            vec![included("AssignedLicense, AssignedPlan")],
        ),
    };
    let by_app = plant.is_none() && r.chance(15);
    let (user_id, user_key, user_type, actor) = if by_app {
        let app = r.pick(&tenant.apps);
        // The Actor array names the app (IdentityType Name) in most records; some carry only
        // the service principal's ids, so a name needs getByIds; a few come from a service
        // principal deleted since, which nothing can name.
        let (sp, name) = match r.below(10) {
            0..=6 => (
                app.map(|a| a.service_principal_id.clone())
                    .unwrap_or_default(),
                app.map(|a| a.display_name),
            ),
            7..=8 => (
                app.map(|a| a.service_principal_id.clone())
                    .unwrap_or_default(),
                None,
            ),
            _ => (
                r.pick(&tenant.deleted_ids).cloned().unwrap_or_default(),
                None,
            ),
        };
        let mut ids = Vec::with_capacity(3);
        if let Some(name) = name {
            ids.push(json!({ "ID": name, "Type": 1 }));
        }
        ids.push(json!({ "ID": sp, "Type": 2 }));
        ids.push(json!({ "ID": format!("ServicePrincipal_{sp}"), "Type": 2 }));
        (
            format!("ServicePrincipal_{sp}"),
            format!("ServicePrincipal_{sp}"),
            4,
            Value::Array(ids),
        )
    } else {
        let who = match plant {
            Some(_) => planted_actor(tenant, r),
            None => admin(tenant, r),
        };
        let upn = who.map(|u| u.upn.clone()).unwrap_or_default();
        let puid = who.map(|u| u.puid.clone()).unwrap_or_default();
        (
            upn.clone(),
            format!("{puid}@{INITIAL_DOMAIN}"),
            0,
            json!([
                { "ID": upn, "Type": 5 },
                { "ID": puid, "Type": 3 },
                { "ID": format!("User_{}", who.map(|u| u.id.clone()).unwrap_or_default()), "Type": 2 },
            ]),
        )
    };
    let mut target_ids = vec![
        obj! { "ID" => format!("User_{}", target.id), "Type" => 2 },
        obj! { "ID" => &target.id, "Type" => 2 },
        obj! { "ID" => "User", "Type" => 2 },
        obj! { "ID" => &target.upn, "Type" => 5 },
        obj! { "ID" => &target.puid, "Type" => 3 },
    ];
    if category == "Group" {
        target_ids.push(obj! { "ID" => format!("Group_{}", group.id), "Type" => 2 });
    }
    obj! { "CreationTime" => &b.time, "Id" => &b.id, "Operation" => operation, "OrganizationId" => &b.org, "RecordType" => 8, "ResultStatus" => if r.chance(3) { "Failure" } else { "Success" }, "UserKey" => user_key, "UserType" => user_type, "Version" => 1, "Workload" => "AzureActiveDirectory", "ObjectId" => &target.upn, "UserId" => user_id, "AzureActiveDirectoryEventType" => 1, "ExtendedProperties" => vec![obj! { "Name" => "additionalDetails", "Value" => format!("{{\"UserType\":\"{}\"}}", if target.guest { "Guest" } else { "Member" }) }, obj! { "Name" => "extendedAuditEventCategory", "Value" => category }], "ModifiedProperties" => props, "Actor" => actor, "ActorContextId" => tenant_id, "ActorIpAddress" => if by_app { Value::Null } else { Value::String(client_ip(r)) }, "InterSystemsId" => r.uuid(), "IntraSystemId" => r.uuid(), "SupportTicketId" => "", "Target" => target_ids, "TargetContextId" => tenant_id }
}

pub(crate) fn record_id(v: &Value) -> Option<String> {
    v.get("Id").and_then(Value::as_str).map(str::to_string)
}

/// Operation, object and parameters of a planted Exchange admin record.
fn planted_exchange(
    plant: &Plant,
    name: &str,
    colleague: &str,
    rule_name: &str,
) -> (&'static str, String, Vec<Value>) {
    let p = |n: &str, v: &str| obj! { "Name" => n, "Value" => v };
    let v = plant.variant;
    // Obviously outside the organisation: free mail providers and a partner's domain.
    let outsider = [
        "j.doe.private@gmail.com",
        "backup-box@proton.me",
        "contact@fabrikam.com",
    ][(v / 8 % 3) as usize];
    match (plant.entry, plant.positive) {
        (Entry::MailForwarding, true) => match v % 5 {
            0 => (
                "Set-Mailbox",
                name.to_string(),
                vec![
                    p("Identity", name),
                    p("ForwardingSmtpAddress", &format!("smtp:{outsider}")),
                    p("DeliverToMailboxAndForward", "True"),
                ],
            ),
            1 => (
                "Set-Mailbox",
                name.to_string(),
                vec![p("Identity", name), p("ForwardingAddress", outsider)],
            ),
            2 => inbox_rule("New-InboxRule", name, "ForwardTo", outsider),
            3 => inbox_rule("Set-InboxRule", name, "RedirectTo", outsider),
            _ => inbox_rule("New-InboxRule", name, "ForwardAsAttachmentTo", outsider),
        },
        (Entry::MailForwarding, false) => match v % 3 {
            0 => (
                "Set-Mailbox",
                name.to_string(),
                vec![
                    p("Identity", name),
                    p("ForwardingSmtpAddress", &format!("smtp:{colleague}")),
                    p("DeliverToMailboxAndForward", "True"),
                ],
            ),
            1 => (
                "Set-Mailbox",
                name.to_string(),
                vec![p("Identity", name), p("ForwardingSmtpAddress", "")],
            ),
            _ => (
                "New-InboxRule",
                format!("{name}\\Newsletters"),
                vec![
                    p("Mailbox", name),
                    p("Name", "Newsletters"),
                    p("MoveToFolder", &format!("{name}:\\Newsletters")),
                ],
            ),
        },
        (Entry::MailboxPermission, true) if v.is_multiple_of(2) => (
            "Add-MailboxPermission",
            name.to_string(),
            vec![
                p("Identity", name),
                p("User", colleague),
                p("AccessRights", "FullAccess"),
                p("InheritanceType", "All"),
                p("AutoMapping", "True"),
            ],
        ),
        (Entry::MailboxPermission, true) => (
            "Add-RecipientPermission",
            name.to_string(),
            vec![
                p("Identity", name),
                p("Trustee", colleague),
                p("AccessRights", "SendAs"),
            ],
        ),
        (Entry::MailboxPermission, false) if v.is_multiple_of(2) => (
            "Add-MailboxPermission",
            name.to_string(),
            vec![
                p("Identity", name),
                p("User", colleague),
                p("AccessRights", "ReadPermission"),
                p("InheritanceType", "All"),
            ],
        ),
        (Entry::MailboxPermission, false) => (
            "Remove-MailboxPermission",
            name.to_string(),
            vec![
                p("Identity", name),
                p("User", colleague),
                p("AccessRights", "FullAccess"),
                p("Confirm", "False"),
            ],
        ),
        (Entry::AuditLogging, true) if v.is_multiple_of(2) => (
            "Set-AdminAuditLogConfig",
            "Admin Audit Log Settings".to_string(),
            vec![p("UnifiedAuditLogIngestionEnabled", "False")],
        ),
        (Entry::AuditLogging, true) => (
            "Set-Mailbox",
            name.to_string(),
            vec![p("Identity", name), p("AuditEnabled", "False")],
        ),
        (Entry::AuditLogging, false) => (
            "Set-AdminAuditLogConfig",
            "Admin Audit Log Settings".to_string(),
            vec![p("UnifiedAuditLogIngestionEnabled", "True")],
        ),
        (Entry::TransportRule, true) => (
            "New-TransportRule",
            rule_name.to_string(),
            vec![
                p("Name", rule_name),
                p("SentToScope", "NotInOrganization"),
                p("Mode", "Enforce"),
                p("StopRuleProcessing", "False"),
            ],
        ),
        (Entry::TransportRule, false) => (
            if v.is_multiple_of(2) {
                "Remove-TransportRule"
            } else {
                "Disable-TransportRule"
            },
            rule_name.to_string(),
            vec![p("Identity", rule_name), p("Confirm", "False")],
        ),
        // Entries of other kinds never reach this builder.
        _ => (
            "Set-CASMailbox",
            name.to_string(),
            vec![p("Identity", name), p("PopEnabled", "False")],
        ),
    }
}

fn inbox_rule(
    operation: &'static str,
    mailbox: &str,
    field: &str,
    to: &str,
) -> (&'static str, String, Vec<Value>) {
    let p = |n: &str, v: &str| obj! { "Name" => n, "Value" => v };
    let rule = "Weiterleitung";
    (
        operation,
        format!("{mailbox}\\{rule}"),
        vec![
            p("Mailbox", mailbox),
            p(
                if operation == "New-InboxRule" {
                    "Name"
                } else {
                    "Identity"
                },
                rule,
            ),
            p(field, to),
            p("StopProcessingRules", "False"),
        ],
    )
}

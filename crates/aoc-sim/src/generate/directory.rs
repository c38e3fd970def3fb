//! Entra ID `directoryAudit` records as `GET /v1.0/auditLogs/directoryAudits` returns them.
//!
//! Shapes follow the Graph v1.0 resource: `initiatedBy` holds either `user` (`userIdentity`) or
//! `app` (`appIdentity`) with the other `null`; `targetResources[].modifiedProperties` carry
//! `oldValue`/`newValue` as JSON *encoded strings* (`"[\"Sales\"]"`), not JSON values.

use serde_json::{Value, json};

use super::common::{USER_AGENTS, client_ip, json_array_string, json_string, modified, obj};
use super::plant::{Entry, Plant};
use crate::rng::Rng;
use crate::tenant::{App, Group, Role, Tenant, User, pick_role, planted_actor};
use crate::time::graph_time;
use crate::timeline::Slot;

#[derive(Clone, Copy)]
enum Activity {
    UpdateUser,
    AddUser,
    DeleteUser,
    ResetPassword,
    DisableAccount,
    ChangeLicense,
    AddMemberToGroup,
    RemoveMemberFromGroup,
    AddGroup,
    AddOwnerToGroup,
    AddMemberToRole,
    RemoveMemberFromRole,
    PimActivation,
    UpdateAppCredentials,
    AddServicePrincipal,
    Consent,
    AddAppRoleAssignment,
    AddCaPolicy,
    UpdateCaPolicy,
    DeleteCaPolicy,
    UpdateApplication,
    AddSpCredentials,
    RemoveSpCredentials,
    AdminDeletedSecurityInfo,
    UserRegisteredSecurityInfo,
}

/// How a planted record departs from an ordinary one of its activity.
#[derive(Clone, Copy)]
enum Twist {
    None,
    Role(RoleChoice),
    Consent { admin: bool, scopes: &'static str },
    CaState(&'static str),
    UserProp(usize),
}

#[derive(Clone, Copy)]
enum RoleChoice {
    Privileged,
    Reader,
    GlobalAdmin,
}

const WEIGHTED: &[(Activity, u64)] = &[
    (Activity::UpdateUser, 18),
    (Activity::AddUser, 5),
    (Activity::DeleteUser, 2),
    (Activity::ResetPassword, 6),
    (Activity::DisableAccount, 3),
    (Activity::ChangeLicense, 5),
    (Activity::AddMemberToGroup, 14),
    (Activity::RemoveMemberFromGroup, 6),
    (Activity::AddGroup, 2),
    (Activity::AddOwnerToGroup, 2),
    (Activity::AddMemberToRole, 4),
    (Activity::RemoveMemberFromRole, 2),
    (Activity::PimActivation, 3),
    (Activity::UpdateApplication, 4),
    (Activity::AddServicePrincipal, 2),
    (Activity::Consent, 3),
    (Activity::AddAppRoleAssignment, 3),
    (Activity::AddCaPolicy, 1),
    (Activity::UpdateCaPolicy, 3),
    (Activity::UserRegisteredSecurityInfo, 2),
];

fn pick_activity(r: &mut Rng) -> Activity {
    let total: u64 = WEIGHTED.iter().map(|(_, w)| w).sum();
    let mut x = r.below(total);
    for (a, w) in WEIGHTED {
        if x < *w {
            return *a;
        }
        x -= w;
    }
    Activity::UpdateUser
}

struct Meta {
    category: &'static str,
    name: &'static str,
    operation: &'static str,
    service: &'static str,
}

fn meta(a: Activity) -> Meta {
    let m = |category, name, operation, service| Meta {
        category,
        name,
        operation,
        service,
    };
    match a {
        Activity::UpdateUser => m("UserManagement", "Update user", "Update", "Core Directory"),
        Activity::AddUser => m("UserManagement", "Add user", "Add", "Core Directory"),
        Activity::DeleteUser => m("UserManagement", "Delete user", "Delete", "Core Directory"),
        Activity::ResetPassword => m(
            "UserManagement",
            "Reset user password",
            "Update",
            "Core Directory",
        ),
        Activity::DisableAccount => m(
            "UserManagement",
            "Disable account",
            "Update",
            "Core Directory",
        ),
        Activity::ChangeLicense => m(
            "UserManagement",
            "Change user license",
            "Update",
            "Core Directory",
        ),
        Activity::AddMemberToGroup => m(
            "GroupManagement",
            "Add member to group",
            "Assign",
            "Core Directory",
        ),
        Activity::RemoveMemberFromGroup => m(
            "GroupManagement",
            "Remove member from group",
            "Unassign",
            "Core Directory",
        ),
        Activity::AddGroup => m("GroupManagement", "Add group", "Add", "Core Directory"),
        Activity::AddOwnerToGroup => m(
            "GroupManagement",
            "Add owner to group",
            "Assign",
            "Core Directory",
        ),
        Activity::AddMemberToRole => m(
            "RoleManagement",
            "Add member to role",
            "Assign",
            "Core Directory",
        ),
        Activity::RemoveMemberFromRole => m(
            "RoleManagement",
            "Remove member from role",
            "Unassign",
            "Core Directory",
        ),
        Activity::PimActivation => m(
            "RoleManagement",
            "Add member to role completed (PIM activation)",
            "Assign",
            "PIM",
        ),
        // The trailing space is in the real activity name.
        Activity::UpdateAppCredentials => m(
            "ApplicationManagement",
            "Update application – Certificates and secrets management ",
            "Update",
            "Core Directory",
        ),
        Activity::AddServicePrincipal => m(
            "ApplicationManagement",
            "Add service principal",
            "Add",
            "Core Directory",
        ),
        Activity::Consent => m(
            "ApplicationManagement",
            "Consent to application",
            "Assign",
            "Core Directory",
        ),
        Activity::AddAppRoleAssignment => m(
            "ApplicationManagement",
            "Add app role assignment to service principal",
            "Assign",
            "Core Directory",
        ),
        Activity::AddCaPolicy => m(
            "Policy",
            "Add conditional access policy",
            "Add",
            "Conditional Access",
        ),
        Activity::UpdateCaPolicy => m(
            "Policy",
            "Update conditional access policy",
            "Update",
            "Conditional Access",
        ),
        Activity::DeleteCaPolicy => m(
            "Policy",
            "Delete conditional access policy",
            "Delete",
            "Conditional Access",
        ),
        Activity::UpdateApplication => m(
            "ApplicationManagement",
            "Update application",
            "Update",
            "Core Directory",
        ),
        Activity::AddSpCredentials => m(
            "ApplicationManagement",
            "Add service principal credentials",
            "Update",
            "Core Directory",
        ),
        Activity::RemoveSpCredentials => m(
            "ApplicationManagement",
            "Remove service principal credentials",
            "Update",
            "Core Directory",
        ),
        Activity::AdminDeletedSecurityInfo => m(
            "UserManagement",
            "Admin deleted security info",
            "Delete",
            "Authentication Methods",
        ),
        Activity::UserRegisteredSecurityInfo => m(
            "UserManagement",
            "User registered security info",
            "Add",
            "Authentication Methods",
        ),
    }
}

/// What a planted record does, and how it differs from the ordinary run of that activity.
fn planted(p: &Plant) -> (Activity, Twist) {
    let v = p.variant;
    match (p.entry, p.positive) {
        (Entry::RoleGraph, true) => (
            if v.is_multiple_of(2) {
                Activity::AddMemberToRole
            } else {
                Activity::PimActivation
            },
            Twist::Role(RoleChoice::Privileged),
        ),
        (Entry::RoleGraph, false) => match v % 3 {
            0 => (Activity::AddMemberToRole, Twist::Role(RoleChoice::Reader)),
            1 => (Activity::PimActivation, Twist::Role(RoleChoice::Reader)),
            _ => (
                Activity::RemoveMemberFromRole,
                Twist::Role(RoleChoice::GlobalAdmin),
            ),
        },
        (Entry::Consent, true) => match v % 3 {
            0 => (
                Activity::Consent,
                Twist::Consent {
                    admin: true,
                    scopes: "User.Read",
                },
            ),
            1 => (
                Activity::Consent,
                Twist::Consent {
                    admin: false,
                    scopes: "Mail.ReadWrite Mail.Send offline_access",
                },
            ),
            _ => (
                Activity::Consent,
                Twist::Consent {
                    admin: true,
                    scopes: "Files.ReadWrite.All Sites.FullControl.All",
                },
            ),
        },
        (Entry::Consent, false) => (
            Activity::Consent,
            Twist::Consent {
                admin: false,
                scopes: "User.Read openid profile",
            },
        ),
        (Entry::AppCredentials, true) => (
            if v.is_multiple_of(2) {
                Activity::AddSpCredentials
            } else {
                Activity::UpdateAppCredentials
            },
            Twist::None,
        ),
        (Entry::AppCredentials, false) => (
            if v.is_multiple_of(2) {
                Activity::UpdateApplication
            } else {
                Activity::RemoveSpCredentials
            },
            Twist::None,
        ),
        (Entry::ConditionalAccess, true) => {
            if v.is_multiple_of(2) {
                (Activity::DeleteCaPolicy, Twist::None)
            } else {
                (Activity::UpdateCaPolicy, Twist::CaState("disabled"))
            }
        }
        (Entry::ConditionalAccess, false) => {
            if v.is_multiple_of(2) {
                (Activity::UpdateCaPolicy, Twist::CaState("enabled"))
            } else {
                (Activity::AddCaPolicy, Twist::None)
            }
        }
        (Entry::AuthMethods, true) => {
            if v.is_multiple_of(2) {
                (Activity::AdminDeletedSecurityInfo, Twist::None)
            } else {
                (Activity::UpdateUser, Twist::UserProp(STRONG_AUTH_PROP))
            }
        }
        (Entry::AuthMethods, false) => {
            if v.is_multiple_of(2) {
                (Activity::UserRegisteredSecurityInfo, Twist::None)
            } else {
                (Activity::UpdateUser, Twist::UserProp(DISPLAY_NAME_PROP))
            }
        }
        // Entries of other sources never reach this builder; an ordinary record is the safe
        // answer if one did.
        _ => (Activity::UpdateUser, Twist::UserProp(DISPLAY_NAME_PROP)),
    }
}

/// Builds the record for one occupied slot; `plant` makes it a detection positive or near miss.
pub(crate) fn record(tenant: &Tenant, slot: &Slot, plant: Option<&Plant>) -> Value {
    let mut r = Rng::new(slot.hash);
    let picked = pick_activity(&mut r);
    let (activity, twist) = plant.map_or((picked, Twist::None), planted);
    let m = meta(activity);
    let correlation = r.uuid();
    let id = format!(
        "Directory_{}_{}_{}",
        correlation,
        r.hex_upper(5),
        100_000_000 + r.below(900_000_000)
    );
    let (initiated_by, by_user) = match plant {
        // A named person acts in planted records, so an alert has someone to point at.
        Some(_) => planted_initiator(tenant, &mut r),
        None => initiator(tenant, &mut r, activity),
    };
    let targets = targets(tenant, &mut r, activity, twist);
    let failed = plant.is_none() && r.chance(4);
    let (result, reason) = if failed {
        let reasons = [
            "Microsoft.Online.Workflows.ObjectAlreadyExistsException",
            "Insufficient privileges to complete the operation.",
            "The request was throttled by the directory service.",
        ];
        ("failure", *r.pick(&reasons).unwrap_or(&""))
    } else {
        ("success", "")
    };
    let mut details = Vec::new();
    if by_user && let Some(ua) = r.pick(USER_AGENTS) {
        details.push(obj! { "key" => "User-Agent", "value" => ua });
    }
    if m.category == "UserManagement" {
        details.push(
            obj! { "key" => "UserType", "value" => if r.chance(10) { "Guest" } else { "Member" } },
        );
    }
    obj! { "id" => id, "category" => &m.category, "correlationId" => correlation, "result" => result, "resultReason" => reason, "activityDisplayName" => &m.name, "activityDateTime" => graph_time(slot.time), "loggedByService" => &m.service, "operationType" => &m.operation, "initiatedBy" => initiated_by, "targetResources" => targets, "additionalDetails" => details }
}

fn user_initiator(id: &str, name: Value, upn: Value, ip: Value) -> Value {
    obj! { "app" => Value::Null, "user" => obj! { "id" => id, "displayName" => name, "userPrincipalName" => upn, "ipAddress" => ip } }
}

fn app_initiator(app: &App, full: bool) -> Value {
    if full {
        obj! { "app" => obj! { "appId" => &app.app_id, "displayName" => &app.display_name, "servicePrincipalId" => &app.service_principal_id, "servicePrincipalName" => &app.display_name }, "user" => Value::Null }
    } else {
        // Seen in practice: only the service principal id; a name needs getByIds.
        obj! { "app" => obj! { "appId" => Value::Null, "displayName" => Value::Null, "servicePrincipalId" => &app.service_principal_id, "servicePrincipalName" => Value::Null }, "user" => Value::Null }
    }
}

fn planted_initiator(tenant: &Tenant, r: &mut Rng) -> (Value, bool) {
    let Some(user) = planted_actor(tenant, r) else {
        return (Value::Null, true);
    };
    let ip = Value::String(client_ip(r));
    (
        user_initiator(
            &user.id,
            Value::String(user.display_name.clone()),
            Value::String(user.upn.clone()),
            ip,
        ),
        true,
    )
}

/// Returns `initiatedBy` and whether a person (rather than an app) acted.
fn initiator(tenant: &Tenant, r: &mut Rng, activity: Activity) -> (Value, bool) {
    // Admins do most of the work; pick from the first third of users (the "IT" people).
    let admins = &tenant.users[..(tenant.users.len() / 3).max(1)];
    let app_likely = matches!(
        activity,
        Activity::AddUser
            | Activity::UpdateUser
            | Activity::ChangeLicense
            | Activity::AddMemberToGroup
    );
    let roll = r.below(100);
    let app_share = if app_likely { 30 } else { 12 };
    if roll < app_share {
        let app = r.pick(&tenant.apps).or(tenant.apps.first());
        let v = match app {
            Some(app) => app_initiator(app, !r.chance(30)),
            None => Value::Null,
        };
        // An app since deleted, known by its service principal id alone: getByIds finds
        // nothing.
        if r.chance(5)
            && let Some(gone) = r.pick(&tenant.deleted_ids)
        {
            return (
                obj! { "app" => obj! { "appId" => Value::Null, "displayName" => Value::Null, "servicePrincipalId" => gone, "servicePrincipalName" => Value::Null }, "user" => Value::Null },
                false,
            );
        }
        return (v, false);
    }
    let Some(user) = r.pick(admins) else {
        return (Value::Null, true);
    };
    let ip = Value::String(client_ip(r));
    let style = r.below(100);
    let v = if style < 70 {
        user_initiator(
            &user.id,
            Value::String(user.display_name.clone()),
            Value::String(user.upn.clone()),
            ip,
        )
    } else if style < 88 {
        // Entra very often leaves displayName null and gives only the UPN.
        user_initiator(&user.id, Value::Null, Value::String(user.upn.clone()), ip)
    } else if style < 97 {
        // Only an object id: resolvable through directoryObjects/getByIds.
        user_initiator(&user.id, Value::Null, Value::Null, Value::Null)
    } else {
        // An actor since deleted: getByIds finds nothing.
        let gone = r
            .pick(&tenant.deleted_ids)
            .cloned()
            .unwrap_or_else(|| r.uuid());
        user_initiator(&gone, Value::Null, Value::Null, Value::Null)
    };
    (v, true)
}

fn user_target(u: &User, props: Vec<Value>) -> Value {
    obj! { "id" => &u.id, "displayName" => Value::Null, "type" => "User", "userPrincipalName" => &u.upn, "groupType" => Value::Null, "modifiedProperties" => props }
}

fn group_target(g: &Group, props: Vec<Value>) -> Value {
    obj! { "id" => &g.id, "displayName" => &g.display_name, "type" => "Group", "userPrincipalName" => Value::Null, "groupType" => if g.unified { "unifiedGroups" } else { "azureAD" }, "modifiedProperties" => props }
}

fn role_target(role: &Role) -> Value {
    obj! { "id" => &role.object_id, "displayName" => &role.display_name, "type" => "Role", "userPrincipalName" => Value::Null, "groupType" => Value::Null, "modifiedProperties" => Vec::<Value>::new() }
}

fn sp_target(app: &App, props: Vec<Value>) -> Value {
    obj! { "id" => &app.service_principal_id, "displayName" => &app.display_name, "type" => "ServicePrincipal", "userPrincipalName" => Value::Null, "groupType" => Value::Null, "modifiedProperties" => props }
}

fn included(names: &[&str]) -> Value {
    modified(
        "Included Updated Properties",
        Value::Null,
        json_string(Value::String(names.join(", "))),
    )
}

fn user_type(u: &User) -> Value {
    modified(
        "TargetId.UserType",
        Value::Null,
        json_string(Value::String(
            if u.guest { "Guest" } else { "Member" }.into(),
        )),
    )
}

/// `UpdateUser` property choices (index into its table).
const DISPLAY_NAME_PROP: usize = 2;
const STRONG_AUTH_PROP: usize = 6;

fn targets(tenant: &Tenant, r: &mut Rng, activity: Activity, twist: Twist) -> Vec<Value> {
    let (Some(user), Some(group), Some(role), Some(app), Some(policy)) = (
        r.pick(&tenant.users),
        r.pick(&tenant.groups),
        r.pick(&tenant.roles),
        r.pick(&tenant.apps),
        r.pick(&tenant.ca_policies),
    ) else {
        return Vec::new();
    };
    match activity {
        Activity::UpdateUser => {
            let choice = r.below(6) as usize;
            let choice = match twist {
                Twist::UserProp(p) => p,
                _ => choice,
            };
            let (prop, old, new) = match choice {
                0 => (
                    "JobTitle",
                    json!(user.job_title),
                    json!("Head of Operations"),
                ),
                1 => ("Department", json!(user.department), json!("Operations")),
                2 => (
                    "DisplayName",
                    json!(user.display_name),
                    json!(format!("{} (Contractor)", user.display_name)),
                ),
                3 => ("UsageLocation", json!("DE"), json!("CH")),
                4 => ("MobilePhone", Value::Null, json!("+41 79 555 01 23")),
                5 => ("City", json!("Berlin"), json!("Zürich")),
                _ => (
                    "StrongAuthenticationMethod",
                    json!([]),
                    json!([{ "MethodType": 6, "Default": true }, { "MethodType": 7, "Default": false }]),
                ),
            };
            let old = if old.is_null() {
                json!([])
            } else {
                json!([old])
            };
            vec![user_target(
                user,
                vec![
                    modified(prop, json_string(old), json_array_string(new)),
                    included(&[prop]),
                    user_type(user),
                ],
            )]
        }
        Activity::AddUser => vec![user_target(
            user,
            vec![
                modified(
                    "AccountEnabled",
                    json!("[]"),
                    json_array_string(json!(true)),
                ),
                modified(
                    "DisplayName",
                    json!("[]"),
                    json_array_string(json!(user.display_name)),
                ),
                modified(
                    "UserPrincipalName",
                    json!("[]"),
                    json_array_string(json!(user.upn)),
                ),
                modified(
                    "UserType",
                    json!("[]"),
                    json_array_string(json!(if user.guest { "Guest" } else { "Member" })),
                ),
                included(&[
                    "AccountEnabled",
                    "DisplayName",
                    "UserPrincipalName",
                    "UserType",
                ]),
            ],
        )],
        Activity::DeleteUser => vec![user_target(user, vec![user_type(user)])],
        Activity::ResetPassword => vec![user_target(user, vec![user_type(user)])],
        Activity::DisableAccount => vec![user_target(
            user,
            vec![
                modified(
                    "AccountEnabled",
                    json_array_string(json!(true)),
                    json_array_string(json!(false)),
                ),
                included(&["AccountEnabled"]),
                user_type(user),
            ],
        )],
        Activity::ChangeLicense => vec![user_target(
            user,
            vec![
                modified(
                    "AssignedLicense",
                    json_array_string(json!(
                        "[SkuName=ENTERPRISEPACK, AccountId=00000000, SkuId=6fd2c87f-b296-42f0-b197-1e91e994b900, DisabledPlans=[]]"
                    )),
                    json_array_string(json!(
                        "[SkuName=SPE_E5, AccountId=00000000, SkuId=06ebc4ee-1bb5-47dd-8120-11324bc54e06, DisabledPlans=[]]"
                    )),
                ),
                included(&["AssignedLicense", "AssignedPlan"]),
                user_type(user),
            ],
        )],
        Activity::AddMemberToGroup
        | Activity::RemoveMemberFromGroup
        | Activity::AddOwnerToGroup => {
            let adding = !matches!(activity, Activity::RemoveMemberFromGroup);
            let pair = |v: Value| {
                if adding {
                    (Value::Null, json_string(v))
                } else {
                    (json_string(v), Value::Null)
                }
            };
            let (o1, n1) = pair(json!(group.id));
            let (o2, n2) = pair(json!(group.display_name));
            vec![
                user_target(
                    user,
                    vec![
                        modified("Group.ObjectID", o1, n1),
                        modified("Group.DisplayName", o2, n2),
                    ],
                ),
                group_target(group, vec![]),
            ]
        }
        Activity::AddGroup => vec![group_target(
            group,
            vec![
                modified(
                    "DisplayName",
                    json!("[]"),
                    json_array_string(json!(group.display_name)),
                ),
                modified(
                    "MailNickname",
                    json!("[]"),
                    json_array_string(json!(group.mail_nickname)),
                ),
                modified(
                    "SecurityEnabled",
                    json!("[]"),
                    json_array_string(json!(!group.unified)),
                ),
                included(&["DisplayName", "MailNickname", "SecurityEnabled"]),
            ],
        )],
        Activity::AddMemberToRole | Activity::RemoveMemberFromRole | Activity::PimActivation => {
            let adding = !matches!(activity, Activity::RemoveMemberFromRole);
            // Ordinary assignments are to roles no detection cares about; privileged ones are
            // planted.
            let choice = match twist {
                Twist::Role(c) => Some(c),
                _ if adding => Some(RoleChoice::Reader),
                _ => None,
            };
            let role = match choice {
                Some(RoleChoice::Privileged) => pick_role(tenant, r, true).unwrap_or(role),
                Some(RoleChoice::Reader) => pick_role(tenant, r, false).unwrap_or(role),
                Some(RoleChoice::GlobalAdmin) => tenant
                    .roles
                    .iter()
                    .find(|x| x.display_name == "Global Administrator")
                    .unwrap_or(role),
                None => role,
            };
            let wrap = |v: &str| {
                if adding {
                    (Value::Null, json_string(json!(v)))
                } else {
                    (json_string(json!(v)), Value::Null)
                }
            };
            let props = [
                ("Role.ObjectID", role.object_id.as_str()),
                ("Role.DisplayName", role.display_name),
                ("Role.TemplateId", role.template_id),
                ("Role.WellKnownObjectName", role.well_known),
            ]
            .iter()
            .map(|(name, v)| {
                let (o, n) = wrap(v);
                modified(name, o, n)
            })
            .collect();
            vec![user_target(user, props), role_target(role)]
        }
        Activity::UpdateAppCredentials => {
            let key_id = r.uuid();
            let label = *r
                .pick(&["prod-secret", "ci-deploy", "Schlüssel 2025", "rotation"])
                .unwrap_or(&"secret");
            vec![
                obj! { "id" => &app.application_object_id, "displayName" => &app.display_name, "type" => "Application", "userPrincipalName" => Value::Null, "groupType" => Value::Null, "modifiedProperties" => vec![modified(
                    "KeyDescription",
                    json!("[]"),
                    json_array_string(json!(format!("[KeyIdentifier={key_id},KeyType=Password,KeyUsage=Verify,DisplayName={label}]"))),
                ), included(&["KeyDescription"])] },
            ]
        }
        Activity::UpdateApplication => vec![
            obj! { "id" => &app.application_object_id, "displayName" => &app.display_name, "type" => "Application", "userPrincipalName" => Value::Null, "groupType" => Value::Null, "modifiedProperties" => vec![modified(
                "AppAddress",
                json_string(json!([{ "AddressType": 0, "Address": "https://app.contoso.com/signin", "ReplyAddressClientType": 1, "ReplyAddressIndex": null, "IsReplyAddressDefault": false }])),
                json_string(json!([{ "AddressType": 0, "Address": "https://app.contoso.com/auth/callback", "ReplyAddressClientType": 1, "ReplyAddressIndex": null, "IsReplyAddressDefault": false }])),
            ), included(&["AppAddress"])] },
        ],
        Activity::AddSpCredentials | Activity::RemoveSpCredentials => {
            let key = json_array_string(json!(format!(
                "[KeyIdentifier={},KeyType=Password,KeyUsage=Verify,DisplayName=automation]",
                r.uuid()
            )));
            let (old, new) = if matches!(activity, Activity::AddSpCredentials) {
                (json!("[]"), key)
            } else {
                (key, json!("[]"))
            };
            vec![sp_target(
                app,
                vec![
                    modified("KeyDescription", old, new),
                    included(&["KeyDescription"]),
                ],
            )]
        }
        Activity::AdminDeletedSecurityInfo | Activity::UserRegisteredSecurityInfo => {
            vec![user_target(user, vec![])]
        }
        Activity::AddServicePrincipal => vec![sp_target(
            app,
            vec![
                modified(
                    "AccountEnabled",
                    json!("[]"),
                    json_array_string(json!(true)),
                ),
                modified(
                    "AppPrincipalId",
                    json!("[]"),
                    json_array_string(json!(app.app_id)),
                ),
                modified(
                    "DisplayName",
                    json!("[]"),
                    json_array_string(json!(app.display_name)),
                ),
                included(&["AccountEnabled", "AppPrincipalId", "DisplayName"]),
            ],
        )],
        Activity::Consent => {
            // Ordinary consents are users granting sign-in scopes; admin consent and
            // high-privilege scopes are planted.
            let scopes = *r
                .pick(&[
                    "User.Read openid profile",
                    "offline_access openid profile",
                    "User.Read Calendars.Read",
                ])
                .unwrap_or(&"User.Read");
            let (admin, scopes) = match twist {
                Twist::Consent { admin, scopes } => (admin, scopes),
                _ => (false, scopes),
            };
            let consent_type = if admin { "AllPrincipals" } else { "Principal" };
            vec![sp_target(
                app,
                vec![
                    modified(
                        "ConsentContext.IsAdminConsent",
                        Value::Null,
                        json_string(json!(if admin { "True" } else { "False" })),
                    ),
                    modified(
                        "ConsentContext.IsAppOnly",
                        Value::Null,
                        json_string(json!("False")),
                    ),
                    modified(
                        "ConsentContext.OnBehalfOfAll",
                        Value::Null,
                        json_string(json!(if admin { "True" } else { "False" })),
                    ),
                    modified(
                        "ConsentAction.Permissions",
                        Value::Null,
                        json_string(json!(format!(
                            "[] => [[Id: {}, ClientId: {}, PrincipalId: , ResourceId: {}, ConsentType: {consent_type}, Scope:  {scopes}, CreatedDateTime: , LastModifiedDateTime ]]; ",
                            r.hex_upper(20),
                            app.service_principal_id,
                            app.service_principal_id
                        ))),
                    ),
                ],
            )]
        }
        Activity::AddAppRoleAssignment => {
            let role_value = *r
                .pick(&[
                    "AuditLog.Read.All",
                    "Directory.Read.All",
                    "User.ReadWrite.All",
                    "Mail.Send",
                    "ActivityFeed.Read",
                ])
                .unwrap_or(&"User.Read.All");
            vec![sp_target(
                app,
                vec![
                    modified("AppRole.Id", Value::Null, json_string(json!(r.uuid()))),
                    modified("AppRole.Value", Value::Null, json_string(json!(role_value))),
                    modified(
                        "AppRoleAssignment.CreatedDateTime",
                        Value::Null,
                        json_string(json!("2025-01-01T00:00:00Z")),
                    ),
                    modified(
                        "ServicePrincipal.DisplayName",
                        Value::Null,
                        json_string(json!(app.display_name)),
                    ),
                ],
            )]
        }
        Activity::AddCaPolicy | Activity::UpdateCaPolicy | Activity::DeleteCaPolicy => {
            let enabled = ca_policy_json(&policy.id, policy.display_name, "enabled", role);
            let report_only = ca_policy_json(
                &policy.id,
                policy.display_name,
                "enabledForReportingButNotEnforced",
                role,
            );
            let (old, new) = match (activity, twist) {
                (Activity::AddCaPolicy, _) => (Value::Null, json_string(report_only)),
                (Activity::DeleteCaPolicy, _) => (json_string(enabled), Value::Null),
                (_, Twist::CaState("disabled")) => (
                    json_string(enabled),
                    json_string(ca_policy_json(
                        &policy.id,
                        policy.display_name,
                        "disabled",
                        role,
                    )),
                ),
                _ => (json_string(report_only), json_string(enabled)),
            };
            vec![
                obj! { "id" => &policy.id, "displayName" => &policy.display_name, "type" => "Policy", "userPrincipalName" => Value::Null, "groupType" => Value::Null, "modifiedProperties" => vec![modified("ConditionalAccessPolicy", old, new)] },
            ]
        }
    }
}

fn ca_policy_json(id: &str, name: &str, state: &str, role: &Role) -> Value {
    obj! { "id" => id, "displayName" => name, "createdDateTime" => "2024-11-04T09:12:44.1234567+00:00", "state" => state, "conditions" => obj! { "applications" => obj! { "includeApplications" => vec!["All"], "excludeApplications" => Vec::<Value>::new() }, "users" => obj! { "includeUsers" => Vec::<Value>::new(), "excludeUsers" => Vec::<Value>::new(), "includeRoles" => vec![role.template_id], "excludeGroups" => Vec::<Value>::new() }, "clientAppTypes" => vec!["all"] }, "grantControls" => obj! { "operator" => "OR", "builtInControls" => vec!["mfa"] } }
}

/// The id a client stores for this record (`id`).
pub(crate) fn record_id(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

//! The simulated tenant's population: users, groups, applications, roles, policies, devices and
//! sites. Built once per seed; records only refer to these objects, so names resolve the same way
//! in every record and `directoryObjects/getByIds` can answer for any id a record carries.

use serde_json::{Value, json};

use crate::rng::{Rng, hash2};

/// Domain of the simulated organisation (documentation-style name, owned by nobody real).
pub(crate) const DOMAIN: &str = "contoso.com";
pub(crate) const INITIAL_DOMAIN: &str = "contoso.onmicrosoft.com";
pub(crate) const SHAREPOINT_HOST: &str = "https://contoso.sharepoint.com";
pub(crate) const ONEDRIVE_HOST: &str = "https://contoso-my.sharepoint.com";

/// Kinds of directory object `getByIds` can return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    User,
    Group,
    ServicePrincipal,
    Application,
    DirectoryRole,
}

impl ObjectKind {
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::ServicePrincipal => "servicePrincipal",
            ObjectKind::Application => "application",
            ObjectKind::DirectoryRole => "directoryRole",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: String,
    pub display_name: String,
    pub upn: String,
    pub given_name: String,
    pub surname: String,
    pub job_title: &'static str,
    pub department: &'static str,
    pub puid: String,
    pub guest: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub id: String,
    pub display_name: String,
    pub mail_nickname: String,
    pub unified: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct App {
    pub app_id: String,
    pub application_object_id: String,
    pub service_principal_id: String,
    pub display_name: &'static str,
    /// First-party Microsoft services appear as service principals without an application object
    /// in the tenant.
    pub first_party: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Role {
    pub object_id: String,
    pub template_id: &'static str,
    pub display_name: &'static str,
    pub well_known: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) struct Policy {
    pub id: String,
    pub display_name: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) struct Device {
    pub id: String,
    pub name: String,
    pub os: &'static str,
    pub owner: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct IntunePolicy {
    pub id: String,
    pub display_name: &'static str,
    pub component: &'static str,
    pub entity: &'static str,
    pub odata_type: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) struct Site {
    pub id: String,
    pub web_id: String,
    pub url: String,
    pub library: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) struct Team {
    pub name: String,
    pub group: usize,
    pub thread: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Tenant {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub apps: Vec<App>,
    pub roles: Vec<Role>,
    pub ca_policies: Vec<Policy>,
    pub devices: Vec<Device>,
    pub intune_policies: Vec<IntunePolicy>,
    pub sites: Vec<Site>,
    pub teams: Vec<Team>,
    /// Ids that appear in records but no longer exist (deleted objects): `getByIds` omits them.
    pub deleted_ids: Vec<String>,
}

// Names are chosen to exercise Unicode handling: combining-free Latin with diacritics, Nordic,
// Polish, Czech, Vietnamese, Greek, Cyrillic and CJK.
// The third element is the mail nickname where ASCII folding cannot derive one.
const FIXED_PEOPLE: &[(&str, &str, &str)] = &[
    ("Zoë", "Šťastná", ""),
    ("José", "Müller", ""),
    ("Åsa", "Lindqvist", ""),
    ("Łukasz", "Żółkiewski", ""),
    ("Chloé", "Dubois", ""),
    ("Søren", "Kjærgaard", ""),
    ("Nguyễn", "Thị Hương", "huong.nguyen"),
    ("Δήμητρα", "Παπαδοπούλου", "dimitra.papadopoulou"),
    ("Иван", "Петров", "ivan.petrov"),
    ("美咲", "佐藤", "misaki.sato"),
    ("Björn", "Ólafsson", ""),
    ("François", "Lefèvre", ""),
];

const GIVEN: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Katrin",
    "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tessa", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zara", "Renée", "Jürgen", "Mónica", "Ørjan",
];

const FAMILY: &[&str] = &[
    "Schmidt",
    "García",
    "Rossi",
    "Novák",
    "Kowalski",
    "Jensen",
    "Okafor",
    "Tanaka",
    "Silva",
    "Öztürk",
    "Dubois",
    "Walsh",
    "Nakamura",
    "Fernández",
    "Horváth",
    "Brown",
    "Van der Berg",
    "O'Neill",
    "Al-Sayed",
    "Łącki",
];

const JOBS: &[(&str, &str)] = &[
    ("IT Administrator", "IT"),
    ("Helpdesk Engineer", "IT"),
    ("Security Analyst", "Security"),
    ("Account Executive", "Sales"),
    ("Sales Manager", "Sales"),
    ("Financial Controller", "Finance"),
    ("Accountant", "Finance"),
    ("HR Business Partner", "Human Resources"),
    ("Software Engineer", "Engineering"),
    ("Product Manager", "Engineering"),
    ("Marketing Specialist", "Marketing"),
    ("Legal Counsel", "Legal"),
];

const GROUPS: &[(&str, bool)] = &[
    ("Finance Team", true),
    ("Sales EMEA", true),
    ("All Company", true),
    ("IT Admins", false),
    ("VPN Users", false),
    ("Conditional Access Exclusions", false),
    ("Marketing & Communications", true),
    ("Engineering – Platform", true),
    ("Équipe Paris", true),
    ("Break-glass Accounts", false),
    ("Intune Pilot Devices", false),
    ("Legal Hold", false),
    ("Projekt Zürich", true),
    ("Guests – Partners", false),
];

const APPS: &[(&str, bool)] = &[
    ("Microsoft Graph Command Line Tools", true),
    ("Azure Portal", true),
    ("Microsoft Intune", true),
    ("Office 365 Exchange Online", true),
    ("Microsoft Teams Services", true),
    ("Contoso HR Sync", false),
    ("Backup Connector", false),
    ("Salesforce", false),
    ("ServiceNow Integration", false),
    ("Zoom", false),
    ("Terraform Automation", false),
    ("AOC Audit Collector", false),
];

// Built-in role template ids are public constants documented by Microsoft.
const ROLES: &[(&str, &str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
        "TenantAdmins",
    ),
    (
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "User Administrator",
        "UserAccountAdmins",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
        "ExchangeServiceAdmins",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
        "SharePointServiceAdmins",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
        "SecurityAdmins",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
        "HelpdeskAdmins",
    ),
    (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
        "IntuneServiceAdmins",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
        "ApplicationAdmins",
    ),
];

/// Roles added after the first release of the simulator: their ids are drawn after everything
/// else, so the other objects of a seed keep their ids.
const LATER_ROLES: &[(&str, &str, &str)] = &[
    (
        "4a5d8f65-41da-4de4-8968-e035b65339cf",
        "Reports Reader",
        "ReportsReaders",
    ),
    (
        "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
        "Message Center Reader",
        "MessageCenterReaders",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
        "PrivilegedRoleAdmins",
    ),
];

/// The highly privileged roles of the `privileged-role-assigned` detection (docs/DETECTIONS.md).
pub(crate) const PRIVILEGED_ROLES: &[&str] = &[
    "Global Administrator",
    "Privileged Role Administrator",
    "Privileged Authentication Administrator",
    "Security Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "User Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Conditional Access Administrator",
    "Authentication Administrator",
    "Intune Administrator",
    "Hybrid Identity Administrator",
];

impl Role {
    pub(crate) fn privileged(&self) -> bool {
        PRIVILEGED_ROLES.contains(&self.display_name)
    }
}

/// A role that is (or is not) highly privileged.
pub(crate) fn pick_role<'t>(tenant: &'t Tenant, r: &mut Rng, privileged: bool) -> Option<&'t Role> {
    let roles: Vec<&Role> = tenant
        .roles
        .iter()
        .filter(|x| x.privileged() == privileged)
        .collect();
    r.pick(&roles).copied()
}

/// Who acts in planted records: an admin with a tenant UPN (not a guest), so "outside the
/// organisation" is unambiguous for mail forwarding.
pub(crate) fn planted_actor<'t>(tenant: &'t Tenant, r: &mut Rng) -> Option<&'t User> {
    let admins: Vec<&User> = tenant.users[..(tenant.users.len() / 3).max(1)]
        .iter()
        .filter(|u| !u.guest)
        .collect();
    r.pick(&admins).copied()
}

const CA_POLICIES: &[&str] = &[
    "Require MFA for administrators",
    "Block legacy authentication",
    "Require compliant device for Office 365",
    "Block access outside EU – Ausnahme Zürich",
    "Sign-in risk: require password change",
    "Require MFA for guests",
];

const INTUNE_POLICIES: &[(&str, &str, &str, &str)] = &[
    (
        "Windows 11 – Security baseline",
        "DeviceConfiguration",
        "DeviceConfiguration",
        "Microsoft.Management.Services.Api.Windows10GeneralConfiguration",
    ),
    (
        "iOS – Restrictions",
        "DeviceConfiguration",
        "DeviceConfiguration",
        "Microsoft.Management.Services.Api.IosGeneralDeviceConfiguration",
    ),
    (
        "BitLocker – Chiffrement obligatoire",
        "DeviceConfiguration",
        "DeviceConfiguration",
        "Microsoft.Management.Services.Api.Windows10EndpointProtectionConfiguration",
    ),
    (
        "Compliance – Windows",
        "DeviceCompliance",
        "DeviceCompliancePolicy",
        "Microsoft.Management.Services.Api.Windows10CompliancePolicy",
    ),
    (
        "Compliance – Android Enterprise",
        "DeviceCompliance",
        "DeviceCompliancePolicy",
        "Microsoft.Management.Services.Api.AndroidDeviceOwnerCompliancePolicy",
    ),
    (
        "Microsoft 365 Apps",
        "MobileApps",
        "MobileApp",
        "Microsoft.Management.Services.Api.OfficeSuiteApp",
    ),
    (
        "Company Portal",
        "MobileApps",
        "MobileApp",
        "Microsoft.Management.Services.Api.WinGetApp",
    ),
];

const SITES: &[(&str, &str)] = &[
    ("/sites/Finance", "Shared Documents"),
    ("/sites/SalesEMEA", "Shared Documents"),
    ("/sites/HR", "Policies"),
    ("/sites/Engineering", "Shared Documents"),
    ("/sites/ProjektZurich", "Freigegebene Dokumente"),
    ("/sites/Legal", "Contracts"),
];

impl Tenant {
    pub(crate) fn new(seed: u64) -> Tenant {
        let mut rng = Rng::new(hash2(seed, 0x007e_4a17));
        let users = build_users(&mut rng);
        let groups = GROUPS
            .iter()
            .map(|(name, unified)| Group {
                id: rng.uuid(),
                display_name: (*name).to_string(),
                mail_nickname: ascii_slug(name, ""),
                unified: *unified,
            })
            .collect::<Vec<_>>();
        let apps = APPS
            .iter()
            .map(|(name, first_party)| App {
                app_id: rng.uuid(),
                application_object_id: rng.uuid(),
                service_principal_id: rng.uuid(),
                display_name: name,
                first_party: *first_party,
            })
            .collect();
        let mut roles: Vec<Role> = ROLES
            .iter()
            .map(|(template, name, well_known)| Role {
                object_id: rng.uuid(),
                template_id: template,
                display_name: name,
                well_known,
            })
            .collect();
        let ca_policies = CA_POLICIES
            .iter()
            .map(|name| Policy {
                id: rng.uuid(),
                display_name: name,
            })
            .collect();
        let devices = build_devices(&mut rng, &users);
        let intune_policies = INTUNE_POLICIES
            .iter()
            .map(|(name, component, entity, odata)| IntunePolicy {
                id: rng.uuid(),
                display_name: name,
                component,
                entity,
                odata_type: odata,
            })
            .collect();
        let mut sites: Vec<Site> = SITES
            .iter()
            .map(|(path, library)| Site {
                id: rng.uuid(),
                web_id: rng.uuid(),
                url: format!("{SHAREPOINT_HOST}{path}"),
                library,
            })
            .collect();
        for user in users.iter().filter(|u| !u.guest).take(8) {
            sites.push(Site {
                id: rng.uuid(),
                web_id: rng.uuid(),
                url: format!(
                    "{ONEDRIVE_HOST}/personal/{}",
                    user.upn.replace(['.', '@'], "_")
                ),
                library: "Documents",
            });
        }
        let teams = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.unified)
            .map(|(i, g)| Team {
                name: g.display_name.clone(),
                group: i,
                thread: format!("19:{}@thread.tacv2", rng.hex_upper(32).to_ascii_lowercase()),
            })
            .collect();
        let deleted_ids = (0..6).map(|_| rng.uuid()).collect();
        roles.extend(LATER_ROLES.iter().map(|(template, name, well_known)| Role {
            object_id: rng.uuid(),
            template_id: template,
            display_name: name,
            well_known,
        }));
        Tenant {
            users,
            groups,
            apps,
            roles,
            ca_policies,
            devices,
            intune_policies,
            sites,
            teams,
            deleted_ids,
        }
    }

    /// `getByIds` view of one object, or `None` when the id is unknown or deleted.
    pub(crate) fn object_by_id(&self, id: &str) -> Option<(ObjectKind, Value)> {
        if let Some(u) = self.users.iter().find(|u| u.id.eq_ignore_ascii_case(id)) {
            return Some((ObjectKind::User, user_json(u)));
        }
        if let Some(g) = self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id)) {
            return Some((ObjectKind::Group, group_json(g)));
        }
        if let Some(a) = self
            .apps
            .iter()
            .find(|a| a.service_principal_id.eq_ignore_ascii_case(id))
        {
            return Some((ObjectKind::ServicePrincipal, service_principal_json(a)));
        }
        if let Some(a) = self
            .apps
            .iter()
            .find(|a| !a.first_party && a.application_object_id.eq_ignore_ascii_case(id))
        {
            return Some((ObjectKind::Application, application_json(a)));
        }
        if let Some(r) = self
            .roles
            .iter()
            .find(|r| r.object_id.eq_ignore_ascii_case(id))
        {
            return Some((ObjectKind::DirectoryRole, role_json(r)));
        }
        None
    }
}

fn user_json(u: &User) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": u.id,
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": u.given_name,
        "jobTitle": u.job_title,
        "mail": if u.guest { Value::Null } else { Value::String(u.upn.clone()) },
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": u.surname,
        "userPrincipalName": u.upn,
    })
}

fn group_json(g: &Group) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.group",
        "id": g.id,
        "displayName": g.display_name,
        "description": null,
        "groupTypes": if g.unified { json!(["Unified"]) } else { json!([]) },
        "mail": if g.unified { Value::String(format!("{}@{DOMAIN}", g.mail_nickname)) } else { Value::Null },
        "mailEnabled": g.unified,
        "mailNickname": g.mail_nickname,
        "securityEnabled": !g.unified,
    })
}

fn service_principal_json(a: &App) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": a.service_principal_id,
        "accountEnabled": true,
        "appDisplayName": a.display_name,
        "appId": a.app_id,
        "displayName": a.display_name,
        "servicePrincipalType": "Application",
    })
}

fn application_json(a: &App) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.application",
        "id": a.application_object_id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "signInAudience": "AzureADMyOrg",
    })
}

fn role_json(r: &Role) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": r.object_id,
        "description": null,
        "displayName": r.display_name,
        "roleTemplateId": r.template_id,
    })
}

fn build_users(rng: &mut Rng) -> Vec<User> {
    let mut people: Vec<(String, String, &str)> = FIXED_PEOPLE
        .iter()
        .map(|(g, f, nick)| ((*g).to_string(), (*f).to_string(), *nick))
        .collect();
    while people.len() < 64 {
        let g = rng.pick(GIVEN).copied().unwrap_or("Alex");
        let f = rng.pick(FAMILY).copied().unwrap_or("Smith");
        if !people.iter().any(|(pg, pf, _)| pg == g && pf == f) {
            people.push((g.to_string(), f.to_string(), ""));
        }
    }
    let mut seen = std::collections::HashSet::new();
    people
        .into_iter()
        .enumerate()
        .map(|(i, (given, family, nick))| {
            let mut local = if nick.is_empty() {
                ascii_slug(&format!("{given} {family}"), ".")
            } else {
                nick.to_string()
            };
            if local.is_empty() {
                local = format!("user{i}");
            }
            while !seen.insert(local.clone()) {
                local.push_str(&i.to_string());
            }
            // A handful of B2B guests with the #EXT# UPN form Entra gives them.
            let guest = i % 16 == 15;
            let upn = if guest {
                format!("{local}_fabrikam.com#EXT#@{INITIAL_DOMAIN}")
            } else {
                format!("{local}@{DOMAIN}")
            };
            let (job_title, department) = JOBS[i % JOBS.len()];
            User {
                id: rng.uuid(),
                display_name: format!("{given} {family}"),
                upn,
                given_name: given,
                surname: family,
                job_title,
                department,
                puid: format!("1003{}", rng.hex_upper(12)),
                guest,
            }
        })
        .collect()
}

fn build_devices(rng: &mut Rng, users: &[User]) -> Vec<Device> {
    const KINDS: &[(&str, &str)] = &[
        ("DESKTOP-", "Windows"),
        ("LAPTOP-", "Windows"),
        ("iPhone von ", "iOS"),
        ("Galaxy S24 – ", "Android"),
        ("MacBook de ", "macOS"),
    ];
    (0..40)
        .map(|i| {
            let owner = rng.index(users.len().max(1));
            let (prefix, os) = KINDS[i % KINDS.len()];
            let name = if os == "Windows" {
                format!("{prefix}{}", rng.hex_upper(7))
            } else {
                let first = users
                    .get(owner)
                    .map(|u| u.given_name.clone())
                    .unwrap_or_default();
                format!("{prefix}{first}")
            };
            Device {
                id: rng.uuid(),
                name,
                os,
                owner,
            }
        })
        .collect()
}

/// ASCII-folds a display name into a mail-safe local part: "Zoë Šťastná" -> "zoe.stastna".
/// Scripts with no Latin transliteration here (Greek, Cyrillic, CJK) fold to nothing; callers
/// fall back to a generated name.
pub(crate) fn ascii_slug(name: &str, sep: &str) -> String {
    let mut out = String::new();
    let mut pending_sep = false;
    for ch in name.chars() {
        let folded: &str = match ch {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ą' | 'Á' | 'À' | 'Â' | 'Ä' | 'Å' => {
                "a"
            }
            'æ' | 'Æ' => "ae",
            'ç' | 'č' | 'ć' | 'Č' | 'Ć' | 'Ç' => "c",
            'ď' | 'Ď' => "d",
            'é' | 'è' | 'ê' | 'ë' | 'ě' | 'ę' | 'É' | 'È' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'Í' => "i",
            'ł' | 'Ł' => "l",
            'ñ' | 'ň' | 'ń' | 'Ñ' => "n",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ö' | 'Ø' => "o",
            'ř' | 'Ř' => "r",
            'š' | 'ś' | 'Š' | 'Ś' => "s",
            'ß' => "ss",
            'ť' | 'Ť' => "t",
            'ú' | 'ù' | 'û' | 'ü' | 'ů' | 'Ú' | 'Ü' => "u",
            'ý' | 'ÿ' | 'Ý' => "y",
            'ž' | 'ź' | 'ż' | 'Ž' | 'Ż' | 'Ź' => "z",
            'ễ' | 'ế' | 'ề' => "e",
            'ị' => "i",
            'ư' => "u",
            'ơ' => "o",
            _ => "",
        };
        if !folded.is_empty() {
            if pending_sep && !out.is_empty() {
                out.push_str(sep);
            }
            pending_sep = false;
            out.push_str(folded);
        } else if ch.is_ascii_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push_str(sep);
            }
            pending_sep = false;
            out.push(ch.to_ascii_lowercase());
        } else if ch.is_whitespace() || ch == '-' || ch == '–' {
            pending_sep = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_diacritics() {
        assert_eq!(ascii_slug("Zoë Šťastná", "."), "zoe.stastna");
        assert_eq!(ascii_slug("José Müller", "."), "jose.muller");
        assert_eq!(ascii_slug("Łukasz Żółkiewski", "."), "lukasz.zolkiewski");
        assert_eq!(ascii_slug("Иван Петров", "."), "");
    }

    #[test]
    fn tenant_is_deterministic_and_resolvable() {
        let a = Tenant::new(5);
        let b = Tenant::new(5);
        assert_eq!(a.users[0].id, b.users[0].id);
        assert_eq!(a.users[0].display_name, "Zoë Šťastná");
        assert_ne!(Tenant::new(6).users[0].id, a.users[0].id);
        let upns: std::collections::HashSet<_> = a.users.iter().map(|u| &u.upn).collect();
        assert_eq!(upns.len(), a.users.len());
        let (kind, obj) = a
            .object_by_id(&a.groups[1].id)
            .unwrap_or((ObjectKind::User, Value::Null));
        assert_eq!(kind, ObjectKind::Group);
        assert_eq!(obj["@odata.type"], "#microsoft.graph.group");
        assert!(a.object_by_id(&a.deleted_ids[0]).is_none());
        assert!(a.users.iter().any(|u| u.upn.contains("#EXT#")));
    }
}

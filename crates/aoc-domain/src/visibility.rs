//! What a reader may see: the one privacy rule every door applies (list, get, count, histogram,
//! export, filter options, activity, and whatever comes next).
//!
//! Names are compared ignoring case, and the everyday names people write in settings are
//! understood: the Management API stores Teams events as `MicrosoftTeams` and Entra events as
//! `AzureActiveDirectory`, so `PRIVACY_SERVICES=Teams,Entra` must hide them too.

use crate::EventQuery;

/// Everyday service names and the service a stored event carries. Keys are lowercase with
/// spaces, hyphens and underscores removed (see [`service_key`]).
const SERVICE_ALIASES: &[(&str, &str)] = &[
    ("teams", "MicrosoftTeams"),
    ("msteams", "MicrosoftTeams"),
    ("microsoftteams", "MicrosoftTeams"),
    ("entra", "AzureActiveDirectory"),
    ("entraid", "AzureActiveDirectory"),
    ("azuread", "AzureActiveDirectory"),
    ("aad", "AzureActiveDirectory"),
    ("azureactivedirectory", "AzureActiveDirectory"),
    ("exchange", "Exchange"),
    ("exchangeonline", "Exchange"),
    ("exo", "Exchange"),
    ("sharepoint", "SharePoint"),
    ("sharepointonline", "SharePoint"),
    ("spo", "SharePoint"),
    ("onedrive", "OneDrive"),
    ("onedriveforbusiness", "OneDrive"),
    ("intune", "Intune"),
    ("endpointmanager", "Intune"),
];

/// The alias table, for documentation and the settings check: (what people write, stored name).
pub fn service_aliases() -> &'static [(&'static str, &'static str)] {
    SERVICE_ALIASES
}

fn service_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The stored service name for a name a person wrote (`Teams` -> `MicrosoftTeams`); a name
/// the table does not know is kept as written (it is still compared ignoring case).
pub fn canonical_service(name: &str) -> String {
    let key = service_key(name.trim());
    SERVICE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map(|(_, stored)| (*stored).to_string())
        .unwrap_or_else(|| name.trim().to_string())
}

/// The services and operations hidden from one reader. Built once from settings; a reader with
/// the privacy role gets [`Visibility::everything`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    hidden_services: Vec<String>,
    hidden_operations: Vec<String>,
}

impl Visibility {
    /// Nothing hidden.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Hide these services (aliases resolved, repeats dropped) and operations.
    pub fn hiding(services: &[String], operations: &[String]) -> Self {
        let mut hidden_services: Vec<String> = Vec::new();
        for s in services.iter().filter(|s| !s.trim().is_empty()) {
            let stored = canonical_service(s);
            if !hidden_services
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&stored))
            {
                hidden_services.push(stored);
            }
        }
        let mut hidden_operations: Vec<String> = Vec::new();
        for o in operations
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
        {
            if !hidden_operations.iter().any(|h| h.eq_ignore_ascii_case(o)) {
                hidden_operations.push(o.to_string());
            }
        }
        Self {
            hidden_services,
            hidden_operations,
        }
    }

    pub fn hides_nothing(&self) -> bool {
        self.hidden_services.is_empty() && self.hidden_operations.is_empty()
    }

    pub fn hidden_services(&self) -> &[String] {
        &self.hidden_services
    }

    pub fn hidden_operations(&self) -> &[String] {
        &self.hidden_operations
    }

    /// May the reader see an event of this service and operation?
    pub fn allows(&self, service: &str, operation: &str) -> bool {
        !self
            .hidden_services
            .iter()
            .any(|h| h.eq_ignore_ascii_case(service))
            && !self
                .hidden_operations
                .iter()
                .any(|h| h.eq_ignore_ascii_case(operation))
    }

    /// Put the hidden lists on a query, for the store to apply (it compares ignoring case too).
    pub fn restrict(&self, query: &mut EventQuery) {
        query.hidden_services = self.hidden_services.clone();
        query.hidden_operations = self.hidden_operations.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn everyday_names_reach_stored_services() {
        let v = Visibility::hiding(&list(&["Teams", "entra", "EXCHANGE", "Azure AD"]), &[]);
        assert_eq!(
            v.hidden_services(),
            ["MicrosoftTeams", "AzureActiveDirectory", "Exchange"]
        );
        assert!(!v.allows("MicrosoftTeams", "TeamCreated"));
        assert!(!v.allows("microsoftteams", "TeamCreated"));
        assert!(!v.allows("AzureActiveDirectory", "Add user."));
        assert!(!v.allows("Exchange", "Set-Mailbox"));
        assert!(v.allows("SharePoint", "FileAccessed"));
    }

    #[test]
    fn unknown_names_are_kept_and_compared_ignoring_case() {
        let v = Visibility::hiding(&list(&["Core Directory", " "]), &list(&["set-mailbox"]));
        assert_eq!(v.hidden_services(), ["Core Directory"]);
        assert!(!v.allows("core directory", "Add user"));
        assert!(!v.allows("Exchange", "Set-Mailbox"));
        assert!(v.allows("Exchange", "New-InboxRule"));
    }

    #[test]
    fn everything_allows_all_and_restrict_copies_the_lists() {
        assert!(Visibility::everything().allows("Exchange", "Set-Mailbox"));
        assert!(Visibility::everything().hides_nothing());
        let mut q = EventQuery::default();
        Visibility::hiding(&list(&["teams"]), &list(&["X"])).restrict(&mut q);
        assert_eq!(q.hidden_services, ["MicrosoftTeams"]);
        assert_eq!(q.hidden_operations, ["X"]);
    }
}

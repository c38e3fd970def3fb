//! Privacy gating (PRIVACY_SERVICES, PRIVACY_SENSITIVE_OPERATIONS, PRIVACY_SERVICE_ROLES),
//! built once from settings and asked by every service: who sees which events.

use aoc_domain::Visibility;

use crate::caller::Caller;
use crate::config::PrivacySettings;

#[derive(Debug, Clone, Default)]
pub struct Privacy {
    /// What a reader without one of `roles` may see.
    gated: Visibility,
    roles: Vec<String>,
}

impl Privacy {
    pub fn new(settings: &PrivacySettings) -> Self {
        Self {
            gated: Visibility::hiding(&settings.services, &settings.sensitive_operations),
            roles: settings.service_roles.clone(),
        }
    }

    /// What this caller may see. Without auth nobody has a role, so gated events stay hidden:
    /// privacy settings are never silently ignored.
    pub fn for_caller(&self, caller: &Caller) -> Visibility {
        if caller.has_any_role(&self.roles) {
            Visibility::everything()
        } else {
            self.gated.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_lifts_the_gate_and_aliases_apply() {
        let privacy = Privacy::new(&PrivacySettings {
            services: vec!["exchange".into(), "Teams".into()],
            sensitive_operations: vec!["Set-Mailbox".into()],
            service_roles: vec!["PrivacyReader".into()],
        });
        let anon = privacy.for_caller(&Caller::anonymous());
        assert!(!anon.allows("Exchange", "New-InboxRule"));
        assert!(!anon.allows("MicrosoftTeams", "TeamCreated"));
        assert!(!anon.allows("SharePoint", "set-mailbox"));
        assert!(anon.allows("SharePoint", "FileAccessed"));
        let reader = Caller {
            roles: vec!["privacyreader".into()],
            ..Caller::anonymous()
        };
        assert!(privacy.for_caller(&reader).hides_nothing());
    }
}

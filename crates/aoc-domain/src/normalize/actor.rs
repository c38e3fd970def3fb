//! Who acted, in words a person reads. Shared by the source modules: the label for a record
//! that names nobody, labels for system accounts, and the ids that stand for a directory
//! object (`<guid>`, `ServicePrincipal_<guid>`, `User_<guid>`).

use super::fields::is_guid;

/// The actor display of a record that names no initiator at all. Summaries use the mappings'
/// `unknown_actor` ("Someone") instead.
pub const UNKNOWN_ACTOR: &str = "unknown actor";

/// Prefixes the Management Activity API puts before a directory object id (`UserId` and the
/// Entra `Actor` / `Target` arrays).
const OBJECT_PREFIXES: [&str; 3] = ["ServicePrincipal_", "User_", "Application_"];

/// The directory object id `text` stands for: a bare GUID, or a GUID behind one of the
/// prefixes the Management Activity API writes.
pub(crate) fn object_id(text: &str) -> Option<&str> {
    if is_guid(text) {
        return Some(text);
    }
    OBJECT_PREFIXES.iter().find_map(|prefix| {
        let rest = text.get(..prefix.len())?;
        if !rest.eq_ignore_ascii_case(prefix) {
            return None;
        }
        text.get(prefix.len()..).filter(|id| is_guid(id))
    })
}

/// A readable label for a system account as the Management Activity API names it in
/// `UserId` (the common schema lists `NT AUTHORITY\SYSTEM`, `SHAREPOINT\system` and
/// `app@sharepoint`). None for anything else.
pub(crate) fn system_label(user_id: &str) -> Option<String> {
    let user_id = user_id.trim();
    // ASCII lowercasing keeps byte offsets, so `rest` has the same length in both.
    let lower = user_id.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("nt authority\\system") {
        // Exchange writes the service process in parentheses: `(Microsoft.Exchange.ServiceHost)`.
        let process = user_id
            .get(user_id.len() - rest.len()..)
            .map(|p| {
                p.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .trim()
            })
            .unwrap_or_default();
        return Some(if process.to_ascii_lowercase().contains("exchange") {
            "Exchange Online (system)".to_owned()
        } else if process.is_empty() {
            "System account".to_owned()
        } else {
            format!("System account ({process})")
        });
    }
    match lower.as_str() {
        "sharepoint\\system" => Some("SharePoint (system)".to_owned()),
        "app@sharepoint" => Some("SharePoint app".to_owned()),
        // The Local System account's well-known SID.
        "s-1-5-18" => Some("System account".to_owned()),
        _ => None,
    }
}

/// Whether a display shown for `id` on a stored event is a name (and not the id itself, a
/// prefixed form of it, or a label for nobody).
pub(crate) fn is_name_for(display: &str, id: &str) -> bool {
    let d = display.trim();
    !d.is_empty()
        && d != UNKNOWN_ACTOR
        && !d.contains(super::PROBE_MARK)
        && object_id(d).is_none_or(|shown| !shown.eq_ignore_ascii_case(id))
        && !d.eq_ignore_ascii_case(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4b7e3c2a-1f0d-4e5c-9a8b-7c6d5e4f3a2b";

    #[test]
    fn object_ids_behind_prefixes() {
        assert_eq!(object_id(ID), Some(ID));
        assert_eq!(object_id(&format!("ServicePrincipal_{ID}")), Some(ID));
        assert_eq!(object_id(&format!("serviceprincipal_{ID}")), Some(ID));
        assert_eq!(object_id(&format!("User_{ID}")), Some(ID));
        assert_eq!(object_id("ServicePrincipal_not-a-guid"), None);
        assert_eq!(object_id("admin@contoso.com"), None);
        assert_eq!(object_id("Ünïcode_x"), None);
    }

    #[test]
    fn system_accounts_read_as_labels() {
        let cases = [
            (
                "NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)",
                "Exchange Online (system)",
            ),
            ("NT AUTHORITY\\SYSTEM (w3wp)", "System account (w3wp)"),
            ("NT AUTHORITY\\SYSTEM", "System account"),
            ("SHAREPOINT\\system", "SharePoint (system)"),
            ("app@sharepoint", "SharePoint app"),
            ("S-1-5-18", "System account"),
        ];
        for (user_id, label) in cases {
            assert_eq!(system_label(user_id).as_deref(), Some(label), "{user_id}");
        }
        assert_eq!(system_label("admin@contoso.com"), None);
        assert_eq!(
            system_label("NT AUTHORITY\\SYSTEM (ü)").as_deref(),
            Some("System account (ü)")
        );
    }

    #[test]
    fn names_are_not_ids_or_labels() {
        assert!(is_name_for("Adele Vance", ID));
        assert!(!is_name_for(ID, ID));
        assert!(!is_name_for(&ID.to_uppercase(), ID));
        assert!(!is_name_for(&format!("ServicePrincipal_{ID}"), ID));
        assert!(!is_name_for("", ID));
        assert!(!is_name_for(UNKNOWN_ACTOR, ID));
    }
}

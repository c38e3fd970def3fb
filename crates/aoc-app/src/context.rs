//! Everything a front door needs, built once from [`Settings`].

use std::sync::Arc;

use aoc_domain::{Mappings, Normalizer};
use aoc_store::EventStore;

use crate::config::Settings;
use crate::events::EventService;
use crate::ingest::Ingest;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database ({0}): {1}")]
    Store(String, aoc_store::StoreError),
    #[error("MAPPINGS_FILE {0}: {1}")]
    Mappings(String, String),
}

pub struct AppContext {
    pub settings: Settings,
    pub events: EventService,
    pub normalizer: Arc<Normalizer>,
    /// The ingest pipeline; fetches report "not configured" when M365 settings are absent.
    pub ingest: Arc<Ingest>,
}

impl AppContext {
    /// Open the store named by DATABASE_URL (migrating it) and wire the services.
    pub async fn open(settings: Settings) -> Result<Arc<Self>, StartError> {
        let store = aoc_store::open(&settings.database_url)
            .await
            .map_err(|e| StartError::Store(redact_url(&settings.database_url), e))?;
        Self::with_store(settings, store)
    }

    pub fn with_store(
        settings: Settings,
        store: Arc<dyn EventStore>,
    ) -> Result<Arc<Self>, StartError> {
        let mappings = match &settings.mappings_file {
            None => Mappings::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| StartError::Mappings(path.clone(), e.to_string()))?;
                Mappings::from_yaml_str(&text)
                    .map_err(|e| StartError::Mappings(path.clone(), e.to_string()))?
            }
        };
        let normalizer = Arc::new(Normalizer::new(mappings));
        let events = EventService::new(store.clone(), settings.privacy.clone());
        let ingest = Arc::new(Ingest::new(
            store,
            normalizer.clone(),
            settings.m365.clone(),
        ));
        Ok(Arc::new(Self {
            settings,
            events,
            normalizer,
            ingest,
        }))
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        self.events.store()
    }
}

/// A database URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://aoc.db"), "sqlite://aoc.db");
    }
}

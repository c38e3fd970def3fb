//! Everything a front door needs, built once from [`Settings`].

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use aoc_domain::{Mappings, Normalizer};
use aoc_store::EventStore;

use crate::activity::{ACTION_IMPORT, ActivityLog};
use crate::alerting::{
    AlertService, RuleEvaluator, RuleService, RuleTest, RuleTestResult, SavedSearchService,
    backtest,
};
use crate::caller::Caller;
use crate::config::{Settings, redact_url};
use crate::events::EventService;
use crate::import::{ImportError, ImportProgress, ImportReport, import_paths};
use crate::ingest::Ingest;
use crate::privacy::Privacy;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database ({0}): {1}")]
    Store(String, aoc_store::StoreError),
    /// Said in one line that already names DATABASE_URL and the likely fix.
    #[error("cannot open the database: {0}")]
    Connect(aoc_store::connect::ConnectError),
    #[error("MAPPINGS_FILE {0}: {1}")]
    Mappings(String, String),
}

pub struct AppContext {
    pub settings: Settings,
    pub events: EventService,
    pub activity: ActivityLog,
    pub normalizer: Arc<Normalizer>,
    /// The ingest pipeline; fetches report "not configured" when M365 settings are absent.
    pub ingest: Arc<Ingest>,
    pub rules: RuleService,
    pub alerts: AlertService,
    pub saved_searches: SavedSearchService,
    store: Arc<dyn EventStore>,
}

impl AppContext {
    /// Open the store named by DATABASE_URL (migrating it) and wire the services.
    pub async fn open(settings: Settings) -> Result<Arc<Self>, StartError> {
        let options = aoc_store::connect::OpenOptions {
            startup_timeout: settings.database_startup_timeout,
        };
        let store = aoc_store::connect::open_with(&settings.database_url, &options)
            .await
            .map_err(|e| match e {
                aoc_store::StoreError::Connect(c) => StartError::Connect(c),
                e => StartError::Store(redact_url(&settings.database_url), e),
            })?;
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
        let privacy = Arc::new(Privacy::new(&settings.privacy));
        let activity = ActivityLog::new(store.clone(), privacy.clone());
        let events = EventService::new(store.clone(), privacy, activity.clone());
        let ingest = Arc::new(Ingest::new(
            store.clone(),
            normalizer.clone(),
            activity.clone(),
            settings.m365.clone(),
        ));
        let rules = RuleService::new(store.clone(), activity.clone());
        let alerts = AlertService::new(store.clone(), events.clone(), activity.clone());
        let saved_searches = SavedSearchService::new(store.clone(), rules.clone());
        Ok(Arc::new(Self {
            settings,
            events,
            activity,
            normalizer,
            ingest,
            rules,
            alerts,
            saved_searches,
            store,
        }))
    }

    /// The store itself, for the CLI's maintenance and benchmark commands. Front doors that
    /// serve readers (HTTP, MCP) use the services, which apply privacy and record activity.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The rule evaluator (a consumer of the stored events) with the built-in pack seeded; None
    /// when ALERTS_ENABLED is off.
    pub async fn rule_evaluator(&self) -> Result<Option<RuleEvaluator>, crate::AppError> {
        if !self.settings.alerts.enabled {
            return Ok(None);
        }
        let added = self.rules.seed_builtin().await?;
        if added > 0 {
            tracing::info!(added, "built-in alert rules stored");
        }
        Ok(Some(RuleEvaluator::new(
            self.store.clone(),
            self.rules.clone(),
            self.settings.alerts.internal_domains.clone(),
            self.settings.alerts.on_import,
            None,
        )))
    }

    /// How far the rule evaluator is behind the stored events (counted up to 1,000,000).
    pub async fn alert_evaluation_lag(
        &self,
    ) -> Result<crate::consumer::ConsumerLag, crate::AppError> {
        Ok(crate::consumer::lag(
            self.store.as_ref(),
            crate::alerting::EVALUATOR_NAME,
            1_000_000,
        )
        .await?)
    }

    /// `POST /api/rules/test`: what a rule would have raised over recent events.
    pub async fn test_rule(
        &self,
        test: &RuleTest,
        caller: &Caller,
    ) -> Result<RuleTestResult, crate::AppError> {
        backtest::run(
            &self.store,
            &self.events,
            &self.settings.alerts.internal_domains,
            test,
            caller,
        )
        .await
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Import exported audit files (see [`import_paths`]) and record it in the activity log,
    /// failed imports too.
    pub async fn import(
        &self,
        paths: &[PathBuf],
        progress: &dyn ImportProgress,
        caller: &Caller,
    ) -> Result<ImportReport, ImportError> {
        let result =
            import_paths(self.store.clone(), self.normalizer.clone(), paths, progress).await;
        let files: Vec<String> = paths
            .iter()
            .take(20)
            .map(|p| p.display().to_string())
            .collect();
        let detail = match &result {
            Ok(r) => json!({
                "outcome": "ok",
                "files": files,
                "records": r.records,
                "new": r.new,
                "duplicates": r.duplicates,
                "rejected": r.rejected,
            }),
            Err(e) => json!({
                "outcome": "failed",
                "files": files,
                "error": e.to_string().chars().take(200).collect::<String>(),
            }),
        };
        self.activity
            .record(caller, ACTION_IMPORT, None, detail)
            .await;
        result
    }
}

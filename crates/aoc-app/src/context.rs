//! Everything a front door needs, built once from [`Settings`].

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use aoc_domain::{Mappings, Normalizer};
use aoc_store::EventStore;

use crate::activity::{ACTION_IMPORT, ActivityLog};
use crate::alerting::evaluator::AlertSink;
use crate::alerting::{
    AlertService, RuleEvaluator, RuleService, RuleTest, RuleTestResult, SavedSearchService,
    backtest,
};
use crate::caller::Caller;
use crate::config::{Settings, redact_url};
use crate::egress::{EgressPolicy, parse_allow_private, parse_domain_list};
use crate::events::EventService;
use crate::import::{ImportError, ImportProgress, ImportReport, import_paths};
use crate::ingest::Ingest;
use crate::notify::{Channel, Notifier, NotifierOptions, channels_from_settings, parse_severity};
use crate::privacy::Privacy;

/// What [`AppContext::evaluate_alerts_now`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AlertCatchUp {
    pub evaluated: usize,
    /// Open alerts added (by this run or, concurrently, by another process).
    pub new_alerts: u64,
    pub open: u64,
    /// Notifications delivered by the one delivery pass.
    pub delivered: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database ({0}): {1}")]
    Store(String, aoc_store::StoreError),
    /// Said in one line that already names DATABASE_URL and the likely fix.
    #[error("cannot open the database: {0}")]
    Connect(aoc_store::connect::ConnectError),
    #[error("MAPPINGS_FILE {0}: {1}")]
    Mappings(String, String),
    /// A setting that is well formed but refused (an alert webhook the egress guard rejects).
    #[error("{0}: {1}")]
    Setting(&'static str, String),
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
    /// Where outbound calls may go (EGRESS_ALLOW_PRIVATE), for every client that calls out.
    pub egress: EgressPolicy,
    /// The alert notification webhooks, checked by `egress`.
    pub alert_channels: Vec<Channel>,
    /// Ask and explain (with the language model when one is configured).
    ask_service: crate::ask::AskService,
    /// One forwarder per SIEM target (empty while SIEM_ENABLED is off), checked by `egress`.
    pub siem: Vec<Arc<crate::siem::Forwarder>>,
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
        let ctx = Self::with_store(settings, store)?;
        ctx.resolve_alert_channels().await?;
        ctx.resolve_siem_targets().await?;
        Ok(ctx)
    }

    /// Look up each notification host now, so one that resolves to a private address is
    /// refused at start-up with the reason (the connect-time check stays: DNS can change). A
    /// name that does not resolve yet is only a warning: the network may come up after us.
    pub async fn resolve_alert_channels(&self) -> Result<(), StartError> {
        for channel in &self.alert_channels {
            let Some(host) = channel.url.host_str() else {
                continue;
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            match self.egress.resolve(host).await {
                Ok(_) => {}
                Err(e @ crate::egress::EgressError::PrivateAddress { .. }) => {
                    return Err(StartError::Setting(
                        "ALERT_*_WEBHOOK_URL",
                        format!("{} channel: {e}", channel.name),
                    ));
                }
                Err(e) => {
                    tracing::warn!(channel = %channel.name, error = %e, "alert webhook host does not resolve yet; deliveries will be retried");
                }
            }
        }
        Ok(())
    }

    /// The SIEM targets' hosts, looked up now like the alert webhooks' (a name resolving to a
    /// private address stops start-up naming the setting).
    pub async fn resolve_siem_targets(&self) -> Result<(), StartError> {
        for f in &self.siem {
            let target = f.target();
            let Some(host) = target.host() else { continue };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            match self.egress.resolve(host).await {
                Ok(_) => {}
                Err(e @ crate::egress::EgressError::PrivateAddress { .. }) => {
                    return Err(StartError::Setting(target.setting(), e.to_string()));
                }
                Err(e) => {
                    tracing::warn!(target = %target.name, error = %e, "SIEM target host does not resolve yet; deliveries will be retried");
                }
            }
        }
        Ok(())
    }

    /// Each SIEM target's backlog, last success and error (`GET /api/siem/status`).
    pub async fn siem_status(&self) -> Result<Vec<crate::siem::SiemTargetStatus>, crate::AppError> {
        let mut out = Vec::with_capacity(self.siem.len());
        for f in &self.siem {
            out.push(f.status().await?);
        }
        Ok(out)
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
        let egress = EgressPolicy::new(
            parse_allow_private(&settings.egress_allow_private)
                .map_err(|e| StartError::Setting("EGRESS_ALLOW_PRIVATE", e))?,
        );
        let alert_channels = alert_channels(&settings, &egress)?;
        let siem = crate::siem::forwarders(&settings.siem, &egress, store.clone())
            .map_err(|e| StartError::Setting(e.var, e.message))?;
        // The model is only contacted (and its URL only checked) with the AI features on.
        let llm = if settings.ai_features_enabled {
            crate::llm::LlmClient::from_settings(&settings.llm, &egress)
                .map_err(|e| StartError::Setting("LLM_BASE_URL", e))?
        } else {
            None
        };
        let ask_service = crate::ask::AskService::new(events.clone(), llm);
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
            egress,
            alert_channels,
            ask_service,
            siem,
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
            (!self.alert_channels.is_empty()).then(|| {
                Arc::new(NotifySink {
                    store: self.store.clone(),
                    channels: self.alert_channels.clone(),
                    public_url: self.settings.alerts.public_url.clone(),
                }) as Arc<dyn AlertSink>
            }),
        )))
    }

    /// Evaluate every stored event the rules have not seen yet, then try once to deliver the
    /// queued notifications: what `aoc fetch` and `aoc import` do when no server runs the
    /// evaluator in the background. None when ALERTS_ENABLED is off.
    pub async fn evaluate_alerts_now(&self) -> Result<Option<AlertCatchUp>, crate::AppError> {
        let Some(evaluator) = self.rule_evaluator().await? else {
            return Ok(None);
        };
        let open_before = self.alerts.summary().await?.open;
        let mut evaluated = 0;
        loop {
            let n = crate::consumer::run_once(self.store.as_ref(), &evaluator, 1000)
                .await
                .map_err(|e| match e {
                    crate::consumer::ConsumeError::Store(s) => crate::AppError::Store(s),
                    crate::consumer::ConsumeError::Consumer(a) => a,
                })?;
            if n == 0 {
                break;
            }
            evaluated += n;
        }
        let open = self.alerts.summary().await?.open;
        let mut delivered = 0;
        if let Some(notifier) = self.notifier()? {
            delivered = notifier.deliver_due(chrono::Utc::now()).await?.delivered;
        }
        Ok(Some(AlertCatchUp {
            evaluated,
            new_alerts: open.saturating_sub(open_before),
            open,
            delivered,
        }))
    }

    /// The loop that delivers queued alert notifications; None without channels.
    pub fn notifier(&self) -> Result<Option<Notifier>, crate::AppError> {
        if self.alert_channels.is_empty() {
            return Ok(None);
        }
        Notifier::new(
            self.store.clone(),
            self.alert_channels.clone(),
            &self.egress,
            NotifierOptions::default(),
        )
        .map(Some)
        .map_err(|e| crate::AppError::Unavailable(e.to_string()))
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

    /// `POST /api/ask`: a plain-language question answered from the events the caller may
    /// see (see `crate::ask`). Refused (404) while AI_FEATURES_ENABLED is off.
    pub async fn ask(
        &self,
        request: &crate::ask::AskRequest,
        caller: &Caller,
    ) -> Result<crate::ask::AskAnswer, crate::AppError> {
        self.ai_features_on()?;
        self.ask_service.ask(request, caller).await
    }

    /// `POST /api/events/{id}/explain`: one event explained; 404 when the caller may not see
    /// it, or while AI_FEATURES_ENABLED is off.
    pub async fn explain(
        &self,
        event_id: &str,
        caller: &Caller,
    ) -> Result<crate::ask::Explanation, crate::AppError> {
        self.ai_features_on()?;
        self.ask_service.explain(event_id, caller).await
    }

    /// Whether a language model is configured (and the AI features on).
    pub fn llm_configured(&self) -> bool {
        self.ask_service.llm_configured()
    }

    fn ai_features_on(&self) -> Result<(), crate::AppError> {
        if self.settings.ai_features_enabled {
            Ok(())
        } else {
            Err(crate::AppError::NotFound(
                "the AI features are off (AI_FEATURES_ENABLED=false)".into(),
            ))
        }
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

/// The notification channels the ALERT_* settings name, each URL checked by the egress guard:
/// a refused URL stops start-up with the reason, rather than alerts silently going nowhere.
fn alert_channels(settings: &Settings, egress: &EgressPolicy) -> Result<Vec<Channel>, StartError> {
    use secrecy::ExposeSecret;
    let a = &settings.alerts;
    let domains = parse_domain_list(&a.allowed_domains)
        .map_err(|e| StartError::Setting("ALERT_ALLOWED_DOMAINS", e))?;
    let severity = parse_severity(&a.notify_min_severity)
        .map_err(|e| StartError::Setting("ALERT_NOTIFY_MIN_SEVERITY", e))?;
    channels_from_settings(
        egress,
        a.webhook_url.as_ref().map(|s| s.expose_secret()),
        a.teams_webhook_url.as_ref().map(|s| s.expose_secret()),
        a.slack_webhook_url.as_ref().map(|s| s.expose_secret()),
        &domains,
        severity,
    )
    .map_err(|e| StartError::Setting("ALERT_*_WEBHOOK_URL", e))
}

/// Queues every alert the evaluator raises (or finds raised again) for the notification
/// channels; the outbox ignores an alert already queued for a channel.
struct NotifySink {
    store: Arc<dyn EventStore>,
    channels: Vec<Channel>,
    public_url: Option<String>,
}

#[async_trait::async_trait]
impl AlertSink for NotifySink {
    async fn alert(&self, alert: &aoc_store::Alert) -> Result<(), crate::AppError> {
        crate::notify::enqueue_for(
            self.store.as_ref(),
            &self.channels,
            alert,
            self.public_url.as_deref(),
        )
        .await?;
        Ok(())
    }
}

//! Background work that any instance may do: delivering the outbox, sweeping
//! deadlines, erasing personal data past retention, disabling idle accounts and
//! anchoring the audit chain.
//! Outbox work is leased in the database, each deadline warning and erasure is
//! unique there and anchors are written under the audit chain's lock, so several
//! `zhili serve` processes share the work without a coordinator, and a process that
//! dies mid-delivery only delays its messages until its lease runs out.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use zhili_storage::{OutboxMessage, Store, backoff};

/// Why a delivery failed; the message is retried later either way.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("receiver unreachable: {0}")]
    Unreachable(String),
    #[error("receiver answered {status}: {body}")]
    Refused { status: u16, body: String },
}

pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<String, DeliveryError>> + Send + 'a>>;

/// Something that takes outbox messages to another system and returns its receipt.
pub trait Connector: Send + Sync {
    fn deliver<'a>(&'a self, msg: &'a OutboxMessage) -> Delivery<'a>;
}

/// The documented HTTP connector (docs/exchange-110.md): POST the payload as JSON
/// with `Idempotency-Key: <dedup_key>`; any 2xx is a receipt, taken from the
/// answer's `receipt_id` when there is one.
pub struct HttpConnector {
    client: reqwest::Client,
    url: String,
    token: Option<secrecy::SecretString>,
}

impl HttpConnector {
    pub fn new(url: impl Into<String>, token: Option<secrecy::SecretString>) -> Self {
        HttpConnector {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            url: url.into(),
            token,
        }
    }
}

impl Connector for HttpConnector {
    fn deliver<'a>(&'a self, msg: &'a OutboxMessage) -> Delivery<'a> {
        Box::pin(async move {
            let mut req = self
                .client
                .post(&self.url)
                .header("Idempotency-Key", &msg.dedup_key)
                .json(&msg.payload);
            if let Some(t) = &self.token {
                req = req.bearer_auth(secrecy::ExposeSecret::expose_secret(t));
            }
            let res = req
                .send()
                .await
                .map_err(|e| DeliveryError::Unreachable(e.to_string()))?;
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(DeliveryError::Refused {
                    status: status.as_u16(),
                    body: body.chars().take(200).collect(),
                });
            }
            let receipt = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["receipt_id"].as_str().map(str::to_string))
                .unwrap_or_else(|| msg.dedup_key.clone());
            Ok(receipt)
        })
    }
}

#[derive(Clone)]
pub struct WorkerConfig {
    /// Names this instance in leases (host and pid is enough).
    pub instance: String,
    pub poll: Duration,
    pub lease: chrono::Duration,
    pub batch: i64,
    /// Connector per outbox topic.
    pub connectors: HashMap<String, Arc<dyn Connector>>,
    /// How often the deadline sweep runs (warnings, escalation).
    pub sweep_every: Duration,
    /// Reporters' personal data is erased this long after an event closed (PI-07).
    pub keep_personal_data: chrono::Duration,
    /// Staff accounts with no login for this long are disabled (IA-13); `None`: never.
    pub disable_idle_accounts: Option<chrono::Duration>,
    /// At most one signed anchor of the audit chain this often (AU-03).
    pub anchor_every: chrono::Duration,
    /// The thresholds of the security alerts (IP-09), looked for at every sweep.
    pub alert_rules: zhili_domain::AlertRules,
    /// The whole audit chain is verified this often by each instance, and at once
    /// (at most every ten minutes) when anchoring finds it broken; a break is an alert.
    pub verify_audit_every: Duration,
}

impl WorkerConfig {
    pub fn new(instance: impl Into<String>) -> Self {
        WorkerConfig {
            instance: instance.into(),
            poll: Duration::from_millis(500),
            lease: chrono::Duration::seconds(60),
            batch: 20,
            connectors: HashMap::new(),
            sweep_every: Duration::from_secs(30),
            keep_personal_data: chrono::Duration::days(730),
            disable_idle_accounts: Some(chrono::Duration::days(90)),
            anchor_every: chrono::Duration::hours(1),
            alert_rules: zhili_domain::AlertRules::default(),
            verify_audit_every: Duration::from_secs(24 * 3600),
        }
    }
}

/// One round: lease what is due, deliver it, settle it. Returns how many were
/// delivered. Deliveries of one batch run concurrently.
pub async fn tick(store: &Store, cfg: &WorkerConfig) -> Result<usize, zhili_storage::StoreError> {
    let now = Utc::now();
    let mut set = tokio::task::JoinSet::new();
    for (topic, connector) in &cfg.connectors {
        let msgs = store
            .lease_outbox(&cfg.instance, topic, now, cfg.lease, cfg.batch)
            .await?;
        for msg in msgs {
            let connector = connector.clone();
            set.spawn(async move {
                let result = connector.deliver(&msg).await;
                (msg, result)
            });
        }
    }
    let mut delivered = 0;
    while let Some(joined) = set.join_next().await {
        let Ok((msg, result)) = joined else {
            // A panicking connector: its lease runs out and the message is retried.
            continue;
        };
        let msg = &msg;
        let now = Utc::now();
        match result {
            Ok(receipt) => {
                if store
                    .outbox_delivered(msg, &cfg.instance, &receipt, now)
                    .await?
                {
                    delivered += 1;
                    metrics::counter!("zhili_outbox_delivered_total", "topic" => msg.topic.clone())
                        .increment(1);
                }
            }
            Err(e) => {
                tracing::warn!(topic = %msg.topic, id = msg.id, attempts = msg.attempts + 1, error = %e, "outbox delivery failed");
                metrics::counter!("zhili_outbox_failed_total", "topic" => msg.topic.clone())
                    .increment(1);
                store
                    .outbox_failed(
                        msg,
                        &cfg.instance,
                        &e.to_string(),
                        now + backoff(msg.attempts),
                    )
                    .await?;
            }
        }
    }
    Ok(delivered)
}

/// Runs rounds until `shutdown` resolves: outbox delivery every `poll` (when a
/// connector is configured; otherwise messages wait in the outbox, visible as pending
/// in its health, rather than piling up failed attempts) and the deadline sweep every
/// `sweep_every`. Storage errors are logged and retried: background work must outlive
/// a database restart.
pub async fn run(store: Store, cfg: WorkerConfig, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    if cfg.connectors.is_empty() {
        tracing::info!("no outbound connector configured; outbox messages wait");
    }
    let mut next_sweep = tokio::time::Instant::now();
    // Pacing only: which instance verifies when does not matter, the alert is
    // raised once whichever finds the break.
    // The first an hour after the start, so a restart does not walk the chain.
    let mut next_verify =
        tokio::time::Instant::now() + Duration::from_secs(3600).min(cfg.verify_audit_every);
    // A walk of a long chain takes a while: it runs beside the rounds, one at a time.
    let mut verifying: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        if !cfg.connectors.is_empty() {
            match tick(&store, &cfg).await {
                Ok(n) if n > 0 => tracing::debug!(delivered = n, "outbox round"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "outbox round failed"),
            }
        }
        if tokio::time::Instant::now() >= next_sweep {
            // A year loaded on another instance applies here from this round on.
            if let Err(e) = store.reload_calendar().await {
                tracing::error!(error = ?e, "calendar reload failed");
            }
            match store.sweep_deadlines(&cfg.instance, Utc::now(), 200).await {
                Ok(r) if r.yellow + r.red > 0 => {
                    tracing::info!(
                        yellow = r.yellow,
                        red = r.red,
                        escalated = r.escalated,
                        "deadline sweep"
                    );
                    metrics::counter!("zhili_deadline_warnings_total", "level" => "yellow")
                        .increment(r.yellow as u64);
                    metrics::counter!("zhili_deadline_warnings_total", "level" => "red")
                        .increment(r.red as u64);
                    metrics::counter!("zhili_escalations_total").increment(r.escalated as u64);
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "deadline sweep failed"),
            }
            match store.remind_overdue_rights(Utc::now(), 200).await {
                Ok(n) if n > 0 => {
                    tracing::warn!(requests = n, "rights requests past their deadline")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = ?e, "reminding of overdue rights requests failed")
                }
            }
            match store.detect_recurring(Utc::now()).await {
                Ok(n) if n > 0 => tracing::info!(alerts = n, "recurring problems found"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "recurring-problem detection failed"),
            }
            match store
                .anonymise_closed(cfg.keep_personal_data, Utc::now(), &cfg.instance, 200)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(events = n, "personal data past retention erased"),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = ?e, "erasing personal data past retention failed")
                }
            }
            if let Some(idle) = cfg.disable_idle_accounts {
                match store
                    .disable_idle_accounts(idle, Utc::now(), &cfg.instance, 200)
                    .await
                {
                    Ok(names) if !names.is_empty() => {
                        tracing::warn!(accounts = ?names, "idle accounts disabled")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = ?e, "disabling idle accounts failed"),
                }
            }
            // Every round asks; the store writes an anchor only when the interval has
            // passed and the chain has grown, on whichever instance comes first.
            match store
                .anchor_audit_chain(cfg.anchor_every, Utc::now(), &cfg.instance)
                .await
            {
                Ok(Some(a)) => {
                    tracing::info!(head = a.head_id, "audit chain anchored");
                    metrics::counter!("zhili_audit_anchors_total").increment(1);
                }
                Ok(None) => {}
                // A broken chain or a forged anchor: said every round, and verified
                // in full soon, which raises the alert.
                Err(e) => {
                    tracing::error!(error = ?e, "audit chain not anchored");
                    next_verify = next_verify.min(
                        tokio::time::Instant::now()
                            + Duration::from_secs(600).min(cfg.verify_audit_every),
                    );
                }
            }
            if tokio::time::Instant::now() >= next_verify
                && verifying.as_ref().is_none_or(|h| h.is_finished())
            {
                next_verify = tokio::time::Instant::now() + cfg.verify_audit_every;
                let store = store.clone();
                verifying = Some(tokio::spawn(async move {
                    match store.verify_audit_chain_for_alerts(Utc::now()).await {
                        Ok(Some(b)) => {
                            tracing::error!(record = b.id, kind = ?b.kind, "audit chain broken")
                        }
                        Ok(None) => tracing::info!("audit chain verified"),
                        Err(e) => tracing::error!(error = ?e, "audit chain verification failed"),
                    }
                }));
            }
            match store
                .detect_security_alerts(&cfg.alert_rules, Utc::now())
                .await
            {
                Ok(raised) => {
                    for a in raised {
                        tracing::warn!(kind = a.kind.code(), subject = %a.subject, count = a.count, "security alert");
                        metrics::counter!("zhili_security_alerts_total", "kind" => a.kind.code())
                            .increment(1);
                    }
                }
                Err(e) => tracing::error!(error = ?e, "security alert detection failed"),
            }
            next_sweep = tokio::time::Instant::now() + cfg.sweep_every;
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(cfg.poll) => {}
        }
    }
}

//! The daemon: one poll loop per platform account, each cycle
//! reconcile → poll → decide → claim → send, until shutdown.
//!
//! Polls of one account never overlap (one task, one cycle at a time; a slow cycle
//! delays the next tick rather than stacking). Shutdown is a `CancellationToken`:
//! a loop stops between cycles, and a cycle stops sending between orders — an order
//! already in flight finishes, the rest stay `Claimed` in the store.

use crate::app;
use crate::config::{Config, Mode, StoreSettings};
use crate::decision::Decision;
use crate::engine::Engine;
use crate::executor::{lock, Executor};
use crate::notify::{Event, EventKind, Notifier, NotifyTarget};
use crate::opportunity::Opportunity;
use crate::order::OrderIntent;
use crate::platform::fundamerica::webhook::{
    webhook_router, Fetch, WebhookAccount, WebhookEvent, WebhookReceiver,
};
use crate::platform::PlatformClient;
use crate::portfolio::Portfolio;
use crate::sandbox::{self, SandboxOptions};
use crate::status::StatusBoard;
use crate::store::Store;
use crate::telemetry::Metrics;
use anyhow::Context;
use chrono::Utc;
use futures::StreamExt;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How `run` was asked to behave.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Force dry-run whatever the config says.
    pub dry_run: bool,
    /// One poll cycle per platform, then exit.
    pub once: bool,
    /// Append every polled opportunity to this JSONL file (backtest input).
    pub record_opportunities: Option<PathBuf>,
}

/// Funding Circle listings stay open up to a week: a shorter `[store] keep_history`
/// can forget an intent whose listing is still open, and buy it again after a restart
/// (warned about at start).
const SAFE_KEEP_HISTORY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What one platform account's loop is built from (see [`PlatformLoop::new`]).
pub struct LoopParts {
    pub client: Arc<dyn PlatformClient>,
    /// The current engine; hot reload publishes a new one between cycles.
    pub engine: watch::Receiver<Arc<Engine>>,
    pub store: Arc<Store>,
    pub portfolio: Arc<Mutex<Portfolio>>,
    pub metrics: Arc<Metrics>,
    pub status: StatusBoard,
    pub notifier: Notifier,
    pub dry_run: bool,
    /// Consecutive failed polls that make the platform "down".
    pub unhealthy_after: u32,
    /// `--record-opportunities`: where polled opportunities are appended.
    pub record_opportunities: Option<PathBuf>,
}

/// One platform account's poll loop.
pub struct PlatformLoop {
    client: Arc<dyn PlatformClient>,
    executor: Executor,
    /// The current engine; hot reload publishes a new one between cycles.
    engine: watch::Receiver<Arc<Engine>>,
    store: Arc<Store>,
    portfolio: Arc<Mutex<Portfolio>>,
    metrics: Arc<Metrics>,
    status: StatusBoard,
    notifier: Notifier,
    /// Consecutive failed polls that make the platform "down" (and notified once).
    unhealthy_after: u32,
    /// Where decisions are recorded, logged, counted and notified.
    log: DecisionLog,
    /// `--record-opportunities`: where polled opportunities are appended.
    record_opportunities: Option<PathBuf>,
}

/// Runs the daemon until `shutdown` (or after one cycle with `once`).
pub async fn run(
    config: Config,
    options: RunOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let dry_run = options.dry_run || config.mode == Mode::DryRun;
    let metrics = Metrics::new();
    let slots = app::compile_strategies(&config).map_err(|errors| anyhow::anyhow!(errors))?;
    let engine = Arc::new(app::build_engine(&config, slots, Some(metrics.clone())));
    let platform_ids: Vec<&str> = config.platforms.keys().map(|p| p.as_str()).collect();
    let strategy_names: Vec<&str> = engine
        .strategies()
        .iter()
        .map(|s| s.rules.name.as_str())
        .collect();
    metrics.init_labels(&platform_ids, &strategy_names);
    let engine_updates = watch::Sender::new(engine.clone());
    let store_dir = app::store_dir(&config, dry_run);
    let store = Arc::new(Store::open(&store_dir)?);
    let portfolio = Arc::new(Mutex::new(app::portfolio_from_store(&store)?));
    let status = StatusBoard::new(
        if dry_run { "dry-run" } else { "live" },
        config.unhealthy_after,
    );

    // The embedded sandbox outlives the poll loops, so sessions can still be closed.
    let sandbox_stop = CancellationToken::new();
    let sandbox_handle = if config.sandbox.enabled {
        let options = SandboxOptions {
            seed: config.sandbox.seed,
            ..SandboxOptions::default()
        };
        let handle = sandbox::spawn(config.sandbox.listen, options, sandbox_stop.clone())
            .await
            .with_context(|| format!("starting the sandbox on {}", config.sandbox.listen))?;
        tracing::info!(addr = %handle.addr, "embedded sandbox running");
        Some(handle)
    } else {
        None
    };

    tracing::info!(
        mode = if dry_run { "dry-run" } else { "live" },
        store = %store_dir.display(),
        strategies = engine.strategies().len(),
        platforms = config.platforms.len(),
        "autoinvest starting"
    );
    let notifier = Notifier::new(
        store.clone(),
        NotifyTarget::all_from_config(&config).map_err(|errors| {
            anyhow::anyhow!(errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"))
        })?,
        dry_run,
        metrics.clone(),
    );
    let notifier_task = tokio::spawn(notifier.clone().run(shutdown.clone()));

    let mut clients: Vec<Arc<dyn PlatformClient>> = Vec::new();
    for settings in config.platforms.values() {
        let sandbox_url = sandbox_handle.as_ref().map(|h| h.base_url(settings.kind));
        clients.push(app::build_client(
            &config,
            settings,
            sandbox_url,
            metrics.clone(),
        )?);
    }
    let (webhooks, webhook_events) = fundamerica_webhooks(&config, &store, &metrics)?;
    let webhook_task = tokio::spawn(track_webhooks(
        webhook_events,
        clients.clone(),
        store.clone(),
        shutdown.clone(),
    ));

    let mut server = None;
    if let Some(addr) = config.http_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding http_listen {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "serving /metrics /healthz /status");
        server = Some(tokio::spawn(crate::http_server::serve(
            listener,
            metrics.clone(),
            status.clone(),
            Some(store.clone()),
            webhooks,
            shutdown.child_token(),
        )));
    }

    let mut tasks = Vec::new();
    for client in &clients {
        let platform_loop = PlatformLoop::new(LoopParts {
            client: client.clone(),
            engine: engine_updates.subscribe(),
            store: store.clone(),
            portfolio: portfolio.clone(),
            metrics: metrics.clone(),
            status: status.clone(),
            notifier: notifier.clone(),
            dry_run,
            unhealthy_after: config.unhealthy_after,
            record_opportunities: options.record_opportunities.clone(),
        });
        let interval = config.poll_interval;
        let token = shutdown.clone();
        tasks.push(tokio::spawn(platform_loop.run(
            interval,
            options.once,
            token,
        )));
    }
    if config.store.keep_history < SAFE_KEEP_HISTORY {
        tracing::warn!(
            keep_history = %humantime::format_duration(config.store.keep_history),
            "[store] keep_history is under a week: a finished loan intent may be forgotten while its listing is still open, and the listing bought again after a restart"
        );
    }
    let pruner = tokio::spawn(prune_periodically(
        store.clone(),
        config.store.clone(),
        metrics.clone(),
        shutdown.clone(),
    ));
    let reloader = tokio::spawn(
        crate::reload::Reloader::new(config.clone(), engine_updates, metrics.clone())
            .run(shutdown.clone()),
    );
    for task in tasks {
        task.await.context("a platform loop panicked")?;
    }
    if options.once {
        shutdown.cancel();
    }
    // Background tasks hold the store: wait until they are gone, so the database is
    // closed (and its lock released) when `run` returns.
    pruner.abort();
    reloader.abort();
    webhook_task.abort();
    let _ = pruner.await;
    let _ = reloader.await;
    let _ = webhook_task.await;
    // Queued notifications stay in the store and go out after the next start.
    notifier_task.abort();
    let _ = notifier_task.await;
    for client in &clients {
        if let Err(error) = client.close().await {
            tracing::warn!(platform = %client.id(), %error, "closing the session failed");
        }
    }
    if let Some(server) = server {
        let _ = server.await;
    }
    sandbox_stop.cancel();
    store.flush()?;
    tracing::info!("autoinvest stopped; store flushed");
    Ok(())
}

/// Prunes the store every `settings.prune_every` (the first time at start) of what is
/// older than `settings.keep_history`, and publishes its size on disk.
///
/// The in-memory portfolio keeps every intent key it has seen since start (so a
/// listing is never decided twice while running, whatever `keep_history` says); it is
/// rebuilt from the pruned store at the next start.
async fn prune_periodically(
    store: Arc<Store>,
    settings: StoreSettings,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let keep = chrono::Duration::from_std(settings.keep_history).unwrap_or(chrono::Duration::MAX);
    let mut tick = tokio::time::interval(settings.prune_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cutoff = Utc::now()
            .checked_sub_signed(keep)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        // Pruning walks whole trees: off the runtime's worker threads.
        let pruning = store.clone();
        let pruned = tokio::task::spawn_blocking(move || pruning.prune(cutoff)).await;
        match pruned {
            Ok(Ok(removed)) => {
                metrics.store_pruned_total.inc_by(removed as u64);
                tracing::debug!(removed, "store pruned");
            }
            Ok(Err(error)) => tracing::warn!(%error, "store pruning failed"),
            Err(error) => tracing::warn!(%error, "store pruning stopped"),
        }
        match store.size_on_disk() {
            Ok(bytes) => metrics
                .store_size_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX)),
            Err(error) => tracing::warn!(%error, "cannot read the store's size"),
        }
    }
}

impl PlatformLoop {
    pub fn new(parts: LoopParts) -> PlatformLoop {
        let log = DecisionLog {
            store: parts.store.clone(),
            metrics: parts.metrics.clone(),
            status: parts.status.clone(),
            notifier: parts.notifier.clone(),
            budget_notified: HashSet::new(),
            last_verdicts: HashMap::new(),
        };
        let executor = Executor::new(
            parts.client.clone(),
            parts.store.clone(),
            parts.portfolio.clone(),
            parts.metrics.clone(),
            parts.notifier.clone(),
            parts.dry_run,
        );
        PlatformLoop {
            client: parts.client,
            executor,
            engine: parts.engine,
            store: parts.store,
            portfolio: parts.portfolio,
            metrics: parts.metrics,
            status: parts.status,
            notifier: parts.notifier,
            unhealthy_after: parts.unhealthy_after,
            log,
            record_opportunities: parts.record_opportunities,
        }
    }

    async fn run(mut self, every: Duration, once: bool, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            self.cycle(&shutdown).await;
            if once {
                break;
            }
        }
        tracing::info!(platform = %self.client.id(), "poll loop stopped");
    }

    /// One reconcile → poll → decide → claim → send cycle. Failures are logged and
    /// counted; the next cycle starts afresh.
    async fn cycle(&mut self, shutdown: &CancellationToken) {
        let platform = self.client.id().to_string();
        // Nothing new is sent while an earlier outcome is unknown.
        let reconciled = self.executor.reconcile_unresolved().await;
        if let Err(error) = &reconciled {
            tracing::warn!(%platform, %error, "not placing orders this cycle");
        }
        // A poll only reads: on shutdown it is dropped rather than waited for.
        let polled = tokio::select! {
            _ = shutdown.cancelled() => return,
            polled = self.client.poll() => polled,
        };
        let opportunities = match polled {
            Ok(opportunities) => opportunities,
            Err(error) => {
                tracing::warn!(%platform, %error, "poll failed");
                self.count_poll("error");
                let failures = self.status.update(&platform, |s| {
                    s.consecutive_failures += 1;
                    s.last_error = Some(error.to_string());
                    s.consecutive_failures
                });
                if failures == self.unhealthy_after {
                    self.notifier.emit(
                        Event::new(
                            EventKind::PlatformDown,
                            format!("{failures} polls in a row failed: {error}"),
                        )
                        .platform(&platform),
                    );
                }
                return;
            }
        };
        self.handle_poll(opportunities, reconciled.is_ok(), shutdown)
            .await;
    }

    /// Everything after a successful poll: record, decide, claim, send, track.
    /// `may_send`: false while an earlier order's outcome is still unknown.
    pub async fn handle_poll(
        &mut self,
        opportunities: Vec<Opportunity>,
        may_send: bool,
        shutdown: &CancellationToken,
    ) {
        let platform = self.client.id().to_string();
        self.count_poll("ok");
        if let Some(path) = &self.record_opportunities {
            if let Err(error) = crate::backtest::record::append(path, &opportunities, Utc::now()) {
                tracing::warn!(%platform, path = %path.display(), %error, "cannot record opportunities");
            }
        }
        self.metrics
            .opportunities_seen_total
            .with_label_values(&[&platform])
            .inc_by(opportunities.len() as u64);
        let failures_before = self.status.update(&platform, |s| {
            let before = s.consecutive_failures;
            s.consecutive_failures = 0;
            s.last_success = Some(Utc::now());
            s.open_opportunities = opportunities.len();
            before
        });
        if failures_before >= self.unhealthy_after {
            self.notifier.emit(
                Event::new(
                    EventKind::PlatformRecovered,
                    format!("polling works again after {failures_before} failures"),
                )
                .platform(&platform),
            );
        }
        self.refresh_cash().await;
        let engine = self.engine.borrow().clone();
        let open: HashMap<&str, &Opportunity> =
            opportunities.iter().map(|o| (o.id.as_str(), o)).collect();
        // Taken before anything new is claimed, so no intent is handed over twice.
        let leftovers = if may_send {
            match self.executor.claimed_leftovers() {
                Ok(leftovers) => Some(leftovers),
                Err(error) => {
                    tracing::error!(%platform, %error, "store failure; not placing orders");
                    return;
                }
            }
        } else {
            None
        };
        // Orders go out while the rest of the poll is still being decided: the first
        // is handed to the pacer as soon as it is claimed.
        let (batches, claimed) = tokio::sync::mpsc::unbounded_channel();
        let executor = &self.executor;
        let sending = async {
            let Some(leftovers) = leftovers else {
                return Ok(());
            };
            let fresh = futures::stream::unfold(claimed, |mut claimed| async move {
                claimed.recv().await.map(|batch| (batch, claimed))
            });
            let batches = futures::stream::iter(leftovers).chain(fresh);
            executor
                .send_claimed(&engine, &open, batches, shutdown)
                .await
        };
        let deciding = decide(
            &engine,
            &opportunities,
            Claims {
                platform: self.client.id().as_str(),
                store: &self.store,
                portfolio: &self.portfolio,
                batches: may_send.then_some(batches),
            },
            &mut self.log,
        );
        // Biased: the sender is polled first every time, so a batch that deciding
        // handed over (then yielded) is taken up at once, not after deciding ran on to
        // its next claim.
        let (sent, decided) = tokio::join!(biased; sending, deciding);
        if let Err(error) = decided {
            tracing::error!(%platform, %error, "store failure; not placing orders");
            return;
        }
        if let Err(error) = sent {
            tracing::warn!(%platform, %error, "stopped sending orders this cycle");
        }
        self.executor.track_placed().await;
        self.publish_gauges(&engine);
        // The cycle's decisions and seen records are written after its last intent
        // flush: flushed now, they are not left for the next cycle's first claim to
        // write, before its first order.
        if let Err(error) = self.store.flush() {
            tracing::warn!(%platform, %error, "cannot flush the store");
        }
    }

    fn count_poll(&self, outcome: &str) {
        self.metrics
            .polls_total
            .with_label_values(&[self.client.id().as_str(), outcome])
            .inc();
    }

    /// Cash as the platform reports it, less what this account has committed but not
    /// yet settled with the platform.
    async fn refresh_cash(&self) {
        match self.client.available_cash().await {
            Ok(Some(cash)) => {
                let pending: Decimal = match self.store.unresolved() {
                    Ok(intents) => intents
                        .iter()
                        .filter(|i| &i.platform == self.client.id())
                        .map(|i| i.amount)
                        .sum(),
                    Err(_) => Decimal::ZERO,
                };
                lock(&self.portfolio).set_platform_cash(self.client.id().as_str(), cash, pending);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(platform = %self.client.id(), %error, "cannot read available cash")
            }
        }
    }

    /// Updates the gauges and the status board after a cycle (from the store's
    /// in-memory counts: no stored intent is read).
    fn publish_gauges(&self, engine: &Engine) {
        let platform = self.client.id().as_str().to_string();
        let unresolved_total = self.store.unresolved_count(None);
        self.metrics.unresolved_intents.set(unresolved_total as i64);
        let unresolved = self.store.unresolved_count(Some(self.client.id()));
        let placed_today = self
            .store
            .placed_on(self.client.id(), Utc::now().date_naive());
        let pacing = self
            .client
            .pacer()
            .map(|p| (p.hold_remaining(), p.consecutive_rate_limits()));

        let portfolio = lock(&self.portfolio);
        let view = portfolio.view();
        let budget = engine.budget();
        let left =
            |limit: Option<Decimal>, used: Decimal| limit.map(|l| (l - used).max(Decimal::ZERO));
        let mut global = BTreeMap::new();
        global.insert("daily", left(budget.daily_limit, view.invested_today()));
        global.insert("total", left(budget.total_limit, view.invested_total()));
        let rules = engine.platform_rules(self.client.id());
        let mut own = BTreeMap::new();
        own.insert(
            "daily",
            left(rules.daily_limit, view.platform_today(&platform)),
        );
        own.insert(
            "total",
            left(rules.total_limit, view.exposure_by_platform(&platform)),
        );
        drop(portfolio);

        for (scope, value) in &global {
            if let Some(value) = value {
                self.metrics
                    .budget_remaining_usd
                    .with_label_values(&[scope])
                    .set(value.to_f64().unwrap_or(0.0));
                self.status.set_budget_remaining(scope, *value);
            }
        }
        self.status.update(&platform, |s| {
            s.unresolved_intents = unresolved;
            s.orders_today = placed_today.orders;
            s.amount_today = placed_today.amount;
            s.budget_remaining = own
                .iter()
                .filter_map(|(scope, value)| value.map(|v| (scope.to_string(), v)))
                .collect();
            if let Some((held, consecutive)) = pacing {
                if consecutive > s.pacing.consecutive_rate_limits {
                    s.pacing.last_rate_limited = Some(Utc::now());
                }
                s.pacing.held_for_ms = held.as_millis() as u64;
                s.pacing.consecutive_rate_limits = consecutive;
            }
        });
    }
}

/// The FundAmerica webhook endpoint, when an account configures `webhook_key_env`.
fn fundamerica_webhooks(
    config: &Config,
    store: &Arc<Store>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(
    Option<axum::Router>,
    tokio::sync::mpsc::Receiver<WebhookEvent>,
)> {
    let (sender, receiver) = tokio::sync::mpsc::channel(256);
    let accounts = WebhookAccount::from_config(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    if accounts.is_empty() {
        return Ok((None, receiver));
    }
    let handler = WebhookReceiver::new(accounts, (**store).clone(), metrics.clone(), sender);
    Ok((Some(webhook_router(handler)), receiver))
}

/// Acts on accepted webhooks: fetches the investment's current state and records the
/// platform's new status on the intent that placed it.
async fn track_webhooks(
    mut events: tokio::sync::mpsc::Receiver<WebhookEvent>,
    clients: Vec<Arc<dyn PlatformClient>>,
    store: Arc<Store>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => match event { Some(event) => event, None => return },
        };
        let Fetch::Investment { id } = &event.fetch else {
            continue;
        };
        let Some(client) = clients.iter().find(|c| c.id() == &event.platform) else {
            continue;
        };
        match client.order_status(id).await {
            Ok(Some(order)) => crate::executor::record_order_status(&store, &event.platform, order),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(platform = %event.platform, order = %id, %error, "cannot fetch the order a webhook named")
            }
        }
    }
}

/// Where one platform loop's decisions go: recorded when they change, logged,
/// counted, shown on the status board and notified.
struct DecisionLog {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    status: StatusBoard,
    notifier: Notifier,
    /// Budget scopes already notified as exhausted, per UTC day.
    budget_notified: HashSet<(String, chrono::NaiveDate)>,
    /// Last verdict per (strategy, opportunity): a decision is recorded when it changes,
    /// not on every poll.
    last_verdicts: HashMap<(String, String), String>,
}

/// What deciding needs besides the engine: where intents are claimed, and where the
/// claimed ones go to be sent (`None`: claim only, send in a later cycle).
struct Claims<'a> {
    platform: &'a str,
    store: &'a Store,
    portfolio: &'a Mutex<Portfolio>,
    batches: Option<tokio::sync::mpsc::UnboundedSender<Vec<OrderIntent>>>,
}

/// Evaluates every open opportunity in order, durably claims the approved intents and
/// hands each opportunity's claimed intents to the sender at once; then records the
/// decisions and marks the opportunities seen.
async fn decide(
    engine: &Engine,
    opportunities: &[Opportunity],
    claims: Claims<'_>,
    log: &mut DecisionLog,
) -> Result<(), crate::store::StoreError> {
    let Claims {
        platform,
        store,
        portfolio,
        batches,
    } = claims;
    let now = Utc::now();
    let mut decisions: Vec<Decision> = Vec::new();
    let mut buys = 0;
    for opp in opportunities {
        let evaluation = engine.evaluate(&Arc::new(opp.clone()), &mut lock(portfolio), now);
        decisions.extend(evaluation.decisions);
        // One flush for all of the opportunity's intents: before any of them is sent.
        let fresh = store.claim_all(&evaluation.intents)?;
        let mut claimed = Vec::new();
        for (intent, fresh) in evaluation.intents.into_iter().zip(fresh) {
            if fresh {
                claimed.push(intent);
            } else {
                tracing::warn!(intent = %intent.key, "intent already in the store; not sent again");
            }
        }
        buys += claimed.len();
        if let (Some(batches), false) = (&batches, claimed.is_empty()) {
            // A closed channel means the sender stopped (shutdown): the intents stay
            // Claimed for the next cycle.
            let _ = batches.send(claimed);
            // Let the sender start on it while the rest is decided.
            tokio::task::yield_now().await;
        }
    }
    drop(batches);
    for decision in decisions {
        log.record_if_changed(decision)?;
    }
    let mut new = 0;
    for opp in opportunities {
        if store.mark_seen(platform, &opp.id, now)? {
            new += 1;
        }
    }
    tracing::info!(
        platform,
        open = opportunities.len(),
        new,
        buys,
        "poll evaluated"
    );
    let open: HashSet<&str> = opportunities.iter().map(|o| o.id.as_str()).collect();
    log.last_verdicts
        .retain(|(_, id), _| open.contains(id.as_str()));
    Ok(())
}

impl DecisionLog {
    /// Strategy errors, and the first budget refusal of a UTC day per scope.
    fn notify_decision(&mut self, decision: &Decision) {
        match &decision.verdict {
            crate::decision::Verdict::Error { message } => self.notifier.emit(
                Event::new(EventKind::StrategyError, message.clone())
                    .platform(decision.platform.as_str())
                    .strategy(&decision.strategy)
                    .opportunity(&decision.opportunity_id),
            ),
            crate::decision::Verdict::Skip { reason } => {
                let scope = if reason.contains("the daily budget") {
                    "daily"
                } else if reason.contains("the total budget") {
                    "total"
                } else {
                    return;
                };
                if self
                    .budget_notified
                    .insert((scope.to_string(), decision.at.date_naive()))
                {
                    self.notifier.emit(
                        Event::new(
                            EventKind::BudgetExhausted,
                            format!("the {scope} budget is used up: {reason}"),
                        )
                        .platform(decision.platform.as_str())
                        .strategy(&decision.strategy),
                    );
                }
            }
            crate::decision::Verdict::Buy { .. } => {}
        }
    }

    fn record_if_changed(&mut self, decision: Decision) -> Result<(), crate::store::StoreError> {
        let summary = format!("{:?}", decision.verdict);
        let key = (decision.strategy.clone(), decision.opportunity_id.clone());
        if self.last_verdicts.get(&key) == Some(&summary) {
            return Ok(());
        }
        self.last_verdicts.insert(key, summary);
        self.metrics
            .decisions_total
            .with_label_values(&[&decision.strategy, decision.verdict.label()])
            .inc();
        self.status.update_strategy(&decision.strategy, |s| {
            *s.decisions
                .entry(decision.verdict.label().to_string())
                .or_default() += 1;
            if let crate::decision::Verdict::Error { message } = &decision.verdict {
                s.last_error = Some(message.clone());
                s.last_error_at = Some(decision.at);
            }
        });
        self.notify_decision(&decision);
        match &decision.verdict {
            crate::decision::Verdict::Buy { amount, reason, .. } => {
                tracing::info!(platform = %decision.platform, strategy = %decision.strategy, opportunity = %decision.opportunity_id, %amount, %reason, "decision: buy")
            }
            crate::decision::Verdict::Skip { reason } => {
                tracing::info!(platform = %decision.platform, strategy = %decision.strategy, opportunity = %decision.opportunity_id, %reason, "decision: skip")
            }
            crate::decision::Verdict::Error { message } => {
                tracing::warn!(platform = %decision.platform, strategy = %decision.strategy, opportunity = %decision.opportunity_id, %message, "decision: strategy error")
            }
        }
        self.store.record_decision(&decision)
    }
}

//! Crash injection over all four platforms at once: the real `autoinvest run`, trading
//! Funding Circle, Fundrise, FundAmerica and the issuer portal on one `autoinvest
//! sandbox` process, is killed with SIGKILL at a random moment of every cycle while it
//! places orders under random accept-then-drop and latency faults, then started again.
//!
//! A seeded RNG picks each cycle's faults and kill moment (after a number of new order
//! POSTs reached the sandbox, or after a delay from the start). Each cycle gives the
//! strategies a new slot, so every cycle has orders to place until the per-opportunity
//! maximums and the budgets run out — which they do part way through, so the budget
//! checks bind. At the end the faults go off, `run --once` reconciles, and the
//! sandbox's ledger is checked against the daemon's intents:
//!
//! - 0 double orders: every executed order is named by exactly one placed intent;
//! - 0 unresolved intents: every intent is final;
//! - 0 budget overruns: what the ledger holds is within the daily and total budgets,
//!   each strategy's daily limit, and each strategy's maximum per opportunity;
//! - and every placed intent records the order the platform holds for it (opportunity,
//!   amount, and on Fundrise the `partnerReferenceId` derived from its key).
//!
//! `AUTOINVEST_CRASH_CYCLES` sets the number of cycles (default 20, what CI runs;
//! `scripts/crash-soak` runs 200), `AUTOINVEST_CRASH_SEED` the seed (default 5).

mod common;

use autoinvest::order::IdempotencyKey;
use common::ledger::{self, LedgerOrder};
use common::process::{self, free_port, intents, set_faults, KillOnDrop};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CYCLES_VAR: &str = "AUTOINVEST_CRASH_CYCLES";
const SEED_VAR: &str = "AUTOINVEST_CRASH_SEED";
const DEFAULT_CYCLES: u32 = 20;
const DEFAULT_SEED: u64 = 5;

/// The longest a cycle waits for its kill moment (when there is nothing left to buy).
const CYCLE_AT_MOST: Duration = Duration::from_secs(4);

/// The (test) credentials of every account, as the config's `*_env` keys name them.
const ENV: &[(&str, &str)] = &[
    ("AUTOINVEST_TEST_FC_USER", "crash-test"),
    ("AUTOINVEST_TEST_FC_PASSWORD", "crash-test-password"),
    ("AUTOINVEST_TEST_FR_PARTNER_USER", "crash-partner"),
    (
        "AUTOINVEST_TEST_FR_PARTNER_PASSWORD",
        "crash-partner-password",
    ),
    ("AUTOINVEST_TEST_FR_REFRESH_TOKEN", "crash-refresh-token"),
    ("AUTOINVEST_TEST_FA_API_KEY", "crash-test-key"),
    ("AUTOINVEST_TEST_IP_API_KEY", "crash-test-key"),
    ("AUTOINVEST_TEST_IP_EMAIL", "crash@example.com"),
    ("AUTOINVEST_TEST_IP_PASSWORD", "crash-test-password"),
];

/// One platform account of the daemon under test and the one strategy trading it.
struct Account {
    id: &'static str,
    kind: &'static str,
    /// The account's config keys other than `kind` and `base_url`.
    settings: &'static str,
    /// A Rhai condition under which the strategy skips an opportunity.
    skip_when: &'static str,
    /// What the strategy asks for, per opportunity and slot.
    amount: Decimal,
    max_per_opportunity: Decimal,
    /// The strategy's own daily limit, if it has one.
    daily_limit: Option<Decimal>,
}

const ACCOUNTS: [Account; 4] = [
    Account {
        id: "fc",
        kind: "fundingcircle",
        settings: r#"username_env = "AUTOINVEST_TEST_FC_USER"
password_env = "AUTOINVEST_TEST_FC_PASSWORD"
max_posts_per_second = 40
# The sandbox needs no GET pacing; at the default, polling the listing details alone
# would take most of a cycle.
max_gets_per_second = 500"#,
        skip_when: "o.whole",
        amount: dec!(25),
        max_per_opportunity: dec!(100),
        daily_limit: None,
    },
    Account {
        id: "fr",
        kind: "fundrise",
        settings: r#"partner_user_env = "AUTOINVEST_TEST_FR_PARTNER_USER"
partner_password_env = "AUTOINVEST_TEST_FR_PARTNER_PASSWORD"
refresh_token_env = "AUTOINVEST_TEST_FR_REFRESH_TOKEN"
account_id = "12"
acknowledge_documents = true"#,
        skip_when: r#"o.kind != "offering""#,
        amount: dec!(50),
        max_per_opportunity: dec!(200),
        daily_limit: None,
    },
    Account {
        id: "fa",
        kind: "fundamerica",
        settings: r#"api_key_env = "AUTOINVEST_TEST_FA_API_KEY"
investor_id = "AcDqHluSTJy1nPjo7om1Ww"
payment_method = "ach"
ach_authorization_id = "c1iNJPrgToCWwLOD3pAhgg""#,
        skip_when: r#"o.kind != "offering""#,
        amount: dec!(100),
        max_per_opportunity: dec!(300),
        daily_limit: None,
    },
    Account {
        id: "ip",
        kind: "issuer_portal",
        settings: r#"api_key_env = "AUTOINVEST_TEST_IP_API_KEY"
email_env = "AUTOINVEST_TEST_IP_EMAIL"
password_env = "AUTOINVEST_TEST_IP_PASSWORD"
investor_id = 7"#,
        skip_when: r#"o.kind != "offering""#,
        amount: dec!(100),
        max_per_opportunity: dec!(300),
        daily_limit: Some(dec!(3000)),
    },
];

fn account(id: &str) -> &'static Account {
    ACCOUNTS
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("an intent for an unknown account {id}"))
}

/// The budgets over every account.
#[derive(Debug, Clone, Copy)]
struct Budget {
    daily_limit: Decimal,
    total_limit: Decimal,
}

impl Budget {
    /// Grows with the number of cycles but stays below what the strategies would buy,
    /// so it runs out part way through the run: after about two thirds of the default
    /// 20 cycles (the first cycles buy most, when every opportunity is new), and after
    /// about two thirds of 200 (which bought $43,675 with the budget out of reach). The
    /// daily budget is the one that binds, unless the run crosses midnight UTC.
    fn for_cycles(cycles: u32) -> Budget {
        let first = Decimal::from(cycles.min(20));
        let later = Decimal::from(cycles.saturating_sub(20));
        let daily_limit = dec!(5000) + dec!(250) * first + dec!(120) * later;
        Budget {
            daily_limit,
            total_limit: daily_limit + dec!(1000),
        }
    }
}

fn write_config(dir: &Path, port: u16, budget: Budget) -> PathBuf {
    let mut text = format!(
        r#"
mode = "live"
state_dir = "state"
poll_interval = "1s"
http_listen = ""

[budget]
daily_limit = "{}"
total_limit = "{}"
cash_reserve = "0.00"
"#,
        budget.daily_limit, budget.total_limit
    );
    for account in &ACCOUNTS {
        let (id, kind) = (account.id, account.kind);
        text += &format!(
            "\n[platforms.{id}]\nkind = \"{kind}\"\nbase_url = \"http://127.0.0.1:{port}/{kind}\"\n{}\n",
            account.settings
        );
    }
    for account in &ACCOUNTS {
        let id = account.id;
        text += &format!(
            "\n[[strategies]]\nname = \"buy-{id}\"\nscript = \"{id}.rhai\"\nplatforms = [\"{id}\"]\nmax_per_opportunity = \"{}\"\n",
            account.max_per_opportunity
        );
        if let Some(limit) = account.daily_limit {
            text += &format!("daily_limit = \"{limit}\"\n");
        }
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Gives every strategy the slot `slot`: one more purchase of each opportunity, up to
/// its maximum per opportunity.
fn write_strategies(dir: &Path, slot: &str) {
    for account in &ACCOUNTS {
        let script = format!(
            "fn decide(o, p) {{\n    if {} {{ return #{{ amount: 0, reason: \"not for this test\" }}; }}\n    #{{ amount: {}, reason: \"crash test\", slot: \"{slot}\" }}\n}}\n",
            account.skip_when, account.amount
        );
        std::fs::write(dir.join(format!("{}.rhai", account.id)), script).unwrap();
    }
}

/// When a cycle's daemon is killed.
#[derive(Debug, Clone, Copy)]
enum KillMoment {
    /// Once the sandbox received `posts` more order POSTs, and `then` later.
    AfterPosts { posts: u64, then: Duration },
    /// This long after the daemon started (during start-up, reconciliation or sending).
    AfterDelay(Duration),
}

#[derive(Debug, Clone, Copy)]
struct CyclePlan {
    drop_after_accept_rate: f64,
    latency_ms: u64,
    kill: KillMoment,
}

impl CyclePlan {
    fn draw(rng: &mut ChaCha8Rng) -> CyclePlan {
        // Every order's answer lost in a quarter of the cycles; some or none otherwise.
        let drop_after_accept_rate = if rng.random_bool(0.25) {
            1.0
        } else {
            (rng.random_range(0..=50) as f64) / 100.0
        };
        let kill = if rng.random_bool(0.6) {
            KillMoment::AfterPosts {
                posts: rng.random_range(1..=15),
                then: Duration::from_millis(rng.random_range(0..=60)),
            }
        } else {
            KillMoment::AfterDelay(Duration::from_millis(rng.random_range(200..=3000)))
        };
        CyclePlan {
            drop_after_accept_rate,
            latency_ms: rng.random_range(0..=100),
            kill,
        }
    }
}

fn all_posts(port: u16) -> u64 {
    let whole = process::whole_ledger(port);
    ledger::KINDS
        .iter()
        .map(|kind| ledger::posts(&whole, kind))
        .sum()
}

/// One intent as `orders --json` prints it, reduced to what the checks need.
#[derive(Debug)]
struct Intent {
    key: String,
    platform: String,
    opportunity_id: String,
    state: String,
    /// For a placed intent: the platform's order id and the amount it confirmed.
    placed: Option<(String, Decimal)>,
    /// The UTC day the intent was created (its budget day).
    day: String,
    raw: Value,
}

impl Intent {
    fn from_json(raw: Value) -> Intent {
        let field = |value: &Value| value.as_str().unwrap_or_default().to_string();
        let state = &raw["state"];
        let placed = (state["state"] == "placed").then(|| {
            (
                ledger::text(&state["order_id"]),
                ledger::decimal(&state["amount"]),
            )
        });
        Intent {
            key: field(&raw["key"]),
            platform: field(&raw["platform"]),
            opportunity_id: field(&raw["opportunity_id"]),
            state: field(&state["state"]),
            placed,
            day: field(&raw["created_at"]).chars().take(10).collect(),
            raw,
        }
    }

    fn is_final(&self) -> bool {
        ["placed", "rejected", "not_placed"].contains(&self.state.as_str())
    }

    fn in_flight(&self) -> bool {
        ["sending", "unknown"].contains(&self.state.as_str())
    }
}

fn read_intents(config: &Path) -> Vec<Intent> {
    intents(config).into_iter().map(Intent::from_json).collect()
}

/// Everything the final check found wrong, by invariant.
#[derive(Debug, Default)]
struct Findings {
    double_orders: Vec<String>,
    unresolved: Vec<String>,
    overruns: Vec<String>,
    wrong_records: Vec<String>,
}

/// What the run bought, for the summary line.
#[derive(Debug, Default)]
struct Spent {
    orders_by_account: BTreeMap<&'static str, usize>,
    total: Decimal,
}

/// The ledger's orders, split by whether a placed intent names them.
#[derive(Debug, Default)]
struct Matching {
    /// (index of the intent, the order it names).
    matched: Vec<(usize, LedgerOrder)>,
    /// Orders no intent accounts for, with their account id: sent twice, or recorded
    /// as not placed although the platform executed them.
    unaccounted: Vec<(&'static str, LedgerOrder)>,
}

/// Matches every ledger order with the placed intent that names it.
fn match_orders(intents: &[Intent], whole: &Value, findings: &mut Findings) -> Matching {
    let mut matching = Matching::default();
    for account in &ACCOUNTS {
        let mut unclaimed: HashMap<String, LedgerOrder> = ledger::orders(whole, account.kind)
            .into_iter()
            .map(|order| (order.order_id.clone(), order))
            .collect();
        let placed = intents.iter().enumerate().filter_map(|(index, intent)| {
            let (order_id, _) = intent.placed.as_ref()?;
            (intent.platform == account.id).then_some((index, intent, order_id))
        });
        for (index, intent, order_id) in placed {
            match unclaimed.remove(order_id) {
                Some(order) => matching.matched.push((index, order)),
                None => findings.wrong_records.push(format!(
                    "placed intent names order {order_id}, which {} does not hold for it (absent, or named by another intent): {}",
                    account.kind, intent.raw
                )),
            }
        }
        matching
            .unaccounted
            .extend(unclaimed.into_values().map(|order| (account.id, order)));
    }
    findings.double_orders = matching
        .unaccounted
        .iter()
        .map(|(id, order)| format!("account {id} holds an order no intent accounts for: {order:?}"))
        .collect();
    matching
}

/// The ledger order must be the one the intent was for, for the amount it recorded.
fn check_record(intent: &Intent, order: &LedgerOrder, findings: &mut Findings) {
    let confirmed = intent.placed.as_ref().map(|(_, amount)| *amount);
    let reference_differs = order.reference.as_ref().is_some_and(|reference| {
        *reference != IdempotencyKey::from_stored(intent.key.clone()).partner_reference()
    });
    if order.opportunity_id != intent.opportunity_id
        || confirmed != Some(order.amount)
        || reference_differs
    {
        findings.wrong_records.push(format!(
            "the platform holds {order:?} for intent {}",
            intent.raw
        ));
    }
}

/// Sums what the ledger holds by budget scope and flags every limit exceeded.
fn check_budgets(
    intents: &[Intent],
    matching: &Matching,
    budget: Budget,
    findings: &mut Findings,
) -> Spent {
    let mut spent = Spent::default();
    let mut by_day: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut by_account_day: BTreeMap<(&str, &str), Decimal> = BTreeMap::new();
    let mut by_opportunity: BTreeMap<(&str, &str), Decimal> = BTreeMap::new();
    // An order no intent accounts for still spends money: in total and in its
    // opportunity (its budget day is unknown).
    for (id, order) in &matching.unaccounted {
        *spent.orders_by_account.entry(id).or_default() += 1;
        spent.total += order.amount;
        *by_opportunity
            .entry((id, &order.opportunity_id))
            .or_default() += order.amount;
    }
    for (index, order) in &matching.matched {
        let intent = &intents[*index];
        let account = account(&intent.platform);
        *spent.orders_by_account.entry(account.id).or_default() += 1;
        spent.total += order.amount;
        *by_day.entry(&intent.day).or_default() += order.amount;
        *by_account_day.entry((account.id, &intent.day)).or_default() += order.amount;
        *by_opportunity
            .entry((account.id, &order.opportunity_id))
            .or_default() += order.amount;
    }
    let mut over = |what: String, held: Decimal, limit: Decimal| {
        if held > limit {
            findings.overruns.push(format!(
                "{what}: the platforms hold ${held}, the limit is ${limit}"
            ));
        }
    };
    over("in total".into(), spent.total, budget.total_limit);
    for (day, held) in &by_day {
        over(format!("on {day}"), *held, budget.daily_limit);
    }
    for ((id, day), held) in &by_account_day {
        if let Some(limit) = account(id).daily_limit {
            over(format!("strategy buy-{id} on {day}"), *held, limit);
        }
    }
    for ((id, opportunity), held) in &by_opportunity {
        over(
            format!("strategy buy-{id} in {opportunity}"),
            *held,
            account(id).max_per_opportunity,
        );
    }
    spent
}

fn check_everything(config: &Path, port: u16, budget: Budget) -> (Findings, Spent, usize) {
    let intents = read_intents(config);
    let whole = process::whole_ledger(port);
    let mut findings = Findings {
        unresolved: intents
            .iter()
            .filter(|i| !i.is_final())
            .map(|i| format!("intent left {}: {}", i.state, i.raw))
            .collect(),
        ..Findings::default()
    };
    let matching = match_orders(&intents, &whole, &mut findings);
    for (index, order) in &matching.matched {
        check_record(&intents[*index], order, &mut findings);
    }
    let spent = check_budgets(&intents, &matching, budget, &mut findings);
    (findings, spent, intents.len())
}

/// What the kills caught.
#[derive(Debug, Default)]
struct KillTally {
    /// Kills that left an intent `Sending`/`Unknown` that was not so after the
    /// previous kill: the kill caught a POST in flight (or its outcome unrecorded).
    during_posts: u32,
    /// Intents those kills caught in flight.
    intents_in_flight: usize,
    /// The intents in flight after the last kill (the next start reconciles them).
    last_in_flight: HashSet<(String, String)>,
}

impl KillTally {
    fn count(&mut self, intents: &[Intent]) {
        let in_flight: HashSet<(String, String)> = intents
            .iter()
            .filter(|i| i.in_flight())
            .map(|i| (i.key.clone(), i.raw["updated_at"].to_string()))
            .collect();
        let caught = in_flight.difference(&self.last_in_flight).count();
        if caught > 0 {
            self.during_posts += 1;
            self.intents_in_flight += caught;
        }
        self.last_in_flight = in_flight;
    }
}

fn run_cycle(config: &Path, port: u16, plan: CyclePlan, tally: &mut KillTally) {
    set_faults(
        port,
        json!({
            "drop_after_accept_rate": plan.drop_after_accept_rate,
            "latency_ms": plan.latency_ms,
        }),
    );
    let daemon = process::daemon(config, ENV, false);
    match plan.kill {
        KillMoment::AfterPosts { posts, then } => {
            let target = all_posts(port) + posts;
            process::run_and_kill(daemon, CYCLE_AT_MOST, || all_posts(port) >= target, then);
        }
        KillMoment::AfterDelay(delay) => {
            process::run_and_kill(daemon, delay, || false, Duration::ZERO);
        }
    }
    tally.count(&read_intents(config));
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text} is not a number")),
        Err(_) => default,
    }
}

fn assert_none(what: &str, found: &[String]) {
    assert!(
        found.is_empty(),
        "{} {what}:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn random_kills_over_all_four_platforms_never_double_leave_open_or_overspend() {
    let cycles: u32 = env_or(CYCLES_VAR, DEFAULT_CYCLES);
    let seed: u64 = env_or(SEED_VAR, DEFAULT_SEED);
    let started = Instant::now();
    let port = free_port();
    let _sandbox: KillOnDrop = process::start_sandbox(port, seed);
    let dir = tempfile::tempdir().unwrap();
    let budget = Budget::for_cycles(cycles);
    let config = write_config(dir.path(), port, budget);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tally = KillTally::default();
    for cycle in 0..cycles {
        write_strategies(dir.path(), &format!("cycle-{cycle}"));
        let plan = CyclePlan::draw(&mut rng);
        run_cycle(&config, port, plan, &mut tally);
    }
    set_faults(port, json!({}));
    let status = process::daemon(&config, ENV, true).status().unwrap();
    assert!(
        status.success(),
        "run --once after the last kill failed: {status}"
    );

    let (findings, spent, intent_count) = check_everything(&config, port, budget);
    println!(
        "crash-injection: seed {seed}, {cycles} cycles in {:.1}s; {} kills during in-flight POSTs ({} intents in flight); \
         {intent_count} intents, orders {:?}, ${} spent of ${} total / ${} daily; \
         double orders {}, unresolved {}, budget overruns {}, wrong records {}",
        started.elapsed().as_secs_f64(),
        tally.during_posts,
        tally.intents_in_flight,
        spent.orders_by_account,
        spent.total,
        budget.total_limit,
        budget.daily_limit,
        findings.double_orders.len(),
        findings.unresolved.len(),
        findings.overruns.len(),
        findings.wrong_records.len(),
    );
    assert_none("double orders", &findings.double_orders);
    assert_none("unresolved intents", &findings.unresolved);
    assert_none("budget overruns", &findings.overruns);
    assert_none(
        "intents recording another order than the platform's",
        &findings.wrong_records,
    );
    assert!(
        spent.orders_by_account.len() == ACCOUNTS.len(),
        "every platform must have been traded: {:?}",
        spent.orders_by_account
    );
}

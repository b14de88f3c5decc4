//! The FundAmerica emulator's in-memory market: offerings released over time (some
//! never accepting investments, each closing after its lifetime), investments with
//! their statuses, the rules an investment must meet (answered with the platform's
//! 422/403/404 bodies), the webhook log, and the ledger.
//!
//! Every method takes the current instant, so tests drive time by passing instants.
//! Amounts are integer cents; the wire prints them as the platform does.

use super::error::{FaError, FieldErrors};
use super::offerings::{fa_id, OfferingGenerator, OfferingTerms, OfferingType};
use super::wire::{self, InvestmentRecord, Ledger, OfferingView, SecurityView, WebhookLog};
use crate::sandbox::clock::SandboxClock;
use crate::sandbox::SandboxOptions;
use axum::http::StatusCode;
use chrono::SecondsFormat;
use md5::{Digest, Md5};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use tokio::time::Instant;

/// The API key the emulator refuses, so clients can exercise a 401.
pub(crate) const REFUSED_API_KEY: &str = "wrong";

/// The webhook verification key the emulator signs its webhook log with: the
/// placeholder secret the daemon uses for a sandboxed account without a key.
pub(crate) const VERIFICATION_KEY: &str = "sandbox";

/// The market RNG's stream (investment, entity and webhook ids).
const MARKET_RNG_STREAM: u64 = 0xFA02;

const PAYMENT_METHODS: [&str; 3] = ["ach", "check", "wire"];
const STATUSES: [&str; 6] = [
    "not_received",
    "received",
    "cancelled",
    "voided",
    "refunded",
    "invested",
];

/// The options that shape the FundAmerica market (shared with the other emulators:
/// offerings appear at the pace listings do).
#[derive(Debug, Clone)]
pub(crate) struct MarketSettings {
    pub seed: u64,
    pub initial_offerings: usize,
    pub offering_interval: Duration,
    pub max_offerings: usize,
    /// An offering closes this long after it opened.
    pub offering_lifetime: Duration,
}

impl From<&SandboxOptions> for MarketSettings {
    fn from(options: &SandboxOptions) -> Self {
        MarketSettings {
            seed: options.seed,
            initial_offerings: options.initial_listings,
            offering_interval: options.listing_interval,
            max_offerings: options.max_listings,
            offering_lifetime: options.listing_lifetime,
        }
    }
}

/// A released offering.
#[derive(Debug, Clone)]
struct Offering {
    terms: OfferingTerms,
    entity_id: String,
    /// Raised so far: others' money plus every investment not cancelled.
    subscribed_cents: i64,
    /// When it opened, measured from the sandbox start.
    released_after: Duration,
    /// Set by `PATCH /api/test_mode/offerings/:id`; overrides the generated state.
    accepting_override: Option<bool>,
}

impl Offering {
    fn escrow_status(&self, elapsed: Duration, lifetime: Duration) -> &'static str {
        if elapsed >= self.released_after.saturating_add(lifetime) {
            "closed"
        } else if self.accepting_override.unwrap_or(self.terms.accepting) {
            "opened"
        } else {
            "pending"
        }
    }

    fn room_cents(&self) -> i64 {
        self.terms.max_amount_cents - self.subscribed_cents
    }
}

/// The form fields of `POST /api/investments`, as sent (text, so a malformed value
/// gets the platform's 422).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct InvestmentParams {
    pub amount: Option<String>,
    /// An alias for `amount`.
    pub debt_face_value: Option<String>,
    pub offering_id: Option<String>,
    pub investor_id: Option<String>,
    pub entity_id: Option<String>,
    pub payment_method: Option<String>,
    pub ach_authorization_id: Option<String>,
    pub equity_share_count: Option<String>,
}

/// What a valid investment request amounts to.
struct Accepted {
    amount_cents: i64,
    share_count: Option<u64>,
    investor_id: String,
    payment_method: String,
}

/// Counters behind the ledger.
#[derive(Debug, Clone, Default)]
struct PostCounters {
    posts: u64,
    rejected: u64,
    rate_limited: u64,
    post_times_ms: Vec<u64>,
    cancellations: u64,
}

#[derive(Debug)]
pub(crate) struct Market {
    settings: MarketSettings,
    clock: SandboxClock,
    generator: OfferingGenerator,
    offerings: Vec<Offering>,
    offering_index: HashMap<String, usize>,
    security_index: HashMap<String, usize>,
    rng: ChaCha8Rng,
    investments: Vec<InvestmentRecord>,
    investment_index: HashMap<String, usize>,
    webhooks: Vec<WebhookLog>,
    counters: PostCounters,
}

impl Market {
    pub(crate) fn new(settings: MarketSettings, clock: SandboxClock) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(MARKET_RNG_STREAM);
        Market {
            generator: OfferingGenerator::new(settings.seed),
            offerings: Vec::new(),
            offering_index: HashMap::new(),
            security_index: HashMap::new(),
            rng,
            investments: Vec::new(),
            investment_index: HashMap::new(),
            webhooks: Vec::new(),
            counters: PostCounters::default(),
            settings,
            clock,
        }
    }

    /// Any non-empty API key is accepted, except the refused one.
    pub(crate) fn authorize(api_key: Option<&str>) -> Result<(), FaError> {
        match api_key {
            Some(key) if !key.is_empty() && key != REFUSED_API_KEY => Ok(()),
            _ => Err(FaError::Unauthorized),
        }
    }

    /// Every released offering, in release order.
    pub(crate) fn offerings(&mut self, now: Instant) -> Vec<OfferingView> {
        self.release_due(now);
        let elapsed = self.clock.elapsed(now);
        self.offerings
            .iter()
            .map(|o| self.view(o, elapsed))
            .collect()
    }

    pub(crate) fn offering(&mut self, id: &str, now: Instant) -> Result<OfferingView, FaError> {
        self.release_due(now);
        let index = self.offering_index_of(id)?;
        Ok(self.view(&self.offerings[index], self.clock.elapsed(now)))
    }

    pub(crate) fn security(&mut self, id: &str, now: Instant) -> Result<SecurityView, FaError> {
        self.release_due(now);
        let index = *self
            .security_index
            .get(id)
            .ok_or_else(|| FaError::NotFound("Security".into()))?;
        self.security_view(&self.offerings[index])
            .ok_or_else(|| FaError::NotFound("Security".into()))
    }

    /// The investments of one offering (every investor's), oldest first.
    pub(crate) fn offering_investments(
        &mut self,
        offering_id: &str,
        now: Instant,
    ) -> Result<Vec<InvestmentRecord>, FaError> {
        self.release_due(now);
        self.offering_index_of(offering_id)?;
        Ok(self
            .investments
            .iter()
            .filter(|i| i.offering_id == offering_id)
            .cloned()
            .collect())
    }

    pub(crate) fn investment(&self, id: &str) -> Result<InvestmentRecord, FaError> {
        Ok(self.investments[self.investment_index_of(id)?].clone())
    }

    /// `POST /api/investments`: the offering must exist (404) and accept investments
    /// (403); then every rule is checked at once (422); then the investment is made,
    /// `not_received`, and a `create` webhook is logged.
    pub(crate) fn create_investment(
        &mut self,
        params: &InvestmentParams,
        base: &str,
        now: Instant,
    ) -> Result<InvestmentRecord, FaError> {
        self.release_due(now);
        let offering_id = params
            .offering_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| FaError::invalid("investment", "offering_id", "can't be blank"))?;
        let index = self.offering_index_of(offering_id)?;
        let elapsed = self.clock.elapsed(now);
        let offering = &self.offerings[index];
        if offering.escrow_status(elapsed, self.settings.offering_lifetime) != "opened" {
            return Err(FaError::Forbidden(format!(
                "Offering {} is not accepting investments",
                offering.terms.name
            )));
        }
        let accepted = validate(offering, params).map_err(|fields| FaError::Invalid {
            object: "investment",
            fields,
        })?;
        let timestamp = self.timestamp(now);
        let record = InvestmentRecord {
            id: fa_id(&mut self.rng),
            offering_id: offering.terms.id.clone(),
            offering_name: offering.terms.name.clone(),
            investor_id: accepted.investor_id,
            amount_cents: accepted.amount_cents,
            share_count: accepted.share_count,
            share_price_cents: offering.terms.share_price_cents,
            payment_method: accepted.payment_method,
            status: "not_received",
            created_at: timestamp.clone(),
            updated_at: timestamp,
        };
        self.offerings[index].subscribed_cents += record.amount_cents;
        self.investment_index
            .insert(record.id.clone(), self.investments.len());
        self.investments.push(record.clone());
        self.log_webhook(&record, "create", &[], base, now);
        Ok(record)
    }

    /// `DELETE /api/investments/:id`: `not_received` becomes `voided`, `received`
    /// becomes `cancelled` (a refund follows); anything else is refused (403).
    pub(crate) fn cancel_investment(
        &mut self,
        id: &str,
        base: &str,
        now: Instant,
    ) -> Result<InvestmentRecord, FaError> {
        let index = self.investment_index_of(id)?;
        let next = match self.investments[index].status {
            "not_received" => "voided",
            "received" => "cancelled",
            other => {
                return Err(FaError::Forbidden(format!(
                    "Investment cannot be cancelled: its status is {other}"
                )))
            }
        };
        self.counters.cancellations += 1;
        Ok(self.set_status(index, next, base, now))
    }

    /// `PATCH /api/test_mode/investments/:id` with `status`: what customer service
    /// would do (any documented status).
    pub(crate) fn test_mode_investment_status(
        &mut self,
        id: &str,
        status: Option<&str>,
        base: &str,
        now: Instant,
    ) -> Result<InvestmentRecord, FaError> {
        let index = self.investment_index_of(id)?;
        let status = status
            .and_then(|word| STATUSES.iter().find(|s| **s == word))
            .ok_or_else(|| {
                FaError::invalid("investment", "status", "is not included in the list")
            })?;
        Ok(self.set_status(index, status, base, now))
    }

    /// `PATCH /api/test_mode/offerings/:id` with `accept_investments`.
    pub(crate) fn test_mode_accept_investments(
        &mut self,
        id: &str,
        accept: Option<&str>,
        now: Instant,
    ) -> Result<OfferingView, FaError> {
        self.release_due(now);
        let index = self.offering_index_of(id)?;
        let accept = match accept {
            Some("true") => true,
            Some("false") => false,
            _ => {
                return Err(FaError::invalid(
                    "offering",
                    "accept_investments",
                    "must be true or false",
                ))
            }
        };
        self.offerings[index].accepting_override = Some(accept);
        Ok(self.view(&self.offerings[index], self.clock.elapsed(now)))
    }

    pub(crate) fn webhook_logs(&self) -> Vec<WebhookLog> {
        self.webhooks.clone()
    }

    /// Notes the arrival of an investment POST, before anything else happens to it.
    pub(crate) fn record_post(&mut self, now: Instant) {
        self.counters.posts += 1;
        let at = self.clock.millis_since_start(now);
        self.counters.post_times_ms.push(at);
    }

    /// Notes how an investment POST was answered.
    pub(crate) fn record_post_outcome(&mut self, status: StatusCode) {
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.counters.rate_limited += 1;
        } else if status.is_client_error() {
            self.counters.rejected += 1;
        }
    }

    pub(crate) fn ledger(&self) -> Ledger {
        Ledger {
            investments: self
                .investments
                .iter()
                .map(InvestmentRecord::to_ledger)
                .collect(),
            posts: self.counters.posts,
            rejected: self.counters.rejected,
            rate_limited: self.counters.rate_limited,
            post_times_ms: self.counters.post_times_ms.clone(),
            cancellations: self.counters.cancellations,
            webhooks: self.webhooks.len(),
        }
    }

    fn set_status(
        &mut self,
        index: usize,
        status: &'static str,
        base: &str,
        now: Instant,
    ) -> InvestmentRecord {
        let releases_room = |s: &str| matches!(s, "cancelled" | "voided" | "refunded");
        let record = &mut self.investments[index];
        let was_holding_room = !releases_room(record.status);
        let holds_room = !releases_room(status);
        let amount = record.amount_cents;
        record.status = status;
        record.updated_at = self
            .clock
            .wall_time(now)
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let record = record.clone();
        if let Some(offering) = self
            .offering_index
            .get(&record.offering_id)
            .and_then(|i| self.offerings.get_mut(*i))
        {
            match (was_holding_room, holds_room) {
                (true, false) => offering.subscribed_cents -= amount,
                (false, true) => offering.subscribed_cents += amount,
                _ => {}
            }
        }
        self.log_webhook(&record, "update", &["status"], base, now);
        record
    }

    /// Logs the webhook the platform would send about `record`.
    fn log_webhook(
        &mut self,
        record: &InvestmentRecord,
        action: &str,
        changes: &[&str],
        base: &str,
        now: Instant,
    ) {
        let webhook_id = fa_id(&mut self.rng);
        let data = serde_json::json!({
            "object": "investment",
            "id": record.id,
            "url": format!("{base}/api/investments/{}", record.id),
            "webhook_id": webhook_id,
            "signature": signature(&webhook_id),
            "action": action,
            "changes": changes,
        });
        self.webhooks.push(WebhookLog {
            id: fa_id(&mut self.rng),
            data: data.to_string(),
            created_at: self.timestamp(now),
        });
    }

    /// Releases the offerings whose time has come: `initial_offerings` at the start,
    /// then one per `offering_interval`, up to `max_offerings`.
    fn release_due(&mut self, now: Instant) {
        let due = self.released_count(self.clock.elapsed(now));
        while self.offerings.len() < due {
            let terms = self.generator.next_offering();
            let released_after = self.release_offset(self.offerings.len());
            let index = self.offerings.len();
            self.offering_index.insert(terms.id.clone(), index);
            if let Some(security) = &terms.security_id {
                self.security_index.insert(security.clone(), index);
            }
            self.offerings.push(Offering {
                subscribed_cents: terms.subscribed_cents,
                entity_id: fa_id(&mut self.rng),
                terms,
                released_after,
                accepting_override: None,
            });
        }
    }

    fn released_count(&self, elapsed: Duration) -> usize {
        let settings = &self.settings;
        let since_start = if settings.offering_interval.is_zero() {
            settings.max_offerings
        } else {
            let intervals = elapsed.as_nanos() / settings.offering_interval.as_nanos();
            usize::try_from(intervals).unwrap_or(usize::MAX)
        };
        settings
            .initial_offerings
            .saturating_add(since_start)
            .min(settings.max_offerings)
    }

    fn release_offset(&self, index: usize) -> Duration {
        match index.checked_sub(self.settings.initial_offerings) {
            None => Duration::ZERO,
            Some(later) => {
                let intervals = u32::try_from(later + 1).unwrap_or(u32::MAX);
                self.settings.offering_interval.saturating_mul(intervals)
            }
        }
    }

    fn offering_index_of(&self, id: &str) -> Result<usize, FaError> {
        self.offering_index
            .get(id)
            .copied()
            .ok_or_else(|| FaError::NotFound("Offering".into()))
    }

    fn investment_index_of(&self, id: &str) -> Result<usize, FaError> {
        self.investment_index
            .get(id)
            .copied()
            .ok_or_else(|| FaError::NotFound("Investment".into()))
    }

    fn timestamp(&self, now: Instant) -> String {
        self.clock
            .wall_time(now)
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn view(&self, offering: &Offering, elapsed: Duration) -> OfferingView {
        let lifetime = self.settings.offering_lifetime;
        let status = offering.escrow_status(elapsed, lifetime);
        let terms = &offering.terms;
        let opened_at = self.clock.wall_time_at(offering.released_after);
        let closes_at = self
            .clock
            .wall_time_at(offering.released_after.saturating_add(lifetime));
        let print =
            |time: chrono::DateTime<chrono::Utc>| time.to_rfc3339_opts(SecondsFormat::Millis, true);
        OfferingView {
            id: terms.id.clone(),
            name: terms.name.clone(),
            offering_type: terms.offering_type.as_str(),
            accept_investments: status == "opened",
            escrow_status: status,
            amount_cents: terms.amount_cents,
            max_amount_cents: terms.max_amount_cents,
            min_amount_cents: terms.min_amount_cents,
            min_investment_cents: terms.min_investment_cents,
            max_investment_cents: terms.max_investment_cents,
            increment_cents: terms.increment_cents,
            funds_received_cents: offering.subscribed_cents,
            minimum_met: offering.subscribed_cents >= terms.min_amount_cents,
            regulatory_exemption: terms.regulatory_exemption,
            security: self.security_view(offering),
            entity_id: offering.entity_id.clone(),
            created_at: print(opened_at),
            opened_at: (status != "pending").then(|| print(opened_at)),
            closed_at: (status == "closed").then(|| print(closes_at)),
            escrow_closes_at: closes_at.format("%Y-%m-%d").to_string(),
        }
    }

    fn security_view(&self, offering: &Offering) -> Option<SecurityView> {
        let terms = &offering.terms;
        Some(SecurityView {
            id: terms.security_id.clone()?,
            offering_id: terms.id.clone(),
            name: terms.name.clone(),
            share_price_cents: terms.share_price_cents?,
            entity_id: offering.entity_id.clone(),
            created_at: self
                .clock
                .wall_time_at(offering.released_after)
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        })
    }
}

/// MD5 hex of the webhook id followed by the verification key.
fn signature(webhook_id: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(webhook_id.as_bytes());
    md5.update(VERIFICATION_KEY.as_bytes());
    hex::encode(md5.finalize())
}

/// Every rule an investment must meet, all reported at once.
fn validate(offering: &Offering, params: &InvestmentParams) -> Result<Accepted, FieldErrors> {
    let terms = &offering.terms;
    let mut errors = FieldErrors::new();
    let mut error = |field: &'static str, message: String| {
        errors.entry(field).or_default().push(message);
    };
    let amount_text = params
        .amount
        .as_deref()
        .or(params.debt_face_value.as_deref());
    let amount_cents = match amount_text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            error("amount", "can't be blank".into());
            None
        }
        Some(text) => match parse_cents(text) {
            Ok(cents) => Some(cents),
            Err(message) => {
                error("amount", message);
                None
            }
        },
    };
    if let Some(amount) = amount_cents {
        for message in limit_errors(terms, amount) {
            error("amount", message);
        }
        if amount > offering.room_cents() {
            error(
                "base",
                format!(
                    "amount exceeds the {} left in the offering",
                    wire::amount(offering.room_cents().max(0))
                ),
            );
        }
    }
    let payment_method = params.payment_method.clone().unwrap_or_default();
    if payment_method.is_empty() {
        error("payment_method", "can't be blank".into());
    } else if !PAYMENT_METHODS.contains(&payment_method.as_str()) {
        error("payment_method", "is not included in the list".into());
    }
    let blank = |value: &Option<String>| value.as_deref().is_none_or(|v| v.trim().is_empty());
    if payment_method == "ach" && blank(&params.ach_authorization_id) {
        error("ach_authorization_id", "can't be blank".into());
    }
    let investor_id = params
        .investor_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .or_else(|| params.entity_id.clone().filter(|id| !id.trim().is_empty()));
    if investor_id.is_none() {
        error("investor_id", "can't be blank".into());
    }
    let share_count = match terms.offering_type {
        OfferingType::Debt => None,
        OfferingType::Equity => match params.equity_share_count.as_deref().map(str::trim) {
            None | Some("") => {
                error("equity_share_count", "can't be blank".into());
                None
            }
            Some(text) => match parse_share_count(text) {
                Some(count) => Some(count),
                None => {
                    error(
                        "equity_share_count",
                        "must be a whole number greater than 0".into(),
                    );
                    None
                }
            },
        },
    };
    if let (Some(count), Some(price), Some(amount)) =
        (share_count, terms.share_price_cents, amount_cents)
    {
        let shares_cost = i64::try_from(count).ok().and_then(|c| c.checked_mul(price));
        if shares_cost != Some(amount) {
            error(
                "equity_share_count",
                format!(
                    "{count} shares at {} per share do not make {}",
                    wire::amount(price),
                    wire::amount(amount)
                ),
            );
        }
    }
    match (amount_cents, investor_id, errors.is_empty()) {
        (Some(amount_cents), Some(investor_id), true) => Ok(Accepted {
            amount_cents,
            share_count,
            investor_id,
            payment_method,
        }),
        _ => Err(errors),
    }
}

/// The offering's per-investment limits that `amount` breaks.
fn limit_errors(terms: &OfferingTerms, amount: i64) -> Vec<String> {
    let mut messages = Vec::new();
    if let Some(min) = terms.min_investment_cents {
        if amount < min {
            messages.push(format!(
                "must be greater than or equal to {}",
                wire::amount(min)
            ));
        }
    }
    if let Some(max) = terms.max_investment_cents {
        if amount > max {
            messages.push(format!(
                "must be less than or equal to {}",
                wire::amount(max)
            ));
        }
    }
    if let Some(increment) = terms.increment_cents {
        if amount % increment != 0 {
            messages.push(format!("must divide evenly by {}", wire::amount(increment)));
        }
    }
    messages
}

/// A positive dollar amount in whole cents.
fn parse_cents(text: &str) -> Result<i64, String> {
    let value = Decimal::from_str(text).map_err(|_| "is not a number".to_string())?;
    if value <= Decimal::ZERO {
        return Err("must be greater than 0".into());
    }
    let cents = value * Decimal::ONE_HUNDRED;
    if !cents.fract().is_zero() {
        return Err("must be a whole number of cents".into());
    }
    cents.to_i64().ok_or_else(|| "is too large".to_string())
}

/// A positive whole number of shares; "10" and "10.0" both count.
fn parse_share_count(text: &str) -> Option<u64> {
    let value = Decimal::from_str(text).ok()?;
    if !value.fract().is_zero() || value <= Decimal::ZERO {
        return None;
    }
    value.to_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://sandbox.test/fundamerica";

    fn market(initial: usize) -> (Market, SandboxClock) {
        let clock = SandboxClock::start(None);
        let settings = MarketSettings {
            seed: 5,
            initial_offerings: initial,
            offering_interval: Duration::from_secs(10),
            max_offerings: 100,
            offering_lifetime: Duration::from_secs(600),
        };
        (Market::new(settings, clock), clock)
    }

    fn find(
        market: &mut Market,
        now: Instant,
        test: impl Fn(&OfferingTerms) -> bool,
    ) -> OfferingTerms {
        market.release_due(now);
        market
            .offerings
            .iter()
            .find(|o| o.terms.accepting && test(&o.terms))
            .map(|o| o.terms.clone())
            .expect("the seed has such an offering")
    }

    fn params(offering: &OfferingTerms, amount: &str, shares: Option<&str>) -> InvestmentParams {
        InvestmentParams {
            amount: Some(amount.into()),
            offering_id: Some(offering.id.clone()),
            investor_id: Some("inv-1".into()),
            payment_method: Some("ach".into()),
            ach_authorization_id: Some("ach-1".into()),
            equity_share_count: shares.map(str::to_string),
            ..InvestmentParams::default()
        }
    }

    fn invalid_fields(error: FaError) -> FieldErrors {
        match error {
            FaError::Invalid { object, fields } => {
                assert_eq!(object, "investment");
                fields
            }
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn offerings_appear_over_time_and_close_after_their_lifetime() {
        let (mut market, clock) = market(3);
        assert_eq!(market.offerings(clock.at(Duration::ZERO)).len(), 3);
        assert_eq!(market.offerings(clock.at(Duration::from_secs(25))).len(), 5);
        let later = market.offerings(clock.at(Duration::from_secs(601)));
        assert_eq!(later[0].escrow_status, "closed");
        assert!(!later[0].accept_investments);
        assert!(later[0].closed_at.is_some());
        assert_ne!(later.last().map(|o| o.escrow_status), Some("closed"));
    }

    #[test]
    fn a_valid_equity_investment_is_made_and_fills_the_offering() {
        let (mut market, clock) = market(40);
        let now = clock.at(Duration::ZERO);
        let offering = find(&mut market, now, |t| {
            t.offering_type == OfferingType::Equity
                && t.min_investment_cents.is_none()
                && t.increment_cents.is_none()
                && t.max_amount_cents - t.subscribed_cents > 1_000_000
        });
        let price = offering.share_price_cents.unwrap();
        let amount = wire::amount(price * 3);
        let made = market
            .create_investment(&params(&offering, &amount, Some("3")), BASE, now)
            .unwrap();
        assert_eq!(made.status, "not_received");
        assert_eq!(made.amount_cents, price * 3);
        assert_eq!(made.share_count, Some(3));
        let view = market.offering(&offering.id, now).unwrap();
        assert_eq!(
            view.funds_received_cents,
            offering.subscribed_cents + price * 3
        );
        assert_eq!(market.webhook_logs().len(), 1);
        assert_eq!(market.ledger().investments.len(), 1);
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let (mut market, clock) = market(40);
        let now = clock.at(Duration::ZERO);
        let offering = find(&mut market, now, |t| {
            t.offering_type == OfferingType::Equity && t.share_price_cents.unwrap_or(0) >= 500
        });
        let mut bad = params(&offering, "0.5", Some("2.5"));
        bad.payment_method = Some("paypal".into());
        bad.investor_id = None;
        let fields = invalid_fields(market.create_investment(&bad, BASE, now).unwrap_err());
        assert_eq!(
            fields.keys().copied().collect::<Vec<_>>(),
            [
                "amount",
                "equity_share_count",
                "investor_id",
                "payment_method"
            ]
        );
        let mut missing_ach = params(&offering, "", None);
        missing_ach.ach_authorization_id = None;
        let fields = invalid_fields(
            market
                .create_investment(&missing_ach, BASE, now)
                .unwrap_err(),
        );
        assert_eq!(fields["amount"], ["can't be blank"]);
        assert_eq!(fields["ach_authorization_id"], ["can't be blank"]);
        assert_eq!(fields["equity_share_count"], ["can't be blank"]);
        assert!(market.ledger().investments.is_empty());
    }

    #[test]
    fn limits_increments_share_counts_and_room_are_enforced() {
        let (mut market, clock) = market(200);
        let now = clock.at(Duration::ZERO);
        let limited = find(&mut market, now, |t| {
            t.offering_type == OfferingType::Debt
                && t.min_investment_cents.is_some()
                && t.max_investment_cents.is_some()
                && t.increment_cents.is_some()
        });
        let min = limited.min_investment_cents.unwrap();
        let max = limited.max_investment_cents.unwrap();
        let increment = limited.increment_cents.unwrap();
        let below = invalid_fields(
            market
                .create_investment(&params(&limited, &wire::amount(min - 1), None), BASE, now)
                .unwrap_err(),
        );
        assert_eq!(
            below["amount"],
            [
                format!("must be greater than or equal to {}", wire::amount(min)),
                format!("must divide evenly by {}", wire::amount(increment)),
            ]
        );
        let above = invalid_fields(
            market
                .create_investment(
                    &params(&limited, &wire::amount(max + increment), None),
                    BASE,
                    now,
                )
                .unwrap_err(),
        );
        assert!(above["amount"][0].starts_with("must be less than or equal to"));
        let uneven = invalid_fields(
            market
                .create_investment(&params(&limited, &wire::amount(min + 1), None), BASE, now)
                .unwrap_err(),
        );
        assert_eq!(
            uneven["amount"],
            [format!("must divide evenly by {}", wire::amount(increment))]
        );

        let equity = find(&mut market, now, |t| {
            t.offering_type == OfferingType::Equity
                && t.increment_cents.is_none()
                && t.min_investment_cents.is_none()
        });
        let price = equity.share_price_cents.unwrap();
        let mismatch = invalid_fields(
            market
                .create_investment(
                    &params(&equity, &wire::amount(price * 2), Some("3")),
                    BASE,
                    now,
                )
                .unwrap_err(),
        );
        assert!(mismatch["equity_share_count"][0].contains("do not make"));

        let nearly_full = find(&mut market, now, |t| {
            t.offering_type == OfferingType::Debt
                && t.min_investment_cents.is_none()
                && t.max_investment_cents.is_none()
                && t.increment_cents.is_none()
                && t.max_amount_cents - t.subscribed_cents < 2_000_000
        });
        let room = nearly_full.max_amount_cents - nearly_full.subscribed_cents;
        let too_much = invalid_fields(
            market
                .create_investment(
                    &params(&nearly_full, &wire::amount(room + 100), None),
                    BASE,
                    now,
                )
                .unwrap_err(),
        );
        assert!(too_much["base"][0].starts_with("amount exceeds the"));
        assert!(market
            .create_investment(&params(&nearly_full, &wire::amount(room), None), BASE, now)
            .is_ok());
    }

    #[test]
    fn unknown_and_closed_offerings_are_refused_with_404_and_403() {
        let (mut market, clock) = market(40);
        let now = clock.at(Duration::ZERO);
        let mut unknown = InvestmentParams {
            offering_id: Some("nope".into()),
            ..InvestmentParams::default()
        };
        assert_eq!(
            market.create_investment(&unknown, BASE, now).unwrap_err(),
            FaError::NotFound("Offering".into())
        );
        market.release_due(now);
        let pending = market
            .offerings
            .iter()
            .find(|o| !o.terms.accepting)
            .map(|o| o.terms.id.clone())
            .unwrap();
        unknown.offering_id = Some(pending);
        assert!(matches!(
            market.create_investment(&unknown, BASE, now).unwrap_err(),
            FaError::Forbidden(_)
        ));
    }

    #[test]
    fn cancelling_voids_and_releases_the_room_once() {
        let (mut market, clock) = market(40);
        let now = clock.at(Duration::ZERO);
        let offering = find(&mut market, now, |t| {
            t.offering_type == OfferingType::Debt
                && t.min_investment_cents.is_none()
                && t.increment_cents.is_none()
                && t.max_amount_cents - t.subscribed_cents > 100_000
        });
        let made = market
            .create_investment(&params(&offering, "1000.00", None), BASE, now)
            .unwrap();
        let voided = market.cancel_investment(&made.id, BASE, now).unwrap();
        assert_eq!(voided.status, "voided");
        let view = market.offering(&offering.id, now).unwrap();
        assert_eq!(view.funds_received_cents, offering.subscribed_cents);
        assert!(matches!(
            market.cancel_investment(&made.id, BASE, now).unwrap_err(),
            FaError::Forbidden(_)
        ));
        assert_eq!(
            market.cancel_investment("missing", BASE, now).unwrap_err(),
            FaError::NotFound("Investment".into())
        );
        assert_eq!(market.ledger().cancellations, 1);
        // create, update (voided)
        assert_eq!(market.webhook_logs().len(), 2);
    }

    #[test]
    fn webhook_signatures_use_the_sandbox_verification_key() {
        // md5("w1sandbox"), computed outside this code base.
        assert_eq!(signature("w1"), "3c8ef12a29596327e3efaff679eb384d");
    }

    #[test]
    fn amounts_and_share_counts_parse_strictly() {
        assert_eq!(parse_cents("1000"), Ok(100_000));
        assert_eq!(parse_cents("1000.5"), Ok(100_050));
        assert!(parse_cents("10.001").is_err());
        assert!(parse_cents("-1").is_err());
        assert!(parse_cents("abc").is_err());
        assert_eq!(parse_share_count("10.0"), Some(10));
        assert_eq!(parse_share_count("10.5"), None);
        assert_eq!(parse_share_count("0"), None);
    }
}

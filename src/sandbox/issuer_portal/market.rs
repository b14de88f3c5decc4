//! The issuer-portal emulator's in-memory state: offerings released over time,
//! third-party sessions, investments with the platform's per-investment rules, and the
//! ledger.
//!
//! Every method takes the current instant, so tests drive time by passing instants.
//! Money is integer cents; quantities are whole shares.

use super::error::{IpError, REQUIRED};
use super::offerings::{OfferingGenerator, OfferingTerms};
use super::wire::{
    dollars, CreatedInvestment, Investor, Ledger, ListedInvestment, Offering, OfferingSummary,
    Session,
};
use crate::sandbox::clock::SandboxClock;
use crate::sandbox::SandboxOptions;
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;

/// The one password the emulator refuses, so clients can exercise a failed login.
pub(crate) const REFUSED_PASSWORD: &str = "wrong";

/// The one API key the emulator refuses.
pub(crate) const REFUSED_API_KEY: &str = "wrong";

pub(crate) const OPENED: &str = "opened";
const CLOSED: &str = "closed";
const PAUSED: &str = "paused";

/// Offering statuses of the seed document (the `status` filter's choices).
const OFFERING_STATUSES: [&str; 5] = ["incomplete", "pending", OPENED, CLOSED, PAUSED];

/// `requested_payment_method` choices of the seed document.
const PAYMENT_METHODS: [&str; 5] = ["card", "wire", "ira", "other", "crypto"];

/// Every investment the sandbox makes starts here (the first status of the seed).
const STARTED: &str = "started";

/// The offering's deadline, this many days after it opened.
const DEADLINE_DAYS: i64 = 90;

/// The market RNG's stream (tokens, reference ids), apart from the generators'.
const MARKET_RNG_STREAM: u64 = 0x15F0;

/// The options that shape the issuer-portal market (shared with the other emulators:
/// offerings are released like listings).
#[derive(Debug, Clone)]
pub(crate) struct MarketSettings {
    pub seed: u64,
    pub initial_offerings: usize,
    pub offering_interval: Duration,
    pub max_offerings: usize,
    /// An offering closes this long after it opened.
    pub offering_lifetime: Duration,
    pub token_lifetime: Duration,
}

impl From<&SandboxOptions> for MarketSettings {
    fn from(options: &SandboxOptions) -> Self {
        MarketSettings {
            seed: options.seed,
            initial_offerings: options.initial_listings,
            offering_interval: options.listing_interval,
            max_offerings: options.max_listings,
            offering_lifetime: options.listing_lifetime,
            token_lifetime: options.token_lifetime,
        }
    }
}

/// A released offering.
#[derive(Debug, Clone)]
struct Released {
    terms: OfferingTerms,
    shares_sold: i64,
    /// When it opened, measured from the sandbox start.
    released_after: Duration,
}

impl Released {
    fn status(&self, elapsed: Duration, lifetime: Duration) -> &'static str {
        if self.terms.paused {
            PAUSED
        } else if self.remaining_shares() == 0
            || elapsed >= self.released_after.saturating_add(lifetime)
        {
            CLOSED
        } else {
            OPENED
        }
    }

    fn remaining_shares(&self) -> i64 {
        self.terms.number_of_shares - self.shares_sold
    }

    /// The platform's per-investment rules for `quantity` shares; the amount in cents.
    fn check_quantity(&self, quantity: i64) -> Result<i64, IpError> {
        let terms = &self.terms;
        let refuse = |message: String| IpError::field("quantity", message);
        let amount = quantity
            .checked_mul(terms.unit_price_cents)
            .ok_or_else(|| {
                refuse("Ensure this value is less than or equal to 2147483647.".into())
            })?;
        if let Some(min) = terms.min_investment_cents.filter(|min| amount < *min) {
            return Err(refuse(format!(
                "The investment amount {} is below the minimum investment amount of {}.",
                dollars(amount),
                dollars(min)
            )));
        }
        if let Some(max) = terms.max_investment_cents.filter(|max| amount > *max) {
            return Err(refuse(format!(
                "The investment amount {} is above the maximum investment amount of {}.",
                dollars(amount),
                dollars(max)
            )));
        }
        if let Some(step) = terms.increment_cents.filter(|step| amount % step != 0) {
            return Err(refuse(format!(
                "The investment amount {} is not a multiple of the investment increment amount of {}.",
                dollars(amount),
                dollars(step)
            )));
        }
        if quantity > self.remaining_shares() {
            return Err(refuse(format!(
                "Only {} shares remain in this offering.",
                self.remaining_shares()
            )));
        }
        Ok(amount)
    }
}

/// An investment made in the sandbox.
#[derive(Debug, Clone)]
struct Investment {
    id: u64,
    offering: u64,
    investor: u64,
    quantity: i64,
    amount_cents: i64,
    requested_payment_method: String,
    reference_id: String,
    created_at: String,
}

/// A third-party session.
#[derive(Debug, Clone)]
struct SessionRecord {
    email: String,
    issued: Instant,
}

/// Which investments `GET /api_third_party/investments/` asks for (`None`: any).
#[derive(Debug, Clone, Default)]
pub(crate) struct InvestmentFilter {
    pub offerings: Option<Vec<u64>>,
    pub investors: Option<Vec<u64>>,
}

/// Counters behind the ledger.
#[derive(Debug, Clone, Default)]
struct Counters {
    posts: u64,
    rejected: u64,
    rate_limited: u64,
    post_times_ms: Vec<u64>,
    logins: u64,
    logouts: u64,
}

#[derive(Debug)]
pub(crate) struct Market {
    settings: MarketSettings,
    clock: SandboxClock,
    generator: OfferingGenerator,
    /// Released offerings, in release order.
    offerings: Vec<Released>,
    index_by_id: HashMap<u64, usize>,
    rng: ChaCha8Rng,
    sessions: HashMap<String, SessionRecord>,
    investments: Vec<Investment>,
    next_investment_id: u64,
    counters: Counters,
}

impl Market {
    pub(crate) fn new(settings: MarketSettings, clock: SandboxClock) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(MARKET_RNG_STREAM);
        Market {
            generator: OfferingGenerator::new(settings.seed),
            offerings: Vec::new(),
            index_by_id: HashMap::new(),
            rng,
            sessions: HashMap::new(),
            investments: Vec::new(),
            next_investment_id: 5_001,
            counters: Counters::default(),
            settings,
            clock,
        }
    }

    /// The issuer API accepts any key except the refused one.
    pub(crate) fn check_api_key(&self, key: Option<&str>) -> Result<(), IpError> {
        match key.map(str::trim) {
            None | Some("") => Err(IpError::ApiKeyMissing),
            Some(REFUSED_API_KEY) => Err(IpError::ApiKeyRefused),
            Some(_) => Ok(()),
        }
    }

    /// `POST /api_third_party/auth/login/`: any email and password open a session,
    /// except the refused password.
    pub(crate) fn login(&mut self, body: &Value, now: Instant) -> Result<Session, IpError> {
        let mut errors = BTreeMap::new();
        let email = string_field(body, "email", &mut errors);
        let password = string_field(body, "password", &mut errors);
        let (Some(email), Some(password)) = (email, password) else {
            return Err(IpError::Invalid(errors));
        };
        if password == REFUSED_PASSWORD {
            return Err(IpError::field(
                "non_field_errors",
                "Unable to log in with provided credentials.",
            ));
        }
        let lifetime = self.settings.token_lifetime;
        self.sessions
            .retain(|_, session| now.saturating_duration_since(session.issued) < lifetime);
        let token = hex::encode(self.rng.random::<[u8; 32]>());
        self.sessions
            .insert(token.clone(), SessionRecord { email, issued: now });
        self.counters.logins += 1;
        let expiry = self.clock.wall_time(now)
            + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        Ok(Session {
            token,
            expiry: expiry.to_rfc3339_opts(SecondsFormat::Millis, true),
        })
    }

    pub(crate) fn authorize(&self, token: Option<&str>, now: Instant) -> Result<(), IpError> {
        let token = token.ok_or(IpError::NotAuthenticated)?;
        let session = self.sessions.get(token).ok_or(IpError::InvalidToken)?;
        if now.saturating_duration_since(session.issued) >= self.settings.token_lifetime {
            return Err(IpError::InvalidToken);
        }
        Ok(())
    }

    /// Deletes this session's token (`logout/`) or every token of its user (`logoutall/`).
    pub(crate) fn logout(&mut self, token: &str, everywhere: bool) {
        let Some(session) = self.sessions.remove(token) else {
            return;
        };
        if everywhere {
            self.sessions
                .retain(|_, other| other.email != session.email);
        }
        self.counters.logouts += 1;
    }

    /// Every released offering with one of these statuses (any status when `None`),
    /// in release order.
    pub(crate) fn offerings(&mut self, statuses: Option<&[String]>, now: Instant) -> Vec<Offering> {
        self.release_due(now);
        let elapsed = self.clock.elapsed(now);
        self.offerings
            .iter()
            .filter(|o| {
                let status = o.status(elapsed, self.settings.offering_lifetime);
                statuses.is_none_or(|wanted| wanted.iter().any(|s| s == status))
            })
            .map(|o| self.offering_json(o, elapsed))
            .collect()
    }

    pub(crate) fn offering(&mut self, id: u64, now: Instant) -> Result<Offering, IpError> {
        self.release_due(now);
        let index = self.index_by_id.get(&id).ok_or(IpError::NotFound)?;
        Ok(self.offering_json(&self.offerings[*index], self.clock.elapsed(now)))
    }

    /// Checks a `status` filter's values against the seed's choices.
    pub(crate) fn check_statuses(statuses: &[String]) -> Result<(), IpError> {
        match statuses
            .iter()
            .find(|s| !OFFERING_STATUSES.contains(&s.as_str()))
        {
            Some(bad) => Err(IpError::field(
                "status",
                format!("Select a valid choice. {bad} is not one of the available choices."),
            )),
            None => Ok(()),
        }
    }

    /// `POST /api_third_party/investments/`: validates every field (all errors at
    /// once), then the offering's state and the per-investment rules, then invests.
    pub(crate) fn invest(
        &mut self,
        body: &Value,
        now: Instant,
    ) -> Result<CreatedInvestment, IpError> {
        self.release_due(now);
        let mut errors = BTreeMap::new();
        let quantity = quantity_field(body, &mut errors);
        let offering_id = pk_field(body, "offering", &mut errors)
            .filter(|id| self.check_offering_exists(*id, &mut errors));
        let investor = pk_field(body, "investor", &mut errors);
        let method = choice_field(
            body,
            "requested_payment_method",
            &PAYMENT_METHODS,
            &mut errors,
        );
        let (Some(quantity), Some(offering_id), Some(investor), Some(method)) =
            (quantity, offering_id, investor, method)
        else {
            return Err(IpError::Invalid(errors));
        };
        let index = self.index_by_id[&offering_id];
        let offering = &self.offerings[index];
        let status = offering.status(self.clock.elapsed(now), self.settings.offering_lifetime);
        if status != OPENED || offering.terms.offering_type == "test_the_waters" {
            return Err(IpError::field(
                "offering",
                "This offering is not accepting investments.",
            ));
        }
        let amount_cents = offering.check_quantity(quantity)?;
        self.offerings[index].shares_sold += quantity;
        let investment = Investment {
            id: self.next_investment_id,
            offering: offering_id,
            investor,
            quantity,
            amount_cents,
            requested_payment_method: method,
            reference_id: hex::encode(self.rng.random::<[u8; 6]>()).to_uppercase(),
            created_at: timestamp(self.clock.wall_time(now)),
        };
        self.next_investment_id += 1;
        let created = created_json(&investment);
        self.investments.push(investment);
        Ok(created)
    }

    /// The investments matching `filter`, oldest first.
    pub(crate) fn investments(&self, filter: &InvestmentFilter) -> Vec<ListedInvestment> {
        let matches = |wanted: &Option<Vec<u64>>, value: u64| {
            wanted.as_ref().is_none_or(|ids| ids.contains(&value))
        };
        self.investments
            .iter()
            .filter(|i| {
                matches(&filter.offerings, i.offering) && matches(&filter.investors, i.investor)
            })
            .map(|i| self.listed_json(i))
            .collect()
    }

    /// Notes the arrival of an investment POST, before anything else happens to it.
    pub(crate) fn record_investment_post(&mut self, now: Instant) {
        self.counters.posts += 1;
        let at = self.clock.millis_since_start(now);
        self.counters.post_times_ms.push(at);
    }

    /// Notes how an investment POST was answered.
    pub(crate) fn record_investment_outcome(&mut self, status: StatusCode) {
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
                .map(|i| self.listed_json(i))
                .collect(),
            posts: self.counters.posts,
            rejected: self.counters.rejected,
            rate_limited: self.counters.rate_limited,
            post_times_ms: self.counters.post_times_ms.clone(),
            logins: self.counters.logins,
            logouts: self.counters.logouts,
        }
    }

    fn check_offering_exists(&self, id: u64, errors: &mut BTreeMap<String, Vec<String>>) -> bool {
        let exists = self.index_by_id.contains_key(&id);
        if !exists {
            add_error(
                errors,
                "offering",
                format!("Invalid pk \"{id}\" - object does not exist."),
            );
        }
        exists
    }

    /// Releases the offerings whose time has come: `initial_offerings` at the start,
    /// then one per `offering_interval`, up to `max_offerings`.
    fn release_due(&mut self, now: Instant) {
        let due = self.released_count(self.clock.elapsed(now));
        while self.offerings.len() < due {
            let terms = self.generator.next_offering();
            let released_after = self.release_offset(self.offerings.len());
            self.index_by_id.insert(terms.id, self.offerings.len());
            self.offerings.push(Released {
                shares_sold: terms.shares_sold,
                terms,
                released_after,
            });
        }
    }

    fn released_count(&self, elapsed: Duration) -> usize {
        let settings = &self.settings;
        let released_since_start = if settings.offering_interval.is_zero() {
            settings.max_offerings
        } else {
            let intervals = elapsed.as_nanos() / settings.offering_interval.as_nanos();
            usize::try_from(intervals).unwrap_or(usize::MAX)
        };
        settings
            .initial_offerings
            .saturating_add(released_since_start)
            .min(settings.max_offerings)
    }

    /// When the offering at `index` (in release order) opens.
    fn release_offset(&self, index: usize) -> Duration {
        match index.checked_sub(self.settings.initial_offerings) {
            None => Duration::ZERO,
            Some(later) => {
                let intervals = u32::try_from(later + 1).unwrap_or(u32::MAX);
                self.settings.offering_interval.saturating_mul(intervals)
            }
        }
    }

    fn offering_json(&self, offering: &Released, elapsed: Duration) -> Offering {
        let terms = &offering.terms;
        let opened = self.clock.wall_time_at(offering.released_after);
        let raise_cents = terms.number_of_shares * terms.unit_price_cents;
        Offering {
            id: terms.id,
            issuer: terms.issuer,
            name: terms.name.clone(),
            offering_type: terms.offering_type,
            status: offering.status(elapsed, self.settings.offering_lifetime),
            description: format!("{} raises capital in the sandbox.", terms.name),
            security_type: terms.security_type,
            share_or_unit: "Shares",
            dollar_amount_investment: false,
            unit_price: dollars(terms.unit_price_cents),
            administrative_fees: dollars(0),
            administrative_fees_paid_by_investor: false,
            number_of_shares: terms.number_of_shares,
            max_investment_amount: terms.max_investment_cents.map(dollars),
            min_investment_amount: terms.min_investment_cents.map(dollars),
            investment_increment_amount: terms.increment_cents.map(dollars),
            minimum_wire_transfer_amount: None,
            contact_email: format!("issuer{}@sandbox.example", terms.issuer),
            accredited_investors: true,
            non_accredited_investors: terms.non_accredited_investors(),
            slug: slug(&terms.name, terms.id),
            support_email: "support@sandbox.example".to_string(),
            default_timezone: "US/Pacific",
            auto_approve_investments: true,
            auto_accept_investments: false,
            minimum_amount_raised: dollars(raise_cents / 10),
            maximum_amount_raised: dollars(raise_cents),
            reg_cf_fee_percentage: (terms.offering_type == "reg_cf").then(|| dollars(500)),
            archived: false,
            investors_excluded_countries: Vec::new(),
            investors_included_countries: vec!["US"],
            deadline_date: (opened + chrono::Duration::days(DEADLINE_DAYS))
                .format("%Y-%m-%d")
                .to_string(),
            created_at: timestamp(opened - chrono::Duration::days(30)),
            opened_at: timestamp(opened),
        }
    }

    fn summary_json(&self, offering_id: u64) -> OfferingSummary {
        let terms = &self.offerings[self.index_by_id[&offering_id]].terms;
        OfferingSummary {
            id: terms.id,
            name: terms.name.clone(),
            offering_type: terms.offering_type,
            slug: slug(&terms.name, terms.id),
            dollar_amount_investment: false,
            share_or_unit: "Shares",
            upload_id_required: false,
            issuer_broker_control: false,
        }
    }

    fn listed_json(&self, investment: &Investment) -> ListedInvestment {
        let amount = dollars(investment.amount_cents);
        ListedInvestment {
            id: investment.id,
            quantity: investment.quantity,
            price: amount.clone(),
            price_fees: dollars(0),
            price_payment_processing_fees: dollars(0),
            amount: amount.clone(),
            status: STARTED,
            payment_intent_id: None,
            offering: self.summary_json(investment.offering),
            reference_id: investment.reference_id.clone(),
            investor_individual_name: "Sandbox Investor".to_string(),
            investor: Investor::sandbox(investment.investor),
            payment_method: None,
            created_at: investment.created_at.clone(),
            updated_at: investment.created_at.clone(),
            has_investor_signed: false,
            requested_payment_method: investment.requested_payment_method.clone(),
            bonus_shares: 0,
            shares_amount: amount.clone(),
            quantity_qualified_shares: investment.quantity,
            price_qualified_shares: amount,
        }
    }
}

fn created_json(investment: &Investment) -> CreatedInvestment {
    let amount = dollars(investment.amount_cents);
    CreatedInvestment {
        id: investment.id,
        quantity: investment.quantity,
        offering: investment.offering,
        investor: Investor::sandbox(investment.investor),
        payment_intent_client_secret: None,
        requested_payment_method: investment.requested_payment_method.clone(),
        amount: amount.clone(),
        price_fees: dollars(0),
        price_payment_processing_fees: dollars(0),
        receive_sms: false,
        utm_parameters: None,
        shares_amount: amount.clone(),
        bonus_shares: 0,
        quantity_qualified_shares: investment.quantity,
        price_qualified_shares: amount,
    }
}

/// Timestamps as the seed prints them: `2025-07-25T14:28:10.580Z`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn slug(name: &str, id: u64) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{}-{id}", words.join("-"))
}

fn add_error(errors: &mut BTreeMap<String, Vec<String>>, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}

/// A required string field (DRF `CharField`).
fn string_field(
    body: &Value,
    name: &str,
    errors: &mut BTreeMap<String, Vec<String>>,
) -> Option<String> {
    match body.get(name) {
        None => add_error(errors, name, REQUIRED),
        Some(Value::Null) => add_error(errors, name, "This field may not be null."),
        Some(Value::String(text)) if text.trim().is_empty() => {
            add_error(errors, name, "This field may not be blank.")
        }
        Some(Value::String(text)) => return Some(text.clone()),
        Some(_) => add_error(errors, name, "Not a valid string."),
    }
    None
}

/// DRF's `IntegerField` takes integers and integer strings.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn quantity_field(body: &Value, errors: &mut BTreeMap<String, Vec<String>>) -> Option<i64> {
    let value = match body.get("quantity") {
        None | Some(Value::Null) => {
            add_error(errors, "quantity", REQUIRED);
            return None;
        }
        Some(value) => value,
    };
    match integer(value) {
        Some(quantity) if quantity >= 1 => Some(quantity),
        Some(_) => {
            add_error(
                errors,
                "quantity",
                "Ensure this value is greater than or equal to 1.",
            );
            None
        }
        None => {
            add_error(errors, "quantity", "A valid integer is required.");
            None
        }
    }
}

/// A related object's primary key (DRF `PrimaryKeyRelatedField`).
fn pk_field(body: &Value, name: &str, errors: &mut BTreeMap<String, Vec<String>>) -> Option<u64> {
    let value = match body.get(name) {
        None | Some(Value::Null) => {
            add_error(errors, name, REQUIRED);
            return None;
        }
        Some(value) => value,
    };
    match integer(value) {
        Some(id) if id >= 1 => u64::try_from(id).ok(),
        Some(id) => {
            add_error(
                errors,
                name,
                format!("Invalid pk \"{id}\" - object does not exist."),
            );
            None
        }
        None => {
            let kind = match value {
                Value::String(_) => "str",
                Value::Bool(_) => "bool",
                Value::Array(_) => "list",
                Value::Object(_) => "dict",
                _ => "float",
            };
            add_error(
                errors,
                name,
                format!("Incorrect type. Expected pk value, received {kind}."),
            );
            None
        }
    }
}

fn choice_field(
    body: &Value,
    name: &str,
    choices: &[&str],
    errors: &mut BTreeMap<String, Vec<String>>,
) -> Option<String> {
    let text = string_field(body, name, errors)?;
    if choices.contains(&text.as_str()) {
        Some(text)
    } else {
        add_error(errors, name, format!("\"{text}\" is not a valid choice."));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECOND: Duration = Duration::from_secs(1);

    fn settings() -> MarketSettings {
        MarketSettings {
            seed: 42,
            initial_offerings: 20,
            offering_interval: 2 * SECOND,
            max_offerings: 25,
            offering_lifetime: 600 * SECOND,
            token_lifetime: 3600 * SECOND,
        }
    }

    fn market() -> (Market, SandboxClock) {
        let clock = SandboxClock::start(None);
        (Market::new(settings(), clock), clock)
    }

    fn opened() -> Option<Vec<String>> {
        Some(vec![OPENED.to_string()])
    }

    /// The first open offering that takes investments and has `check`'s terms.
    fn open_offering(
        market: &mut Market,
        now: Instant,
        check: impl Fn(&Offering) -> bool,
    ) -> Offering {
        market
            .offerings(opened().as_deref(), now)
            .into_iter()
            .filter(|o| o.offering_type != "test_the_waters")
            .find(check)
            .expect("the seed has such an offering")
    }

    fn cents(text: &str) -> i64 {
        let value: rust_decimal::Decimal = text.parse().unwrap();
        rust_decimal::prelude::ToPrimitive::to_i64(&(value * rust_decimal::Decimal::ONE_HUNDRED))
            .unwrap()
    }

    /// Shares worth at least the minimum and a whole multiple of the increment.
    fn valid_quantity(offering: &Offering) -> i64 {
        let price = cents(&offering.unit_price);
        let step = offering
            .investment_increment_amount
            .as_deref()
            .map_or(price, cents);
        let min = offering
            .min_investment_amount
            .as_deref()
            .map_or(step, cents);
        let amount = (min + step - 1) / step * step;
        amount / price
    }

    fn body(quantity: Value, offering: u64) -> Value {
        json!({"quantity": quantity, "offering": offering, "investor": 7, "requested_payment_method": "wire"})
    }

    #[test]
    fn offerings_open_over_time_and_close_after_their_lifetime() {
        let (mut market, clock) = market();
        let count = |market: &mut Market, secs: u64| {
            market
                .offerings(None, clock.at(Duration::from_secs(secs)))
                .len()
        };
        assert_eq!(count(&mut market, 0), 20);
        assert_eq!(count(&mut market, 3), 21);
        assert_eq!(count(&mut market, 100), 25, "capped");
        let early = market.offerings(opened().as_deref(), clock.at(SECOND));
        assert!(!early.is_empty());
        let late = market.offerings(opened().as_deref(), clock.at(601 * SECOND));
        assert!(late.len() < early.len());
        let first = &early[0];
        assert_eq!(
            market
                .offering(first.id, clock.at(601 * SECOND))
                .unwrap()
                .status,
            CLOSED
        );
        let paused = market.offerings(Some(&[PAUSED.to_string()]), clock.at(SECOND));
        assert!(paused.iter().all(|o| o.status == PAUSED));
    }

    #[test]
    fn sessions_need_both_fields_a_good_password_and_expire() {
        let (mut market, clock) = market();
        let start = clock.at(Duration::ZERO);
        assert_eq!(
            market.login(&json!({}), start),
            Err(IpError::Invalid(BTreeMap::from([
                ("email".to_string(), vec![REQUIRED.to_string()]),
                ("password".to_string(), vec![REQUIRED.to_string()]),
            ])))
        );
        assert_eq!(
            market.login(
                &json!({"email": "a@b.c", "password": REFUSED_PASSWORD}),
                start
            ),
            Err(IpError::field(
                "non_field_errors",
                "Unable to log in with provided credentials."
            ))
        );
        let session = market
            .login(&json!({"email": "a@b.c", "password": "pw"}), start)
            .unwrap();
        assert_eq!(session.token.len(), 64);
        assert_eq!(
            market.authorize(Some(&session.token), clock.at(3599 * SECOND)),
            Ok(())
        );
        assert_eq!(
            market.authorize(Some(&session.token), clock.at(3600 * SECOND)),
            Err(IpError::InvalidToken)
        );
        assert_eq!(
            market.authorize(None, start),
            Err(IpError::NotAuthenticated)
        );
    }

    #[test]
    fn logout_deletes_the_token_and_logoutall_every_token_of_the_user() {
        let (mut market, clock) = market();
        let now = clock.at(Duration::ZERO);
        let login = |market: &mut Market, email: &str| {
            market
                .login(&json!({"email": email, "password": "pw"}), now)
                .unwrap()
                .token
        };
        let a1 = login(&mut market, "a@x");
        let a2 = login(&mut market, "a@x");
        let b = login(&mut market, "b@x");
        market.logout(&a1, false);
        assert_eq!(market.authorize(Some(&a1), now), Err(IpError::InvalidToken));
        assert_eq!(market.authorize(Some(&a2), now), Ok(()));
        let a3 = login(&mut market, "a@x");
        market.logout(&a3, true);
        assert_eq!(market.authorize(Some(&a2), now), Err(IpError::InvalidToken));
        assert_eq!(market.authorize(Some(&b), now), Ok(()));
        assert_eq!(market.ledger().logouts, 2);
    }

    #[test]
    fn an_investment_takes_shares_and_is_listed_for_its_offering_and_investor() {
        let (mut market, clock) = market();
        let now = clock.at(Duration::ZERO);
        let offering = open_offering(&mut market, now, |_| true);
        let quantity = valid_quantity(&offering);
        let created = market
            .invest(&body(json!(quantity), offering.id), now)
            .unwrap();
        assert_eq!(created.quantity, quantity);
        assert_eq!(created.offering, offering.id);
        assert_eq!(created.investor.id, 7);
        assert_eq!(
            cents(&created.amount),
            quantity * cents(&offering.unit_price)
        );
        let mine = InvestmentFilter {
            offerings: Some(vec![offering.id]),
            investors: Some(vec![7]),
        };
        let listed = market.investments(&mine);
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].id, listed[0].status), (created.id, STARTED));
        let others = InvestmentFilter {
            investors: Some(vec![8]),
            ..mine
        };
        assert!(market.investments(&others).is_empty());
    }

    #[test]
    fn invalid_fields_are_reported_all_at_once_and_change_nothing() {
        let (mut market, clock) = market();
        let now = clock.at(Duration::ZERO);
        let refused = market.invest(
            &json!({"quantity": "many", "offering": 99_999, "investor": "x", "requested_payment_method": "cash"}),
            now,
        );
        assert_eq!(
            refused,
            Err(IpError::Invalid(BTreeMap::from([
                (
                    "investor".to_string(),
                    vec!["Incorrect type. Expected pk value, received str.".to_string()]
                ),
                (
                    "offering".to_string(),
                    vec!["Invalid pk \"99999\" - object does not exist.".to_string()]
                ),
                (
                    "quantity".to_string(),
                    vec!["A valid integer is required.".to_string()]
                ),
                (
                    "requested_payment_method".to_string(),
                    vec!["\"cash\" is not a valid choice.".to_string()]
                ),
            ])))
        );
        assert_eq!(
            market.invest(&json!({}), now).unwrap_err().body(),
            json!({
                "quantity": [REQUIRED], "offering": [REQUIRED], "investor": [REQUIRED],
                "requested_payment_method": [REQUIRED]
            })
        );
        assert!(market.ledger().investments.is_empty());
    }

    #[test]
    fn the_per_investment_rules_are_enforced_with_field_errors() {
        let (mut market, clock) = market();
        let now = clock.at(Duration::ZERO);
        let with_min = open_offering(&mut market, now, |o| o.min_investment_amount.is_some());
        let below = valid_quantity(&with_min) - 1;
        let error = market.invest(&body(json!(below.max(1)), with_min.id), now);
        assert!(
            format!("{:?}", error.unwrap_err().body()["quantity"]).contains("below the minimum"),
        );
        let with_max = open_offering(&mut market, now, |o| o.max_investment_amount.is_some());
        let above = cents(with_max.max_investment_amount.as_deref().unwrap())
            / cents(&with_max.unit_price)
            + 10;
        let error = market
            .invest(&body(json!(above), with_max.id), now)
            .unwrap_err();
        assert!(
            format!("{:?}", error.body()).contains("above the maximum"),
            "{error:?}"
        );
        let with_step = open_offering(&mut market, now, |o| {
            o.investment_increment_amount
                .as_deref()
                .is_some_and(|step| cents(step) > cents(&o.unit_price))
        });
        let off_step = valid_quantity(&with_step) + 1;
        let error = market
            .invest(&body(json!(off_step), with_step.id), now)
            .unwrap_err();
        assert!(
            format!("{:?}", error.body()).contains("not a multiple"),
            "{error:?}"
        );
        let paused = market
            .offerings(Some(&[PAUSED.to_string()]), now)
            .into_iter()
            .next()
            .expect("the seed pauses some offerings");
        assert_eq!(
            market.invest(&body(json!(valid_quantity(&paused)), paused.id), now),
            Err(IpError::field(
                "offering",
                "This offering is not accepting investments."
            ))
        );
        assert!(market.ledger().investments.is_empty());
    }

    #[test]
    fn buying_every_remaining_share_closes_the_offering() {
        let (mut market, clock) = market();
        let now = clock.at(Duration::ZERO);
        market.release_due(now);
        let index = market
            .offerings
            .iter()
            .position(|o| !o.terms.paused && o.terms.offering_type != "test_the_waters")
            .expect("the seed has an open offering");
        // Without per-investment limits, only the shares left bound the quantity.
        let terms = &mut market.offerings[index].terms;
        terms.min_investment_cents = None;
        terms.max_investment_cents = None;
        terms.increment_cents = None;
        let id = market.offerings[index].terms.id;
        let remaining = market.offerings[index].remaining_shares();
        let too_many = market
            .invest(&body(json!(remaining + 1), id), now)
            .unwrap_err();
        assert!(format!("{:?}", too_many.body()).contains("shares remain"));
        market.invest(&body(json!(remaining), id), now).unwrap();
        assert_eq!(market.offering(id, now).unwrap().status, CLOSED);
    }

    #[test]
    fn status_filters_must_name_seed_statuses() {
        assert!(Market::check_statuses(&["opened".into(), "closed".into()]).is_ok());
        assert_eq!(
            Market::check_statuses(&["open".into()]),
            Err(IpError::field(
                "status",
                "Select a valid choice. open is not one of the available choices."
            ))
        );
    }
}

//! The Fundrise emulator's in-memory state and rules: the partner's credentials, one
//! Client (account [`SANDBOX_ACCOUNT_ID`]) and its access tokens, offerings released
//! over time from the seeded [`catalog`](super::catalog), investments deduplicated on
//! `partnerReferenceId`, their life (PENDING → COMPLETE, or FAILED when cancelled),
//! per-Client-per-method rate limits, and the ledger.
//!
//! Every method takes the current instant, so tests drive time by passing instants.
//! Amounts are integer cents; they are printed as two-decimal strings.

use super::catalog::{self, Fund, ACKNOWLEDGMENTS, PLATFORM_MAX_CENTS, PLATFORM_MIN_CENTS};
use super::error::{FieldErrors, FrError};
use super::wire::{
    AccessToken, Acknowledgment, AssetClass, Document, Ledger, LedgerInvestment, Offering, Price,
    Transaction, TransactionOffering,
};
use crate::money;
use crate::sandbox::clock::SandboxClock;
use crate::sandbox::rate_window::SlidingWindow;
use crate::sandbox::SandboxOptions;
use axum::http::StatusCode;
use chrono::{DateTime, FixedOffset, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::time::Duration;
use tokio::time::Instant;

/// The one account of the sandbox's one Client (the spec's sample `accountId`).
pub(crate) const SANDBOX_ACCOUNT_ID: &str = "12";

/// The password and refresh token the emulator refuses, so clients can exercise
/// refused credentials; anything else non-empty is accepted (including "sandbox").
pub(crate) const REFUSED_SECRET: &str = "wrong";

/// Funds released when the sandbox starts; one more every `listing_interval` ×
/// [`RELEASE_INTERVAL_FACTOR`] (all at once when the interval is zero).
pub(crate) const INITIAL_OFFERINGS: usize = 4;
pub(crate) const RELEASE_INTERVAL_FACTOR: u32 = 30;

/// A new investment is PENDING this long, then COMPLETE.
pub(crate) const SETTLE_AFTER: Duration = Duration::from_secs(5 * 60);
/// A PENDING investment can be cancelled this long after it was placed (Fundrise: until
/// 5 pm of the business day; shortened so tests can see both sides).
pub(crate) const CANCEL_WINDOW: Duration = Duration::from_secs(2 * 60);

/// Requests per second per Client and per HTTP method (Fundrise publishes no numbers:
/// assumed, above the daemon's default pacing of 20 GETs and 10 POSTs per second).
pub(crate) const GETS_PER_SECOND: usize = 50;
pub(crate) const WRITES_PER_SECOND: usize = 20;

/// Transaction ids of investments placed through the API start here (the seeded
/// history uses small ids).
const FIRST_TRANSACTION_ID: u64 = 1_001;

/// The seeded history's investment is this many days older than the sandbox start.
const HISTORY_AGE_DAYS: i64 = 400;

const MARKET_RNG_STREAM: u64 = 0xF0_F2;

/// Fundrise dates transactions as calendar days in US Eastern time.
const EASTERN: i32 = -5 * 3600;

/// The options that shape the Fundrise market.
#[derive(Debug, Clone)]
pub(crate) struct MarketSettings {
    pub seed: u64,
    pub release_interval: Duration,
    pub token_lifetime: Duration,
}

impl From<&SandboxOptions> for MarketSettings {
    fn from(options: &SandboxOptions) -> Self {
        MarketSettings {
            seed: options.seed,
            release_interval: options
                .listing_interval
                .saturating_mul(RELEASE_INTERVAL_FACTOR),
            token_lifetime: options.token_lifetime,
        }
    }
}

/// An investment placed through the API.
#[derive(Debug, Clone)]
struct Investment {
    transaction_id: u64,
    partner_reference_id: String,
    /// Index into the catalog.
    fund: usize,
    amount_cents: i64,
    placed_at: Instant,
    cancelled: bool,
}

impl Investment {
    fn status(&self, now: Instant) -> &'static str {
        if self.cancelled {
            "FAILED"
        } else if now.saturating_duration_since(self.placed_at) >= SETTLE_AFTER {
            "COMPLETE"
        } else {
            "PENDING"
        }
    }

    fn is_cancellable(&self, now: Instant) -> bool {
        self.status(now) == "PENDING"
            && now.saturating_duration_since(self.placed_at) < CANCEL_WINDOW
    }
}

/// Counters behind the ledger.
#[derive(Debug, Clone, Default)]
struct PostCounters {
    posts: u64,
    rejected: u64,
    duplicates: u64,
    rate_limited: u64,
    cancels: u64,
    post_times_ms: Vec<u64>,
}

/// A valid investment request, read from its JSON body.
struct InvestmentRequest {
    partner_reference_id: String,
    offering_id: String,
    amount_cents: i64,
    acknowledged: BTreeSet<String>,
}

#[derive(Debug)]
pub(crate) struct Market {
    settings: MarketSettings,
    clock: SandboxClock,
    catalog: Vec<Fund>,
    rng: ChaCha8Rng,
    /// Access tokens and when they were issued.
    sessions: HashMap<String, Instant>,
    investments: Vec<Investment>,
    by_reference: HashMap<String, usize>,
    next_transaction_id: u64,
    next_request_id: u64,
    /// Sliding windows per (principal, method).
    windows: HashMap<(String, &'static str), SlidingWindow>,
    counters: PostCounters,
}

impl Market {
    pub(crate) fn new(settings: MarketSettings, clock: SandboxClock) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(MARKET_RNG_STREAM);
        Market {
            catalog: catalog::catalog(settings.seed),
            rng,
            sessions: HashMap::new(),
            investments: Vec::new(),
            by_reference: HashMap::new(),
            next_transaction_id: FIRST_TRANSACTION_ID,
            next_request_id: 1,
            windows: HashMap::new(),
            counters: PostCounters::default(),
            settings,
            clock,
        }
    }

    /// A fresh `Request-Id` (also the `referenceId` of an error body).
    pub(crate) fn next_request_id(&mut self) -> String {
        let n = self.next_request_id;
        self.next_request_id += 1;
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// Partner basic authentication: any non-empty user and password but the refused one.
    pub(crate) fn check_partner(&self, user: &str, password: &str) -> Result<(), FrError> {
        if user.is_empty() || password.is_empty() || password == REFUSED_SECRET {
            return Err(FrError::Unauthorized);
        }
        Ok(())
    }

    /// Client bearer authentication: a token this emulator issued, not yet expired.
    pub(crate) fn authorize(&self, token: Option<&str>, now: Instant) -> Result<(), FrError> {
        let issued = token
            .and_then(|token| self.sessions.get(token))
            .ok_or(FrError::Unauthorized)?;
        if now.saturating_duration_since(*issued) >= self.settings.token_lifetime {
            return Err(FrError::Unauthorized);
        }
        Ok(())
    }

    /// Counts a request against its principal's limit for its method.
    pub(crate) fn admit(
        &mut self,
        principal: String,
        method: &'static str,
        now: Instant,
    ) -> Result<(), FrError> {
        let limit = if method == "GET" {
            GETS_PER_SECOND
        } else {
            WRITES_PER_SECOND
        };
        self.windows
            .entry((principal, method))
            .or_insert_with(|| SlidingWindow::new(limit, Duration::from_secs(1)))
            .try_admit(now)
            .map_err(|retry_after| FrError::RateLimited {
                method,
                limit,
                retry_after,
            })
    }

    /// `POST /v1/oauth/token` (refresh token flow).
    pub(crate) fn issue_token(
        &mut self,
        body: &Value,
        now: Instant,
    ) -> Result<AccessToken, FrError> {
        let mut problems = FieldErrors::new();
        let grant_type = required_text(body, "grantType", &mut problems);
        let refresh_token = required_text(body, "refreshToken", &mut problems);
        if !problems.is_empty() {
            return Err(FrError::Validation(problems));
        }
        let (Some(grant_type), Some(refresh_token)) = (grant_type, refresh_token) else {
            return Err(FrError::Validation(problems));
        };
        if grant_type != "refresh_token" {
            return Err(FrError::InvalidGrantType);
        }
        if refresh_token == REFUSED_SECRET {
            return Err(FrError::Unauthorized);
        }
        let lifetime = self.settings.token_lifetime;
        self.sessions
            .retain(|_, issued| now.saturating_duration_since(*issued) < lifetime);
        let token = hex::encode(self.rng.random::<[u8; 20]>());
        self.sessions.insert(token.clone(), now);
        Ok(AccessToken {
            access_token: token,
            refresh_token: refresh_token.to_string(),
            scope: "PARTNER:READ PARTNER:WRITE",
            token_type: "Bearer",
            expires_in: lifetime.as_secs().to_string(),
        })
    }

    /// `GET /v1/offerings`, optionally of one asset class.
    pub(crate) fn offerings(
        &self,
        asset_class: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Offering>, FrError> {
        if let Some(class) = asset_class {
            if !catalog::ASSET_CLASSES.contains(&class) {
                return Err(FrError::field(
                    "assetClass",
                    &["must be one of REAL_ESTATE, PRIVATE_CREDIT, VENTURE"],
                ));
            }
        }
        Ok(self
            .released(now)
            .iter()
            .filter(|fund| asset_class.is_none_or(|class| fund.asset_class.0 == class))
            .map(|fund| self.offering(fund))
            .collect())
    }

    /// `GET /v1/offering/{id}/documents`.
    pub(crate) fn documents(
        &self,
        offering_id: &str,
        now: Instant,
    ) -> Result<Vec<Document>, FrError> {
        let fund = self
            .released_fund(offering_id, now)
            .ok_or(FrError::DocumentsNotFound)?;
        Ok(fund
            .documents()
            .into_iter()
            .map(|(id, name, kind)| Document {
                document_url: format!("https://documents.sandbox.invalid/{id}.pdf"),
                document_id: id,
                document_name: name,
                document_type: kind,
            })
            .collect())
    }

    /// `GET /v1/offering/{id}/acknowledgments`.
    pub(crate) fn acknowledgments(
        &self,
        offering_id: &str,
        now: Instant,
    ) -> Result<Vec<Acknowledgment>, FrError> {
        self.released_fund(offering_id, now)
            .ok_or(FrError::AcknowledgmentsNotFound)?;
        Ok(ACKNOWLEDGMENTS
            .iter()
            .map(|(id, text)| Acknowledgment {
                acknowledgment_id: id.to_string(),
                acknowledgment_text: text,
            })
            .collect())
    }

    /// `POST /v1/account/{accountId}/investment`. A `partnerReferenceId` already used is
    /// answered 409 before anything else is looked at: the investment exists.
    pub(crate) fn place_investment(
        &mut self,
        account_id: &str,
        body: &Value,
        now: Instant,
    ) -> Result<Transaction, FrError> {
        check_account(account_id)?;
        let reference = body.get("partnerReferenceId").and_then(Value::as_str);
        if reference.is_some_and(|r| self.by_reference.contains_key(r)) {
            return Err(FrError::DuplicateReference);
        }
        let request = read_investment(body)?;
        let index = self
            .released_index(&request.offering_id, now)
            .ok_or(FrError::InvalidOfferingId)?;
        let fund = &self.catalog[index];
        if !fund.open {
            return Err(FrError::OfferingClosed(fund.id.clone()));
        }
        check_fund_limits(fund, request.amount_cents)?;
        let required: BTreeSet<String> = fund.required_acknowledgments().into_iter().collect();
        if request.acknowledged != required {
            return Err(FrError::DocumentIdsMismatch);
        }
        let investment = Investment {
            transaction_id: self.next_transaction_id,
            partner_reference_id: request.partner_reference_id,
            fund: index,
            amount_cents: request.amount_cents,
            placed_at: now,
            cancelled: false,
        };
        self.next_transaction_id += 1;
        self.by_reference.insert(
            investment.partner_reference_id.clone(),
            self.investments.len(),
        );
        self.investments.push(investment);
        let placed = &self.investments[self.investments.len() - 1];
        Ok(self.investment_transaction(placed, now))
    }

    /// `PUT /v1/account/{accountId}/investment/{transactionId}/cancel`.
    pub(crate) fn cancel_investment(
        &mut self,
        account_id: &str,
        transaction_id: &str,
        now: Instant,
    ) -> Result<Transaction, FrError> {
        check_account(account_id)?;
        let history = self.history();
        if history.iter().any(|t| t.transaction_id == transaction_id) {
            return Err(FrError::NotPending);
        }
        let index = self
            .investment_index(transaction_id)
            .ok_or(FrError::InvestmentNotFound)?;
        let investment = &self.investments[index];
        if investment.status(now) != "PENDING" {
            return Err(FrError::NotPending);
        }
        if !investment.is_cancellable(now) {
            return Err(FrError::CancellationWindowClosed);
        }
        self.investments[index].cancelled = true;
        self.counters.cancels += 1;
        Ok(self.investment_transaction(&self.investments[index], now))
    }

    /// `GET /v1/account/{accountId}/transactions[?transactionType=..]`, oldest first.
    pub(crate) fn transactions(
        &self,
        account_id: &str,
        transaction_type: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Transaction>, FrError> {
        check_account(account_id)?;
        if let Some(kind) = transaction_type {
            check_transaction_type(kind, "transactionType")?;
        }
        let placed = self
            .investments
            .iter()
            .map(|investment| self.investment_transaction(investment, now));
        Ok(self
            .history()
            .into_iter()
            .chain(placed)
            .filter(|t| transaction_type.is_none_or(|kind| t.transaction_type == kind))
            .collect())
    }

    /// `GET /v1/account/{accountId}/transaction/{transactionType}/{transactionId}`.
    pub(crate) fn transaction(
        &self,
        account_id: &str,
        transaction_type: &str,
        transaction_id: &str,
        now: Instant,
    ) -> Result<Transaction, FrError> {
        check_account(account_id)?;
        check_transaction_type(transaction_type, "transactionType")?;
        self.transactions(account_id, Some(transaction_type), now)?
            .into_iter()
            .find(|t| t.transaction_id == transaction_id)
            .ok_or(FrError::TransactionNotFound)
    }

    /// Notes the arrival of an investment POST, before anything else happens to it.
    pub(crate) fn record_order_post(&mut self, now: Instant) {
        self.counters.posts += 1;
        let at = self.clock.millis_since_start(now);
        self.counters.post_times_ms.push(at);
    }

    /// Notes how an investment POST was answered.
    pub(crate) fn record_order_outcome(&mut self, status: StatusCode) {
        match status {
            StatusCode::CONFLICT => self.counters.duplicates += 1,
            StatusCode::TOO_MANY_REQUESTS => self.counters.rate_limited += 1,
            status if status.is_client_error() => self.counters.rejected += 1,
            _ => {}
        }
    }

    pub(crate) fn ledger(&self, now: Instant) -> Ledger {
        Ledger {
            investments: self
                .investments
                .iter()
                .map(|investment| LedgerInvestment {
                    transaction_id: investment.transaction_id.to_string(),
                    partner_reference_id: investment.partner_reference_id.clone(),
                    offering_id: self.catalog[investment.fund].id.clone(),
                    amount: cents_text(investment.amount_cents),
                    status: investment.status(now),
                })
                .collect(),
            posts: self.counters.posts,
            rejected: self.counters.rejected,
            duplicates: self.counters.duplicates,
            rate_limited: self.counters.rate_limited,
            cancels: self.counters.cancels,
            post_times_ms: self.counters.post_times_ms.clone(),
        }
    }

    /// The funds released by `now`, in release order.
    fn released(&self, now: Instant) -> &[Fund] {
        let elapsed = self.clock.elapsed(now);
        let later = if self.settings.release_interval.is_zero() {
            self.catalog.len()
        } else {
            let intervals = elapsed.as_nanos() / self.settings.release_interval.as_nanos();
            usize::try_from(intervals).unwrap_or(usize::MAX)
        };
        let count = INITIAL_OFFERINGS
            .saturating_add(later)
            .min(self.catalog.len());
        &self.catalog[..count]
    }

    fn released_index(&self, offering_id: &str, now: Instant) -> Option<usize> {
        self.released(now).iter().position(|f| f.id == offering_id)
    }

    fn released_fund(&self, offering_id: &str, now: Instant) -> Option<&Fund> {
        self.released_index(offering_id, now)
            .map(|index| &self.catalog[index])
    }

    fn investment_index(&self, transaction_id: &str) -> Option<usize> {
        self.investments
            .iter()
            .position(|i| i.transaction_id.to_string() == transaction_id)
    }

    fn offering(&self, fund: &Fund) -> Offering {
        Offering {
            current_price: fund.price_cents.map(|cents| Price {
                price: cents_text(cents),
                price_date: self
                    .clock
                    .wall_time_at(Duration::ZERO)
                    .format("%Y-%m-%dT00:00:00Z")
                    .to_string(),
            }),
            offering_id: fund.id.clone(),
            offering_name: fund.name,
            status: fund.status(),
            asset_class: AssetClass {
                asset_class_type: fund.asset_class.0,
                asset_class_label: fund.asset_class.1,
            },
            minimum_investment_amount: cents_text(fund.min_cents),
            maximum_investment_amount: cents_text(fund.max_cents),
            primary_objective: fund.objective,
            current_distribution_rate: format!(".{:02}", fund.distribution_rate_hundredths),
        }
    }

    fn investment_transaction(&self, investment: &Investment, now: Instant) -> Transaction {
        let fund = &self.catalog[investment.fund];
        let placed = self.clock.wall_time(investment.placed_at);
        Transaction {
            transaction_id: investment.transaction_id.to_string(),
            transaction_type: "INVESTMENT",
            description: "Investment into Fundrise Offering",
            amount: cents_text(investment.amount_cents),
            transaction_date: eastern_day(placed),
            offerings: vec![transaction_offering(fund, Some(investment.amount_cents))],
            status: investment.status(now),
            is_cancellable: investment.is_cancellable(now),
            debit_credit_memo: "CREDIT",
        }
    }

    /// The account's history from before the sandbox started: a completed $100
    /// investment in the first fund and a dividend, so clients must tell old
    /// investments and other transaction types from their own.
    fn history(&self) -> Vec<Transaction> {
        let first = &self.catalog[0];
        let old =
            self.clock.wall_time_at(Duration::ZERO) - chrono::TimeDelta::days(HISTORY_AGE_DAYS);
        vec![
            Transaction {
                transaction_id: "1".into(),
                transaction_type: "INVESTMENT",
                description: "Investment into Fundrise Offering",
                amount: cents_text(10_000),
                transaction_date: eastern_day(old),
                offerings: vec![transaction_offering(first, Some(10_000))],
                status: "COMPLETE",
                is_cancellable: false,
                debit_credit_memo: "CREDIT",
            },
            Transaction {
                transaction_id: "2".into(),
                transaction_type: "DIVIDEND",
                description: "Dividend from Fundrise Offering",
                amount: cents_text(185),
                transaction_date: eastern_day(old + chrono::TimeDelta::days(90)),
                offerings: vec![transaction_offering(first, None)],
                status: "COMPLETE",
                is_cancellable: false,
                debit_credit_memo: "DEBIT",
            },
        ]
    }
}

/// A transaction's offering; with an amount and a published price, the shares bought
/// (six decimals, rounded down).
fn transaction_offering(fund: &Fund, amount_cents: Option<i64>) -> TransactionOffering {
    let price = fund.price_cents.map(money::from_cents);
    let shares = match (amount_cents, price) {
        (Some(cents), Some(price)) if !price.is_zero() => Some(
            (money::from_cents(cents) / price).round_dp_with_strategy(6, RoundingStrategy::ToZero),
        ),
        _ => None,
    };
    TransactionOffering {
        offering_id: fund.id.clone(),
        offering_name: fund.name,
        share_price: amount_cents.and(price).map(|p| format!("{p:.2}")),
        shares: shares.map(|s| format!("{s:.6}")),
    }
}

/// Only the sandbox Client's account exists; any other is not the Client's.
fn check_account(account_id: &str) -> Result<(), FrError> {
    if account_id == SANDBOX_ACCOUNT_ID {
        Ok(())
    } else {
        Err(FrError::Forbidden)
    }
}

fn check_transaction_type(kind: &str, field: &str) -> Result<(), FrError> {
    if ["INVESTMENT", "LIQUIDATION", "DIVIDEND"].contains(&kind) {
        Ok(())
    } else {
        Err(FrError::field(
            field,
            &["must be one of INVESTMENT, LIQUIDATION, DIVIDEND"],
        ))
    }
}

/// Reads and validates an `InvestmentPlacementRequest`, reporting every field's
/// problems at once (`validationErrors`), with the spec's messages.
fn read_investment(body: &Value) -> Result<InvestmentRequest, FrError> {
    let mut problems = FieldErrors::new();
    let reference = required_text(body, "partnerReferenceId", &mut problems);
    let offering = required_text(body, "offeringId", &mut problems);
    let amount = read_amount(body, &mut problems);
    let acknowledged = read_ids(body, "acknowledgedDocumentIds", &mut problems);
    match (reference, offering, amount, acknowledged) {
        (Some(reference), Some(offering), Some(amount_cents), Some(acknowledged))
            if problems.is_empty() =>
        {
            Ok(InvestmentRequest {
                partner_reference_id: reference.to_string(),
                offering_id: offering.to_string(),
                amount_cents,
                acknowledged,
            })
        }
        _ => Err(FrError::Validation(problems)),
    }
}

const BLANK: &str = "must not be blank";
const NULL: &str = "must not be null";

fn note(problems: &mut FieldErrors, field: &str, messages: &[&str]) {
    problems
        .entry(field.to_string())
        .or_default()
        .extend(messages.iter().map(|m| m.to_string()));
}

/// A required non-blank string field (an integer id is accepted as its digits too,
/// as Jackson would).
fn required_text<'a>(body: &'a Value, field: &str, problems: &mut FieldErrors) -> Option<&'a str> {
    match body.get(field) {
        None | Some(Value::Null) => {
            note(problems, field, &[BLANK, NULL]);
            None
        }
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text),
        // serde_json's `arbitrary_precision` keeps the number's text.
        Some(Value::Number(number)) if number.is_u64() => Some(number.as_str()),
        Some(_) => {
            note(problems, field, &[BLANK]);
            None
        }
    }
}

/// `amount`: a decimal string (a JSON number is accepted) with at most two decimals,
/// within the documented $10 – $100,000. Returns cents.
fn read_amount(body: &Value, problems: &mut FieldErrors) -> Option<i64> {
    let text = match body.get("amount") {
        None | Some(Value::Null) => {
            note(problems, "amount", &[BLANK, NULL]);
            return None;
        }
        Some(Value::String(text)) => text.trim().to_string(),
        Some(Value::Number(number)) => number.to_string(),
        Some(_) => {
            note(problems, "amount", &["must be a decimal amount"]);
            return None;
        }
    };
    let Ok(amount) = Decimal::from_str(&text) else {
        note(problems, "amount", &["must be a decimal amount"]);
        return None;
    };
    let mut found = Vec::new();
    if amount.scale() > 2 {
        found.push("decimal places must be less than or equal to 2");
    }
    if amount < money::from_cents(PLATFORM_MIN_CENTS) {
        found.push("must be greater than or equal to 10.00");
    }
    if amount > money::from_cents(PLATFORM_MAX_CENTS) {
        found.push("must be less than or equal to 100000.00");
    }
    if !found.is_empty() {
        note(problems, "amount", &found);
        return None;
    }
    (amount * Decimal::ONE_HUNDRED).to_i64()
}

/// An array of id strings.
fn read_ids(body: &Value, field: &str, problems: &mut FieldErrors) -> Option<BTreeSet<String>> {
    let items = match body.get(field) {
        None | Some(Value::Null) => {
            note(problems, field, &[BLANK, NULL]);
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            note(problems, field, &["must be an array of ids"]);
            return None;
        }
    };
    let ids: Option<BTreeSet<String>> = items
        .iter()
        .map(|item| item.as_str().map(str::to_string))
        .collect();
    if ids.is_none() {
        note(problems, field, &["must be an array of ids"]);
    }
    ids
}

/// The fund's own per-transaction limits (narrower than the platform's for some).
fn check_fund_limits(fund: &Fund, amount_cents: i64) -> Result<(), FrError> {
    if amount_cents < fund.min_cents {
        let message = format!(
            "must be greater than or equal to {}",
            cents_text(fund.min_cents)
        );
        return Err(FrError::field("amount", &[&message]));
    }
    if amount_cents > fund.max_cents {
        let message = format!(
            "must be less than or equal to {}",
            cents_text(fund.max_cents)
        );
        return Err(FrError::field("amount", &[&message]));
    }
    Ok(())
}

/// "10.00" from 1000 cents.
pub(crate) fn cents_text(cents: i64) -> String {
    format!("{:.2}", money::from_cents(cents))
}

/// The calendar day of `at` in US Eastern (standard) time, as Fundrise prints dates:
/// `2023-02-15T00:00:00.000-05:00`.
fn eastern_day(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(EASTERN) {
        Some(eastern) => at
            .with_timezone(&eastern)
            .format("%Y-%m-%dT00:00:00.000-05:00")
            .to_string(),
        None => at.format("%Y-%m-%dT00:00:00.000Z").to_string(),
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
            release_interval: 60 * SECOND,
            token_lifetime: 3600 * SECOND,
        }
    }

    fn market(settings: MarketSettings) -> (Market, SandboxClock) {
        let start: DateTime<Utc> = "2026-11-20T15:00:00Z".parse().unwrap();
        let clock = SandboxClock::start(Some(start));
        (Market::new(settings, clock), clock)
    }

    /// The first released OPEN fund whose limits are the documented ones.
    fn open_fund(market: &Market, now: Instant) -> Fund {
        market
            .released(now)
            .iter()
            .find(|f| {
                f.open && f.min_cents == PLATFORM_MIN_CENTS && f.max_cents == PLATFORM_MAX_CENTS
            })
            .cloned()
            .expect("seed 42 releases a standard open fund at the start")
    }

    fn request(fund: &Fund, reference: &str, amount: &str) -> Value {
        json!({
            "partnerReferenceId": reference,
            "offeringId": fund.id,
            "amount": amount,
            "acknowledgedDocumentIds": fund.required_acknowledgments(),
        })
    }

    #[test]
    fn funds_are_released_over_time() {
        let (market, clock) = market(settings());
        let ids = |at| {
            market
                .offerings(None, at)
                .unwrap()
                .into_iter()
                .map(|o| o.offering_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(clock.at(Duration::ZERO)), ["1", "2", "3", "4"]);
        assert_eq!(ids(clock.at(59 * SECOND)).len(), 4);
        assert_eq!(ids(clock.at(60 * SECOND)), ["1", "2", "3", "4", "5"]);
        assert_eq!(ids(clock.at(3600 * SECOND)).len(), 12);
        let (all_at_once, clock) = self::market(MarketSettings {
            release_interval: Duration::ZERO,
            ..settings()
        });
        assert_eq!(
            all_at_once
                .offerings(None, clock.at(Duration::ZERO))
                .unwrap()
                .len(),
            12
        );
    }

    #[test]
    fn offerings_filter_by_asset_class_and_refuse_unknown_ones() {
        let (market, clock) = market(MarketSettings {
            release_interval: Duration::ZERO,
            ..settings()
        });
        let now = clock.at(Duration::ZERO);
        let venture = market.offerings(Some("VENTURE"), now).unwrap();
        assert!(!venture.is_empty());
        assert!(venture
            .iter()
            .all(|o| o.asset_class.asset_class_type == "VENTURE"));
        assert!(matches!(
            market.offerings(Some("CRYPTO"), now),
            Err(FrError::Validation(_))
        ));
    }

    #[test]
    fn tokens_need_the_refresh_grant_and_expire() {
        let (mut market, clock) = market(MarketSettings {
            token_lifetime: 10 * SECOND,
            ..settings()
        });
        let start = clock.at(Duration::ZERO);
        let good = json!({"grantType": "refresh_token", "refreshToken": "sandbox"});
        let token = market.issue_token(&good, start).unwrap();
        assert_eq!(token.expires_in, "10");
        assert_eq!(token.refresh_token, "sandbox");
        assert_eq!(token.token_type, "Bearer");
        assert_eq!(
            market.authorize(Some(&token.access_token), clock.at(9 * SECOND)),
            Ok(())
        );
        assert_eq!(
            market.authorize(Some(&token.access_token), clock.at(10 * SECOND)),
            Err(FrError::Unauthorized)
        );
        assert_eq!(
            market.authorize(Some("forged"), start),
            Err(FrError::Unauthorized)
        );
        assert_eq!(market.authorize(None, start), Err(FrError::Unauthorized));
        assert_eq!(
            market.issue_token(
                &json!({"grantType": "password", "refreshToken": "x"}),
                start
            ),
            Err(FrError::InvalidGrantType)
        );
        assert_eq!(
            market.issue_token(
                &json!({"grantType": "refresh_token", "refreshToken": REFUSED_SECRET}),
                start
            ),
            Err(FrError::Unauthorized)
        );
        let missing = market.issue_token(&json!({"grantType": "refresh_token"}), start);
        assert_eq!(missing, Err(FrError::field("refreshToken", &[BLANK, NULL])));
        assert_eq!(market.check_partner("partner", "sandbox"), Ok(()));
        for (user, password) in [("", "p"), ("u", ""), ("u", REFUSED_SECRET)] {
            assert_eq!(
                market.check_partner(user, password),
                Err(FrError::Unauthorized)
            );
        }
    }

    #[test]
    fn an_investment_is_pending_then_complete_and_cancellable_only_early() {
        let (mut market, clock) = market(settings());
        let start = clock.at(Duration::ZERO);
        let fund = open_fund(&market, start);
        let placed = market
            .place_investment(SANDBOX_ACCOUNT_ID, &request(&fund, "ai-1", "100.00"), start)
            .unwrap();
        assert_eq!(placed.transaction_id, "1001");
        assert_eq!((placed.status, placed.is_cancellable), ("PENDING", true));
        assert_eq!(placed.amount, "100.00");
        assert_eq!(placed.transaction_date, "2026-11-20T00:00:00.000-05:00");
        assert_eq!(placed.offerings[0].offering_id, fund.id);
        let status_at = |market: &Market, offset| {
            let t = market
                .transaction(SANDBOX_ACCOUNT_ID, "INVESTMENT", "1001", clock.at(offset))
                .unwrap();
            (t.status, t.is_cancellable)
        };
        assert_eq!(status_at(&market, CANCEL_WINDOW), ("PENDING", false));
        assert_eq!(status_at(&market, SETTLE_AFTER), ("COMPLETE", false));
        assert_eq!(
            market.cancel_investment(SANDBOX_ACCOUNT_ID, "1001", clock.at(CANCEL_WINDOW)),
            Err(FrError::CancellationWindowClosed)
        );
        assert_eq!(
            market.cancel_investment(SANDBOX_ACCOUNT_ID, "1001", clock.at(SETTLE_AFTER)),
            Err(FrError::NotPending)
        );
        let cancelled = market
            .cancel_investment(SANDBOX_ACCOUNT_ID, "1001", clock.at(SECOND))
            .unwrap();
        assert_eq!(
            (cancelled.status, cancelled.is_cancellable),
            ("FAILED", false)
        );
        assert_eq!(
            market.cancel_investment(SANDBOX_ACCOUNT_ID, "1001", clock.at(2 * SECOND)),
            Err(FrError::NotPending)
        );
        assert_eq!(
            market.cancel_investment(SANDBOX_ACCOUNT_ID, "1", start),
            Err(FrError::NotPending),
            "the seeded history's investment is COMPLETE"
        );
        assert_eq!(
            market.cancel_investment(SANDBOX_ACCOUNT_ID, "999", start),
            Err(FrError::InvestmentNotFound)
        );
        assert_eq!(market.ledger(start).cancels, 1);
    }

    #[test]
    fn a_used_partner_reference_is_a_conflict_and_creates_nothing() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        let fund = open_fund(&market, now);
        market
            .place_investment(SANDBOX_ACCOUNT_ID, &request(&fund, "ai-1", "100.00"), now)
            .unwrap();
        // Even a different (or invalid) body: the reference decides.
        for body in [
            request(&fund, "ai-1", "100.00"),
            request(&fund, "ai-1", "5.00"),
            json!({"partnerReferenceId": "ai-1"}),
        ] {
            assert_eq!(
                market.place_investment(SANDBOX_ACCOUNT_ID, &body, now),
                Err(FrError::DuplicateReference)
            );
        }
        assert_eq!(market.ledger(now).investments.len(), 1);
    }

    #[test]
    fn invalid_requests_are_refused_with_the_spec_errors_and_change_nothing() {
        let (mut market, clock) = market(MarketSettings {
            release_interval: Duration::ZERO,
            ..settings()
        });
        let now = clock.at(Duration::ZERO);
        let fund = open_fund(&market, now);
        let closed = market.catalog.iter().find(|f| !f.open).cloned().unwrap();
        let narrow = market
            .catalog
            .iter()
            .find(|f| f.open && f.min_cents > PLATFORM_MIN_CENTS)
            .cloned()
            .unwrap();
        let mut unknown_offering = request(&fund, "ai-2", "100.00");
        unknown_offering["offeringId"] = "999".into();
        let mut missing_document = request(&fund, "ai-3", "100.00");
        missing_document["acknowledgedDocumentIds"] = json!(["1", "2"]);
        let mut extra_document = request(&fund, "ai-4", "100.00");
        extra_document["acknowledgedDocumentIds"]
            .as_array_mut()
            .unwrap()
            .push("77".into());
        let below_fund_minimum = request(&narrow, "ai-5", "10.00");
        let cases: Vec<(Value, FrError)> = vec![
            (
                json!({}),
                FrError::Validation(
                    [
                        ("acknowledgedDocumentIds", vec![BLANK, NULL]),
                        ("amount", vec![BLANK, NULL]),
                        ("offeringId", vec![BLANK, NULL]),
                        ("partnerReferenceId", vec![BLANK, NULL]),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
                    .collect(),
                ),
            ),
            (
                request(&fund, "ai-6", "10.005"),
                FrError::field(
                    "amount",
                    &["decimal places must be less than or equal to 2"],
                ),
            ),
            (
                request(&fund, "ai-7", "9.99"),
                FrError::field("amount", &["must be greater than or equal to 10.00"]),
            ),
            (
                request(&fund, "ai-8", "100000.01"),
                FrError::field("amount", &["must be less than or equal to 100000.00"]),
            ),
            (
                request(&fund, "ai-9", "ten"),
                FrError::field("amount", &["must be a decimal amount"]),
            ),
            (
                request(&fund, " ", "10.00"),
                FrError::field("partnerReferenceId", &[BLANK]),
            ),
            (unknown_offering, FrError::InvalidOfferingId),
            (
                request(&closed, "ai-10", "100.00"),
                FrError::OfferingClosed(closed.id.clone()),
            ),
            (missing_document, FrError::DocumentIdsMismatch),
            (extra_document, FrError::DocumentIdsMismatch),
            (
                below_fund_minimum,
                FrError::field(
                    "amount",
                    &[&format!(
                        "must be greater than or equal to {}",
                        cents_text(narrow.min_cents)
                    )],
                ),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                market.place_investment(SANDBOX_ACCOUNT_ID, &body, now),
                Err(expected),
                "{body}"
            );
        }
        assert_eq!(
            market.place_investment("13", &request(&fund, "ai-11", "10.00"), now),
            Err(FrError::Forbidden)
        );
        assert!(market.ledger(now).investments.is_empty());
        // The refused references are free: the same reference with a valid body works.
        assert!(market
            .place_investment(SANDBOX_ACCOUNT_ID, &request(&fund, "ai-7", "10.00"), now)
            .is_ok());
    }

    #[test]
    fn transactions_hold_the_history_and_filter_by_type() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        let fund = open_fund(&market, now);
        market
            .place_investment(SANDBOX_ACCOUNT_ID, &request(&fund, "ai-1", "25.50"), now)
            .unwrap();
        let all = market.transactions(SANDBOX_ACCOUNT_ID, None, now).unwrap();
        let kinds: Vec<&str> = all.iter().map(|t| t.transaction_type).collect();
        assert_eq!(kinds, ["INVESTMENT", "DIVIDEND", "INVESTMENT"]);
        assert_eq!(all[0].transaction_date, "2025-10-16T00:00:00.000-05:00");
        let investments = market
            .transactions(SANDBOX_ACCOUNT_ID, Some("INVESTMENT"), now)
            .unwrap();
        assert_eq!(investments.len(), 2);
        assert!(matches!(
            market.transactions(SANDBOX_ACCOUNT_ID, Some("TRADE"), now),
            Err(FrError::Validation(_))
        ));
        assert_eq!(
            market.transaction(SANDBOX_ACCOUNT_ID, "DIVIDEND", "1001", now),
            Err(FrError::TransactionNotFound)
        );
        assert_eq!(
            market.transactions("99", None, now),
            Err(FrError::Forbidden)
        );
    }

    #[test]
    fn shares_follow_the_price_rounded_down_to_six_decimals() {
        let fund = Fund {
            id: "9".into(),
            name: "F",
            asset_class: catalog::REAL_ESTATE,
            objective: "Appreciation",
            open: true,
            min_cents: PLATFORM_MIN_CENTS,
            max_cents: PLATFORM_MAX_CENTS,
            price_cents: Some(1_004),
            distribution_rate_hundredths: 41,
        };
        let offering = transaction_offering(&fund, Some(1_000_000));
        assert_eq!(offering.share_price.as_deref(), Some("10.04"));
        assert_eq!(offering.shares.as_deref(), Some("996.015936"));
        let unpriced = Fund {
            price_cents: None,
            ..fund
        };
        assert_eq!(transaction_offering(&unpriced, Some(1_000)).shares, None);
    }

    #[test]
    fn each_method_has_its_own_limit_per_principal() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        for _ in 0..WRITES_PER_SECOND {
            market.admit("client:1".into(), "POST", now).unwrap();
        }
        assert!(matches!(
            market.admit("client:1".into(), "POST", now),
            Err(FrError::RateLimited { method: "POST", .. })
        ));
        assert_eq!(market.admit("client:1".into(), "PUT", now), Ok(()));
        assert_eq!(market.admit("client:1".into(), "GET", now), Ok(()));
        assert_eq!(market.admit("partner:p".into(), "POST", now), Ok(()));
        assert_eq!(
            market.admit("client:1".into(), "POST", clock.at(SECOND)),
            Ok(())
        );
    }

    #[test]
    fn the_ledger_counts_posts_and_their_outcomes() {
        let (mut market, clock) = market(settings());
        for (ms, status) in [
            (10, StatusCode::OK),
            (20, StatusCode::CONFLICT),
            (30, StatusCode::TOO_MANY_REQUESTS),
            (40, StatusCode::BAD_REQUEST),
            (50, StatusCode::INTERNAL_SERVER_ERROR),
        ] {
            market.record_order_post(clock.at(Duration::from_millis(ms)));
            market.record_order_outcome(status);
        }
        let ledger = market.ledger(clock.at(Duration::ZERO));
        assert_eq!(
            (
                ledger.posts,
                ledger.duplicates,
                ledger.rate_limited,
                ledger.rejected
            ),
            (5, 1, 1, 1)
        );
        assert_eq!(ledger.post_times_ms, [10, 20, 30, 40, 50]);
    }

    #[test]
    fn request_ids_are_unique() {
        let (mut market, _) = market(settings());
        let first = market.next_request_id();
        assert_ne!(first, market.next_request_id());
        assert_eq!(first.len(), 36);
    }
}

//! The Funding Circle emulator's in-memory market: listings released over time, one
//! investor's cash, sessions, orders, the order-POST rate limit and the ledger.
//!
//! Every method takes the current instant, so tests drive time by passing instants.
//! Amounts are integer cents, as the platform's wire speaks them.

use super::error::FcError;
use super::wire::{Ledger, ListingDetails, ListingSummary, Order, Session, Stats};
use crate::sandbox::clock::SandboxClock;
use crate::sandbox::listings::{
    uuid_like, ListingGenerator, ListingType, LoanTerms, MAX_ORDER_CENTS, MIN_ORDER_CENTS,
};
use crate::sandbox::rate_window::SlidingWindow;
use crate::sandbox::SandboxOptions;
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Order POSTs the platform serves in any one-second window.
pub(crate) const ORDER_POSTS_PER_SECOND: usize = 40;

/// The one password the emulator refuses, so clients can exercise a failed login.
pub(crate) const REFUSED_PASSWORD: &str = "wrong";

/// Listings preview this many hours before they go live.
const PREVIEW_LEAD_HOURS: i64 = 1;

/// The market RNG's stream (tokens, ids), apart from the listing generator's.
const MARKET_RNG_STREAM: u64 = 0xF0;

pub(crate) const LIVE: &str = "live";
const FUNDED: &str = "funded";
const EXPIRED: &str = "expired";

/// The options that shape the Funding Circle market.
#[derive(Debug, Clone)]
pub(crate) struct MarketSettings {
    pub seed: u64,
    pub initial_listings: usize,
    pub listing_interval: Duration,
    pub max_listings: usize,
    pub listing_lifetime: Duration,
    pub token_lifetime: Duration,
    pub starting_cash_cents: i64,
}

impl From<&SandboxOptions> for MarketSettings {
    fn from(options: &SandboxOptions) -> Self {
        MarketSettings {
            seed: options.seed,
            initial_listings: options.initial_listings,
            listing_interval: options.listing_interval,
            max_listings: options.max_listings,
            listing_lifetime: options.listing_lifetime,
            token_lifetime: options.token_lifetime,
            starting_cash_cents: options.starting_cash_cents,
        }
    }
}

/// A released listing.
#[derive(Debug, Clone)]
struct Listing {
    terms: LoanTerms,
    amount_remaining_cents: i64,
    /// When it went live, measured from the sandbox start.
    released_after: Duration,
}

impl Listing {
    fn status(&self, elapsed: Duration, lifetime: Duration) -> &'static str {
        if self.amount_remaining_cents == 0 {
            FUNDED
        } else if elapsed >= self.released_after.saturating_add(lifetime) {
            EXPIRED
        } else {
            LIVE
        }
    }

    fn interest_rate(&self) -> Decimal {
        Decimal::new(i64::from(self.terms.interest_rate_bps), 4)
    }

    /// The amount an order buys: the whole remaining amount of a whole loan, or the
    /// requested part of a fractional one within the platform's limits.
    fn order_amount(&self, requested: Option<i64>) -> Result<i64, FcError> {
        let remaining = self.amount_remaining_cents;
        match (self.terms.listing_type, requested) {
            (ListingType::Whole, None) => Ok(remaining),
            (ListingType::Whole, Some(_)) => Err(FcError::AmountOnWholeLoan),
            (ListingType::Fractional, None) => Err(FcError::AmountRequired),
            (ListingType::Fractional, Some(amount)) if amount < MIN_ORDER_CENTS => {
                Err(FcError::BelowMinimum {
                    amount,
                    min: MIN_ORDER_CENTS,
                })
            }
            (ListingType::Fractional, Some(amount)) if amount > MAX_ORDER_CENTS => {
                Err(FcError::AboveMaximum {
                    amount,
                    max: MAX_ORDER_CENTS,
                })
            }
            (ListingType::Fractional, Some(amount)) if amount > remaining => {
                Err(FcError::ExceedsRemaining { amount, remaining })
            }
            (ListingType::Fractional, Some(amount)) => Ok(amount),
        }
    }
}

/// Counters behind the ledger.
#[derive(Debug, Clone, Default)]
struct PostCounters {
    posts: u64,
    rejected: u64,
    rate_limited: u64,
    post_times_ms: Vec<u64>,
    /// Arrivals of the order POSTs of the last second (whatever their fate), oldest first.
    last_second: VecDeque<Instant>,
    /// The most order POSTs that arrived within any one second so far.
    max_in_any_second: usize,
}

impl PostCounters {
    /// Counts an arrival in the one-second window ending at `now` (half-open, as the
    /// rate limit counts: an arrival exactly one second ago has left it).
    fn note_arrival(&mut self, now: Instant) {
        let window = Duration::from_secs(1);
        while let Some(oldest) = self.last_second.front() {
            if now.saturating_duration_since(*oldest) >= window {
                self.last_second.pop_front();
            } else {
                break;
            }
        }
        self.last_second.push_back(now);
        self.max_in_any_second = self.max_in_any_second.max(self.last_second.len());
    }
}

#[derive(Debug)]
pub(crate) struct Market {
    settings: MarketSettings,
    clock: SandboxClock,
    generator: ListingGenerator,
    /// Released listings, in release order.
    listings: Vec<Listing>,
    index_by_id: HashMap<String, usize>,
    rng: ChaCha8Rng,
    investor_id: String,
    /// Session tokens and when they were issued.
    sessions: HashMap<String, Instant>,
    cash_cents: i64,
    orders: Vec<Order>,
    next_transaction_id: u64,
    order_window: SlidingWindow,
    counters: PostCounters,
}

impl Market {
    pub(crate) fn new(settings: MarketSettings, clock: SandboxClock) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(MARKET_RNG_STREAM);
        let investor_id = uuid_like(&mut rng);
        Market {
            generator: ListingGenerator::new(settings.seed),
            listings: Vec::new(),
            index_by_id: HashMap::new(),
            rng,
            investor_id,
            sessions: HashMap::new(),
            cash_cents: settings.starting_cash_cents,
            orders: Vec::new(),
            next_transaction_id: 238_700,
            order_window: SlidingWindow::new(ORDER_POSTS_PER_SECOND, Duration::from_secs(1)),
            counters: PostCounters::default(),
            settings,
            clock,
        }
    }

    /// Any non-empty username and password open a session, except the refused password.
    pub(crate) fn login(
        &mut self,
        username: &str,
        password: &str,
        now: Instant,
    ) -> Result<Session, FcError> {
        if username.is_empty() || password.is_empty() || password == REFUSED_PASSWORD {
            return Err(FcError::InvalidCredentials);
        }
        let lifetime = self.settings.token_lifetime;
        self.sessions
            .retain(|_, issued| now.saturating_duration_since(*issued) < lifetime);
        let token = hex::encode(self.rng.random::<[u8; 24]>());
        self.sessions.insert(token.clone(), now);
        Ok(Session {
            token,
            expires_in: lifetime.as_secs(),
        })
    }

    pub(crate) fn authorize(&self, token: Option<&str>, now: Instant) -> Result<(), FcError> {
        let token = token.ok_or(FcError::MissingToken)?;
        let issued = self.sessions.get(token).ok_or(FcError::InvalidToken)?;
        if now.saturating_duration_since(*issued) >= self.settings.token_lifetime {
            return Err(FcError::ExpiredToken);
        }
        Ok(())
    }

    /// Every released listing with this status, in release order.
    pub(crate) fn listings(&mut self, status: &str, now: Instant) -> Vec<ListingSummary> {
        self.release_due(now);
        let elapsed = self.clock.elapsed(now);
        self.listings
            .iter()
            .filter(|l| l.status(elapsed, self.settings.listing_lifetime) == status)
            .map(|l| self.summary(l, elapsed))
            .collect()
    }

    pub(crate) fn listing_details(
        &mut self,
        id: &str,
        now: Instant,
    ) -> Result<ListingDetails, FcError> {
        self.release_due(now);
        let listing = self.listing(id)?;
        Ok(self.details(listing, self.clock.elapsed(now)))
    }

    /// `POST /api/v2/orders`: counts against the rate limit, checks the request against
    /// the listing, the platform's limits and the cash, then executes it.
    pub(crate) fn place_order(
        &mut self,
        listing_id: Option<&str>,
        amount_cents: Option<&str>,
        now: Instant,
    ) -> Result<Order, FcError> {
        self.order_window
            .try_admit(now)
            .map_err(|retry_after| FcError::RateLimited { retry_after })?;
        let listing_id = listing_id
            .filter(|id| !id.is_empty())
            .ok_or(FcError::MissingListingId)?;
        let requested = amount_cents.map(parse_amount_cents).transpose()?;
        self.release_due(now);
        let index = self.index_of(listing_id)?;
        let listing = &self.listings[index];
        let status = listing.status(self.clock.elapsed(now), self.settings.listing_lifetime);
        if status != LIVE {
            return Err(FcError::NotLive { status });
        }
        let amount = listing.order_amount(requested)?;
        if amount > self.cash_cents {
            return Err(FcError::InsufficientFunds {
                amount,
                available: self.cash_cents,
            });
        }
        let interest_rate = listing.interest_rate();
        self.listings[index].amount_remaining_cents -= amount;
        self.cash_cents -= amount;
        let order = self.new_order(listing_id, interest_rate, amount, now);
        self.orders.push(order.clone());
        Ok(order)
    }

    /// The investor's orders, oldest first, optionally for one listing only.
    pub(crate) fn orders(&self, listing_id: Option<&str>) -> Vec<Order> {
        self.orders
            .iter()
            .filter(|o| listing_id.is_none_or(|id| o.listing_id == id))
            .cloned()
            .collect()
    }

    pub(crate) fn available_cash_cents(&self) -> i64 {
        self.cash_cents
    }

    /// Notes the arrival of an order POST, before anything else happens to it.
    pub(crate) fn record_order_post(&mut self, now: Instant) {
        self.counters.posts += 1;
        self.counters.note_arrival(now);
        let at = self.clock.millis_since_start(now);
        self.counters.post_times_ms.push(at);
    }

    /// Notes how an order POST was answered.
    pub(crate) fn record_order_outcome(&mut self, status: StatusCode) {
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.counters.rate_limited += 1;
        } else if status.is_client_error() {
            self.counters.rejected += 1;
        }
    }

    pub(crate) fn ledger(&self) -> Ledger {
        Ledger {
            orders: self.orders.clone(),
            posts: self.counters.posts,
            rejected: self.counters.rejected,
            rate_limited: self.counters.rate_limited,
            post_times_ms: self.counters.post_times_ms.clone(),
        }
    }

    /// The ledger's counters without its lists: cheap to ask for every few seconds.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            posts: self.counters.posts,
            rejected: self.counters.rejected,
            rate_limited: self.counters.rate_limited,
            max_posts_in_any_second: self.counters.max_in_any_second,
            orders: self.orders.len(),
            listings_released: self.listings.len(),
        }
    }

    /// Releases the listings whose time has come: `initial_listings` at the start, then
    /// one per `listing_interval`, up to `max_listings`.
    fn release_due(&mut self, now: Instant) {
        let due = self.released_count(self.clock.elapsed(now));
        while self.listings.len() < due {
            let terms = self.generator.next_listing();
            let released_after = self.release_offset(self.listings.len());
            self.index_by_id
                .insert(terms.id.clone(), self.listings.len());
            self.listings.push(Listing {
                amount_remaining_cents: terms.amount_remaining_cents,
                terms,
                released_after,
            });
        }
    }

    fn released_count(&self, elapsed: Duration) -> usize {
        let settings = &self.settings;
        let released_since_start = if settings.listing_interval.is_zero() {
            settings.max_listings
        } else {
            let intervals = elapsed.as_nanos() / settings.listing_interval.as_nanos();
            usize::try_from(intervals).unwrap_or(usize::MAX)
        };
        settings
            .initial_listings
            .saturating_add(released_since_start)
            .min(settings.max_listings)
    }

    /// When the listing at `index` (in release order) goes live.
    fn release_offset(&self, index: usize) -> Duration {
        match index.checked_sub(self.settings.initial_listings) {
            None => Duration::ZERO,
            Some(later) => {
                let intervals = u32::try_from(later + 1).unwrap_or(u32::MAX);
                self.settings.listing_interval.saturating_mul(intervals)
            }
        }
    }

    fn index_of(&self, id: &str) -> Result<usize, FcError> {
        self.index_by_id
            .get(id)
            .copied()
            .ok_or_else(|| FcError::ListingNotFound(id.to_string()))
    }

    fn listing(&self, id: &str) -> Result<&Listing, FcError> {
        Ok(&self.listings[self.index_of(id)?])
    }

    fn new_order(
        &mut self,
        listing_id: &str,
        interest_rate: Decimal,
        amount_cents: i64,
        now: Instant,
    ) -> Order {
        let transaction_id = self.next_transaction_id;
        self.next_transaction_id += 1;
        let timestamp = self
            .clock
            .wall_time(now)
            .to_rfc3339_opts(SecondsFormat::Secs, false);
        Order {
            transaction_id,
            purchased_amount_cents: amount_cents,
            cashback_rate: 0,
            fund_managed: false,
            updated_at: timestamp.clone(),
            interest_rate,
            status: "pending",
            id: uuid_like(&mut self.rng),
            truncated: false,
            listing_id: listing_id.to_string(),
            investor_postfunded: false,
            investor_id: self.investor_id.clone(),
            investor_servicer_code: "orion",
            accrued_interest_cents: 0,
            original_purchase_amount_cents: amount_cents,
            created_at: timestamp,
            payment_due_at: None,
        }
    }

    fn summary(&self, listing: &Listing, elapsed: Duration) -> ListingSummary {
        let dates = self.dates(listing);
        ListingSummary {
            id: listing.terms.id.clone(),
            status: listing.status(elapsed, self.settings.listing_lifetime),
            listing_type: listing.terms.listing_type,
            preview_date: dates.preview,
            live_date: dates.live,
            expiry_date: dates.expiry,
        }
    }

    fn details(&self, listing: &Listing, elapsed: Duration) -> ListingDetails {
        let dates = self.dates(listing);
        let terms = &listing.terms;
        ListingDetails {
            id: terms.id.clone(),
            status: listing.status(elapsed, self.settings.listing_lifetime),
            listing_type: terms.listing_type,
            loan_amount_cents: terms.loan_amount_cents,
            amount_remaining_cents: listing.amount_remaining_cents,
            interest_rate: listing.interest_rate(),
            term_months: terms.term_months,
            risk_band: terms.risk_band,
            purpose: terms.purpose,
            industry: terms.industry,
            years_in_business: terms.years_in_business,
            state: terms.state,
            min_order_cents: MIN_ORDER_CENTS,
            max_order_cents: MAX_ORDER_CENTS,
            live_date: dates.live,
            expiry_date: dates.expiry,
        }
    }

    fn dates(&self, listing: &Listing) -> ListingDates {
        let live = self.clock.wall_time_at(listing.released_after);
        let expiry = self.clock.wall_time_at(
            listing
                .released_after
                .saturating_add(self.settings.listing_lifetime),
        );
        let preview = live
            .checked_sub_signed(chrono::Duration::hours(PREVIEW_LEAD_HOURS))
            .unwrap_or(live);
        ListingDates {
            preview: listing_date(preview),
            live: listing_date(live),
            expiry: listing_date(expiry),
        }
    }
}

struct ListingDates {
    preview: String,
    live: String,
    expiry: String,
}

/// Listing dates as DESIGN.md shows them: `2026-11-20T21:00:00Z`.
fn listing_date(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_amount_cents(text: &str) -> Result<i64, FcError> {
    match text.trim().parse::<i64>() {
        Ok(cents) if cents > 0 => Ok(cents),
        _ => Err(FcError::InvalidAmount(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn settings() -> MarketSettings {
        MarketSettings {
            seed: 42,
            initial_listings: 30,
            listing_interval: 2 * SECOND,
            max_listings: 40,
            listing_lifetime: 600 * SECOND,
            token_lifetime: 7200 * SECOND,
            starting_cash_cents: 100_000_000,
        }
    }

    fn market(settings: MarketSettings) -> (Market, SandboxClock) {
        let clock = SandboxClock::start(None);
        (Market::new(settings, clock), clock)
    }

    /// The first live listing of a type, with its remaining amount.
    fn first_of(market: &mut Market, kind: ListingType, now: Instant) -> (String, i64) {
        let summary = market
            .listings(LIVE, now)
            .into_iter()
            .find(|l| l.listing_type == kind)
            .expect("the seed offers both types");
        let details = market.listing_details(&summary.id, now).unwrap();
        (summary.id, details.amount_remaining_cents)
    }

    #[test]
    fn listings_are_released_over_time_up_to_the_cap() {
        let (mut market, clock) = market(settings());
        let count_at = |market: &mut Market, secs: u64| {
            market
                .listings(LIVE, clock.at(Duration::from_secs(secs)))
                .len()
        };
        assert_eq!(count_at(&mut market, 0), 30);
        assert_eq!(count_at(&mut market, 1), 30);
        assert_eq!(count_at(&mut market, 2), 31);
        assert_eq!(count_at(&mut market, 9), 34);
        assert_eq!(count_at(&mut market, 20), 40);
        assert_eq!(count_at(&mut market, 500), 40, "capped at max_listings");
    }

    #[test]
    fn released_listings_carry_their_live_and_expiry_dates() {
        let (mut market, clock) = market(settings());
        let listings = market.listings(LIVE, clock.at(4 * SECOND));
        let start = clock.wall_time_at(Duration::ZERO);
        let date = |offset: u64| listing_date(start + chrono::Duration::seconds(offset as i64));
        assert_eq!(listings[0].live_date, date(0));
        assert_eq!(listings[0].expiry_date, date(600));
        assert_eq!(listings[30].live_date, date(2));
        assert_eq!(listings[31].live_date, date(4));
        assert_eq!(
            listings[31].preview_date,
            listing_date(start + chrono::Duration::seconds(4) - chrono::Duration::hours(1))
        );
    }

    #[test]
    fn listings_expire_after_their_lifetime_and_cannot_be_bought() {
        let (mut market, clock) = market(settings());
        let (id, _) = first_of(&mut market, ListingType::Whole, clock.at(Duration::ZERO));
        let after_expiry = clock.at(600 * SECOND);
        assert!(market
            .listings(LIVE, after_expiry)
            .iter()
            .all(|l| l.id != id));
        assert!(market
            .listings(EXPIRED, after_expiry)
            .iter()
            .any(|l| l.id == id));
        assert_eq!(
            market.place_order(Some(&id), None, after_expiry),
            Err(FcError::NotLive { status: EXPIRED })
        );
    }

    #[test]
    fn sessions_need_good_credentials_and_expire() {
        let (mut market, clock) = market(MarketSettings {
            token_lifetime: 10 * SECOND,
            ..settings()
        });
        let start = clock.at(Duration::ZERO);
        for (user, password) in [("u", REFUSED_PASSWORD), ("", "p"), ("u", "")] {
            assert_eq!(
                market.login(user, password, start),
                Err(FcError::InvalidCredentials)
            );
        }
        let session = market.login("investor", "secret", start).unwrap();
        assert_eq!(session.expires_in, 10);
        assert_eq!(
            market.authorize(Some(&session.token), clock.at(9 * SECOND)),
            Ok(())
        );
        assert_eq!(
            market.authorize(Some(&session.token), clock.at(10 * SECOND)),
            Err(FcError::ExpiredToken)
        );
        assert_eq!(
            market.authorize(Some("forged"), start),
            Err(FcError::InvalidToken)
        );
        assert_eq!(market.authorize(None, start), Err(FcError::MissingToken));
    }

    #[test]
    fn order_requests_breaking_a_rule_are_refused_and_change_nothing() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        let (whole, _) = first_of(&mut market, ListingType::Whole, now);
        let (fractional, remaining) = first_of(&mut market, ListingType::Fractional, now);
        let cases: Vec<(Option<&str>, Option<&str>, FcError)> = vec![
            (None, Some("2500"), FcError::MissingListingId),
            (Some(""), Some("2500"), FcError::MissingListingId),
            (
                Some("nope"),
                Some("2500"),
                FcError::ListingNotFound("nope".into()),
            ),
            (Some(&whole), Some("2500"), FcError::AmountOnWholeLoan),
            (Some(&fractional), None, FcError::AmountRequired),
            (
                Some(&fractional),
                Some("25.00"),
                FcError::InvalidAmount("25.00".into()),
            ),
            (
                Some(&fractional),
                Some("-2500"),
                FcError::InvalidAmount("-2500".into()),
            ),
            (
                Some(&fractional),
                Some("2499"),
                FcError::BelowMinimum {
                    amount: 2499,
                    min: 2500,
                },
            ),
            (
                Some(&fractional),
                Some("2500001"),
                FcError::AboveMaximum {
                    amount: 2_500_001,
                    max: 2_500_000,
                },
            ),
        ];
        for (listing_id, amount, expected) in cases {
            assert_eq!(market.place_order(listing_id, amount, now), Err(expected));
        }
        let (nearly_sold, nearly_sold_remaining) = market
            .listings(LIVE, now)
            .into_iter()
            .filter(|l| l.listing_type == ListingType::Fractional)
            .map(|l| {
                let remaining = market
                    .listing_details(&l.id, now)
                    .unwrap()
                    .amount_remaining_cents;
                (l.id, remaining)
            })
            .find(|(_, remaining)| *remaining < MAX_ORDER_CENTS)
            .expect("the seed has a fractional listing with less than the maximum left");
        let above_remaining = nearly_sold_remaining + 100;
        assert_eq!(
            market.place_order(Some(&nearly_sold), Some(&above_remaining.to_string()), now),
            Err(FcError::ExceedsRemaining {
                amount: above_remaining,
                remaining: nearly_sold_remaining
            })
        );
        assert!(market.orders(None).is_empty());
        assert_eq!(market.available_cash_cents(), 100_000_000);
        assert_eq!(
            market
                .listing_details(&fractional, now)
                .unwrap()
                .amount_remaining_cents,
            remaining
        );
    }

    #[test]
    fn a_fractional_order_lowers_remaining_and_cash() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        let (id, remaining) = first_of(&mut market, ListingType::Fractional, now);
        let order = market.place_order(Some(&id), Some("2500"), now).unwrap();
        assert_eq!(order.purchased_amount_cents, 2500);
        assert_eq!(order.listing_id, id);
        assert_eq!(order.status, "pending");
        let details = market.listing_details(&id, now).unwrap();
        assert_eq!(details.amount_remaining_cents, remaining - 2500);
        assert_eq!(details.status, LIVE);
        assert_eq!(market.available_cash_cents(), 100_000_000 - 2500);
        assert_eq!(market.orders(Some(&id)), vec![order]);
        assert!(market.orders(Some("other")).is_empty());
    }

    #[test]
    fn a_whole_order_buys_everything_and_funds_the_listing() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        let (id, remaining) = first_of(&mut market, ListingType::Whole, now);
        let order = market.place_order(Some(&id), None, now).unwrap();
        assert_eq!(order.purchased_amount_cents, remaining);
        let details = market.listing_details(&id, now).unwrap();
        assert_eq!(
            (details.status, details.amount_remaining_cents),
            (FUNDED, 0)
        );
        assert!(market.listings(LIVE, now).iter().all(|l| l.id != id));
        assert_eq!(
            market.place_order(Some(&id), None, now),
            Err(FcError::NotLive { status: FUNDED })
        );
        assert_eq!(market.orders(None).len(), 1);
    }

    #[test]
    fn an_order_beyond_the_cash_is_refused() {
        let (mut market, clock) = market(MarketSettings {
            starting_cash_cents: 4_000,
            ..settings()
        });
        let now = clock.at(Duration::ZERO);
        let (id, _) = first_of(&mut market, ListingType::Fractional, now);
        assert!(market.place_order(Some(&id), Some("2500"), now).is_ok());
        assert_eq!(
            market.place_order(Some(&id), Some("2500"), now),
            Err(FcError::InsufficientFunds {
                amount: 2500,
                available: 1500
            })
        );
        assert_eq!(market.available_cash_cents(), 1_500);
    }

    #[test]
    fn the_41st_order_post_in_a_second_is_rate_limited_and_does_nothing() {
        let (mut market, clock) = market(settings());
        let now = clock.at(Duration::ZERO);
        let (id, _) = first_of(&mut market, ListingType::Fractional, now);
        for _ in 0..ORDER_POSTS_PER_SECOND {
            market.place_order(Some(&id), Some("2500"), now).unwrap();
        }
        assert_eq!(
            market.place_order(
                Some(&id),
                Some("2500"),
                clock.at(Duration::from_millis(999))
            ),
            Err(FcError::RateLimited {
                retry_after: Duration::from_millis(1)
            })
        );
        assert_eq!(market.orders(None).len(), 40);
        assert!(market
            .place_order(Some(&id), Some("2500"), clock.at(SECOND))
            .is_ok());
    }

    #[test]
    fn the_ledger_counts_posts_and_their_outcomes() {
        let (mut market, clock) = market(settings());
        market.record_order_post(clock.at(Duration::from_millis(1500)));
        market.record_order_outcome(StatusCode::CREATED);
        market.record_order_post(clock.at(Duration::from_millis(1525)));
        market.record_order_outcome(StatusCode::TOO_MANY_REQUESTS);
        market.record_order_post(clock.at(Duration::from_millis(1550)));
        market.record_order_outcome(StatusCode::UNPROCESSABLE_ENTITY);
        market.record_order_post(clock.at(Duration::from_millis(1575)));
        market.record_order_outcome(StatusCode::SERVICE_UNAVAILABLE);
        let ledger = market.ledger();
        assert_eq!(ledger.posts, 4);
        assert_eq!(ledger.rate_limited, 1);
        assert_eq!(ledger.rejected, 1);
        assert_eq!(ledger.post_times_ms, vec![1500, 1525, 1550, 1575]);
    }

    #[test]
    fn stats_report_the_most_posts_that_arrived_within_one_second() {
        let (mut market, clock) = market(settings());
        let post_at = |market: &mut Market, ms: u64| {
            market.record_order_post(clock.at(Duration::from_millis(ms)));
            market.record_order_outcome(StatusCode::CREATED);
        };
        // Three arrivals within 900 ms, then one exactly a second after the first
        // (the first has left the window, as the rate limit counts it).
        for ms in [0, 400, 900, 1000] {
            post_at(&mut market, ms);
        }
        assert_eq!(market.stats().max_posts_in_any_second, 3);
        post_at(&mut market, 1001);
        let stats = market.stats();
        assert_eq!(stats.max_posts_in_any_second, 4);
        assert_eq!(stats.posts, 5);
        assert_eq!(stats.rate_limited, 0);
        assert_eq!(stats.orders, 0);
    }
}

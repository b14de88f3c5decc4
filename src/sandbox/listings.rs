//! Seeded generation of Funding Circle-like loan listings: the same seed always yields
//! the same sequence, so a sandbox run (and every test against it) is reproducible.
//!
//! Amounts are integer cents, as the platform's wire speaks them (exact; never floats).
//! Interest rates are integer basis points, turned into a 4-place decimal only when
//! printed, so no rate ever passes through binary floating point.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Smallest fractional order the platform accepts ($25).
pub(crate) const MIN_ORDER_CENTS: i64 = 2_500;
/// Largest fractional order the platform accepts ($25,000).
pub(crate) const MAX_ORDER_CENTS: i64 = 2_500_000;

/// Whole loans are bought in one order; fractional ones in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ListingType {
    Whole,
    Fractional,
}

/// A risk band and the interest rates (basis points, inclusive) loans in it carry.
#[derive(Clone, Copy)]
struct RiskBand {
    name: &'static str,
    rate_bps: (u32, u32),
}

/// Funding Circle's bands; rates rise with risk and together span 5–25 %.
const RISK_BANDS: [RiskBand; 5] = [
    RiskBand {
        name: "A+",
        rate_bps: (500, 800),
    },
    RiskBand {
        name: "A",
        rate_bps: (700, 1100),
    },
    RiskBand {
        name: "B",
        rate_bps: (900, 1500),
    },
    RiskBand {
        name: "C",
        rate_bps: (1300, 2000),
    },
    RiskBand {
        name: "D",
        rate_bps: (1800, 2500),
    },
];

const TERMS_MONTHS: [u32; 5] = [12, 24, 36, 48, 60];

const PURPOSES: [&str; 7] = [
    "Working capital",
    "Expansion",
    "Equipment purchase",
    "Inventory",
    "Refinance debt",
    "Hire staff",
    "Marketing",
];

const INDUSTRIES: [&str; 9] = [
    "Construction",
    "Retail",
    "Manufacturing",
    "Professional services",
    "Restaurants",
    "Healthcare",
    "Transportation",
    "Wholesale",
    "Technology",
];

const STATES: [&str; 12] = [
    "CA", "TX", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "WA", "CO", "AZ",
];

/// The terms of one generated listing, before it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoanTerms {
    pub id: String,
    pub listing_type: ListingType,
    pub loan_amount_cents: i64,
    /// What is left to buy when the listing goes live (fractional listings may start
    /// partly filled by other investors).
    pub amount_remaining_cents: i64,
    pub interest_rate_bps: u32,
    pub term_months: u32,
    pub risk_band: &'static str,
    pub purpose: &'static str,
    pub industry: &'static str,
    pub years_in_business: u32,
    pub state: &'static str,
}

/// An endless, reproducible stream of listings.
#[derive(Debug, Clone)]
pub(crate) struct ListingGenerator {
    rng: ChaCha8Rng,
}

impl ListingGenerator {
    pub(crate) fn new(seed: u64) -> Self {
        ListingGenerator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The next listing of the sequence.
    pub(crate) fn next_listing(&mut self) -> LoanTerms {
        let id = uuid_like(&mut self.rng);
        // About 30 % whole loans, as on the platform.
        let listing_type = if self.rng.random_ratio(3, 10) {
            ListingType::Whole
        } else {
            ListingType::Fractional
        };
        let band = pick(&mut self.rng, &RISK_BANDS);
        let interest_rate_bps = self.rng.random_range(band.rate_bps.0..=band.rate_bps.1);
        let term_months = pick(&mut self.rng, &TERMS_MONTHS);
        let loan_amount_cents = self.loan_amount_cents(listing_type);
        let amount_remaining_cents = self.remaining_cents(listing_type, loan_amount_cents);
        LoanTerms {
            id,
            listing_type,
            loan_amount_cents,
            amount_remaining_cents,
            interest_rate_bps,
            term_months,
            risk_band: band.name,
            purpose: pick(&mut self.rng, &PURPOSES),
            industry: pick(&mut self.rng, &INDUSTRIES),
            years_in_business: self.rng.random_range(1..=30),
            state: pick(&mut self.rng, &STATES),
        }
    }

    /// Whole dollars between $25,000 and $500,000 — except one whole loan in three,
    /// which is small ($1,000–$5,000) so a "whole-loan sniper" strategy finds loans its
    /// budget can cover entirely.
    fn loan_amount_cents(&mut self, listing_type: ListingType) -> i64 {
        let small_whole_loan = listing_type == ListingType::Whole && self.rng.random_ratio(1, 3);
        let dollars: i64 = if small_whole_loan {
            self.rng.random_range(1_000..=5_000)
        } else {
            self.rng.random_range(25_000..=500_000)
        };
        dollars * 100
    }

    /// Whole loans are offered in full. Of the fractional ones, half are untouched, a
    /// quarter have up to 80 % sold and a quarter are nearly sold ($100–$20,000 left,
    /// below the largest order), in whole dollars.
    fn remaining_cents(&mut self, listing_type: ListingType, loan_amount_cents: i64) -> i64 {
        if listing_type == ListingType::Whole || self.rng.random_bool(0.5) {
            return loan_amount_cents;
        }
        let loan_dollars = loan_amount_cents / 100;
        let remaining_dollars = if self.rng.random_bool(0.5) {
            loan_dollars - self.rng.random_range(0..=loan_dollars * 4 / 5)
        } else {
            self.rng.random_range(100..=NEARLY_SOLD_MAX_DOLLARS)
        };
        remaining_dollars * 100
    }
}

/// Most a nearly sold fractional listing has left, in dollars.
const NEARLY_SOLD_MAX_DOLLARS: i64 = 20_000;

/// One element of a non-empty constant table.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, table: &[T]) -> T {
    table[rng.random_range(0..table.len())]
}

/// A random (version 4 layout) UUID string; ids are opaque strings to clients anyway.
pub(crate) fn uuid_like(rng: &mut ChaCha8Rng) -> String {
    let mut bytes: [u8; 16] = rng.random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(seed: u64, count: usize) -> Vec<LoanTerms> {
        let mut generator = ListingGenerator::new(seed);
        (0..count).map(|_| generator.next_listing()).collect()
    }

    #[test]
    fn same_seed_same_listings_other_seed_other_listings() {
        assert_eq!(first(7, 50), first(7, 50));
        let other = first(8, 50);
        assert!(first(7, 50).iter().zip(&other).all(|(a, b)| a.id != b.id));
    }

    #[test]
    fn every_listing_is_within_the_platform_ranges() {
        for listing in first(1, 2_000) {
            assert!(
                (500..=2500).contains(&listing.interest_rate_bps),
                "{listing:?}"
            );
            assert!(TERMS_MONTHS.contains(&listing.term_months));
            assert!(RISK_BANDS.iter().any(|b| b.name == listing.risk_band));
            assert_eq!(listing.loan_amount_cents % 100, 0, "whole dollars");
            assert_eq!(listing.amount_remaining_cents % 100, 0, "whole dollars");
            assert!(listing.amount_remaining_cents <= listing.loan_amount_cents);
            assert!(listing.amount_remaining_cents >= MIN_ORDER_CENTS);
            match listing.listing_type {
                ListingType::Whole => {
                    assert_eq!(listing.amount_remaining_cents, listing.loan_amount_cents);
                    assert!((100_000..=50_000_000).contains(&listing.loan_amount_cents));
                }
                ListingType::Fractional => {
                    assert!((2_500_000..=50_000_000).contains(&listing.loan_amount_cents));
                }
            }
            assert_eq!(listing.id.len(), 36);
            assert_eq!(listing.id.matches('-').count(), 4);
        }
    }

    #[test]
    fn the_mix_has_whole_loans_small_whole_loans_and_partly_filled_ones() {
        let listings = first(42, 1_000);
        let whole = listings
            .iter()
            .filter(|l| l.listing_type == ListingType::Whole)
            .count();
        assert!((250..=350).contains(&whole), "{whole} whole loans in 1000");
        let small_whole = listings
            .iter()
            .filter(|l| l.listing_type == ListingType::Whole)
            .filter(|l| l.amount_remaining_cents <= 500_000)
            .count();
        assert!(small_whole >= 50, "{small_whole} small whole loans");
        let partly_filled = listings
            .iter()
            .filter(|l| l.amount_remaining_cents < l.loan_amount_cents)
            .count();
        assert!(partly_filled >= 200, "{partly_filled} partly filled");
        let nearly_sold = listings
            .iter()
            .filter(|l| l.listing_type == ListingType::Fractional)
            .filter(|l| l.amount_remaining_cents < MAX_ORDER_CENTS)
            .count();
        assert!(nearly_sold >= 100, "{nearly_sold} nearly sold");
    }

    #[test]
    fn the_default_seed_offers_a_small_whole_loan_among_the_first_listings() {
        // The demo config relies on the sniper strategy finding something at start.
        let small_whole = first(42, 30)
            .into_iter()
            .filter(|l| l.listing_type == ListingType::Whole)
            .filter(|l| l.amount_remaining_cents <= 500_000)
            .count();
        assert!(small_whole >= 1);
    }
}

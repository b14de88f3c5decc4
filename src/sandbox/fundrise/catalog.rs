//! The seeded catalog of Fundrise-like funds: which funds exist, in which order they
//! are released, whether they are OPEN, their per-transaction limits, prices and
//! documents. The same seed always gives the same catalog.
//!
//! Amounts are integer cents (exact); they become decimal strings only when printed.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The documented limits of every open fund: $10 and $100,000 per transaction.
pub(crate) const PLATFORM_MIN_CENTS: i64 = 1_000;
pub(crate) const PLATFORM_MAX_CENTS: i64 = 10_000_000;

/// The catalog RNG's stream, apart from the other emulators' draws.
const CATALOG_RNG_STREAM: u64 = 0xF0_F1;

/// `AssetClassEnum` values and their labels.
pub(crate) const REAL_ESTATE: (&str, &str) = ("REAL_ESTATE", "Real Estate");
pub(crate) const PRIVATE_CREDIT: (&str, &str) = ("PRIVATE_CREDIT", "Private Credit");
pub(crate) const VENTURE: (&str, &str) = ("VENTURE", "Venture");

/// Every asset class the spec's `AssetClassEnum` names.
pub(crate) const ASSET_CLASSES: [&str; 3] = [REAL_ESTATE.0, PRIVATE_CREDIT.0, VENTURE.0];

/// (name, asset class, primary objective) of the funds the catalog draws from.
const FUNDS: [(&str, (&str, &str), &str); 12] = [
    ("Flagship Real Estate Fund", REAL_ESTATE, "Appreciation"),
    ("Income Real Estate Fund", REAL_ESTATE, "Cash flow"),
    ("Income Interval Fund", PRIVATE_CREDIT, "Cash flow"),
    ("Innovation Fund", VENTURE, "Appreciation"),
    ("Fundrise Equity eREIT", REAL_ESTATE, "Appreciation"),
    ("Fundrise Growth eREIT", REAL_ESTATE, "Appreciation"),
    ("Fundrise Balanced eREIT", REAL_ESTATE, "Balanced"),
    ("East Coast eREIT", REAL_ESTATE, "Balanced"),
    ("Heartland eREIT", REAL_ESTATE, "Cash flow"),
    ("Opportunistic Credit Fund", PRIVATE_CREDIT, "Cash flow"),
    ("Real Estate Debt Fund", PRIVATE_CREDIT, "Cash flow"),
    ("Venture Growth Fund", VENTURE, "Appreciation"),
];

/// Per-transaction (minimum, maximum) in cents: mostly the documented $10 / $100,000,
/// sometimes a fund of its own, so clients must read each offering's limits.
const LIMITS: [(i64, i64); 6] = [
    (PLATFORM_MIN_CENTS, PLATFORM_MAX_CENTS),
    (PLATFORM_MIN_CENTS, PLATFORM_MAX_CENTS),
    (PLATFORM_MIN_CENTS, PLATFORM_MAX_CENTS),
    (10_000, 5_000_000),
    (50_000, PLATFORM_MAX_CENTS),
    (2_500, 2_500_000),
];

/// The investment acknowledgments every offering requires (the spec's sample texts).
pub(crate) const ACKNOWLEDGMENTS: [(&str, &str); 2] = [
    (
        "1",
        "I have reviewed each Offering Circular and Prospectus, reviewed and agree to each Subscription Agreement, and understand the risks associated with this offering.",
    ),
    (
        "2",
        "I recognize that my investment is in alternative assets which are fundamentally long-term, illiquid investments; that liquidations, if approved, are paid out quarterly for the eREITs and the funds registered under the Investment Company Act of 1940, and monthly after a minimum 60-day waiting period for the eFund; and, where possible, requests for liquidation may be suspended during periods of financial stress.",
    ),
];

/// One fund of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fund {
    /// "1", "2", … in release order.
    pub id: String,
    pub name: &'static str,
    pub asset_class: (&'static str, &'static str),
    pub objective: &'static str,
    pub open: bool,
    pub min_cents: i64,
    pub max_cents: i64,
    /// Share price (NAV) in cents; `None`: not published.
    pub price_cents: Option<i64>,
    /// Printed as the spec's sample prints it: `.41`.
    pub distribution_rate_hundredths: u32,
}

impl Fund {
    pub(crate) fn status(&self) -> &'static str {
        if self.open {
            "OPEN"
        } else {
            "CLOSED"
        }
    }

    /// (id, name, `DocumentTypeEnum`) of the fund's documents: ids "{fund}01", "{fund}02".
    pub(crate) fn documents(&self) -> [(String, String, &'static str); 2] {
        [
            (
                format!("{}01", self.id),
                format!("{} Offering Circular.pdf", self.name),
                "OFFERING_CIRCULAR",
            ),
            (
                format!("{}02", self.id),
                format!("{} Subscription Agreement.pdf", self.name),
                "AGREEMENT",
            ),
        ]
    }

    /// Every id an investment must acknowledge: the documents, then the acknowledgments.
    pub(crate) fn required_acknowledgments(&self) -> Vec<String> {
        self.documents()
            .into_iter()
            .map(|(id, _, _)| id)
            .chain(ACKNOWLEDGMENTS.iter().map(|(id, _)| id.to_string()))
            .collect()
    }
}

/// The whole catalog, in release order.
pub(crate) fn catalog(seed: u64) -> Vec<Fund> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(CATALOG_RNG_STREAM);
    let mut funds = FUNDS;
    funds.shuffle(&mut rng);
    funds
        .into_iter()
        .enumerate()
        .map(|(index, (name, asset_class, objective))| {
            let (min_cents, max_cents) = LIMITS[rng.random_range(0..LIMITS.len())];
            Fund {
                id: (index + 1).to_string(),
                name,
                asset_class,
                objective,
                // About one fund in five is closed, as the spec's sample has one of three.
                open: !rng.random_ratio(1, 5),
                min_cents,
                max_cents,
                price_cents: (!rng.random_ratio(1, 6)).then(|| rng.random_range(950..=1_600)),
                distribution_rate_hundredths: rng.random_range(10..=95),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn same_seed_same_catalog_and_seeds_differ() {
        assert_eq!(catalog(7), catalog(7));
        assert_ne!(catalog(7), catalog(8));
    }

    #[test]
    fn funds_are_distinct_and_within_the_documented_limits() {
        let funds = catalog(42);
        assert_eq!(funds.len(), FUNDS.len());
        let names: HashSet<&str> = funds.iter().map(|f| f.name).collect();
        assert_eq!(names.len(), FUNDS.len());
        for (index, fund) in funds.iter().enumerate() {
            assert_eq!(fund.id, (index + 1).to_string());
            assert!(fund.min_cents >= PLATFORM_MIN_CENTS && fund.min_cents <= fund.max_cents);
            assert!(fund.max_cents <= PLATFORM_MAX_CENTS);
            assert_eq!(fund.required_acknowledgments().len(), 4);
        }
        let documents: HashSet<String> = funds
            .iter()
            .flat_map(|f| f.documents().map(|(id, _, _)| id))
            .collect();
        assert_eq!(documents.len(), 2 * FUNDS.len(), "document ids are unique");
    }

    #[test]
    fn over_many_seeds_some_funds_are_closed_and_some_unpriced() {
        let funds: Vec<Fund> = (0..20).flat_map(catalog).collect();
        assert!(funds.iter().any(|f| !f.open));
        assert!(funds.iter().filter(|f| f.open).count() > funds.len() / 2);
        assert!(funds.iter().any(|f| f.price_cents.is_none()));
        assert!(funds.iter().any(|f| f.min_cents > PLATFORM_MIN_CENTS));
    }
}

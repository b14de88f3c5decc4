//! Seeded generation of FundAmerica-like offerings: the same seed always yields the
//! same sequence, so a sandbox run (and every test against it) is reproducible.
//!
//! Amounts are integer cents (exact; never floats). The limits are consistent the way
//! a real issuer sets them: a minimum is a multiple of the increment (and of the share
//! price for equity), an increment of an equity offering is a multiple of its share
//! price, and any limit may be null.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator's RNG stream, apart from the market's and the other emulators'.
const OFFERING_RNG_STREAM: u64 = 0xFA01;

/// Equity share prices, in dollars.
const SHARE_PRICES: [i64; 9] = [1, 5, 10, 20, 25, 50, 100, 250, 500];
const MINIMUMS: [i64; 6] = [100, 250, 500, 1_000, 2_500, 5_000];
const MAXIMUMS: [i64; 4] = [10_000, 25_000, 50_000, 100_000];
const DEBT_INCREMENTS: [i64; 3] = [100, 500, 1_000];
const EXEMPTIONS: [&str; 5] = ["506c", "506b", "reg_a_t1", "reg_a_t2", "4a6"];

const NAME_PLACES: [&str; 10] = [
    "Peachtree",
    "Harbor",
    "Summit",
    "Riverside",
    "Desert",
    "Lakeside",
    "Granite",
    "Prairie",
    "Cypress",
    "Bayview",
];
const NAME_THINGS: [&str; 8] = [
    "Apartments",
    "Brewing Co.",
    "Solar Farm",
    "Medical Offices",
    "Self Storage",
    "Coffee Roasters",
    "Logistics Center",
    "Boutique Hotel",
];

/// Equity (whole shares) or debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OfferingType {
    Equity,
    Debt,
}

impl OfferingType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OfferingType::Equity => "equity",
            OfferingType::Debt => "debt",
        }
    }
}

/// The terms of one generated offering, before it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfferingTerms {
    pub id: String,
    pub name: String,
    pub offering_type: OfferingType,
    /// Equity only; the security that carries it has `security_id`.
    pub share_price_cents: Option<i64>,
    pub security_id: Option<String>,
    /// Target raise, oversubscription ceiling and partial-close floor.
    pub amount_cents: i64,
    pub max_amount_cents: i64,
    pub min_amount_cents: i64,
    pub min_investment_cents: Option<i64>,
    pub max_investment_cents: Option<i64>,
    pub increment_cents: Option<i64>,
    /// Raised from other investors before the sandbox's investor shows up.
    pub subscribed_cents: i64,
    /// False: escrow still pending, investments are refused (403).
    pub accepting: bool,
    pub regulatory_exemption: &'static str,
}

/// An endless, reproducible stream of offerings.
#[derive(Debug, Clone)]
pub(crate) struct OfferingGenerator {
    rng: ChaCha8Rng,
}

impl OfferingGenerator {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(OFFERING_RNG_STREAM);
        OfferingGenerator { rng }
    }

    /// The next offering of the sequence.
    pub(crate) fn next_offering(&mut self) -> OfferingTerms {
        let id = fa_id(&mut self.rng);
        // About 60 % equity, as on portals selling shares.
        let offering_type = if self.rng.random_ratio(3, 5) {
            OfferingType::Equity
        } else {
            OfferingType::Debt
        };
        let (share_price_cents, security_id) = match offering_type {
            OfferingType::Equity => (
                Some(pick(&mut self.rng, &SHARE_PRICES) * 100),
                Some(fa_id(&mut self.rng)),
            ),
            OfferingType::Debt => (None, None),
        };
        let increment_cents = self.increment_cents(share_price_cents);
        let step = increment_cents.or(share_price_cents).unwrap_or(1);
        let min_investment_cents = self
            .maybe(7, 10)
            .then(|| round_up(pick(&mut self.rng, &MINIMUMS) * 100, step));
        let max_investment_cents = self
            .maybe(3, 5)
            .then(|| round_down(pick(&mut self.rng, &MAXIMUMS) * 100, step))
            .filter(|max| *max > 0 && min_investment_cents.is_none_or(|min| *max >= min));
        let amount_cents = self.rng.random_range(50..=5_000) * 1_000 * 100;
        let max_amount_cents = if self.rng.random_bool(0.5) {
            amount_cents / 10 * 11
        } else {
            amount_cents
        };
        let subscribed_cents = self.subscribed_cents(max_amount_cents, step);
        OfferingTerms {
            name: format!(
                "{} {} {}",
                pick(&mut self.rng, &NAME_PLACES),
                pick(&mut self.rng, &NAME_THINGS),
                &id[..4]
            ),
            id,
            offering_type,
            share_price_cents,
            security_id,
            amount_cents,
            max_amount_cents,
            min_amount_cents: amount_cents / 10 * 9,
            min_investment_cents,
            max_investment_cents,
            increment_cents,
            subscribed_cents,
            accepting: self.rng.random_ratio(17, 20),
            regulatory_exemption: pick(&mut self.rng, &EXEMPTIONS),
        }
    }

    fn maybe(&mut self, numerator: u32, denominator: u32) -> bool {
        self.rng.random_ratio(numerator, denominator)
    }

    /// Half the offerings have no increment; equity increments are whole shares.
    fn increment_cents(&mut self, share_price_cents: Option<i64>) -> Option<i64> {
        if self.rng.random_bool(0.5) {
            return None;
        }
        Some(match share_price_cents {
            Some(price) => price * pick(&mut self.rng, &[1, 2, 10]),
            None => pick(&mut self.rng, &DEBT_INCREMENTS) * 100,
        })
    }

    /// Half are untouched, a quarter partly raised, a quarter nearly full ($500 to
    /// $20,000 of room left), always in whole steps.
    fn subscribed_cents(&mut self, max_amount_cents: i64, step: i64) -> i64 {
        let subscribed = match self.rng.random_range(0..4) {
            0 | 1 => 0,
            2 => self.rng.random_range(0..=max_amount_cents * 4 / 5),
            _ => max_amount_cents - self.rng.random_range(500..=20_000) * 100,
        };
        round_down(subscribed, step)
    }
}

/// A FundAmerica-style id: 16 random bytes, URL-safe base64 (22 characters).
pub(crate) fn fa_id(rng: &mut ChaCha8Rng) -> String {
    URL_SAFE_NO_PAD.encode(rng.random::<[u8; 16]>())
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, table: &[T]) -> T {
    table[rng.random_range(0..table.len())]
}

fn round_up(value: i64, step: i64) -> i64 {
    (value + step - 1) / step * step
}

fn round_down(value: i64, step: i64) -> i64 {
    value / step * step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(seed: u64, count: usize) -> Vec<OfferingTerms> {
        let mut generator = OfferingGenerator::new(seed);
        (0..count).map(|_| generator.next_offering()).collect()
    }

    #[test]
    fn same_seed_same_offerings_other_seed_other_offerings() {
        assert_eq!(first(7, 50), first(7, 50));
        let other = first(8, 50);
        assert!(first(7, 50).iter().zip(&other).all(|(a, b)| a.id != b.id));
    }

    #[test]
    fn limits_are_consistent_and_may_be_null() {
        let offerings = first(3, 2_000);
        for o in &offerings {
            assert_eq!(o.id.len(), 22, "{o:?}");
            // The smallest step an investment moves in.
            let step = o.increment_cents.or(o.share_price_cents).unwrap_or(1);
            if let Some(price) = o.share_price_cents {
                assert_eq!(o.offering_type, OfferingType::Equity);
                assert!(o.security_id.is_some());
                assert_eq!(step % price, 0, "equity steps are whole shares: {o:?}");
            }
            if let Some(min) = o.min_investment_cents {
                assert_eq!(min % step, 0, "{o:?}");
            }
            if let Some(max) = o.max_investment_cents {
                assert_eq!(max % step, 0, "{o:?}");
                assert!(max >= o.min_investment_cents.unwrap_or(0), "{o:?}");
            }
            assert!(o.subscribed_cents >= 0 && o.subscribed_cents <= o.max_amount_cents);
            assert!(o.max_amount_cents >= o.amount_cents && o.amount_cents > o.min_amount_cents);
        }
        let count = |f: &dyn Fn(&OfferingTerms) -> bool| offerings.iter().filter(|o| f(o)).count();
        assert!(count(&|o| o.offering_type == OfferingType::Debt) > 600);
        assert!(count(&|o| o.min_investment_cents.is_none()) > 400);
        assert!(count(&|o| o.max_investment_cents.is_none()) > 600);
        assert!(count(&|o| o.increment_cents.is_none()) > 800);
        assert!(count(&|o| !o.accepting) > 200);
        assert!(count(&|o| o.max_amount_cents - o.subscribed_cents <= 2_000_000) > 300);
    }
}

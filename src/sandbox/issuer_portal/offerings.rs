//! Seeded generation of issuer-portal offerings: the same seed always yields the same
//! sequence, so a sandbox run (and every test against it) is reproducible.
//!
//! Money is integer cents (exact; printed as 2-decimal strings, as DRF's
//! `DecimalField` renders it). Every generated unit price and increment are whole
//! cents, and increments are whole multiples of the unit price, so an amount that is
//! a multiple of the increment is always a whole number of shares.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The offering RNG's stream, apart from the other emulators' generators.
const OFFERING_RNG_STREAM: u64 = 0x1550;

/// Ids of generated offerings start here (the platform's ids are integers).
const FIRST_OFFERING_ID: u64 = 101;

/// Offering exemptions (the seed's `type` values) and how often each is generated, in
/// twentieths.
const TYPES: [(&str, u32); 6] = [
    ("reg_cf", 8),
    ("reg_a", 6),
    ("reg_d_506b", 2),
    ("reg_d_506c", 2),
    ("reg_s", 1),
    ("test_the_waters", 1),
];

const SECURITY_TYPES: [&str; 5] = [
    "Common Stock",
    "Preferred Stock",
    "SAFE",
    "Convertible Note",
    "Revenue Share",
];

const NAME_FIRST: [&str; 10] = [
    "Cascade",
    "Harbor",
    "Summit",
    "Prairie",
    "Copper",
    "Juniper",
    "Redwood",
    "Beacon",
    "Lakeshore",
    "Granite",
];

const NAME_SECOND: [&str; 10] = [
    "Solar",
    "Brewing",
    "Robotics",
    "Farms",
    "Health",
    "Housing",
    "Biotech",
    "Outfitters",
    "Logistics",
    "Studios",
];

const NAME_SUFFIX: [&str; 4] = ["Inc.", "LLC", "Holdings", "Co."];

/// Share prices in cents.
const UNIT_PRICES_CENTS: [i64; 8] = [50, 100, 125, 250, 500, 1_000, 1_275, 2_500];

/// Per-investment minimums in cents; `None` = no minimum.
const MINIMUMS_CENTS: [Option<i64>; 5] = [
    None,
    Some(10_000),
    Some(25_000),
    Some(50_000),
    Some(100_000),
];

/// Per-investment maximums in cents; `None` = no maximum.
const MAXIMUMS_CENTS: [Option<i64>; 5] =
    [None, None, Some(500_000), Some(1_000_000), Some(10_700_000)];

/// Increments as multiples of the unit price; `None` = any whole number of shares.
const INCREMENT_SHARES: [Option<i64>; 5] = [None, None, Some(1), Some(2), Some(10)];

/// The terms of one generated offering, before it is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfferingTerms {
    pub id: u64,
    pub issuer: u64,
    pub name: String,
    /// The exemption (`type`).
    pub offering_type: &'static str,
    pub security_type: &'static str,
    /// Paused offerings are listed but take no investment.
    pub paused: bool,
    pub unit_price_cents: i64,
    pub min_investment_cents: Option<i64>,
    pub max_investment_cents: Option<i64>,
    pub increment_cents: Option<i64>,
    pub number_of_shares: i64,
    /// Shares other investors already hold when the offering opens.
    pub shares_sold: i64,
}

impl OfferingTerms {
    /// A Regulation D offering is for accredited investors only.
    pub(crate) fn non_accredited_investors(&self) -> bool {
        !self.offering_type.starts_with("reg_d")
    }
}

/// An endless, reproducible stream of offerings.
#[derive(Debug, Clone)]
pub(crate) struct OfferingGenerator {
    rng: ChaCha8Rng,
    next_id: u64,
}

impl OfferingGenerator {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(OFFERING_RNG_STREAM);
        OfferingGenerator {
            rng,
            next_id: FIRST_OFFERING_ID,
        }
    }

    /// The next offering of the sequence.
    pub(crate) fn next_offering(&mut self) -> OfferingTerms {
        let id = self.next_id;
        self.next_id += 1;
        let name = format!(
            "{} {} {}",
            pick(&mut self.rng, &NAME_FIRST),
            pick(&mut self.rng, &NAME_SECOND),
            pick(&mut self.rng, &NAME_SUFFIX)
        );
        let offering_type = self.offering_type();
        let unit_price_cents = pick(&mut self.rng, &UNIT_PRICES_CENTS);
        let number_of_shares = self.rng.random_range(100..=5_000) * 1_000;
        let sold_percent = self.rng.random_range(0..=60);
        OfferingTerms {
            id,
            issuer: self.rng.random_range(1..=20),
            name,
            offering_type,
            security_type: pick(&mut self.rng, &SECURITY_TYPES),
            paused: self.rng.random_ratio(1, 10),
            unit_price_cents,
            min_investment_cents: pick(&mut self.rng, &MINIMUMS_CENTS),
            max_investment_cents: pick(&mut self.rng, &MAXIMUMS_CENTS),
            increment_cents: pick(&mut self.rng, &INCREMENT_SHARES)
                .map(|shares| shares * unit_price_cents),
            number_of_shares,
            shares_sold: number_of_shares * sold_percent / 100,
        }
    }

    fn offering_type(&mut self) -> &'static str {
        let mut draw = self.rng.random_range(0..20);
        for (name, weight) in TYPES {
            if draw < weight {
                return name;
            }
            draw -= weight;
        }
        TYPES[0].0
    }
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, table: &[T]) -> T {
    table[rng.random_range(0..table.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(seed: u64, count: usize) -> Vec<OfferingTerms> {
        let mut generator = OfferingGenerator::new(seed);
        (0..count).map(|_| generator.next_offering()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_offerings() {
        assert_eq!(first(5, 50), first(5, 50));
        assert_ne!(first(5, 50), first(6, 50));
        let ids: Vec<u64> = first(5, 3).iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![101, 102, 103]);
    }

    #[test]
    fn generated_figures_are_consistent() {
        for offering in first(42, 1_000) {
            assert!(offering.unit_price_cents > 0);
            assert!(offering.shares_sold < offering.number_of_shares);
            if let Some(increment) = offering.increment_cents {
                assert_eq!(increment % offering.unit_price_cents, 0);
            }
            if let (Some(min), Some(max)) =
                (offering.min_investment_cents, offering.max_investment_cents)
            {
                assert!(min <= max);
            }
        }
    }

    #[test]
    fn the_mix_has_null_limits_every_exemption_and_paused_offerings() {
        let offerings = first(42, 1_000);
        let count =
            |test: &dyn Fn(&OfferingTerms) -> bool| offerings.iter().filter(|o| test(o)).count();
        assert!(count(&|o| o.min_investment_cents.is_none()) >= 100);
        assert!(count(&|o| o.max_investment_cents.is_none()) >= 200);
        assert!(count(&|o| o.increment_cents.is_none()) >= 200);
        assert!((50..=150).contains(&count(&|o| o.paused)));
        for (name, _) in TYPES {
            assert!(count(&|o| o.offering_type == name) >= 20, "{name}");
        }
        assert!(count(&|o| !o.non_accredited_investors()) >= 100);
    }
}

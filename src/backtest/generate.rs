//! Synthetic LendingClub-like opportunities as JSONL (`backtest --generate N --seed S`),
//! for benchmarks and tests: the same seed gives the same bytes.
//!
//! Grades A–G with sub-grades 1–5, rates rising with the grade, 36 or 60 months,
//! $1,000–$40,000 in $25 steps, 80 % whole loans, about 1,000 listings per simulated
//! day from 2018-01-01, and an outcome in `extra.loan_status` whose bad rate rises
//! with the grade (the importer takes it out of `extra` before strategies run).

use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde_json::{Number, Value};
use std::io::{self, Write};
use std::str::FromStr;

/// Listings per simulated day.
pub const ROWS_PER_DAY: u64 = 1000;

/// (grade, share in ‰, base rate in basis points, bad outcomes in ‰).
const GRADES: [(&str, u32, i64, u32); 7] = [
    ("A", 200, 600, 30),
    ("B", 300, 1000, 60),
    ("C", 280, 1400, 100),
    ("D", 130, 1900, 150),
    ("E", 60, 2400, 200),
    ("F", 20, 2800, 250),
    ("G", 10, 3000, 300),
];
const PURPOSES: [&str; 6] = [
    "debt_consolidation",
    "credit_card",
    "home_improvement",
    "major_purchase",
    "small_business",
    "medical",
];
const STATES: [&str; 8] = ["CA", "NY", "TX", "FL", "IL", "NJ", "PA", "OH"];
/// Twenty-five dollars: LendingClub's note size and step.
const NOTE: Decimal = Decimal::from_parts(25, 0, 0, false, 0);

/// Writes `count` opportunities, one JSON object per line.
pub fn generate(count: u64, seed: u64, out: &mut impl Write) -> io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let platform = PlatformId::new("lendingclub");
    for index in 0..count {
        let opp = synthetic(&mut rng, &platform, index);
        serde_json::to_writer(&mut *out, &opp)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn synthetic(rng: &mut ChaCha8Rng, platform: &PlatformId, index: u64) -> Opportunity {
    let (grade, base_bp, bad_per_mille) = pick_grade(rng.random_range(0..1000));
    let sub = rng.random_range(1..=5i64);
    let amount = NOTE * Decimal::from(rng.random_range(40..=1600u32));
    let mut o = Opportunity::new(
        platform.clone(),
        PlatformKind::LendingClub,
        format!("gen-{index}"),
        OpportunityKind::Loan,
    );
    o.purchase = if rng.random_range(0..10) < 8 {
        PurchaseMode::Whole
    } else {
        PurchaseMode::Fractional
    };
    o.name = Some(PURPOSES[rng.random_range(0..PURPOSES.len())].to_string());
    o.grade = Some(grade.to_string());
    o.sub_grade = Some(format!("{grade}{sub}"));
    o.rate = Some(Decimal::new(
        base_bp + (sub - 1) * 80 + rng.random_range(0..40i64),
        4,
    ));
    o.term_months = Some(if rng.random_range(0..4) < 3 { 36 } else { 60 });
    o.amount = Some(amount);
    o.remaining = Some(amount);
    o.min_investment = Some(NOTE);
    o.increment = Some(NOTE);
    o.status = "listed".into();
    o.listed_at = Some(listed_at(index));
    let income = Value::from(1000 * rng.random_range(20..=250u64));
    let dti = Decimal::new(rng.random_range(0..4000i64), 2);
    let state = STATES[rng.random_range(0..STATES.len())];
    o.extra.insert("annual_income".into(), income);
    o.extra.insert("debt_to_income".into(), exact_number(dti));
    o.extra.insert("state".into(), Value::from(state));
    o.extra.insert(
        "loan_status".into(),
        Value::from(outcome(rng.random_range(0..1000), bad_per_mille)),
    );
    o
}

fn pick_grade(roll: u32) -> (&'static str, i64, u32) {
    let mut cumulative = 0;
    for (grade, share, rate, bad) in GRADES {
        cumulative += share;
        if roll < cumulative {
            return (grade, rate, bad);
        }
    }
    ("G", 3000, 300)
}

fn outcome(roll: u32, bad_per_mille: u32) -> &'static str {
    match roll {
        r if r < bad_per_mille => "Charged Off",
        r if r < bad_per_mille + 20 => "Late (31-120 days)",
        r if r < bad_per_mille + 470 => "Fully Paid",
        _ => "Current",
    }
}

fn listed_at(index: u64) -> DateTime<Utc> {
    let start = Utc.with_ymd_and_hms(2018, 1, 1, 0, 0, 0).single();
    let day = i64::try_from(index / ROWS_PER_DAY).unwrap_or(i64::MAX / 86_400 / 2);
    // 86 s apart: a thousand listings fill a day.
    let second = i64::try_from(index % ROWS_PER_DAY).unwrap_or(0) * 86;
    start
        .and_then(|s| s.checked_add_signed(TimeDelta::days(day) + TimeDelta::seconds(second)))
        .unwrap_or_default()
}

/// A decimal as an exact JSON number (arbitrary precision keeps its digits).
fn exact_number(value: Decimal) -> Value {
    Number::from_str(&value.to_string()).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::import::jsonl::JsonlRows;
    use crate::backtest::import::Outcome;

    #[test]
    fn same_seed_same_bytes_and_rows_import_cleanly() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate(300, 7, &mut a).unwrap();
        generate(300, 7, &mut b).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        generate(300, 8, &mut c).unwrap();
        assert_ne!(a, c);

        let rows: Vec<_> = JsonlRows::new(a.as_slice()).collect();
        assert_eq!(rows.len(), 300);
        let rows: Vec<_> = rows.into_iter().map(Result::unwrap).collect();
        assert!(rows
            .iter()
            .all(|r| r.opportunity.platform.as_str() == "lendingclub"));
        assert!(rows.iter().any(|r| r.outcome == Outcome::ChargedOff));
        assert!(rows.iter().any(|r| r.outcome == Outcome::FullyPaid));
        assert!(rows
            .iter()
            .any(|r| r.opportunity.purchase == PurchaseMode::Fractional));
        for row in &rows {
            let o = &row.opportunity;
            let amount = o.amount.unwrap();
            assert!(amount >= Decimal::from(1000) && amount <= Decimal::from(40000));
            assert!((amount % NOTE).is_zero());
            assert!(o.rate.unwrap() > Decimal::ZERO && o.rate.unwrap() < Decimal::ONE);
            assert!(!o.extra.contains_key("loan_status"));
        }
        assert_eq!(
            rows[299].opportunity.listed_at.unwrap().to_rfc3339(),
            "2018-01-01T07:08:34+00:00"
        );
        assert_eq!(
            listed_at(ROWS_PER_DAY).to_rfc3339(),
            "2018-01-02T00:00:00+00:00"
        );
    }
}

//! Money helpers: every amount is a `rust_decimal::Decimal` in US dollars.
//!
//! Platforms speak cents (Funding Circle), 2-decimal strings (Fundrise, the issuer
//! portal) or decimal strings of any scale (FundAmerica). These helpers convert
//! between those shapes exactly and round *down* only — rounding up could exceed a
//! budget or a platform maximum.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// One cent.
pub const CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// Errors from parsing or converting money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a decimal amount (expected e.g. \"10.00\")")]
    NotDecimal(String),
    #[error("amount {0} is negative")]
    Negative(Decimal),
    #[error("amount {0} has fractions of a cent")]
    FractionalCents(Decimal),
    #[error("amount {0} is too large")]
    TooLarge(Decimal),
}

/// Largest amount the daemon will ever handle in one figure ($1 trillion): anything
/// above is treated as corrupt input rather than money.
pub const ABSURD_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// Parses a non-negative dollar amount such as `"10.00"`, `"10"` or `"$1,250.50"`.
pub fn parse_usd(text: &str) -> Result<Decimal, MoneyError> {
    let cleaned: String = text
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',' && *c != '_')
        .collect();
    let value =
        Decimal::from_str(&cleaned).map_err(|_| MoneyError::NotDecimal(text.to_string()))?;
    check_sane(value)
}

/// Rejects negative and absurdly large amounts.
pub fn check_sane(value: Decimal) -> Result<Decimal, MoneyError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(MoneyError::Negative(value));
    }
    if value > ABSURD_AMOUNT {
        return Err(MoneyError::TooLarge(value));
    }
    Ok(value)
}

/// Rounds down (towards zero) to whole cents.
pub fn floor_cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::ToZero)
}

/// Rounds down to a whole multiple of `increment`; an increment ≤ 0 means "cents".
pub fn floor_to_increment(amount: Decimal, increment: Decimal) -> Decimal {
    if increment <= Decimal::ZERO {
        return floor_cents(amount);
    }
    let steps = (amount / increment).trunc();
    floor_cents(steps * increment)
}

/// True when `amount` is a whole multiple of `increment` (cents when increment ≤ 0).
pub fn is_multiple_of(amount: Decimal, increment: Decimal) -> bool {
    if increment <= Decimal::ZERO {
        return floor_cents(amount) == amount;
    }
    (amount % increment).is_zero()
}

/// Exact conversion to integer cents; fails on fractions of a cent.
pub fn to_cents(amount: Decimal) -> Result<i64, MoneyError> {
    let cents = amount * Decimal::ONE_HUNDRED;
    if !cents.fract().is_zero() {
        return Err(MoneyError::FractionalCents(amount));
    }
    cents.to_i64().ok_or(MoneyError::TooLarge(amount))
}

/// Dollars from integer cents.
pub fn from_cents(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// Formats with exactly two decimals, as Fundrise and the issuer portal expect.
pub fn format_2dp(amount: Decimal) -> String {
    format!("{:.2}", floor_cents(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_common_shapes() {
        assert_eq!(parse_usd("10.00"), Ok(dec!(10.00)));
        assert_eq!(parse_usd(" $1,250.5 "), Ok(dec!(1250.5)));
        assert!(matches!(parse_usd("ten"), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(parse_usd("-1"), Err(MoneyError::Negative(_))));
        assert!(matches!(parse_usd("1e30"), Err(MoneyError::NotDecimal(_))));
        assert!(matches!(
            parse_usd("99999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn rounds_down_only() {
        assert_eq!(floor_cents(dec!(25.999)), dec!(25.99));
        assert_eq!(floor_to_increment(dec!(1049.99), dec!(25)), dec!(1025));
        assert_eq!(floor_to_increment(dec!(10.555), dec!(0)), dec!(10.55));
        assert!(is_multiple_of(dec!(1050), dec!(25)));
        assert!(!is_multiple_of(dec!(1051), dec!(25)));
    }

    #[test]
    fn cents_round_trip() {
        assert_eq!(to_cents(dec!(1500.00)), Ok(150000));
        assert_eq!(from_cents(150000), dec!(1500.00));
        assert!(to_cents(dec!(0.001)).is_err());
        assert_eq!(format_2dp(dec!(10)), "10.00");
        assert_eq!(ABSURD_AMOUNT, dec!(1000000000000));
    }
}

//! Turns the value `decide(o, p)` returned into a [`StrategyAnswer`].
//!
//! Accepted: `()` (skip), an integer or Decimal amount (0 = skip), or a map
//! `#{ amount, reason, slot }` (amount 0 or missing = skip, with `reason` as the skip
//! reason). Amounts are rounded down to cents. Anything else — a negative or absurd
//! amount, a string, an array, a bool, an unknown map key (a typo such as `amout` must
//! not silently turn every buy into a skip) — is an error.

use super::StrategyAnswer;
use crate::money::{check_sane, floor_cents, MoneyError};
use rhai::{Dynamic, Engine, Map};
use rust_decimal::Decimal;

/// The keys a returned map may hold.
const MAP_KEYS: [&str; 3] = ["amount", "reason", "slot"];

/// Interprets `decide`'s result; the error is a message for the script's author.
/// `engine` names the value's type as scripts know it.
///
/// Runs once per evaluation: type names are looked up only for error messages, and
/// the map's values are moved out rather than cloned.
pub(super) fn interpret(engine: &Engine, value: Dynamic) -> Result<StrategyAnswer, String> {
    let value = value.flatten();
    if value.is_unit() {
        return Ok(StrategyAnswer::Skip { reason: None });
    }
    if value.is_map() {
        let type_name = value.type_name();
        let map = value.try_cast::<Map>().ok_or_else(|| {
            format!(
                "decide() returned an unreadable {}",
                engine.map_type_name(type_name)
            )
        })?;
        return interpret_map(engine, map);
    }
    match amount(&value)? {
        Some(amount) => Ok(answer(amount, None, None)),
        None => Err(format!(
            "decide() returned a {}; expected (), an amount or a map #{{ amount, reason, slot }}",
            engine.map_type_name(value.type_name())
        )),
    }
}

fn interpret_map(engine: &Engine, mut map: Map) -> Result<StrategyAnswer, String> {
    if let Some(unknown) = map.keys().find(|key| !MAP_KEYS.contains(&key.as_str())) {
        return Err(format!(
            "decide() returned a map with unknown key `{unknown}` (expected amount, reason, slot)"
        ));
    }
    let reason = optional_string(engine, &mut map, "reason")?;
    let slot = optional_string(engine, &mut map, "slot")?;
    if slot.as_deref() == Some("") {
        return Err("decide() returned an empty slot; leave it out for \"once\"".to_string());
    }
    let amount = match map.remove("amount").map(Dynamic::flatten) {
        None => None,
        Some(value) if value.is_unit() => None,
        Some(value) => Some(amount(&value)?.ok_or_else(|| {
            format!(
                "decide() returned a map whose amount is a {}; expected a number",
                engine.map_type_name(value.type_name())
            )
        })?),
    };
    Ok(match amount {
        Some(amount) => answer(amount, reason, slot),
        None => StrategyAnswer::Skip { reason },
    })
}

/// A number as a sane dollar amount; `Ok(None)` when the value is not a number.
fn amount(value: &Dynamic) -> Result<Option<Decimal>, String> {
    let number = if let Ok(integer) = value.as_int() {
        Decimal::from(integer)
    } else if let Ok(decimal) = value.as_decimal() {
        decimal
    } else {
        return Ok(None);
    };
    sane_amount(number).map(Some)
}

/// A returned number as a dollar amount: not negative, not absurd.
pub(super) fn sane_amount(number: Decimal) -> Result<Decimal, String> {
    check_sane(number).map_err(|err| match err {
        MoneyError::Negative(_) => format!("decide() returned a negative amount {number}"),
        other => format!("decide() returned an unusable amount: {other}"),
    })
}

/// Takes `key` out of the map as a string; `()` or a missing key is `None`.
fn optional_string(engine: &Engine, map: &mut Map, key: &str) -> Result<Option<String>, String> {
    let Some(value) = map.remove(key).map(Dynamic::flatten) else {
        return Ok(None);
    };
    if value.is_unit() {
        return Ok(None);
    }
    let type_name = value.type_name();
    value
        .into_immutable_string()
        .map(|s| Some(s.to_string()))
        .map_err(|_| {
            format!(
                "decide() returned a map whose {key} is a {}; expected a string",
                engine.map_type_name(type_name)
            )
        })
}

/// A buy of `amount` rounded down to cents, or a skip when nothing is left after rounding.
pub(super) fn answer(
    amount: Decimal,
    reason: Option<String>,
    slot: Option<String>,
) -> StrategyAnswer {
    let amount = floor_cents(amount);
    if amount.is_zero() {
        StrategyAnswer::Skip { reason }
    } else {
        StrategyAnswer::Buy {
            amount,
            reason,
            slot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn map(entries: &[(&str, Dynamic)]) -> Dynamic {
        Dynamic::from_map(
            entries
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect(),
        )
    }

    fn interpret_value(value: Dynamic) -> Result<StrategyAnswer, String> {
        interpret(&Engine::new_raw(), value)
    }

    #[test]
    fn amounts_round_down_to_cents() {
        let cases = [
            (Dynamic::from_int(25), Some(dec!(25))),
            (Dynamic::from_decimal(dec!(25.999)), Some(dec!(25.99))),
            (Dynamic::from_decimal(dec!(0.019)), Some(dec!(0.01))),
            (Dynamic::from_decimal(dec!(0.009)), None),
            (Dynamic::from_int(0), None),
            (Dynamic::UNIT, None),
        ];
        for (value, expected) in cases {
            let shown = value.to_string();
            let answer = interpret_value(value).unwrap();
            let amount = match answer {
                StrategyAnswer::Buy { amount, .. } => Some(amount),
                StrategyAnswer::Skip { .. } => None,
            };
            assert_eq!(amount, expected, "{shown}");
        }
    }

    #[test]
    fn shared_values_are_read_through() {
        // A value captured by a closure is shared; it must read like a plain one.
        let amount = Dynamic::from_int(30).into_shared();
        assert_eq!(
            interpret_value(amount),
            Ok(StrategyAnswer::Buy {
                amount: dec!(30),
                reason: None,
                slot: None
            })
        );
        let answer = map(&[
            ("amount", Dynamic::from_decimal(dec!(12.5)).into_shared()),
            ("reason", Dynamic::from("why").into_shared()),
        ]);
        assert_eq!(
            interpret_value(answer.into_shared()),
            Ok(StrategyAnswer::Buy {
                amount: dec!(12.5),
                reason: Some("why".into()),
                slot: None
            })
        );
    }

    #[test]
    fn map_reason_and_slot() {
        let answer = map(&[
            ("amount", Dynamic::from_decimal(dec!(50.005))),
            ("reason", Dynamic::from("A+, 36 months")),
            ("slot", Dynamic::from("2026-11")),
        ]);
        assert_eq!(
            interpret_value(answer),
            Ok(StrategyAnswer::Buy {
                amount: dec!(50.00),
                reason: Some("A+, 36 months".into()),
                slot: Some("2026-11".into()),
            })
        );
        let skip = map(&[
            ("amount", Dynamic::from_int(0)),
            ("reason", Dynamic::from("too small")),
            ("slot", Dynamic::UNIT),
        ]);
        assert_eq!(
            interpret_value(skip),
            Ok(StrategyAnswer::Skip {
                reason: Some("too small".into())
            })
        );
    }

    #[test]
    fn rejects_what_is_not_an_answer() {
        let cases = [
            (Dynamic::from_int(-1), "negative amount -1"),
            (Dynamic::from_char('x'), "returned a char"),
            (Dynamic::from_bool(false), "returned a bool"),
            (
                map(&[("amount", Dynamic::from_bool(true))]),
                "amount is a bool",
            ),
            (map(&[("slot", Dynamic::from_int(2026))]), "slot is a i64"),
            (
                map(&[("Amount", Dynamic::from_int(1))]),
                "unknown key `Amount`",
            ),
            (
                Dynamic::from_decimal(dec!(1000000000000.01)),
                "unusable amount: amount 1000000000000.01 is too large",
            ),
        ];
        for (value, expected) in cases {
            let shown = value.to_string();
            let err = interpret_value(value).unwrap_err();
            assert!(err.contains(expected), "{shown}: {err}");
        }
    }
}

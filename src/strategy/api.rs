//! What scripts see: `o`, an [`Opportunity`] behind read-only getters, and `p`, the
//! [`PortfolioView`] with its queries. Both are registered custom types, so a call
//! costs an `Arc` clone rather than building a map of every field.
//!
//! Missing values are `()`; money and rates are Decimal; `term_months` is an integer;
//! `extra` is converted from JSON on access (bind it once with `let extra = o.extra;`).

use crate::opportunity::{Opportunity, PurchaseMode};
use crate::portfolio::PortfolioView;
use chrono::SecondsFormat;
use rhai::{Dynamic, Engine, ImmutableString, Map, INT};
use rust_decimal::Decimal;
use serde_json::{Number, Value};
use std::str::FromStr;
use std::sync::Arc;

/// An opportunity as handed to scripts (`o`); cloning it is an `Arc` clone.
///
/// Build it once per opportunity to evaluate several strategies on it without copying
/// the opportunity for each (see `Strategy::decide_prepared`).
#[derive(Debug, Clone)]
pub struct ScriptOpportunity(Arc<Opportunity>);

impl ScriptOpportunity {
    pub fn new(opportunity: impl Into<Arc<Opportunity>>) -> Self {
        ScriptOpportunity(opportunity.into())
    }

    pub fn opportunity(&self) -> &Opportunity {
        &self.0
    }
}

/// Registers `o`'s and `p`'s types and their getters and methods.
pub(super) fn register_script_api(engine: &mut Engine) {
    register_opportunity(engine);
    register_portfolio(engine);
}

fn register_opportunity(engine: &mut Engine) {
    type O = ScriptOpportunity;
    engine
        .register_type_with_name::<O>("Opportunity")
        .register_get("platform", |o: &mut O| text(o.0.platform.as_str()))
        .register_get("platform_kind", |o: &mut O| {
            text(o.0.platform_kind.as_str())
        })
        .register_get("id", |o: &mut O| text(&o.0.id))
        .register_get("kind", |o: &mut O| text(o.0.kind.as_str()))
        .register_get("name", |o: &mut O| optional_text(&o.0.name))
        .register_get("asset_class", |o: &mut O| optional_text(&o.0.asset_class))
        .register_get("grade", |o: &mut O| optional_text(&o.0.grade))
        .register_get("sub_grade", |o: &mut O| optional_text(&o.0.sub_grade))
        .register_get("rate", |o: &mut O| optional_decimal(o.0.rate))
        .register_get("term_months", |o: &mut O| {
            o.0.term_months
                .map_or(Dynamic::UNIT, |t| Dynamic::from_int(INT::from(t)))
        })
        .register_get("amount", |o: &mut O| optional_decimal(o.0.amount))
        .register_get("remaining", |o: &mut O| optional_decimal(o.0.remaining))
        .register_get("min_investment", |o: &mut O| {
            optional_decimal(o.0.min_investment)
        })
        .register_get("max_investment", |o: &mut O| {
            optional_decimal(o.0.max_investment)
        })
        .register_get("increment", |o: &mut O| optional_decimal(o.0.increment))
        .register_get("unit_price", |o: &mut O| optional_decimal(o.0.unit_price))
        .register_get("status", |o: &mut O| text(&o.0.status))
        .register_get("listed_at", |o: &mut O| {
            o.0.listed_at.map_or(Dynamic::UNIT, |at| {
                text(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            })
        })
        .register_get("whole", |o: &mut O| o.0.purchase == PurchaseMode::Whole)
        .register_get("extra", |o: &mut O| {
            Dynamic::from_map(
                o.0.extra
                    .iter()
                    .map(|(key, value)| (key.as_str().into(), json_to_dynamic(value)))
                    .collect(),
            )
        });
}

fn register_portfolio(engine: &mut Engine) {
    type P = PortfolioView;
    engine
        .register_type_with_name::<P>("Portfolio")
        .register_get("cash", |p: &mut P| optional_decimal(p.cash()))
        .register_get("invested_total", |p: &mut P| p.invested_total())
        .register_get("invested_today", |p: &mut P| p.invested_today())
        .register_get("today", |p: &mut P| p.today())
        .register_fn("invested_in", |p: &mut P, id: &str| p.invested_in(id))
        .register_fn("exposure_by_grade", |p: &mut P, grade: &str| {
            p.exposure_by_grade(grade)
        })
        .register_fn("exposure_by_platform", |p: &mut P, platform: &str| {
            p.exposure_by_platform(platform)
        });
}

fn text(value: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(value))
}

fn optional_text(value: &Option<String>) -> Dynamic {
    value.as_deref().map_or(Dynamic::UNIT, text)
}

fn optional_decimal(value: Option<Decimal>) -> Dynamic {
    value.map_or(Dynamic::UNIT, Dynamic::from_decimal)
}

/// JSON → script value: integers stay integers, other numbers become Decimal (a number
/// Decimal cannot hold, e.g. `1e400`, becomes `()`), null becomes `()`.
pub(super) fn json_to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::String(s) => text(s),
        Value::Number(n) => number_to_dynamic(n),
        Value::Array(items) => Dynamic::from_array(items.iter().map(json_to_dynamic).collect()),
        Value::Object(entries) => Dynamic::from_map(
            entries
                .iter()
                .map(|(key, value)| (key.as_str().into(), json_to_dynamic(value)))
                .collect::<Map>(),
        ),
    }
}

fn number_to_dynamic(number: &Number) -> Dynamic {
    match script_number(number) {
        ScriptNumber::Int(integer) => Dynamic::from_int(integer),
        ScriptNumber::Decimal(decimal) => Dynamic::from_decimal(decimal),
        ScriptNumber::Missing => Dynamic::UNIT,
    }
}

/// A JSON number as scripts see it (both evaluators).
pub(super) enum ScriptNumber {
    Int(INT),
    Decimal(Decimal),
    /// Beyond what Decimal can hold, e.g. `1e400`: `()` rather than a wrong value.
    Missing,
}

/// Integers stay integers, other numbers become Decimal.
pub(super) fn script_number(number: &Number) -> ScriptNumber {
    if let Some(integer) = number.as_i64() {
        return ScriptNumber::Int(integer);
    }
    // With serde_json's arbitrary_precision the text is the number as it was written.
    let written = number.to_string();
    Decimal::from_str(&written)
        .or_else(|_| Decimal::from_scientific(&written))
        .map_or(ScriptNumber::Missing, ScriptNumber::Decimal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn convert(json: &str) -> Dynamic {
        json_to_dynamic(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn json_numbers_become_integers_or_exact_decimals() {
        assert_eq!(convert("7").as_int(), Ok(7));
        assert_eq!(convert("-7").as_int(), Ok(-7));
        assert_eq!(convert("85000.50").as_decimal(), Ok(dec!(85000.50)));
        assert_eq!(convert("0.0899").as_decimal(), Ok(dec!(0.0899)));
        assert_eq!(convert("1.5e2").as_decimal(), Ok(dec!(150)));
        // Beyond i64 but still an exact Decimal.
        assert_eq!(
            convert("18446744073709551615").as_decimal(),
            Ok(dec!(18446744073709551615))
        );
        // Too large for Decimal: missing rather than wrong.
        assert!(convert("1e400").is_unit());
    }

    #[test]
    fn json_structure_is_kept() {
        assert!(convert("null").is_unit());
        assert_eq!(convert("true").as_bool(), Ok(true));
        assert_eq!(convert(r#""CA""#).into_string().unwrap(), "CA");
        let array = convert(r#"[1, "a", null]"#).into_array().unwrap();
        assert_eq!(array.len(), 3);
        assert_eq!(array[0].as_int(), Ok(1));
        assert!(array[2].is_unit());
        let map = convert(r#"{"owner": {"age": 44}}"#)
            .try_cast::<Map>()
            .unwrap();
        let owner = map["owner"].clone().try_cast::<Map>().unwrap();
        assert_eq!(owner["age"].as_int(), Ok(44));
    }

    #[test]
    fn script_opportunity_shares_rather_than_copies() {
        let opportunity = Arc::new(Opportunity::new(
            crate::opportunity::PlatformId::new("fc"),
            crate::opportunity::PlatformKind::FundingCircle,
            "L1",
            crate::opportunity::OpportunityKind::Loan,
        ));
        let wrapped = ScriptOpportunity::new(opportunity.clone());
        let copy = wrapped.clone();
        assert!(std::ptr::eq(copy.opportunity(), opportunity.as_ref()));
    }
}

//! What properties, indexes and functions give, as Rhai's getters and standard
//! functions do: the fields of `o` and `p` (`strategy::api`), map entries and
//! `o.extra`, and the methods in [`Method`] on the types they apply to. Any other
//! receiver, argument or result over a size limit gives up.

use super::eval::{give_up, Flow, Run, Stop};
use super::limits::json_map_sizes;
use super::tree::{Method, OpportunityField, PortfolioField, Property};
use super::value::{self, Value};
use crate::opportunity::{Opportunity, PurchaseMode};
use crate::portfolio::PortfolioView;
use crate::strategy::api::{script_number, ScriptNumber};
use chrono::SecondsFormat;
use serde_json::Value as Json;
use std::borrow::Cow;

impl<'a> Run<'a> {
    pub(super) fn property(&self, base: &Value<'a>, property: &'a Property) -> Flow<'a, Value<'a>> {
        match *base {
            Value::Opportunity(o) => match property.opportunity {
                Some(field) => self.opportunity_field(o, field),
                None => give_up(),
            },
            Value::Portfolio(p) => match property.portfolio {
                Some(field) => self.portfolio_field(p, field),
                None => give_up(),
            },
            Value::Map(ref entries) => Ok(map_entry(entries, &property.name)),
            Value::Extra(extra) => self.extra_value(extra, &property.name),
            _ => give_up(),
        }
    }

    pub(super) fn index(&self, base: &Value<'a>, index: &Value<'a>) -> Flow<'a, Value<'a>> {
        match (base, index) {
            (Value::Map(entries), Value::Str(key)) => Ok(map_entry(entries, key)),
            (Value::Extra(extra), Value::Str(key)) => self.extra_value(extra, key),
            (Value::Array(items), Value::Int(i)) => match usize::try_from(*i) {
                Ok(i) => items.get(i).cloned().ok_or(Stop::GiveUp),
                Err(_) => give_up(),
            },
            _ => give_up(),
        }
    }

    fn opportunity_field(
        &self,
        o: &'a Opportunity,
        field: OpportunityField,
    ) -> Flow<'a, Value<'a>> {
        use OpportunityField as F;
        let value = match field {
            F::Platform => Value::text(o.platform.as_str()),
            F::PlatformKind => Value::text(o.platform_kind.as_str()),
            F::Id => Value::text(&o.id),
            F::Kind => Value::text(o.kind.as_str()),
            F::Name => Value::optional_text(&o.name),
            F::AssetClass => Value::optional_text(&o.asset_class),
            F::Grade => Value::optional_text(&o.grade),
            F::SubGrade => Value::optional_text(&o.sub_grade),
            F::Rate => Value::optional_decimal(o.rate),
            F::TermMonths => o
                .term_months
                .map_or(Value::Unit, |t| Value::Int(i64::from(t))),
            F::Amount => Value::optional_decimal(o.amount),
            F::Remaining => Value::optional_decimal(o.remaining),
            F::MinInvestment => Value::optional_decimal(o.min_investment),
            F::MaxInvestment => Value::optional_decimal(o.max_investment),
            F::Increment => Value::optional_decimal(o.increment),
            F::UnitPrice => Value::optional_decimal(o.unit_price),
            F::Status => Value::text(&o.status),
            F::ListedAt => o.listed_at.map_or(Value::Unit, |at| {
                Value::Str(Cow::Owned(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
            }),
            F::Whole => Value::Bool(o.purchase == PurchaseMode::Whole),
            F::Extra => {
                // Rhai builds the whole map and checks its size on every access.
                self.within_limits(json_map_sizes(o.extra.values()))?;
                return Ok(Value::Extra(&o.extra));
            }
        };
        self.checked(value)
    }

    fn portfolio_field(&self, p: &'a PortfolioView, field: PortfolioField) -> Flow<'a, Value<'a>> {
        Ok(match field {
            PortfolioField::Cash => Value::optional_decimal(p.cash()),
            PortfolioField::InvestedTotal => Value::Decimal(p.invested_total()),
            PortfolioField::InvestedToday => Value::Decimal(p.invested_today()),
            PortfolioField::Today => return self.limited_text(Cow::Owned(p.today())),
        })
    }

    /// A value a function returned: Rhai checks every result against the size limits.
    fn checked(&self, value: Value<'a>) -> Flow<'a, Value<'a>> {
        match value {
            Value::Str(text) => self.limited_text(text),
            other => Ok(other),
        }
    }

    /// `o.extra.key`: scalars as `strategy::api` converts them; nested arrays and
    /// objects are left to Rhai.
    fn extra_value(
        &self,
        extra: &'a std::collections::BTreeMap<String, Json>,
        key: &str,
    ) -> Flow<'a, Value<'a>> {
        let value = match extra.get(key) {
            None | Some(Json::Null) => Value::Unit,
            Some(Json::Bool(b)) => Value::Bool(*b),
            Some(Json::String(s)) => Value::text(s),
            Some(Json::Number(n)) => json_number(n),
            Some(Json::Array(_) | Json::Object(_)) => return give_up(),
        };
        Ok(value)
    }

    pub(super) fn method(
        &self,
        receiver: &Value<'a>,
        method: Method,
        args: &[&Value<'a>],
    ) -> Flow<'a, Value<'a>> {
        use Value as V;
        let value = match (method, receiver, args) {
            (Method::Floor, V::Decimal(x), []) => V::Decimal(x.floor()),
            (Method::Ceiling, V::Decimal(x), []) => V::Decimal(x.ceil()),
            (Method::Round, V::Decimal(x), []) => V::Decimal(x.round()),
            (Method::Round, V::Decimal(x), [V::Int(digits)]) => {
                if *digits < 0 {
                    return give_up();
                }
                V::Decimal(u32::try_from(*digits).map_or(*x, |d| x.round_dp(d)))
            }
            (Method::Abs, V::Decimal(x), []) => V::Decimal(x.abs()),
            (Method::Abs, V::Int(x), []) => V::Int(x.checked_abs().ok_or(Stop::GiveUp)?),
            (Method::ToString, value @ (V::Unit | V::Bool(_) | V::Int(_) | V::Decimal(_)), []) => {
                let mut text = String::new();
                value::write_display(value, &mut text).ok_or(Stop::GiveUp)?;
                V::Str(Cow::Owned(text))
            }
            (Method::ToString, V::Str(s), []) => V::Str(s.clone()),
            (Method::Len, V::Str(s), []) => {
                V::Int(i64::try_from(s.chars().count()).unwrap_or(i64::MAX))
            }
            (Method::Len, V::Array(items), []) => {
                V::Int(i64::try_from(items.len()).unwrap_or(i64::MAX))
            }
            (Method::IsEmpty, V::Str(s), []) => V::Bool(s.is_empty()),
            (Method::IsEmpty, V::Array(items), []) => V::Bool(items.is_empty()),
            (Method::Contains, V::Str(s), [V::Str(part)]) => V::Bool(s.contains(part.as_ref())),
            (Method::Contains, V::Array(items), [item]) => {
                let mut found = false;
                for candidate in items {
                    if value::equals(candidate, item).ok_or(Stop::GiveUp)? {
                        found = true;
                        break;
                    }
                }
                V::Bool(found)
            }
            (Method::StartsWith, V::Str(s), [V::Str(part)]) => {
                V::Bool(s.starts_with(part.as_ref()))
            }
            (Method::EndsWith, V::Str(s), [V::Str(part)]) => V::Bool(s.ends_with(part.as_ref())),
            (Method::ToUpper, V::Str(s), []) => V::Str(to_upper(s)),
            (Method::ToLower, V::Str(s), []) => V::Str(to_lower(s)),
            (Method::SubString, V::Str(s), [V::Int(start), V::Int(len)]) => {
                V::Str(Cow::Owned(sub_string(s, *start, *len)))
            }
            (Method::InvestedIn, V::Portfolio(p), [V::Str(id)]) => V::Decimal(p.invested_in(id)),
            (Method::ExposureByGrade, V::Portfolio(p), [V::Str(grade)]) => {
                V::Decimal(p.exposure_by_grade(grade))
            }
            (Method::ExposureByPlatform, V::Portfolio(p), [V::Str(platform)]) => {
                V::Decimal(p.exposure_by_platform(platform))
            }
            _ => return give_up(),
        };
        self.checked(value)
    }
}

/// A map's value under `key`; `()` when it has none (Rhai's default for maps).
fn map_entry<'a>(entries: &[(Cow<'a, str>, Value<'a>)], key: &str) -> Value<'a> {
    entries
        .iter()
        .find(|(k, _)| k.as_ref() == key)
        .map_or(Value::Unit, |(_, value)| value.clone())
}

/// A JSON number as `strategy::api` gives it to scripts: integers stay integers,
/// other numbers become Decimal, and a number Decimal cannot hold becomes `()`.
fn json_number(number: &serde_json::Number) -> Value<'static> {
    match script_number(number) {
        ScriptNumber::Int(integer) => Value::Int(integer),
        ScriptNumber::Decimal(decimal) => Value::Decimal(decimal),
        ScriptNumber::Missing => Value::Unit,
    }
}

/// Rhai's `to_upper`: the text itself when every character is upper-case already.
fn to_upper<'a>(text: &Cow<'a, str>) -> Cow<'a, str> {
    if text.chars().all(char::is_uppercase) {
        text.clone()
    } else {
        Cow::Owned(text.to_uppercase())
    }
}

/// Rhai's `to_lower`: the text itself when it is empty or all lower-case already.
fn to_lower<'a>(text: &Cow<'a, str>) -> Cow<'a, str> {
    if text.is_empty() || text.chars().all(char::is_lowercase) {
        text.clone()
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Rhai's `sub_string(start, len)`, in characters: a negative start counts from the
/// end; a start past the end or a length ≤ 0 gives "".
fn sub_string(text: &str, start: i64, len: i64) -> String {
    if text.is_empty() || len <= 0 {
        return String::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let offset = if start < 0 {
        let Ok(back) = usize::try_from(start.unsigned_abs()) else {
            return String::new();
        };
        chars.len().saturating_sub(back)
    } else {
        match usize::try_from(start) {
            Ok(start) if start < chars.len() => start,
            _ => return String::new(),
        }
    };
    let available = chars.len() - offset;
    let len = usize::try_from(len).map_or(available, |len| len.min(available));
    chars[offset..offset + len].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_string_follows_rhai() {
        assert_eq!(sub_string("2026-11-20", 0, 7), "2026-11");
        assert_eq!(sub_string("2026-11-20", -2, 5), "20");
        assert_eq!(sub_string("2026-11-20", -20, 4), "2026");
        assert_eq!(sub_string("2026-11-20", 10, 1), "");
        assert_eq!(sub_string("2026-11-20", 3, 0), "");
        assert_eq!(sub_string("朝には紅顔", 1, 2), "には");
        assert_eq!(sub_string("abc", i64::MIN, 2), "ab");
    }
}

//! Runs the lowered tree on one opportunity and portfolio. Anything it does not do
//! exactly as Rhai would stops the run with [`Stop::GiveUp`]; Rhai then runs the call.

use super::tree::{Block, Expr, Method, OpportunityField, PortfolioField, Property, Stmt};
use super::value::{self, BinaryOp, Value};
use crate::opportunity::{Opportunity, PurchaseMode};
use crate::portfolio::PortfolioView;
use chrono::SecondsFormat;
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::str::FromStr;

/// Why evaluation stopped early.
pub(super) enum Stop<'a> {
    /// `return value`.
    Return(Value<'a>),
    /// A case the evaluator does not handle as Rhai does.
    GiveUp,
}

type Flow<'a, T> = Result<T, Stop<'a>>;

/// Room reserved for an interpolated string: a typical reason fits without regrowing.
const INTERPOLATED_CAPACITY: usize = 64;

fn give_up<'a, T>() -> Flow<'a, T> {
    Err(Stop::GiveUp)
}

/// The engine's data size limits (0: none), as Rhai checks them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub string: usize,
    pub array: usize,
    pub map: usize,
}

impl Limits {
    /// Sizes as Rhai's `calc_data_sizes` counts them: (array items, map entries,
    /// string bytes), nested values included.
    fn check(&self, (arrays, maps, strings): (usize, usize, usize)) -> Flow<'static, ()> {
        let over = |size: usize, limit: usize| limit != 0 && size > limit;
        if over(arrays, self.array) || over(maps, self.map) || over(strings, self.string) {
            return give_up();
        }
        Ok(())
    }

    fn check_text<'a>(&self, text: Cow<'a, str>) -> Flow<'a, Value<'a>> {
        self.check((0, 0, text.len()))?;
        Ok(Value::Str(text))
    }
}

/// The variables of one evaluation; strategies have few, so they live on the stack.
pub(super) type Slots<'a> = smallvec::SmallVec<[Value<'a>; 16]>;

/// One evaluation: the variables' slots (`o` and `p` first) and the limits.
pub(super) struct Run<'a> {
    pub slots: Slots<'a>,
    pub limits: Limits,
}

/// An operand, held without borrowing the run: a value computed for it, or where to
/// read it (a variable or a constant) without copying it.
enum Operand<'a> {
    Owned(Value<'a>),
    Slot(usize),
    Constant(&'a Value<'static>),
}

impl<'a> Run<'a> {
    /// A block's value: its last statement's; the others run for their effect only.
    pub(super) fn block(&mut self, block: &'a Block) -> Flow<'a, Value<'a>> {
        let Some((last, first)) = block.0.split_last() else {
            return Ok(Value::Unit);
        };
        for statement in first {
            self.execute(statement)?;
        }
        self.statement(last)
    }

    /// Runs a statement whose value is not used.
    fn execute(&mut self, statement: &'a Stmt) -> Flow<'a, ()> {
        match statement {
            Stmt::Let(..) | Stmt::Assign(..) => self.assign(statement),
            Stmt::If(condition, then, otherwise) => {
                let branch = if self.condition(condition)? {
                    then
                } else {
                    otherwise
                };
                branch.0.iter().try_for_each(|s| self.execute(s))
            }
            Stmt::Block(block) => block.0.iter().try_for_each(|s| self.execute(s)),
            other => self.statement(other).map(drop),
        }
    }

    /// `let` and assignments.
    fn assign(&mut self, statement: &'a Stmt) -> Flow<'a, ()> {
        match statement {
            Stmt::Let(slot, expr) | Stmt::Assign(slot, None, expr) => {
                let value = self.expr(expr)?;
                self.store(*slot, value)
            }
            Stmt::Assign(slot, Some(op), expr) => {
                let rhs = self.operand(expr)?;
                let (lhs, rhs) = (self.slot(*slot)?, self.view(&rhs)?);
                let same_type = matches!(
                    (lhs, rhs),
                    (Value::Int(_), Value::Int(_)) | (Value::Decimal(_), Value::Decimal(_))
                ) || (*op == BinaryOp::Add
                    && matches!((lhs, rhs), (Value::Str(_), Value::Str(_))));
                if !same_type {
                    return give_up();
                }
                let result =
                    value::binary(*op, lhs, rhs, self.limits.string).ok_or(Stop::GiveUp)?;
                self.store(*slot, result)
            }
            _ => give_up(),
        }
    }

    fn slot(&self, slot: usize) -> Flow<'a, &Value<'a>> {
        self.slots.get(slot).ok_or(Stop::GiveUp)
    }

    /// Sets a variable. The slots grow as variables are first set: a variable is
    /// always set (by its `let`) before it can be read.
    fn store(&mut self, slot: usize, value: Value<'a>) -> Flow<'a, ()> {
        if slot >= self.slots.len() {
            self.slots.resize_with(slot + 1, || Value::Unit);
        }
        *self.slots.get_mut(slot).ok_or(Stop::GiveUp)? = value;
        Ok(())
    }

    /// Evaluates `expr` as an operand: variables and constants are lent, not copied.
    fn operand(&mut self, expr: &'a Expr) -> Flow<'a, Operand<'a>> {
        Ok(match expr {
            Expr::Local(slot) => Operand::Slot(*slot),
            Expr::Constant(value) => Operand::Constant(value),
            other => Operand::Owned(self.expr(other)?),
        })
    }

    fn view<'s>(&'s self, operand: &'s Operand<'a>) -> Flow<'a, &'s Value<'a>> {
        match operand {
            Operand::Owned(value) => Ok(value),
            Operand::Slot(slot) => self.slot(*slot),
            Operand::Constant(value) => Ok(value),
        }
    }

    fn statement(&mut self, statement: &'a Stmt) -> Flow<'a, Value<'a>> {
        match statement {
            Stmt::Expr(expr) => self.expr(expr),
            Stmt::Let(..) | Stmt::Assign(..) => self.assign(statement).map(|()| Value::Unit),
            Stmt::If(condition, then, otherwise) => {
                let branch = if self.condition(condition)? {
                    then
                } else {
                    otherwise
                };
                self.block(branch)
            }
            Stmt::Switch(switch) => {
                let value = self.operand(&switch.value)?;
                let hash = switch_value_hash(self.view(&value)?).ok_or(Stop::GiveUp)?;
                let case = switch.cases.iter().find(|(case, _)| *case == hash);
                let arm = case.map(|&(_, arm)| arm).or(switch.default);
                match arm.map(|index| switch.arms.get(index)) {
                    None => Ok(Value::Unit),
                    Some(Some(arm)) => self.expr(arm),
                    Some(None) => give_up(),
                }
            }
            Stmt::Return(value) => {
                let value = match value {
                    Some(expr) => self.expr(expr)?,
                    None => Value::Unit,
                };
                Err(Stop::Return(value))
            }
            Stmt::Block(block) => self.block(block),
        }
    }

    /// A condition of `if`, `!`, `&&` or `||`: booleans only. Comparisons and logic
    /// are answered here directly, without making a value of their result.
    fn condition(&mut self, expr: &'a Expr) -> Flow<'a, bool> {
        match expr {
            Expr::Binary(op, lhs, rhs) if op.is_comparison() => {
                let lhs = self.operand(lhs)?;
                let rhs = self.operand(rhs)?;
                let (lhs, rhs) = (self.view(&lhs)?, self.view(&rhs)?);
                value::compare(*op, lhs, rhs).ok_or(Stop::GiveUp)
            }
            Expr::Not(operand) => Ok(!self.condition(operand)?),
            Expr::And(items) => self.logical(items, false),
            Expr::Or(items) => self.logical(items, true),
            other => {
                let operand = self.operand(other)?;
                match self.view(&operand)? {
                    Value::Bool(b) => Ok(*b),
                    _ => give_up(),
                }
            }
        }
    }

    fn expr(&mut self, expr: &'a Expr) -> Flow<'a, Value<'a>> {
        match expr {
            Expr::Constant(value) => Ok(value.lend()),
            Expr::Local(slot) => Ok(self.slot(*slot)?.clone()),
            Expr::Property(base, property) => {
                let base = self.operand(base)?;
                self.property(self.view(&base)?, property)
            }
            Expr::Method(receiver, method, args) => {
                let receiver = self.operand(receiver)?;
                let mut operands = smallvec::SmallVec::<[Operand<'a>; 2]>::new();
                for arg in args {
                    operands.push(self.operand(arg)?);
                }
                let args = operands
                    .iter()
                    .map(|arg| self.view(arg))
                    .collect::<Flow<'a, smallvec::SmallVec<[&Value<'a>; 2]>>>()?;
                self.method(self.view(&receiver)?, *method, &args)
            }
            Expr::Index(base, index) => {
                let base = self.operand(base)?;
                let index = self.operand(index)?;
                self.index(self.view(&base)?, self.view(&index)?)
            }
            Expr::Binary(op, lhs, rhs) => {
                let lhs = self.operand(lhs)?;
                let rhs = self.operand(rhs)?;
                let (lhs, rhs) = (self.view(&lhs)?, self.view(&rhs)?);
                value::binary(*op, lhs, rhs, self.limits.string).ok_or(Stop::GiveUp)
            }
            Expr::Not(operand) => Ok(Value::Bool(!self.condition(operand)?)),
            Expr::Negate(operand) => {
                let operand = self.operand(operand)?;
                value::negate(self.view(&operand)?).ok_or(Stop::GiveUp)
            }
            Expr::And(items) => self.logical(items, false).map(Value::Bool),
            Expr::Or(items) => self.logical(items, true).map(Value::Bool),
            Expr::Coalesce(items) => {
                let mut value = Value::Unit;
                for item in items {
                    value = self.expr(item)?;
                    if !matches!(value, Value::Unit) {
                        break;
                    }
                }
                Ok(value)
            }
            Expr::Interpolated(parts) => {
                let mut text = String::with_capacity(INTERPOLATED_CAPACITY);
                for part in parts {
                    let part = self.operand(part)?;
                    value::write_display(self.view(&part)?, &mut text).ok_or(Stop::GiveUp)?;
                    self.limits.check((0, 0, text.len()))?;
                }
                Ok(Value::Str(Cow::Owned(text)))
            }
            Expr::Array(items) => {
                let mut array = Vec::with_capacity(items.len());
                for item in items {
                    array.push(self.expr(item)?);
                }
                let array = Value::Array(array);
                self.limits.check(sizes(&array))?;
                Ok(array)
            }
            Expr::Map(entries) => {
                let mut map = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    map.push((Cow::Borrowed(key.as_ref()), self.expr(value)?));
                }
                let map = Value::Map(map);
                self.limits.check(sizes(&map))?;
                Ok(map)
            }
            Expr::Block(block) => self.block(block),
        }
    }

    /// `a && b && …` (`stop_at` false) or `a || b || …` (true): booleans only.
    fn logical(&mut self, items: &'a [Expr], stop_at: bool) -> Flow<'a, bool> {
        for item in items {
            if self.condition(item)? == stop_at {
                return Ok(stop_at);
            }
        }
        Ok(!stop_at)
    }

    fn property(&self, base: &Value<'a>, property: &'a Property) -> Flow<'a, Value<'a>> {
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

    fn index(&self, base: &Value<'a>, index: &Value<'a>) -> Flow<'a, Value<'a>> {
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
                self.limits.check(json_map_sizes(o.extra.values()))?;
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
            PortfolioField::Today => return self.limits.check_text(Cow::Owned(p.today())),
        })
    }

    /// A value a function returned: Rhai checks every result against the size limits.
    fn checked(&self, value: Value<'a>) -> Flow<'a, Value<'a>> {
        match value {
            Value::Str(text) => self.limits.check_text(text),
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

    fn method(
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

/// The hash Rhai's `switch` looks its cases up by, for the values the evaluator
/// switches on.
fn switch_value_hash(value: &Value<'_>) -> Option<u64> {
    let dynamic = match value {
        Value::Unit => rhai::Dynamic::UNIT,
        Value::Bool(b) => rhai::Dynamic::from_bool(*b),
        Value::Int(n) => rhai::Dynamic::from_int(*n),
        Value::Str(s) => rhai::Dynamic::from(rhai::ImmutableString::from(s.as_ref())),
        _ => return None,
    };
    Some(super::tree::switch_hash(&dynamic))
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
    if let Some(integer) = number.as_i64() {
        return Value::Int(integer);
    }
    let written = number.to_string();
    Decimal::from_str(&written)
        .or_else(|_| Decimal::from_scientific(&written))
        .map_or(Value::Unit, Value::Decimal)
}

/// (array items, map entries, string bytes) of a value, as Rhai counts them.
fn sizes(value: &Value<'_>) -> (usize, usize, usize) {
    let add =
        |a: (usize, usize, usize), b: (usize, usize, usize)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    match value {
        Value::Str(s) => (0, 0, s.len()),
        Value::Array(items) => items.iter().fold((0, 0, 0), |total, item| {
            add(add(total, (1, 0, 0)), sizes(item))
        }),
        Value::Map(entries) => entries.iter().fold((0, 0, 0), |total, (_, item)| {
            add(add(total, (0, 1, 0)), sizes(item))
        }),
        Value::Extra(extra) => json_map_sizes(extra.values()),
        _ => (0, 0, 0),
    }
}

fn json_map_sizes<'j>(values: impl Iterator<Item = &'j Json>) -> (usize, usize, usize) {
    values.fold((0, 0, 0), |(a, m, s), value| {
        let (da, dm, ds) = json_sizes(value);
        (a + da, m + 1 + dm, s + ds)
    })
}

fn json_sizes(value: &Json) -> (usize, usize, usize) {
    match value {
        Json::String(s) => (0, 0, s.len()),
        Json::Array(items) => items.iter().fold((0, 0, 0), |(a, m, s), item| {
            let (da, dm, ds) = json_sizes(item);
            (a + 1 + da, m + dm, s + ds)
        }),
        Json::Object(entries) => json_map_sizes(entries.values()),
        _ => (0, 0, 0),
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

//! The values the compiled evaluator computes with, and Rhai's built-in operators on
//! them, ported from Rhai 1.27 (`func/builtin.rs`, `packages/arithmetic.rs`): checked
//! integer and Decimal arithmetic, numeric comparison of integers with Decimals, and
//! `false` (`true` for `!=`) when comparing values of different, non-numeric types.
//!
//! Every operation answers `None` where Rhai would fail or where the port does not
//! cover the case (values of other types, overflow, division by zero): the call then
//! runs in Rhai.

use crate::opportunity::Opportunity;
use crate::portfolio::PortfolioView;
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A value during one evaluation; borrows from the program and from `o` and `p`.
#[derive(Debug, Clone)]
pub(super) enum Value<'a> {
    Unit,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    Str(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// An object map (a map only comes from a literal).
    Map(Vec<(Cow<'a, str>, Value<'a>)>),
    /// `o.extra`: a map converted from JSON lazily, key by key.
    Extra(&'a BTreeMap<String, serde_json::Value>),
    Opportunity(&'a Opportunity),
    Portfolio(&'a PortfolioView),
}

/// Which of Rhai's types a value has: values of different types compare unequal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Unit,
    Bool,
    Int,
    Decimal,
    Str,
    Array,
    Map,
    Custom,
}

impl Value<'_> {
    fn type_of(&self) -> Type {
        match self {
            Value::Unit => Type::Unit,
            Value::Bool(_) => Type::Bool,
            Value::Int(_) => Type::Int,
            Value::Decimal(_) => Type::Decimal,
            Value::Str(_) => Type::Str,
            Value::Array(_) => Type::Array,
            Value::Map(_) | Value::Extra(_) => Type::Map,
            Value::Opportunity(_) | Value::Portfolio(_) => Type::Custom,
        }
    }

    /// A copy that borrows this value's text instead of copying it (for constants,
    /// which live as long as the program).
    pub(super) fn lend(&self) -> Value<'_> {
        match self {
            Value::Unit => Value::Unit,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(n) => Value::Int(*n),
            Value::Decimal(d) => Value::Decimal(*d),
            Value::Str(s) => Value::text(s),
            Value::Array(items) => Value::Array(items.iter().map(Value::lend).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(key, value)| (Cow::Borrowed(key.as_ref()), value.lend()))
                    .collect(),
            ),
            Value::Extra(extra) => Value::Extra(extra),
            Value::Opportunity(o) => Value::Opportunity(o),
            Value::Portfolio(p) => Value::Portfolio(p),
        }
    }

    pub(super) fn text(text: &str) -> Value<'_> {
        Value::Str(Cow::Borrowed(text))
    }

    pub(super) fn optional_text(text: &Option<String>) -> Value<'_> {
        text.as_deref().map_or(Value::Unit, Value::text)
    }

    pub(super) fn optional_decimal(value: Option<Decimal>) -> Value<'static> {
        value.map_or(Value::Unit, Value::Decimal)
    }
}

/// A binary operator Rhai evaluates natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl BinaryOp {
    /// The operator spelled `symbol` in a script, if the evaluator has it.
    pub(super) fn from_symbol(symbol: &str) -> Option<BinaryOp> {
        Some(match symbol {
            "+" => BinaryOp::Add,
            "-" => BinaryOp::Subtract,
            "*" => BinaryOp::Multiply,
            "/" => BinaryOp::Divide,
            "%" => BinaryOp::Modulo,
            "==" => BinaryOp::Equal,
            "!=" => BinaryOp::NotEqual,
            "<" => BinaryOp::Less,
            "<=" => BinaryOp::LessOrEqual,
            ">" => BinaryOp::Greater,
            ">=" => BinaryOp::GreaterOrEqual,
            _ => return None,
        })
    }

    pub(super) fn is_comparison(self) -> bool {
        !matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Subtract
                | BinaryOp::Multiply
                | BinaryOp::Divide
                | BinaryOp::Modulo
        )
    }

    /// The answer of a comparison from an ordering.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            BinaryOp::Equal => ordering == Ordering::Equal,
            BinaryOp::NotEqual => ordering != Ordering::Equal,
            BinaryOp::Less => ordering == Ordering::Less,
            BinaryOp::LessOrEqual => ordering != Ordering::Greater,
            BinaryOp::Greater => ordering == Ordering::Greater,
            BinaryOp::GreaterOrEqual => ordering != Ordering::Less,
            _ => false,
        }
    }
}

/// `lhs op rhs` as Rhai's built-in operators compute it; `max_string` is the
/// engine's string size limit (0: none).
pub(super) fn binary<'a>(
    op: BinaryOp,
    lhs: &Value<'a>,
    rhs: &Value<'a>,
    max_string: usize,
) -> Option<Value<'a>> {
    use Value as V;
    if op.is_comparison() {
        return compare(op, lhs, rhs).map(V::Bool);
    }
    match (lhs, rhs) {
        (V::Int(x), V::Int(y)) => integer(op, *x, *y),
        (V::Decimal(x), V::Decimal(y)) => decimal(op, *x, *y),
        (V::Decimal(x), V::Int(y)) => decimal(op, *x, Decimal::from(*y)),
        (V::Int(x), V::Decimal(y)) => decimal(op, Decimal::from(*x), *y),
        (V::Str(x), V::Str(y)) if op == BinaryOp::Add => {
            let joined = x.len() + y.len();
            if max_string != 0 && joined > max_string {
                return None;
            }
            let mut text = String::with_capacity(joined);
            text.push_str(x);
            text.push_str(y);
            Some(V::Str(Cow::Owned(text)))
        }
        // `() + "text"` and `"text" + ()` give the text.
        (V::Unit, text @ V::Str(_)) | (text @ V::Str(_), V::Unit) if op == BinaryOp::Add => {
            Some(text.clone())
        }
        // Everything else (other types, mixed types) is left to Rhai.
        _ => None,
    }
}

/// A comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`) as Rhai's built-in operators
/// answer it.
pub(super) fn compare(op: BinaryOp, lhs: &Value<'_>, rhs: &Value<'_>) -> Option<bool> {
    use Value as V;
    Some(match (lhs, rhs) {
        (V::Int(x), V::Int(y)) => op.holds(x.cmp(y)),
        (V::Decimal(x), V::Decimal(y)) => op.holds(x.cmp(y)),
        (V::Decimal(x), V::Int(y)) => op.holds(x.cmp(&Decimal::from(*y))),
        (V::Int(x), V::Decimal(y)) => op.holds(Decimal::from(*x).cmp(y)),
        (V::Bool(x), V::Bool(y)) => op.holds(x.cmp(y)),
        (V::Str(x), V::Str(y)) => op.holds(x.as_ref().cmp(y.as_ref())),
        (V::Unit, V::Unit) => op == BinaryOp::Equal,
        (lhs, rhs) => return mismatched(op, lhs.type_of(), rhs.type_of()),
    })
}

/// Values of different types compare `false` (`true` for `!=`) unless both are
/// numbers; custom types are first offered to registered functions in Rhai, so they
/// are left to it.
fn mismatched(op: BinaryOp, lhs: Type, rhs: Type) -> Option<bool> {
    let numeric = |t: Type| matches!(t, Type::Int | Type::Decimal);
    if lhs == rhs || lhs == Type::Custom || rhs == Type::Custom {
        return None;
    }
    if numeric(lhs) && numeric(rhs) {
        return None;
    }
    Some(op == BinaryOp::NotEqual)
}

fn integer(op: BinaryOp, x: i64, y: i64) -> Option<Value<'static>> {
    let result = match op {
        BinaryOp::Add => x.checked_add(y),
        BinaryOp::Subtract => x.checked_sub(y),
        BinaryOp::Multiply => x.checked_mul(y),
        BinaryOp::Divide => x.checked_div(y),
        BinaryOp::Modulo => x.checked_rem(y),
        _ => None,
    };
    result.map(Value::Int)
}

fn decimal(op: BinaryOp, x: Decimal, y: Decimal) -> Option<Value<'static>> {
    let result = match op {
        BinaryOp::Add => x.checked_add(y),
        BinaryOp::Subtract => x.checked_sub(y),
        BinaryOp::Multiply => x.checked_mul(y),
        BinaryOp::Divide if y.is_zero() => None,
        BinaryOp::Divide => x.checked_div(y),
        BinaryOp::Modulo => x.checked_rem(y),
        _ => None,
    };
    result.map(Value::Decimal)
}

/// `-value`: numbers only; the negation of `i64::MIN` overflows.
pub(super) fn negate(value: &Value<'_>) -> Option<Value<'static>> {
    match value {
        Value::Int(n) => n.checked_neg().map(Value::Int),
        Value::Decimal(d) => Some(Value::Decimal(-d)),
        _ => None,
    }
}

/// `value == other` for `contains`: the built-in equality of the types the
/// evaluator has; `None` for arrays, maps and custom types.
pub(super) fn equals(lhs: &Value<'_>, rhs: &Value<'_>) -> Option<bool> {
    let scalar = |v: &Value<'_>| {
        matches!(
            v,
            Value::Unit | Value::Bool(_) | Value::Int(_) | Value::Decimal(_) | Value::Str(_)
        )
    };
    if !scalar(lhs) || !scalar(rhs) {
        return None;
    }
    compare(BinaryOp::Equal, lhs, rhs)
}

/// What `${value}` (Rhai's `to_string`) prints; `None` for the types whose text is
/// not ported (arrays, maps, custom types).
pub(super) fn write_display(value: &Value<'_>, out: &mut String) -> Option<()> {
    use std::fmt::Write;
    match value {
        Value::Unit => {}
        Value::Bool(b) => write!(out, "{b}").ok()?,
        Value::Int(n) => write!(out, "{n}").ok()?,
        Value::Decimal(d) => write!(out, "{d}").ok()?,
        Value::Str(s) => out.push_str(s),
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn op(op: BinaryOp, lhs: Value<'static>, rhs: Value<'static>) -> Option<String> {
        binary(op, &lhs, &rhs, 10).map(|v| format!("{v:?}"))
    }

    #[test]
    fn numbers_mix_and_overflow_gives_up() {
        let sum = op(BinaryOp::Add, Value::Int(1), Value::Decimal(dec!(0.5)));
        assert_eq!(sum.as_deref(), Some("Decimal(1.5)"));
        assert_eq!(op(BinaryOp::Add, Value::Int(i64::MAX), Value::Int(1)), None);
        assert_eq!(op(BinaryOp::Divide, Value::Int(1), Value::Int(0)), None);
        let zero = Value::Decimal(dec!(0));
        assert_eq!(op(BinaryOp::Divide, Value::Decimal(dec!(1)), zero), None);
        let equal = op(BinaryOp::Equal, Value::Int(1), Value::Decimal(dec!(1.00)));
        assert_eq!(equal.as_deref(), Some("Bool(true)"));
    }

    #[test]
    fn different_types_compare_false_except_not_equal() {
        let text = || Value::text("A");
        for (o, expected) in [
            (BinaryOp::Equal, false),
            (BinaryOp::NotEqual, true),
            (BinaryOp::Less, false),
            (BinaryOp::GreaterOrEqual, false),
        ] {
            let answer = binary(o, &Value::Unit, &Value::Decimal(dec!(1)), 0);
            assert!(
                matches!(answer, Some(Value::Bool(b)) if b == expected),
                "{o:?}"
            );
            let answer = binary(o, &text(), &Value::Int(1), 0);
            assert!(
                matches!(answer, Some(Value::Bool(b)) if b == expected),
                "{o:?}"
            );
        }
        assert!(binary(BinaryOp::Add, &text(), &Value::Int(1), 0).is_none());
        // `() != ()` is false, `() == ()` true.
        let unit_ne = binary(BinaryOp::NotEqual, &Value::Unit, &Value::Unit, 0);
        assert!(matches!(unit_ne, Some(Value::Bool(false))));
    }

    #[test]
    fn joined_strings_respect_the_size_limit() {
        let joined = binary(
            BinaryOp::Add,
            &Value::text("abcde"),
            &Value::text("fghij"),
            10,
        );
        assert!(matches!(joined, Some(Value::Str(s)) if s == "abcdefghij"));
        let long = binary(
            BinaryOp::Add,
            &Value::text("abcde"),
            &Value::text("fghijk"),
            10,
        );
        assert!(long.is_none());
    }
}

//! A faster evaluator for `decide`: the script's syntax tree, as Rhai parsed and
//! optimised it, lowered to a small tree of our own that reads `o` and `p` directly
//! and computes on plain values instead of Rhai's `Dynamic`.
//!
//! It covers the subset of Rhai that strategies are written in (`let`, `const`,
//! assignments, `if`, `switch`, `return`, operators, string interpolation, array and
//! map literals, the getters of `o` and `p`, and the methods in [`tree::Method`]).
//! A script using anything else is not lowered, and a call that meets a case the
//! evaluator does not handle exactly as Rhai does (an error, an unexpected type, a
//! size limit) gives up, so that Rhai runs the call: the answers are always Rhai's.
//! `tests/strategy_compiled.rs` checks that against Rhai on generated inputs.
//!
//! - `lower`: Rhai's tree → [`tree`], refusing what is outside the subset;
//! - `eval`: runs the tree (statements, variables, operators, conditions);
//! - `access`: properties, indexes and functions (`o`, `p`, maps, `o.extra`, methods);
//! - `limits`: Rhai's data size limits, counted as Rhai counts them;
//! - `value`: values and Rhai's built-in operators on them.

mod access;
mod eval;
mod limits;
mod lower;
mod tree;
mod value;

use super::answer;
use super::{ScriptOpportunity, StrategyAnswer};
use crate::portfolio::PortfolioView;
use eval::{Run, Slots, Stop};
use limits::Limits;
use rhai::{Engine, AST};
use std::borrow::Cow;
use tree::Block;
use value::Value;

/// `decide`, lowered.
#[derive(Debug)]
pub(super) struct Program {
    body: Block,
    slots: usize,
    limits: Limits,
}

impl Program {
    /// Lowers `decide(o, p)` from `ast`, compiled by `engine`; the error says what it
    /// uses outside the supported subset.
    pub(super) fn lower(engine: &Engine, ast: &AST) -> Result<Program, String> {
        let lowered =
            lower::lower_decide(engine, ast).map_err(|unsupported| unsupported.to_string())?;
        Ok(Program {
            body: lowered.body,
            slots: lowered.slots,
            limits: Limits {
                string: engine.max_string_size(),
                array: engine.max_array_size(),
                map: engine.max_map_size(),
            },
        })
    }

    /// The answer Rhai would give, or `None` to let Rhai run the call.
    pub(super) fn decide(
        &self,
        o: &ScriptOpportunity,
        p: &PortfolioView,
    ) -> Option<StrategyAnswer> {
        let mut slots = Slots::with_capacity(self.slots);
        slots.push(Value::Opportunity(o.opportunity()));
        slots.push(Value::Portfolio(p));
        let mut run = Run {
            slots,
            limits: self.limits,
        };
        let value = match run.block(&self.body) {
            Ok(value) | Err(Stop::Return(value)) => value,
            Err(Stop::GiveUp) => return None,
        };
        interpret(value)
    }
}

/// What `decide` returned as an answer, as `answer::interpret` reads it; `None` where
/// that gives an error, so that Rhai reports it.
fn interpret(value: Value<'_>) -> Option<StrategyAnswer> {
    match value {
        Value::Unit => Some(StrategyAnswer::Skip { reason: None }),
        Value::Int(_) | Value::Decimal(_) => Some(answer::answer(amount(&value)?, None, None)),
        Value::Map(entries) => {
            let (mut amount_value, mut reason, mut slot) = (None, None, None);
            for (key, value) in entries {
                match key.as_ref() {
                    "amount" => amount_value = Some(value),
                    "reason" => reason = optional_text(value)?,
                    "slot" => slot = optional_text(value)?,
                    _ => return None,
                }
            }
            if slot.as_deref() == Some("") {
                return None;
            }
            Some(match amount_value {
                None | Some(Value::Unit) => StrategyAnswer::Skip { reason },
                Some(value) => answer::answer(amount(&value)?, reason, slot),
            })
        }
        _ => None,
    }
}

fn amount(value: &Value<'_>) -> Option<rust_decimal::Decimal> {
    let number = match value {
        Value::Int(n) => rust_decimal::Decimal::from(*n),
        Value::Decimal(d) => *d,
        _ => return None,
    };
    answer::sane_amount(number).ok()
}

/// A map's `reason` or `slot`: text, or `()` for none; `None` for anything else.
fn optional_text(value: Value<'_>) -> Option<Option<String>> {
    match value {
        Value::Unit => Some(None),
        Value::Str(text) => Some(Some(Cow::into_owned(text))),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

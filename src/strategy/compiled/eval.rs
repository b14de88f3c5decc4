//! Runs the lowered tree on one opportunity and portfolio: statements, variables,
//! operators and conditions (what properties, indexes and functions give is in
//! `access`). Anything it does not do exactly as Rhai would stops the run with
//! [`Stop::GiveUp`]; Rhai then runs the call.

use super::limits::{sizes, Limits};
use super::tree::{Block, Expr, Stmt};
use super::value::{self, BinaryOp, Value};
use std::borrow::Cow;

/// Why evaluation stopped early.
pub(super) enum Stop<'a> {
    /// `return value`.
    Return(Value<'a>),
    /// A case the evaluator does not handle as Rhai does.
    GiveUp,
}

pub(super) type Flow<'a, T> = Result<T, Stop<'a>>;

/// Room reserved for an interpolated string: a typical reason fits without regrowing.
const INTERPOLATED_CAPACITY: usize = 64;

pub(super) fn give_up<'a, T>() -> Flow<'a, T> {
    Err(Stop::GiveUp)
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
    /// Gives up on a value over the engine's size limits (Rhai reports it).
    pub(super) fn within_limits(&self, sizes: (usize, usize, usize)) -> Flow<'a, ()> {
        if self.limits.allow(sizes) {
            Ok(())
        } else {
            give_up()
        }
    }

    /// A text produced by the script, within the string size limit.
    pub(super) fn limited_text(&self, text: Cow<'a, str>) -> Flow<'a, Value<'a>> {
        self.within_limits((0, 0, text.len()))?;
        Ok(Value::Str(text))
    }

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
                    self.within_limits((0, 0, text.len()))?;
                }
                Ok(Value::Str(Cow::Owned(text)))
            }
            Expr::Array(items) => {
                let mut array = Vec::with_capacity(items.len());
                for item in items {
                    array.push(self.expr(item)?);
                }
                let array = Value::Array(array);
                self.within_limits(sizes(&array))?;
                Ok(array)
            }
            Expr::Map(entries) => {
                let mut map = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    map.push((Cow::Borrowed(key.as_ref()), self.expr(value)?));
                }
                let map = Value::Map(map);
                self.within_limits(sizes(&map))?;
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

//! The lowered form of `decide`: statements and expressions with variables resolved
//! to numbered slots, properties and methods resolved to what they read, and
//! constants converted once.

use super::value::BinaryOp;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A sequence of statements; its value is the last one's (`()` when empty).
#[derive(Debug, Default)]
pub(super) struct Block(pub Vec<Stmt>);

#[derive(Debug)]
pub(super) enum Stmt {
    /// An expression; its value is the statement's.
    Expr(Expr),
    /// `let`/`const`: the slot the new variable lives in.
    Let(usize, Expr),
    /// `slot = value`, or `slot op= value`.
    Assign(usize, Option<BinaryOp>, Expr),
    If(Expr, Block, Block),
    Switch(Box<Switch>),
    Return(Option<Expr>),
    Block(Block),
}

/// `switch value { … }`: Rhai matches cases by the hash of the value.
#[derive(Debug)]
pub(super) struct Switch {
    pub value: Expr,
    /// Hash of a case's value → index into `arms`.
    pub cases: HashMap<u64, usize>,
    pub arms: Vec<Expr>,
    pub default: Option<usize>,
}

#[derive(Debug)]
pub(super) enum Expr {
    Constant(Constant),
    Local(usize),
    /// `base.name`.
    Property(Box<Expr>, Property),
    /// `base.name(args…)`, or `name(base, args…)`.
    Method(Box<Expr>, Method, Vec<Expr>),
    /// `base[index]`.
    Index(Box<Expr>, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `a ?? b ?? …`: the first that is not `()`.
    Coalesce(Vec<Expr>),
    Interpolated(Vec<Expr>),
    Array(Vec<Expr>),
    Map(Vec<(Box<str>, Expr)>),
    /// A block used as a value (`if` and `switch` as expressions).
    Block(Block),
}

/// A constant from the script, converted once when lowering.
#[derive(Debug, Clone)]
pub(super) enum Constant {
    Unit,
    Bool(bool),
    Int(i64),
    Decimal(Decimal),
    Str(Box<str>),
    Array(Vec<Constant>),
    Map(Vec<(Box<str>, Constant)>),
}

/// A property read, by the type it turns out to be read on.
#[derive(Debug)]
pub(super) struct Property {
    /// The name, for object maps (and `o.extra`).
    pub name: Box<str>,
    pub opportunity: Option<OpportunityField>,
    pub portfolio: Option<PortfolioField>,
}

/// The getters of `o` (`strategy::api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OpportunityField {
    Platform,
    PlatformKind,
    Id,
    Kind,
    Name,
    AssetClass,
    Grade,
    SubGrade,
    Rate,
    TermMonths,
    Amount,
    Remaining,
    MinInvestment,
    MaxInvestment,
    Increment,
    UnitPrice,
    Status,
    ListedAt,
    Whole,
    Extra,
}

impl OpportunityField {
    pub(super) fn from_name(name: &str) -> Option<Self> {
        use OpportunityField as F;
        Some(match name {
            "platform" => F::Platform,
            "platform_kind" => F::PlatformKind,
            "id" => F::Id,
            "kind" => F::Kind,
            "name" => F::Name,
            "asset_class" => F::AssetClass,
            "grade" => F::Grade,
            "sub_grade" => F::SubGrade,
            "rate" => F::Rate,
            "term_months" => F::TermMonths,
            "amount" => F::Amount,
            "remaining" => F::Remaining,
            "min_investment" => F::MinInvestment,
            "max_investment" => F::MaxInvestment,
            "increment" => F::Increment,
            "unit_price" => F::UnitPrice,
            "status" => F::Status,
            "listed_at" => F::ListedAt,
            "whole" => F::Whole,
            "extra" => F::Extra,
            _ => return None,
        })
    }
}

/// The getters of `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PortfolioField {
    Cash,
    InvestedTotal,
    InvestedToday,
    Today,
}

impl PortfolioField {
    pub(super) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "cash" => PortfolioField::Cash,
            "invested_total" => PortfolioField::InvestedTotal,
            "invested_today" => PortfolioField::InvestedToday,
            "today" => PortfolioField::Today,
            _ => return None,
        })
    }
}

/// The functions the evaluator has, called as methods or as functions; which one
/// runs depends on the receiver's type, as in Rhai.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Floor,
    Ceiling,
    Round,
    Abs,
    ToString,
    Len,
    IsEmpty,
    Contains,
    StartsWith,
    EndsWith,
    ToUpper,
    ToLower,
    SubString,
    InvestedIn,
    ExposureByGrade,
    ExposureByPlatform,
}

impl Method {
    pub(super) const ALL: [Method; 16] = [
        Method::Floor,
        Method::Ceiling,
        Method::Round,
        Method::Abs,
        Method::ToString,
        Method::Len,
        Method::IsEmpty,
        Method::Contains,
        Method::StartsWith,
        Method::EndsWith,
        Method::ToUpper,
        Method::ToLower,
        Method::SubString,
        Method::InvestedIn,
        Method::ExposureByGrade,
        Method::ExposureByPlatform,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Method::Floor => "floor",
            Method::Ceiling => "ceiling",
            Method::Round => "round",
            Method::Abs => "abs",
            Method::ToString => "to_string",
            Method::Len => "len",
            Method::IsEmpty => "is_empty",
            Method::Contains => "contains",
            Method::StartsWith => "starts_with",
            Method::EndsWith => "ends_with",
            Method::ToUpper => "to_upper",
            Method::ToLower => "to_lower",
            Method::SubString => "sub_string",
            Method::InvestedIn => "invested_in",
            Method::ExposureByGrade => "exposure_by_grade",
            Method::ExposureByPlatform => "exposure_by_platform",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

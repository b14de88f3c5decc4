//! User strategies: Rhai scripts defining `fn decide(o, p)`, compiled once in a
//! sandboxed engine and evaluated on each opportunity. (Stub: being implemented.)

use crate::opportunity::Opportunity;
use crate::portfolio::PortfolioView;
use rust_decimal::Decimal;
use std::fmt;
use std::path::Path;

/// What a strategy answered for one opportunity.
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyAnswer {
    /// `()`, `0`, or a map with amount 0.
    Skip { reason: Option<String> },
    /// An amount (rounded down to cents), with an optional reason and slot.
    Buy {
        amount: Decimal,
        reason: Option<String>,
        slot: Option<String>,
    },
}

/// A compile or run-time error, naming the script, line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct StrategyError {
    /// The script's path as given in the config.
    pub script: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.script, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.script, l, self.message),
            _ => write!(f, "{}: {}", self.script, self.message),
        }
    }
}

/// One compiled strategy script.
pub struct Strategy {}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Strategy")
    }
}

impl Strategy {
    /// Reads and compiles a script file.
    pub fn compile_file(name: &str, path: &Path) -> Result<Strategy, StrategyError> {
        let _ = (name, path);
        todo!()
    }

    /// Compiles script text; `label` names it in errors.
    pub fn compile_source(
        name: &str,
        label: &str,
        source: &str,
    ) -> Result<Strategy, StrategyError> {
        let _ = (name, label, source);
        todo!()
    }

    pub fn name(&self) -> &str {
        todo!()
    }

    /// Evaluates `decide(o, p)`. Never panics; a script failure is an error naming the line.
    pub fn decide(
        &self,
        o: &Opportunity,
        p: &PortfolioView,
    ) -> Result<StrategyAnswer, StrategyError> {
        let _ = (o, p);
        todo!()
    }
}

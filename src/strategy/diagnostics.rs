//! Rhai's compile and run-time errors turned into [`StrategyError`]s that name the
//! script, and the line and column where the script went wrong.

use super::StrategyError;
use rhai::{EvalAltResult, ParseError, Position};

impl StrategyError {
    /// An error with no position in the script (unreadable file, bad return value).
    pub(super) fn whole_script(script: &str, message: impl Into<String>) -> Self {
        StrategyError {
            script: script.to_string(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub(super) fn compile(script: &str, err: &ParseError) -> Self {
        at(script, err.position(), err.err_type().to_string())
    }

    /// Rhai wraps an error raised inside a function in one `ErrorInFunctionCall` per
    /// call level, positioned at the call site; the innermost error holds the position
    /// of the statement that actually failed, which is what the author needs.
    pub(super) fn runtime(script: &str, err: Box<EvalAltResult>) -> Self {
        let (mut innermost, position) = innermost(err);
        // Cleared so the message does not repeat the position we report separately.
        innermost.clear_position();
        let message = match &*innermost {
            // Rhai's text drops the reason the sandbox gave for stopping the script.
            EvalAltResult::ErrorTerminated(reason, _) => format!("Script terminated: {reason}"),
            other => other.to_string(),
        };
        at(script, position, message)
    }
}

fn at(script: &str, position: Position, message: String) -> StrategyError {
    StrategyError {
        script: script.to_string(),
        line: position.line(),
        column: position.position(),
        message,
    }
}

/// The innermost error, and the innermost known position (some errors carry none).
fn innermost(mut err: Box<EvalAltResult>) -> (Box<EvalAltResult>, Position) {
    let mut position = err.position();
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = *err {
        err = inner;
        if !err.position().is_none() {
            position = err.position();
        }
    }
    (err, position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_call(name: &str, inner: EvalAltResult, line: u16) -> EvalAltResult {
        EvalAltResult::ErrorInFunctionCall(
            name.into(),
            String::new(),
            Box::new(inner),
            Position::new(line, 5),
        )
    }

    #[test]
    fn runtime_error_uses_the_innermost_position() {
        let thrown = EvalAltResult::ErrorRuntime("boom".into(), Position::new(12, 9));
        let err =
            StrategyError::runtime("s.rhai", Box::new(in_call("b", in_call("a", thrown, 7), 3)));
        assert_eq!(
            err,
            StrategyError {
                script: "s.rhai".into(),
                line: Some(12),
                column: Some(9),
                message: "Runtime error: boom".into(),
            }
        );
    }

    #[test]
    fn runtime_error_without_a_position_keeps_the_nearest_call_site() {
        let overflow = EvalAltResult::ErrorStackOverflow(Position::NONE);
        let err = StrategyError::runtime("s.rhai", Box::new(in_call("down", overflow, 4)));
        assert_eq!((err.line, err.column), (Some(4), Some(5)));
        assert_eq!(err.message, "Stack overflow");
        assert_eq!(err.to_string(), "s.rhai:4:5: Stack overflow");
    }

    #[test]
    fn termination_keeps_its_reason() {
        let stopped = EvalAltResult::ErrorTerminated("ran longer than 5 ms".into(), Position::NONE);
        let err = StrategyError::runtime("s.rhai", Box::new(stopped));
        assert_eq!(err.message, "Script terminated: ran longer than 5 ms");
        assert_eq!(
            err.to_string(),
            "s.rhai: Script terminated: ran longer than 5 ms"
        );
    }
}

//! The `autoinvest` binary: parses the command line and hands over to the library;
//! maps errors to exit codes (2: bad usage or invalid config/strategy; 1: runtime).

use autoinvest::cli::{self, Cli};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::execute(cli) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

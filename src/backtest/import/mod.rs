//! Reading historical opportunities: format detection, the row type both importers
//! yield, the outcome classes the report compares, and the sanity checks every row
//! passes before it reaches the decision core.
//!
//! Importers stream: they hold one row at a time, so memory does not grow with the
//! file. A malformed row is an `Err(RowError)` naming its line; the caller decides
//! whether that is fatal (`--strict`) or counted and skipped.

pub mod jsonl;
pub mod lendingclub;

use crate::money;
use crate::opportunity::Opportunity;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `--format` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Detect from the file name, then from the first bytes.
    #[default]
    Auto,
    /// One `Opportunity` JSON object per line.
    Jsonl,
    /// LendingClub CSV (LoanStats or OpenIntro column names).
    Lendingclub,
}

/// A concrete input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Jsonl,
    LendingClub,
}

impl DataFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Jsonl => "jsonl",
            DataFormat::LendingClub => "lendingclub",
        }
    }
}

/// What became of a loan, when the data says (`loan_status`, or `Class` good/bad).
/// Outcome columns are taken out of `extra`: strategies never see the future.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Repaid in full (`Fully Paid`, `Class` good).
    FullyPaid,
    /// Lost (`Charged Off`, `Default`, `Class` bad).
    ChargedOff,
    /// Behind on payments (`Late (…)`, `In Grace Period`).
    Late,
    /// Still being repaid on time.
    Current,
    /// No outcome column, or a status word not recognised.
    Unknown,
}

impl Outcome {
    /// Classifies LendingClub's status words; `Class` (good/bad) is the fallback.
    pub fn classify(loan_status: Option<&str>, class: Option<&str>) -> Outcome {
        if let Some(status) = loan_status.map(str::trim).filter(|s| !s.is_empty()) {
            // "Does not meet the credit policy. Status:Fully Paid" carries the real status last.
            let status = status.rsplit(':').next().unwrap_or(status).trim();
            let is = |word: &str| status.eq_ignore_ascii_case(word);
            return if is("fully paid") {
                Outcome::FullyPaid
            } else if is("charged off") || is("default") {
                Outcome::ChargedOff
            } else if is("current") || is("issued") {
                Outcome::Current
            } else if is("in grace period")
                || status
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case("late"))
            {
                Outcome::Late
            } else {
                Outcome::Unknown
            };
        }
        match class.map(str::trim) {
            Some(c) if c.eq_ignore_ascii_case("good") => Outcome::FullyPaid,
            Some(c) if c.eq_ignore_ascii_case("bad") => Outcome::ChargedOff,
            _ => Outcome::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::FullyPaid => "fully_paid",
            Outcome::ChargedOff => "charged_off",
            Outcome::Late => "late",
            Outcome::Current => "current",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One opportunity read from the file, with its line and known outcome. Importers
/// guarantee `listed_at` is set (it is the simulated clock).
#[derive(Debug, Clone)]
pub struct Imported {
    /// 1-based line in the file where the row starts.
    pub line: u64,
    /// Shared: the strategies see this very allocation (no copy per row), and the row
    /// moves between the backtest's threads as a pointer.
    pub opportunity: Arc<Opportunity>,
    pub outcome: Outcome,
}

/// A row that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The file cannot be read as a backtest input at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: cannot tell the format (not .jsonl/.csv, and the first line is neither a JSON object nor a LendingClub header); pass --format")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: {message}")]
    Header { path: PathBuf, message: String },
}

/// Picks the format from the file name, then from the first bytes.
pub fn detect(path: &Path, head: &[u8]) -> Option<DataFormat> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("jsonl" | "ndjson") => return Some(DataFormat::Jsonl),
        Some("csv") => return Some(DataFormat::LendingClub),
        _ => {}
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('{') {
        return Some(DataFormat::Jsonl);
    }
    let looks_like_lendingclub = text.lines().take(2).any(|line| {
        line.contains(',')
            && lendingclub::AMOUNT_COLUMNS
                .iter()
                .any(|c| line.split(',').any(|h| h.trim().trim_matches('"') == *c))
    });
    looks_like_lendingclub.then_some(DataFormat::LendingClub)
}

/// The rows of one input file, in file order. `R` is the file as `open`'s caller
/// wrapped it; the rows can move to another thread when `R` can.
pub enum Rows<R: Read> {
    Jsonl(jsonl::JsonlRows<BufReader<R>>),
    /// Boxed: the CSV reader carries its own buffers.
    LendingClub(Box<lendingclub::LendingClubRows<BufReader<R>>>),
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Result<Imported, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Jsonl(rows) => rows.next(),
            Rows::LendingClub(rows) => rows.next(),
        }
    }
}

/// Buffer size for input files: large reads keep the parser busy, not the kernel.
const READ_BUFFER: usize = 256 * 1024;

/// Opens `path` in the requested format. `wrap` lets the caller observe the bytes
/// read (the progress bar) without the importers knowing about it.
pub fn open<R: Read>(
    path: &Path,
    format: Format,
    wrap: impl FnOnce(File) -> R,
) -> Result<(DataFormat, Rows<R>), ImportError> {
    let open_error = |source| ImportError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(open_error)?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, wrap(file));
    let format = match format {
        Format::Jsonl => DataFormat::Jsonl,
        Format::Lendingclub => DataFormat::LendingClub,
        Format::Auto => {
            let head = reader.fill_buf().map_err(open_error)?;
            detect(path, head).ok_or_else(|| ImportError::UnknownFormat {
                path: path.to_path_buf(),
            })?
        }
    };
    let rows = match format {
        DataFormat::Jsonl => Rows::Jsonl(jsonl::JsonlRows::new(reader)),
        DataFormat::LendingClub => Rows::LendingClub(Box::new(
            lendingclub::LendingClubRows::new(reader).map_err(|message| ImportError::Header {
                path: path.to_path_buf(),
                message,
            })?,
        )),
    };
    Ok((format, rows))
}

/// The largest annual rate accepted (as a fraction): beyond it the row is corrupt.
const MAX_RATE: Decimal = Decimal::ONE;

/// Rejects rows no platform would list: negative or absurd money, rates outside
/// 0–100 %, no clock. Keeping figures bounded also keeps the report's sums exact.
pub fn check_row(opp: &Opportunity) -> Result<(), String> {
    let money_fields = [
        ("amount", opp.amount),
        ("remaining", opp.remaining),
        ("min_investment", opp.min_investment),
        ("max_investment", opp.max_investment),
        ("increment", opp.increment),
        ("unit_price", opp.unit_price),
    ];
    for (name, value) in money_fields {
        if let Some(value) = value {
            money::check_sane(value).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    if let Some(rate) = opp.rate {
        if rate.is_sign_negative() || rate > MAX_RATE {
            return Err(format!("rate {rate} is outside 0..1 (0.1399 = 13.99 %)"));
        }
    }
    if opp.listed_at.is_none() {
        return Err("listed_at is missing (it is the backtest's clock)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_then_content() {
        let csv_head = b"rownames,loan_amount,term\n1,100,36\n";
        let json_head = b"{\"platform\":\"fc\"}\n";
        assert_eq!(
            detect(Path::new("a.jsonl"), csv_head),
            Some(DataFormat::Jsonl)
        );
        assert_eq!(
            detect(Path::new("a.CSV"), json_head),
            Some(DataFormat::LendingClub)
        );
        assert_eq!(
            detect(Path::new("data"), b"\xef\xbb\xbf  {\"id\":1}"),
            Some(DataFormat::Jsonl)
        );
        assert_eq!(
            detect(Path::new("data.txt"), csv_head),
            Some(DataFormat::LendingClub)
        );
        assert_eq!(
            detect(Path::new("data"), b"\"id\",\"loan_amnt\",\"term\"\n"),
            Some(DataFormat::LendingClub)
        );
        // LoanStats files open with a one-line preamble before the header.
        assert_eq!(
            detect(
                Path::new("LoanStats3a"),
                b"Notes offered by Prospectus (https://x)\n\"id\",\"loan_amnt\"\n"
            ),
            Some(DataFormat::LendingClub)
        );
        assert_eq!(detect(Path::new("data"), b"a,b,c\n1,2,3\n"), None);
        assert_eq!(detect(Path::new("data"), b""), None);
    }

    #[test]
    fn classifies_outcomes() {
        let cases = [
            (Some("Fully Paid"), None, Outcome::FullyPaid),
            (Some("Charged Off"), None, Outcome::ChargedOff),
            (Some("Default"), None, Outcome::ChargedOff),
            (Some("Current"), None, Outcome::Current),
            (Some("Late (31-120 days)"), None, Outcome::Late),
            (Some("In Grace Period"), None, Outcome::Late),
            (
                Some("Does not meet the credit policy. Status:Charged Off"),
                None,
                Outcome::ChargedOff,
            ),
            (Some("Something else"), Some("good"), Outcome::Unknown),
            (Some(""), Some("bad"), Outcome::ChargedOff),
            (None, Some(" Good "), Outcome::FullyPaid),
            (None, None, Outcome::Unknown),
        ];
        for (status, class, expected) in cases {
            assert_eq!(
                Outcome::classify(status, class),
                expected,
                "{status:?} {class:?}"
            );
        }
    }
}

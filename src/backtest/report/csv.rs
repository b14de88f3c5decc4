//! `decisions.csv`: one line per (opportunity, strategy) evaluated, written as the
//! backtest runs so it never has to be held in memory.

use crate::backtest::import::Imported;
use crate::decision::{Decision, Verdict};
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::fmt::Display;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// The header; the column names are a contract like `report.json`'s fields.
pub const COLUMNS: [&str; 14] = [
    "line",
    "listed_at",
    "platform",
    "opportunity_id",
    "strategy",
    "decision",
    "amount",
    "reason",
    "grade",
    "sub_grade",
    "term_months",
    "rate",
    "loan_amount",
    "outcome",
];

/// Bytes `decisions.csv` collects before each write to the file (the CSV writer's
/// own buffer: no second buffer in between).
const OUTPUT_BUFFER: usize = 256 * 1024;

/// Streams decisions to a CSV file. The hot path allocates nothing: a row's own
/// columns are formatted once into buffers kept from row to row, and every field
/// goes straight into the CSV writer's buffer.
pub struct DecisionsWriter<W: Write> {
    writer: ::csv::Writer<W>,
    line: Vec<u8>,
    listed_at: Vec<u8>,
    term: Vec<u8>,
    rate: Vec<u8>,
    loan_amount: Vec<u8>,
    amount: Vec<u8>,
}

impl DecisionsWriter<File> {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path) -> io::Result<Self> {
        DecisionsWriter::new(File::create(path)?)
    }
}

impl<W: Write> DecisionsWriter<W> {
    pub fn new(output: W) -> io::Result<Self> {
        let mut writer = ::csv::WriterBuilder::new()
            .buffer_capacity(OUTPUT_BUFFER)
            .from_writer(output);
        writer.write_record(COLUMNS).map_err(into_io)?;
        Ok(DecisionsWriter {
            writer,
            line: Vec::new(),
            listed_at: Vec::new(),
            term: Vec::new(),
            rate: Vec::new(),
            loan_amount: Vec::new(),
            amount: Vec::new(),
        })
    }

    /// Writes one line per decision made on `row`. The row's own columns are
    /// formatted once and repeated on each of its lines.
    pub fn write(&mut self, row: &Imported, decisions: &[Decision]) -> io::Result<()> {
        let o = &row.opportunity;
        replace_with(&mut self.line, Some(row.line))?;
        self.listed_at.clear();
        if let Some(at) = o.listed_at {
            write_rfc3339(&mut self.listed_at, at)?;
        }
        replace_with(&mut self.term, o.term_months)?;
        replace_with(&mut self.rate, o.rate)?;
        replace_with(&mut self.loan_amount, o.amount)?;
        for decision in decisions {
            let (verdict, reason) = match &decision.verdict {
                Verdict::Buy { amount, reason, .. } => {
                    replace_with(&mut self.amount, Some(amount))?;
                    ("buy", reason.as_str())
                }
                Verdict::Skip { reason } => {
                    self.amount.clear();
                    ("skip", reason.as_str())
                }
                Verdict::Error { message } => {
                    self.amount.clear();
                    ("error", message.as_str())
                }
            };
            let fields: [&[u8]; 14] = [
                &self.line,
                &self.listed_at,
                o.platform.as_str().as_bytes(),
                o.id.as_bytes(),
                decision.strategy.as_bytes(),
                verdict.as_bytes(),
                &self.amount,
                reason.as_bytes(),
                o.grade.as_deref().unwrap_or_default().as_bytes(),
                o.sub_grade.as_deref().unwrap_or_default().as_bytes(),
                &self.term,
                &self.rate,
                &self.loan_amount,
                row.outcome.as_str().as_bytes(),
            ];
            self.writer.write_record(fields).map_err(into_io)?;
        }
        Ok(())
    }

    /// Flushes everything to the output.
    pub fn finish(mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Replaces `buffer`'s text with `value` displayed, or nothing for `None`.
fn replace_with(buffer: &mut Vec<u8>, value: Option<impl Display>) -> io::Result<()> {
    buffer.clear();
    match value {
        Some(value) => write!(buffer, "{value}"),
        None => Ok(()),
    }
}

/// `at` exactly as [`DateTime::to_rfc3339`] writes it ("2018-03-01T00:00:00+00:00"),
/// without its `String` for the usual whole-second times of years 0–9999.
fn write_rfc3339(out: &mut Vec<u8>, at: DateTime<Utc>) -> io::Result<()> {
    let year = at.year();
    if at.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return out.write_all(at.to_rfc3339().as_bytes());
    }
    write!(
        out,
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn into_io(error: ::csv::Error) -> io::Error {
    match error.into_kind() {
        ::csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::import::Outcome;
    use crate::backtest::report::tests::{buy, decision, row, skip};
    use rust_decimal_macros::dec;

    #[test]
    fn writes_one_quoted_line_per_decision() {
        let r = row(
            "L,1",
            "A",
            36,
            dec!(1000),
            dec!(0.07),
            Outcome::ChargedOff,
            1,
        );
        let decisions = [
            decision(&r, "s1", buy(dec!(25.00))),
            decision(&r, "s2", skip("grade \"A\", not wanted")),
        ];
        let mut out = Vec::new();
        let mut writer = DecisionsWriter::new(&mut out).unwrap();
        writer.write(&r, &decisions).unwrap();
        writer.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "2,2018-03-01T00:00:00+00:00,lendingclub,\"L,1\",s1,buy,25.00,test,A,,36,0.07,1000,charged_off"
        );
        assert_eq!(
            lines[2],
            "2,2018-03-01T00:00:00+00:00,lendingclub,\"L,1\",s2,skip,,\"grade \"\"A\"\", not wanted\",A,,36,0.07,1000,charged_off"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        use chrono::TimeZone;
        let times = [
            Utc.with_ymd_and_hms(2018, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 20, 21, 5, 9).unwrap(),
            Utc.with_ymd_and_hms(999, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
            Utc.timestamp_opt(1_700_000_000, 120_000_000).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .unwrap()
                .and_utc(), // a leap second
        ];
        for at in times {
            let mut out = Vec::new();
            write_rfc3339(&mut out, at).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), at.to_rfc3339());
        }
    }
}

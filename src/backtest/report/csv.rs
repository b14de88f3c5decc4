//! `decisions.csv`: one line per (opportunity, strategy) evaluated, written as the
//! backtest runs so it never has to be held in memory.

use crate::backtest::import::Imported;
use crate::decision::{Decision, Verdict};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
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

/// Streams decisions to a CSV file.
pub struct DecisionsWriter<W: Write> {
    writer: ::csv::Writer<W>,
}

impl DecisionsWriter<BufWriter<File>> {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = File::create(path)?;
        DecisionsWriter::new(BufWriter::with_capacity(256 * 1024, file))
    }
}

impl<W: Write> DecisionsWriter<W> {
    pub fn new(output: W) -> io::Result<Self> {
        let mut writer = ::csv::Writer::from_writer(output);
        writer.write_record(COLUMNS).map_err(into_io)?;
        Ok(DecisionsWriter { writer })
    }

    /// Writes one line per decision made on `row`. The row's own columns are
    /// formatted once and repeated on each of its lines.
    pub fn write(&mut self, row: &Imported, decisions: &[Decision]) -> io::Result<()> {
        let o = &row.opportunity;
        let text = |v: Option<String>| v.unwrap_or_default();
        let line = row.line.to_string();
        let listed_at = text(o.listed_at.map(|t| t.to_rfc3339()));
        let term = text(o.term_months.map(|t| t.to_string()));
        let rate = text(o.rate.map(|r| r.to_string()));
        let loan_amount = text(o.amount.map(|a| a.to_string()));
        let mut amount = String::new();
        for decision in decisions {
            amount.clear();
            let (verdict, reason) = match &decision.verdict {
                Verdict::Buy {
                    amount: bought,
                    reason,
                    ..
                } => {
                    let _ = write!(amount, "{bought}");
                    ("buy", reason.as_str())
                }
                Verdict::Skip { reason } => ("skip", reason.as_str()),
                Verdict::Error { message } => ("error", message.as_str()),
            };
            let fields: [&str; 14] = [
                &line,
                &listed_at,
                o.platform.as_str(),
                &o.id,
                &decision.strategy,
                verdict,
                &amount,
                reason,
                o.grade.as_deref().unwrap_or_default(),
                o.sub_grade.as_deref().unwrap_or_default(),
                &term,
                &rate,
                &loan_amount,
                row.outcome.as_str(),
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
}

//! `decisions.csv`: one line per (opportunity, strategy) evaluated, written as the
//! backtest runs so it never has to be held in memory.

use super::decimal_digits;
use crate::backtest::import::Imported;
use crate::decision::{Decision, Verdict};
use chrono::{DateTime, Datelike, Timelike, Utc};
use rust_decimal::Decimal;
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
        replace_with(&mut self.line, Some(row.line));
        self.listed_at.clear();
        if let Some(at) = o.listed_at {
            write_rfc3339(&mut self.listed_at, at);
        }
        replace_with(&mut self.term, o.term_months);
        replace_with(&mut self.rate, o.rate);
        replace_with(&mut self.loan_amount, o.amount);
        for decision in decisions {
            let (verdict, reason) = match &decision.verdict {
                Verdict::Buy { amount, reason, .. } => {
                    replace_with(&mut self.amount, Some(*amount));
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

/// Replaces `buffer`'s text with `value` as `Display` writes it, or nothing for `None`.
fn replace_with(buffer: &mut Vec<u8>, value: Option<impl WriteDigits>) {
    buffer.clear();
    if let Some(value) = value {
        value.write_digits(buffer);
    }
}

/// Writes a number into a byte buffer exactly as its `Display` does, without the
/// formatting machinery (several numbers per row of `decisions.csv`).
trait WriteDigits {
    fn write_digits(&self, out: &mut Vec<u8>);
}

impl WriteDigits for u64 {
    fn write_digits(&self, out: &mut Vec<u8>) {
        let mut digits = [0u8; 20];
        out.extend_from_slice(decimal_digits(*self, &mut digits).as_bytes());
    }
}

impl WriteDigits for u32 {
    fn write_digits(&self, out: &mut Vec<u8>) {
        u64::from(*self).write_digits(out);
    }
}

impl WriteDigits for Decimal {
    /// Mantissa digits with the point `scale` places from the right ("0.0899",
    /// "5000.00", "-0"): what `Decimal`'s `Display` writes when no precision is given.
    fn write_digits(&self, out: &mut Vec<u8>) {
        let Ok(mantissa) = u64::try_from(self.mantissa().unsigned_abs()) else {
            // Beyond 64 bits (never a real amount or rate): the library's own text.
            out.extend_from_slice(self.to_string().as_bytes());
            return;
        };
        let mut buffer = [0u8; 20];
        let digits = decimal_digits(mantissa, &mut buffer).as_bytes();
        let digits = if mantissa == 0 { &[][..] } else { digits };
        let scale = self.scale() as usize;
        if self.is_sign_negative() {
            out.push(b'-');
        }
        if digits.is_empty() && scale == 0 {
            out.push(b'0');
            return;
        }
        // Zeros between the point and the first significant digit ("0.0899").
        let leading_zeros = scale.saturating_sub(digits.len());
        let whole = (digits.len() + leading_zeros) - scale;
        if whole == 0 {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + leading_zeros, b'0');
            out.extend_from_slice(digits);
        } else {
            out.extend_from_slice(&digits[..whole]);
            if scale > 0 {
                out.push(b'.');
                out.extend_from_slice(&digits[whole..]);
            }
        }
    }
}

/// `at` exactly as [`DateTime::to_rfc3339`] writes it ("2018-03-01T00:00:00+00:00"),
/// without its `String` for the usual whole-second times of years 0–9999.
fn write_rfc3339(out: &mut Vec<u8>, at: DateTime<Utc>) {
    let year = at.year();
    if at.nanosecond() != 0 || !(0..=9999).contains(&year) {
        out.extend_from_slice(at.to_rfc3339().as_bytes());
        return;
    }
    let two = |value: u32| [b'0' + (value / 10) as u8, b'0' + (value % 10) as u8];
    let year = year as u32; // 0..=9999, checked above
    out.extend_from_slice(&two(year / 100));
    out.extend_from_slice(&two(year % 100));
    out.push(b'-');
    out.extend_from_slice(&two(at.month()));
    out.push(b'-');
    out.extend_from_slice(&two(at.day()));
    out.push(b'T');
    out.extend_from_slice(&two(at.hour()));
    out.push(b':');
    out.extend_from_slice(&two(at.minute()));
    out.push(b':');
    out.extend_from_slice(&two(at.second()));
    out.extend_from_slice(b"+00:00");
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
    fn numbers_are_written_as_display_writes_them() {
        let text = |value: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            value(&mut out);
            String::from_utf8(out).unwrap()
        };
        let mut decimals = vec![
            Decimal::ZERO,
            -Decimal::ZERO,
            Decimal::new(0, 2),
            Decimal::new(-0, 5),
            dec!(0.0899),
            dec!(-0.0899),
            dec!(5000.00),
            dec!(38075),
            dec!(0.1),
            dec!(1.5),
            dec!(-1000000.000001),
            Decimal::new(i64::MAX, 0),
            Decimal::new(i64::MIN, 3),
            Decimal::new(1, 28),
            Decimal::MAX,
            Decimal::MIN,
        ];
        // A spread of mantissas and scales, deterministic.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mantissa = (seed >> (seed % 60)) as i64 * if seed % 3 == 0 { -1 } else { 1 };
            decimals.push(Decimal::new(mantissa, (seed % 29) as u32));
        }
        for value in decimals {
            assert_eq!(text(&|out| value.write_digits(out)), value.to_string());
        }
        for value in [0u64, 7, 10, 36, 99_999, u64::MAX] {
            assert_eq!(text(&|out| value.write_digits(out)), value.to_string());
        }
        for value in [0u32, 60, u32::MAX] {
            assert_eq!(text(&|out| value.write_digits(out)), value.to_string());
        }
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
            write_rfc3339(&mut out, at);
            assert_eq!(String::from_utf8(out).unwrap(), at.to_rfc3339());
        }
    }
}

//! JSONL input: one `Opportunity` per line, in the shape `strategy eval
//! --opportunity` reads and `run --record-opportunities` writes. Blank lines are
//! skipped. An outcome may ride along in `extra.loan_status` or `extra.Class`; it is
//! taken out of `extra` so strategies cannot see it.

use super::{check_row, Imported, Outcome, RowError};
use crate::opportunity::Opportunity;
use serde_json::Value;
use std::io::{self, BufRead};
use std::sync::Arc;

/// `extra` keys that hold a loan's outcome rather than something known at listing.
pub const OUTCOME_KEYS: [&str; 2] = ["loan_status", "Class"];

/// Streams the rows of a JSONL file.
pub struct JsonlRows<R: BufRead> {
    reader: R,
    line: u64,
    buffer: Vec<u8>,
    /// Set after an I/O error: nothing more can be read.
    failed: bool,
}

impl<R: BufRead> JsonlRows<R> {
    pub fn new(reader: R) -> Self {
        JsonlRows {
            reader,
            line: 0,
            buffer: Vec::with_capacity(4096),
            failed: false,
        }
    }
}

impl<R: BufRead> JsonlRows<R> {
    /// Calls `handle` with the next line (its newline included) and returns what it
    /// returns; `None` at the end of the input. A line that lies whole in the
    /// reader's buffer (nearly all of them) is handled there, without a copy.
    fn with_next_line<T>(&mut self, handle: impl FnOnce(&[u8]) -> T) -> io::Result<Option<T>> {
        let available = loop {
            match self.reader.fill_buf() {
                Ok(available) => break available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        };
        if available.is_empty() {
            return Ok(None);
        }
        if let Some(newline) = memchr::memchr(b'\n', available) {
            let result = handle(&available[..=newline]);
            self.reader.consume(newline + 1);
            return Ok(Some(result));
        }
        // The line runs past the buffer (or the file ends without a newline).
        self.buffer.clear();
        self.reader.read_until(b'\n', &mut self.buffer)?;
        Ok(Some(handle(&self.buffer)))
    }
}

impl<R: BufRead> Iterator for JsonlRows<R> {
    type Item = Result<Imported, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            self.line += 1;
            let line = self.line;
            let parsed = self.with_next_line(|bytes| {
                let text = bytes.trim_ascii();
                (!text.is_empty()).then(|| parse_line(text, line))
            });
            match parsed {
                Ok(None) => return None,
                Ok(Some(None)) => continue, // a blank line
                Ok(Some(Some(row))) => {
                    return Some(row.map_err(|message| RowError { line, message }))
                }
                Err(error) => {
                    self.failed = true;
                    let message = format!("cannot be read: {error}");
                    return Some(Err(RowError { line, message }));
                }
            }
        }
        None
    }
}

fn parse_line(text: &[u8], line: u64) -> Result<Imported, String> {
    // One UTF-8 check of the whole line: `from_str` then skips the per-string checks
    // `from_slice` makes. A JSON line is UTF-8 throughout either way.
    let text = std::str::from_utf8(text).map_err(|e| format!("not an opportunity: {e}"))?;
    let mut opportunity: Opportunity =
        serde_json::from_str(text).map_err(|e| format!("not an opportunity: {e}"))?;
    check_row(&opportunity)?;
    let [status, class] = OUTCOME_KEYS.map(|key| match opportunity.extra.remove(key) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    });
    Ok(Imported {
        line,
        opportunity: Arc::new(opportunity),
        outcome: Outcome::classify(status.as_deref(), class.as_deref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::PlatformKind;
    use rust_decimal_macros::dec;

    const ROW: &str = r#"{"platform":"fc","platform_kind":"fundingcircle","id":"L1","kind":"loan","rate":"0.0899","amount":"5000.00","listed_at":"2026-11-20T21:00:00Z","extra":{"state":"CA","loan_status":"Charged Off"}}"#;

    fn rows(text: impl AsRef<[u8]>) -> Vec<Result<Imported, RowError>> {
        JsonlRows::new(text.as_ref()).collect()
    }

    #[test]
    fn reads_opportunities_and_takes_the_outcome_out_of_extra() {
        let parsed = rows(format!("{ROW}\n\n  \n{ROW}"));
        assert_eq!(parsed.len(), 2);
        let second = parsed[1].as_ref().unwrap();
        assert_eq!(second.line, 4);
        assert_eq!(
            second.opportunity.platform_kind,
            PlatformKind::FundingCircle
        );
        assert_eq!(second.opportunity.rate, Some(dec!(0.0899)));
        assert_eq!(second.outcome, Outcome::ChargedOff);
        assert!(!second.opportunity.extra.contains_key("loan_status"));
        assert_eq!(second.opportunity.extra["state"], "CA");
    }

    /// Lines longer than the reader's buffer, split across refills, and a last line
    /// without a newline read exactly as from one buffer.
    #[test]
    fn lines_read_the_same_whatever_the_buffer_size() {
        let text = format!("{ROW}\n\n{{not json\n{ROW}\n  \n{ROW}");
        let summary = |rows: Vec<Result<Imported, RowError>>| {
            rows.into_iter()
                .map(|r| match r {
                    Ok(i) => format!("{} {:?} {:?}", i.line, i.opportunity, i.outcome),
                    Err(e) => format!("{} {}", e.line, e.message),
                })
                .collect::<Vec<_>>()
        };
        let whole = summary(rows(&text));
        assert_eq!(whole.len(), 4);
        for capacity in [1, 7, 64, ROW.len(), ROW.len() + 1, ROW.len() + 2] {
            let reader = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            let pieces = summary(JsonlRows::new(reader).collect());
            assert_eq!(pieces, whole, "buffer of {capacity} bytes");
        }
    }

    #[test]
    fn numbers_are_read_exactly() {
        let row = ROW.replace(r#""rate":"0.0899""#, r#""rate":0.0899"#);
        let parsed = rows(&row);
        assert_eq!(
            parsed[0].as_ref().unwrap().opportunity.rate,
            Some(dec!(0.0899))
        );
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        let no_clock = ROW.replace(r#","listed_at":"2026-11-20T21:00:00Z""#, "");
        let absurd = ROW.replace(r#""amount":"5000.00""#, r#""amount":"5000000000000000.00""#);
        let negative_rate = ROW.replace(r#""rate":"0.0899""#, r#""rate":"-0.01""#);
        let mut text =
            format!("{ROW}\n{{not json\n{no_clock}\n{absurd}\n{negative_rate}\n").into_bytes();
        text.extend_from_slice(b"\xff\xfe\n");
        text.extend_from_slice(format!("{ROW}\n").as_bytes());
        let parsed = rows(&text);
        let summary: Vec<(u64, bool)> = parsed
            .iter()
            .map(|r| match r {
                Ok(i) => (i.line, true),
                Err(e) => (e.line, false),
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, true),
                (2, false),
                (3, false),
                (4, false),
                (5, false),
                (6, false),
                (7, true)
            ]
        );
        let message = |i: usize| parsed[i].as_ref().unwrap_err().message.clone();
        assert!(message(1).contains("not an opportunity"));
        assert!(message(2).contains("listed_at"));
        assert!(message(3).contains("amount"), "{}", message(3));
        assert!(message(4).contains("rate"));
        assert!(message(5).contains("not an opportunity"), "{}", message(5));
    }
}

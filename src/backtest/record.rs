//! Appends polled opportunities to a JSONL file (`run --record-opportunities FILE`),
//! in the shape the backtest reads, so a live or dry run can be replayed later.

use crate::opportunity::Opportunity;
use chrono::{DateTime, Utc};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// Appends one line per opportunity; `listed_at` is set to `polled_at` when the
/// platform gave none (the backtest's clock needs one). The lines are written with
/// a single append, so loops of several platform accounts do not interleave them.
pub fn append(
    path: &Path,
    opportunities: &[Opportunity],
    polled_at: DateTime<Utc>,
) -> io::Result<()> {
    let mut lines = Vec::with_capacity(512 * opportunities.len());
    for opportunity in opportunities {
        if opportunity.listed_at.is_some() {
            serde_json::to_writer(&mut lines, opportunity)?;
        } else {
            let mut stamped = opportunity.clone();
            stamped.listed_at = Some(polled_at);
            serde_json::to_writer(&mut lines, &stamped)?;
        }
        lines.push(b'\n');
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::import::jsonl::JsonlRows;
    use crate::opportunity::{OpportunityKind, PlatformId, PlatformKind};
    use chrono::TimeZone;

    #[test]
    fn appended_lines_read_back_with_a_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("polled.jsonl");
        let polled = Utc.with_ymd_and_hms(2026, 11, 20, 21, 5, 0).unwrap();
        let listed = Utc.with_ymd_and_hms(2026, 11, 20, 21, 0, 0).unwrap();
        let mut with_date = Opportunity::new(
            PlatformId::new("fc"),
            PlatformKind::FundingCircle,
            "a",
            OpportunityKind::Loan,
        );
        with_date.listed_at = Some(listed);
        let mut without = with_date.clone();
        without.id = "b".into();
        without.listed_at = None;
        append(&path, &[with_date.clone()], polled).unwrap();
        append(&path, &[without], polled).unwrap();
        let text = std::fs::read(&path).unwrap();
        let rows: Vec<_> = JsonlRows::new(text.as_slice())
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(*rows[0].opportunity, with_date);
        assert_eq!(rows[1].opportunity.listed_at, Some(polled));
    }
}

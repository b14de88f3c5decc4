//! `report.json`: the whole [`Report`], pretty-printed. Field names are stable (see
//! [`super::REPORT_VERSION`]); money, rates and ratios are decimal strings, exact.

use super::Report;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes `report` to `path`.
pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    serde_json::to_writer_pretty(&mut out, report)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use crate::backtest::report::tests::sample_report;
    use serde_json::Value;

    #[test]
    fn field_names_and_money_shapes_are_stable() {
        let value: Value = serde_json::to_value(sample_report()).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["input"]["format"], "lendingclub");
        assert_eq!(value["input"]["rows"], 3);
        assert_eq!(value["input"]["malformed_rows"], 1);
        assert_eq!(value["input"]["malformed_examples"][0]["line"], 9);
        assert_eq!(value["baseline"]["total"]["amount"], "6000");
        assert_eq!(value["baseline"]["total"]["bad_rate"], "0.5000");
        assert_eq!(value["baseline"]["by_term"]["36"]["count"], 2);
        assert_eq!(value["settings"]["budget"]["daily_limit"], "500");
        assert_eq!(value["settings"]["start_cash"], Value::Null);
        let picky = &value["strategies"][0];
        assert_eq!(picky["name"], "picky");
        assert_eq!(picky["platforms"], Value::Null);
        assert_eq!(picky["invested"], "75");
        assert_eq!(picky["selected"]["total"]["outcomes"]["fully_paid"], 1);
        assert_eq!(picky["budget_hits"], 1);
        assert_eq!(picky["daily"][1]["cumulative"], "75");
        assert_eq!(value["strategies"][1]["platforms"][0], "fc");
        assert!(value["warnings"][0].as_str().unwrap().contains("none"));
    }
}

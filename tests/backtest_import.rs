//! Importers on real files: format detection, the OpenIntro LendingClub sample
//! (tests/fixtures/lendingclub-sample.csv, CC BY-SA 3.0) and a hand-written LoanStats
//! CSV with its quirks and malformed rows.

use autoinvest::backtest::import::{
    self, DataFormat, Format, ImportError, Imported, Outcome, RowError,
};
use autoinvest::opportunity::{PlatformKind, PurchaseMode};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn open(
    path: &Path,
    format: Format,
) -> Result<(DataFormat, Vec<Result<Imported, RowError>>), ImportError> {
    let (format, rows) = import::open(path, format, |f| Box::new(f) as Box<dyn Read>)?;
    Ok((format, rows.collect()))
}

#[test]
fn detects_the_format_from_the_name_then_the_content() {
    let (format, _) = open(&fixture("lendingclub-sample.csv"), Format::Auto).unwrap();
    assert_eq!(format, DataFormat::LendingClub);

    let dir = tempfile::tempdir().unwrap();
    let json = std::fs::read_to_string(fixture("opportunity.json")).unwrap();
    let no_extension = dir.path().join("listings");
    std::fs::write(&no_extension, json.replace('\n', "")).unwrap();
    let (format, rows) = open(&no_extension, Format::Auto).unwrap();
    assert_eq!(format, DataFormat::Jsonl);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].is_ok(), "{rows:?}");

    let csv_named_dat = dir.path().join("loans.dat");
    std::fs::copy(fixture("loanstats-small.csv"), &csv_named_dat).unwrap();
    assert_eq!(
        open(&csv_named_dat, Format::Auto).unwrap().0,
        DataFormat::LendingClub
    );

    let unknown = dir.path().join("notes.txt");
    std::fs::write(&unknown, "hello, world\n").unwrap();
    let error = open(&unknown, Format::Auto).unwrap_err();
    assert!(matches!(error, ImportError::UnknownFormat { .. }));
    assert!(error.to_string().contains("--format"));

    // An explicit format wins over the name.
    let (format, rows) = open(&unknown, Format::Jsonl).unwrap();
    assert_eq!(format, DataFormat::Jsonl);
    assert!(rows[0]
        .as_ref()
        .unwrap_err()
        .message
        .contains("not an opportunity"));
    assert!(matches!(
        open(&unknown, Format::Lendingclub).unwrap_err(),
        ImportError::Header { .. }
    ));
    assert!(matches!(
        open(&dir.path().join("missing.csv"), Format::Auto).unwrap_err(),
        ImportError::Open { .. }
    ));
}

#[test]
fn reads_the_openintro_sample() {
    let (_, rows) = open(&fixture("lendingclub-sample.csv"), Format::Auto).unwrap();
    let rows: Vec<Imported> = rows.into_iter().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 500);

    let first = &rows[0];
    let o = &first.opportunity;
    assert_eq!(first.line, 2);
    assert_eq!(o.id, "1"); // rownames
    assert_eq!(o.platform.as_str(), "lendingclub");
    assert_eq!(o.platform_kind, PlatformKind::LendingClub);
    assert_eq!(o.amount, Some(dec!(28000)));
    assert_eq!(o.remaining, Some(dec!(28000)));
    assert_eq!(o.term_months, Some(60));
    assert_eq!(o.rate, Some(dec!(0.1407)));
    assert_eq!(o.grade.as_deref(), Some("C"));
    assert_eq!(o.sub_grade.as_deref(), Some("C3"));
    assert_eq!(o.name.as_deref(), Some("moving"));
    assert_eq!(o.purchase, PurchaseMode::Whole);
    assert_eq!(o.min_investment, Some(dec!(25)));
    assert_eq!(o.increment, Some(dec!(25)));
    assert_eq!(
        o.listed_at.unwrap().to_rfc3339(),
        "2018-03-01T00:00:00+00:00"
    );
    assert_eq!(first.outcome, Outcome::Current);
    // Unknown columns, typed: numbers stay exact numbers, text stays text, empty is null.
    assert_eq!(o.extra["annual_income"].to_string(), "90000.0");
    assert_eq!(o.extra["debt_to_income"].to_string(), "18.01");
    assert_eq!(o.extra["state"], "NJ");
    assert_eq!(o.extra["delinq_2y"].to_string(), "0");
    assert!(o.extra["annual_income_joint"].is_null());
    assert_eq!(o.extra["emp_title"], "global config engineer");
    for consumed in [
        "loan_status",
        "loan_amount",
        "interest_rate",
        "issue_month",
        "rownames",
    ] {
        assert!(
            !o.extra.contains_key(consumed),
            "{consumed} leaked into extra"
        );
    }

    // Row 2 (Feb-2018, second data row) is listed on the month's second day.
    assert_eq!(
        rows[1].opportunity.listed_at.unwrap().to_rfc3339(),
        "2018-02-02T00:00:00+00:00"
    );

    // Totals checked against the file with another tool (Python's csv module).
    let total: Decimal = rows.iter().filter_map(|r| r.opportunity.amount).sum();
    assert_eq!(total, dec!(7883975));
    let whole = rows
        .iter()
        .filter(|r| r.opportunity.purchase == PurchaseMode::Whole)
        .count();
    assert_eq!(whole, 422);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *outcomes.entry(r.outcome.as_str()).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("charged_off", 1),
            ("current", 474),
            ("fully_paid", 15),
            ("late", 10)
        ])
    );
}

#[test]
fn reads_loanstats_quirks_and_names_bad_lines() {
    let (format, rows) = open(&fixture("loanstats-small.csv"), Format::Auto).unwrap();
    assert_eq!(format, DataFormat::LendingClub);
    let (good, bad): (Vec<_>, Vec<_>) = rows.into_iter().partition(Result::is_ok);
    let good: Vec<Imported> = good.into_iter().map(Result::unwrap).collect();
    let bad: Vec<RowError> = bad.into_iter().map(Result::unwrap_err).collect();

    let lines: Vec<u64> = bad.iter().map(|e| e.line).collect();
    assert_eq!(lines, [7, 8, 9], "{bad:?}");
    assert!(bad[0].message.contains("\"twenty%\""), "{}", bad[0].message);
    assert!(
        bad[1].message.contains("issue_d is empty"),
        "{}",
        bad[1].message
    );
    assert!(
        bad[2].message.contains("loan_amnt is empty"),
        "{}",
        bad[2].message
    );

    // The preamble and the "Total amount funded" footer are not rows.
    assert_eq!(good.len(), 6);
    let first = &good[0].opportunity;
    assert_eq!(first.id, "68407277");
    assert_eq!(first.term_months, Some(36));
    assert_eq!(first.rate, Some(dec!(0.1399)));
    assert_eq!(first.purchase, PurchaseMode::Whole);
    assert_eq!(
        first.listed_at.unwrap().to_rfc3339(),
        "2015-12-01T00:00:00+00:00"
    );
    assert_eq!(first.extra["zip_code"], "190xx");
    assert!(first.extra["member_id"].is_null());
    assert_eq!(first.extra["funded_amnt"].to_string(), "3600");
    assert_eq!(first.extra["emp_length"], "10+ years");
    let outcomes: Vec<Outcome> = good.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::FullyPaid,
            Outcome::ChargedOff,
            Outcome::Current,
            Outcome::Late,
            Outcome::FullyPaid,
            Outcome::ChargedOff
        ]
    );
    assert_eq!(good[2].opportunity.purchase, PurchaseMode::Fractional);
    // Row index 8 (0-based) in January: the 9th of the month.
    assert_eq!(
        good[5].opportunity.listed_at.unwrap().to_rfc3339(),
        "2016-01-09T00:00:00+00:00"
    );
}

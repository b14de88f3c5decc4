//! LendingClub CSV: the original LoanStats column names (`loan_amnt`, `int_rate`
//! "13.99%", `term` " 36 months", `issue_d` "Dec-2015", …) and the OpenIntro ones
//! (`loan_amount`, `interest_rate`, `issue_month`, `initial_listing_status`, …).
//!
//! Mapping: a fractional or whole loan (`initial_listing_status` "whole", or "w"
//! in LoanStats' `initial_list_status`), $25 minimum and $25 increment (LendingClub
//! notes), amount = remaining = the loan amount, rate = percent / 100 exactly,
//! name = purpose, id = `id`, else `rownames`, else the line number. Every other
//! column goes to `extra` (integers and decimals as exact JSON numbers, empty as
//! null), except the outcome columns `loan_status` and `Class`, which only the report
//! sees. The data gives the issue month only; a row is listed on the first day of
//! that month plus (its row index in the file mod the days in the month) days, at
//! midnight UTC — deterministic, and it spreads a month's loans over its days.

use super::{check_row, Imported, Outcome, RowError};
use crate::money;
use crate::opportunity::{Opportunity, OpportunityKind, PlatformId, PlatformKind, PurchaseMode};
use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::str::FromStr;
use std::sync::Arc;

/// Column names that hold the loan amount, in order of preference.
pub const AMOUNT_COLUMNS: [&str; 3] = ["loan_amnt", "loan_amount", "funded_amnt"];
const ISSUE_COLUMNS: [&str; 2] = ["issue_d", "issue_month"];
const ID_COLUMNS: [&str; 2] = ["id", "rownames"];
const RATE_COLUMNS: [&str; 2] = ["int_rate", "interest_rate"];
const PURPOSE_COLUMNS: [&str; 2] = ["purpose", "loan_purpose"];
const LISTING_COLUMNS: [&str; 2] = ["initial_listing_status", "initial_list_status"];

/// LendingClub notes: $25 minimum, bought in $25 steps.
const NOTE_STEP: Decimal = Decimal::from_parts(25, 0, 0, false, 0);
/// The platform id and status given to every LendingClub row.
pub const PLATFORM: &str = "lendingclub";
const STATUS: &str = "listed";

/// Where each known field is in the header.
#[derive(Debug, Default)]
struct Columns {
    width: usize,
    id: Option<usize>,
    amount: usize,
    amount_name: String,
    issued: usize,
    issued_name: String,
    term: Option<usize>,
    rate: Option<usize>,
    grade: Option<usize>,
    sub_grade: Option<usize>,
    purpose: Option<usize>,
    listing: Option<usize>,
    status: Option<usize>,
    class: Option<usize>,
    /// Every column not mapped above, by index, with its name.
    extra: Vec<(usize, String)>,
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> Result<Columns, String> {
        let names: Vec<String> = header
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let find = |candidates: &[&str]| {
            candidates
                .iter()
                .find_map(|c| names.iter().position(|n| n == c))
        };
        let amount = find(&AMOUNT_COLUMNS).ok_or_else(|| {
            format!(
                "the header has no loan amount column ({})",
                AMOUNT_COLUMNS.join(", ")
            )
        })?;
        let issued = find(&ISSUE_COLUMNS).ok_or_else(|| {
            format!(
                "the header has no issue date column ({})",
                ISSUE_COLUMNS.join(", ")
            )
        })?;
        let mut columns = Columns {
            width: names.len(),
            id: find(&ID_COLUMNS),
            amount,
            amount_name: names[amount].clone(),
            issued,
            issued_name: names[issued].clone(),
            term: find(&["term"]),
            rate: find(&RATE_COLUMNS),
            grade: find(&["grade"]),
            sub_grade: find(&["sub_grade"]),
            purpose: find(&PURPOSE_COLUMNS),
            listing: find(&LISTING_COLUMNS),
            status: find(&["loan_status"]),
            class: find(&["Class"]),
            extra: Vec::new(),
        };
        let mapped = [
            columns.id,
            Some(columns.amount),
            Some(columns.issued),
            columns.term,
            columns.rate,
            columns.grade,
            columns.sub_grade,
            columns.purpose,
            columns.listing,
            columns.status,
            columns.class,
        ];
        columns.extra = names
            .iter()
            .enumerate()
            .filter(|(i, _)| !mapped.contains(&Some(*i)))
            .map(|(i, name)| (i, name.clone()))
            .collect();
        Ok(columns)
    }
}

/// Streams the rows of a LendingClub CSV.
pub struct LendingClubRows<R: Read> {
    reader: csv::Reader<R>,
    columns: Columns,
    record: csv::StringRecord,
    /// Data rows read so far (malformed ones included): spreads rows over the month.
    index: u64,
    /// Set after an I/O error: nothing more can be read.
    failed: bool,
    platform: PlatformId,
}

impl<R: Read> LendingClubRows<R> {
    /// Reads the header (skipping LoanStats' one-line preamble); an unusable header
    /// is an error naming what is missing.
    pub fn new(input: R) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::StringRecord::new();
        let read_error = |error: csv::Error| format!("reading the header: {error}");
        let mut found = reader.read_record(&mut record).map_err(read_error)?;
        // LoanStats files start with "Notes offered by Prospectus …" above the header.
        if found && record.len() == 1 {
            found = reader.read_record(&mut record).map_err(read_error)?;
        }
        if !found {
            return Err("the file has no header".into());
        }
        let columns = Columns::from_header(&record)?;
        Ok(LendingClubRows {
            reader,
            columns,
            record,
            index: 0,
            failed: false,
            platform: PlatformId::new(PLATFORM),
        })
    }

    fn parse_current(&self, line: u64, index: u64) -> Result<Imported, String> {
        let record = &self.record;
        let c = &self.columns;
        if record.len() != c.width {
            return Err(format!(
                "has {} fields, the header has {}",
                record.len(),
                c.width
            ));
        }
        let field = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let amount_text = field(Some(c.amount)).ok_or(format!("{} is empty", c.amount_name))?;
        let amount =
            money::parse_usd(amount_text).map_err(|e| format!("{}: {e}", c.amount_name))?;
        if amount.is_zero() {
            return Err(format!("{} is zero", c.amount_name));
        }
        let issued_text = field(Some(c.issued)).ok_or(format!("{} is empty", c.issued_name))?;
        let month = parse_month(issued_text).ok_or_else(|| {
            format!(
                "{}: {issued_text:?} is not a month like \"Dec-2015\"",
                c.issued_name
            )
        })?;

        let mut opp = Opportunity::new(
            self.platform.clone(),
            PlatformKind::LendingClub,
            field(c.id).map_or_else(|| line.to_string(), str::to_string),
            OpportunityKind::Loan,
        );
        opp.amount = Some(amount);
        opp.remaining = Some(amount);
        opp.min_investment = Some(NOTE_STEP);
        opp.increment = Some(NOTE_STEP);
        opp.status = STATUS.to_string();
        opp.listed_at = Some(listed_at(month, index));
        opp.term_months = field(c.term)
            .map(|t| parse_term(t).ok_or_else(|| format!("term: {t:?} is not a number of months")))
            .transpose()?;
        opp.rate = field(c.rate)
            .map(|r| {
                parse_percent(r).ok_or_else(|| format!("interest rate: {r:?} is not a percentage"))
            })
            .transpose()?;
        opp.grade = field(c.grade).map(str::to_string);
        opp.sub_grade = field(c.sub_grade).map(str::to_string);
        opp.name = field(c.purpose).map(str::to_string);
        opp.purchase = match field(c.listing) {
            Some(s) if s.eq_ignore_ascii_case("whole") || s.eq_ignore_ascii_case("w") => {
                PurchaseMode::Whole
            }
            _ => PurchaseMode::Fractional,
        };
        opp.extra = c
            .extra
            .iter()
            .map(|(i, name)| (name.clone(), extra_value(record.get(*i).unwrap_or(""))))
            .collect::<BTreeMap<_, _>>();
        check_row(&opp)?;
        let outcome = Outcome::classify(field(c.status), field(c.class));
        Ok(Imported {
            line,
            opportunity: Arc::new(opp),
            outcome,
        })
    }
}

impl<R: Read> Iterator for LendingClubRows<R> {
    type Item = Result<Imported, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            let line = self.reader.position().line();
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Err(error) => {
                    self.failed = error.is_io_error();
                    let line = error.position().map_or(line, |p| p.line());
                    self.index += 1;
                    return Some(Err(RowError {
                        line,
                        message: csv_error_message(&error),
                    }));
                }
                Ok(true) => {}
            }
            let line = self.record.position().map_or(line, |p| p.line());
            if is_footer(&self.record) {
                continue;
            }
            let index = self.index;
            self.index += 1;
            return Some(
                self.parse_current(line, index)
                    .map_err(|message| RowError { line, message }),
            );
        }
        None
    }
}

/// LoanStats files end with "Total amount funded in policy code …" lines.
fn is_footer(record: &csv::StringRecord) -> bool {
    record.len() == 1
        && record
            .get(0)
            .is_some_and(|f| f.trim().is_empty() || f.starts_with("Total amount funded"))
}

fn csv_error_message(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".into(),
        _ => format!("cannot be read as CSV: {error}"),
    }
}

/// The first day of the issue month.
fn parse_month(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    // "2015-12-01" / "2015-12"
    if let Some((year, rest)) = text.split_once('-').filter(|(y, _)| y.len() == 4) {
        let month = rest.split('-').next()?;
        return NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1);
    }
    // "Dec-2015" / "Dec-15" / "Dec 2015"
    let (month, year) = text.split_once(['-', ' '])?;
    let month = month_number(month)?;
    let year: i32 = match year.trim() {
        y if y.len() == 2 => 2000 + y.parse::<i32>().ok()?,
        y if y.len() == 4 => y.parse().ok()?,
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, 1)
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = name.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == prefix)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// First day of `month` plus (`index` mod the days in that month) days, midnight UTC.
fn listed_at(month: NaiveDate, index: u64) -> DateTime<Utc> {
    let next = month.checked_add_months(Months::new(1)).unwrap_or(month);
    let days = u64::try_from((next - month).num_days()).unwrap_or(1).max(1);
    let offset = i64::try_from(index % days).unwrap_or(0);
    let day = month + TimeDelta::days(offset);
    debug_assert_eq!(day.month(), month.month());
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

/// " 36 months", "36", "term_36" → 36.
fn parse_term(text: &str) -> Option<u32> {
    let text = text.trim();
    let text = text.strip_prefix("term_").unwrap_or(text);
    let text = text
        .strip_suffix("months")
        .or_else(|| text.strip_suffix("month"))
        .unwrap_or(text)
        .trim();
    text.parse::<u32>().ok().filter(|m| *m > 0)
}

/// "13.99%" / "13.99" → 0.1399, exactly; 0–100 % only.
fn parse_percent(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let text = text.strip_suffix('%').unwrap_or(text).trim();
    let percent = Decimal::from_str(text).ok()?;
    (percent >= Decimal::ZERO && percent <= Decimal::ONE_HUNDRED)
        .then(|| (percent / Decimal::ONE_HUNDRED).normalize())
}

/// An extra column's value: empty → null, a plain JSON-shaped number → an exact
/// number (integers stay integers, decimals keep their digits), anything else text.
fn extra_value(text: &str) -> Value {
    let text = text.trim();
    if text.is_empty() {
        return Value::Null;
    }
    if is_plain_number(text) {
        if let Ok(number) = serde_json::Number::from_str(text) {
            return Value::Number(number);
        }
    }
    Value::String(text.to_string())
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: what JSON calls a number, minus exponents. Leading
/// zeros ("02134") stay text: they are codes, not quantities.
fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let whole_ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && (whole == "0" || !whole.starts_with('0'));
    let fraction_ok =
        fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    whole_ok && fraction_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn rows(text: &str) -> Vec<Result<Imported, RowError>> {
        LendingClubRows::new(text.as_bytes()).unwrap().collect()
    }

    #[test]
    fn parses_terms_rates_and_months() {
        assert_eq!(parse_term(" 36 months"), Some(36));
        assert_eq!(parse_term("60"), Some(60));
        assert_eq!(parse_term("term_36"), Some(36));
        assert_eq!(parse_term("0"), None);
        assert_eq!(parse_term("three years"), None);
        assert_eq!(parse_percent("13.99%"), Some(dec!(0.1399)));
        assert_eq!(parse_percent(" 7.5 % "), Some(dec!(0.075)));
        assert_eq!(parse_percent("13.99"), Some(dec!(0.1399)));
        assert_eq!(parse_percent("101"), None);
        assert_eq!(parse_percent("-1"), None);
        assert_eq!(parse_percent("x%"), None);
        let first = |y, m| NaiveDate::from_ymd_opt(y, m, 1);
        assert_eq!(parse_month("Dec-2015"), first(2015, 12));
        assert_eq!(parse_month("mar-2018"), first(2018, 3));
        assert_eq!(parse_month("Dec-15"), first(2015, 12));
        assert_eq!(parse_month("2015-12-01"), first(2015, 12));
        assert_eq!(parse_month("2015-13"), None);
        assert_eq!(parse_month("Foo-2015"), None);
        assert_eq!(parse_month("Dec-015"), None);
    }

    #[test]
    fn spreads_rows_over_the_days_of_the_month() {
        let feb = NaiveDate::from_ymd_opt(2018, 2, 1).unwrap();
        let day = |i| listed_at(feb, i);
        assert_eq!(day(0), Utc.with_ymd_and_hms(2018, 2, 1, 0, 0, 0).unwrap());
        assert_eq!(day(27), Utc.with_ymd_and_hms(2018, 2, 28, 0, 0, 0).unwrap());
        assert_eq!(day(28), Utc.with_ymd_and_hms(2018, 2, 1, 0, 0, 0).unwrap());
        let dec = NaiveDate::from_ymd_opt(2015, 12, 1).unwrap();
        assert_eq!(
            listed_at(dec, 30),
            Utc.with_ymd_and_hms(2015, 12, 31, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn extra_values_keep_their_type_and_digits() {
        assert_eq!(extra_value(""), Value::Null);
        assert_eq!(extra_value("90000").to_string(), "90000");
        assert!(extra_value("90000").is_u64());
        assert_eq!(extra_value("18.01").to_string(), "18.01");
        assert_eq!(extra_value("90000.0").to_string(), "90000.0");
        assert_eq!(extra_value("-3").to_string(), "-3");
        assert_eq!(extra_value("02134"), Value::String("02134".into()));
        assert_eq!(extra_value("1e5"), Value::String("1e5".into()));
        assert_eq!(extra_value("NJ"), Value::String("NJ".into()));
        assert_eq!(extra_value("3."), Value::String("3.".into()));
    }

    #[test]
    fn maps_a_loanstats_row() {
        let text = "Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)\n\
            id,loan_amnt,funded_amnt,term,int_rate,grade,sub_grade,issue_d,loan_status,purpose,addr_state,annual_inc,dti,initial_list_status\n\
            1077501,5000,4975,\" 36 months\",10.65%,B,B2,Dec-2011,Fully Paid,credit_card,AZ,24000,27.65,w\n\
            \n\
            Total amount funded in policy code 1: 1000\n";
        let parsed = rows(text);
        assert_eq!(parsed.len(), 1, "{parsed:?}");
        let row = parsed[0].as_ref().unwrap();
        assert_eq!(row.line, 3);
        let o = &row.opportunity;
        assert_eq!(o.id, "1077501");
        assert_eq!(o.platform.as_str(), "lendingclub");
        assert_eq!(o.platform_kind, PlatformKind::LendingClub);
        assert_eq!(o.kind, OpportunityKind::Loan);
        assert_eq!(o.amount, Some(dec!(5000)));
        assert_eq!(o.remaining, Some(dec!(5000)));
        assert_eq!(o.min_investment, Some(dec!(25)));
        assert_eq!(o.increment, Some(dec!(25)));
        assert_eq!(o.term_months, Some(36));
        assert_eq!(o.rate, Some(dec!(0.1065)));
        assert_eq!(o.grade.as_deref(), Some("B"));
        assert_eq!(o.sub_grade.as_deref(), Some("B2"));
        assert_eq!(o.name.as_deref(), Some("credit_card"));
        assert_eq!(o.purchase, PurchaseMode::Whole);
        assert_eq!(
            o.listed_at,
            Some(Utc.with_ymd_and_hms(2011, 12, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(row.outcome, Outcome::FullyPaid);
        let extra: Vec<&str> = o.extra.keys().map(String::as_str).collect();
        assert_eq!(extra, ["addr_state", "annual_inc", "dti", "funded_amnt"]);
        assert_eq!(o.extra["dti"].to_string(), "27.65");
        assert!(!o.extra.contains_key("loan_status"));
    }

    #[test]
    fn bad_rows_name_their_line_and_do_not_stop_the_rest() {
        let text = "id,loan_amnt,term,int_rate,issue_d,grade\n\
            a,1000,36,10%,Jan-2016,A\n\
            b,abc,36,10%,Jan-2016,A\n\
            c,1000,36 months,ten,Jan-2016,A\n\
            d,1000,36,10%,,A\n\
            e,1000,36\n\
            f,,36,10%,Jan-2016,A\n\
            g,1000,forever,10%,Jan-2016,A\n\
            h,1000,,,Jan-2016,\n";
        let parsed = rows(text);
        let lines: Vec<(u64, bool)> = parsed
            .iter()
            .map(|r| match r {
                Ok(i) => (i.line, true),
                Err(e) => (e.line, false),
            })
            .collect();
        assert_eq!(
            lines,
            [
                (2, true),
                (3, false),
                (4, false),
                (5, false),
                (6, false),
                (7, false),
                (8, false),
                (9, true)
            ]
        );
        let messages: Vec<String> = parsed
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.message.clone()))
            .collect();
        assert!(messages[0].contains("loan_amnt") && messages[0].contains("abc"));
        assert!(messages[1].contains("interest rate"));
        assert!(messages[2].contains("issue_d is empty"));
        assert!(messages[3].contains("has 3 fields, the header has 6"));
        assert!(messages[4].contains("loan_amnt is empty"));
        assert!(messages[5].contains("term"));
        // Missing optional values are simply absent.
        let last = &parsed[7].as_ref().unwrap().opportunity;
        assert_eq!(
            (last.term_months, last.rate, last.grade.clone()),
            (None, None, None)
        );
        // Row index (not line) spreads listing days: row h is the 8th data row.
        assert_eq!(
            last.listed_at,
            Some(Utc.with_ymd_and_hms(2016, 1, 8, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn a_header_without_amount_or_issue_date_is_refused() {
        let error = LendingClubRows::new("id,term\n1,36\n".as_bytes())
            .err()
            .unwrap();
        assert!(error.contains("loan amount"), "{error}");
        let error = LendingClubRows::new("id,loan_amnt\n1,36\n".as_bytes())
            .err()
            .unwrap();
        assert!(error.contains("issue date"), "{error}");
        assert!(LendingClubRows::new("".as_bytes()).is_err());
    }
}

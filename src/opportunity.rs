//! The one model every platform's listings and offerings are normalised into.
//!
//! Platform modules map their wire types into [`Opportunity`]; the engine, the
//! strategies, sizing and the backtest only ever see this type.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A platform account's id: the `[platforms.<id>]` table name in the config (e.g. "fc").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlatformId(pub String);

impl PlatformId {
    pub fn new(id: impl Into<String>) -> Self {
        PlatformId(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlatformId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Which API a platform account speaks (the config's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    #[serde(rename = "fundingcircle")]
    FundingCircle,
    #[serde(rename = "fundrise")]
    Fundrise,
    #[serde(rename = "fundamerica")]
    FundAmerica,
    #[serde(rename = "issuer_portal")]
    IssuerPortal,
    /// Historical LendingClub rows replayed by the backtest; never traded live.
    #[serde(rename = "lendingclub")]
    LendingClub,
}

impl PlatformKind {
    /// The name used in config files, scripts and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::FundingCircle => "fundingcircle",
            PlatformKind::Fundrise => "fundrise",
            PlatformKind::FundAmerica => "fundamerica",
            PlatformKind::IssuerPortal => "issuer_portal",
            PlatformKind::LendingClub => "lendingclub",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A loan listing or an open offering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityKind {
    Loan,
    Offering,
}

impl OpportunityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpportunityKind::Loan => "loan",
            OpportunityKind::Offering => "offering",
        }
    }
}

/// How an opportunity can be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseMode {
    /// Any amount within the limits (fractional loans, offerings).
    #[default]
    Fractional,
    /// The whole remaining amount or nothing (Funding Circle whole loans).
    Whole,
}

/// One open opportunity, normalised. Money is `Decimal` dollars; `rate` is an annual
/// rate as a fraction (0.0899 = 8.99 %). Missing values are `None` (`()` in scripts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// Platform account id from the config ("fc"); "lendingclub" for backtest rows.
    pub platform: PlatformId,
    pub platform_kind: PlatformKind,
    /// The platform's id for the listing or offering, an opaque string.
    pub id: String,
    pub kind: OpportunityKind,
    #[serde(default)]
    pub purchase: PurchaseMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_grade: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_months: Option<u32>,
    /// Total size of the loan or offering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// What is still available to buy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Decimal>,
    /// Per-transaction minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_investment: Option<Decimal>,
    /// Per-transaction maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_investment: Option<Decimal>,
    /// Amounts must be whole multiples of this (cents when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub increment: Option<Decimal>,
    /// Price of one share when the platform sells whole shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// The platform's status word ("live", "OPEN", "opened", …).
    #[serde(default)]
    pub status: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "optional_rfc3339"
    )]
    pub listed_at: Option<DateTime<Utc>>,
    /// Platform-specific fields and unknown CSV columns, visible to scripts as `o.extra`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Opportunity {
    /// A minimal opportunity; callers fill in what they know.
    pub fn new(
        platform: PlatformId,
        platform_kind: PlatformKind,
        id: impl Into<String>,
        kind: OpportunityKind,
    ) -> Self {
        Opportunity {
            platform,
            platform_kind,
            id: id.into(),
            kind,
            purchase: PurchaseMode::Fractional,
            name: None,
            asset_class: None,
            grade: None,
            sub_grade: None,
            rate: None,
            term_months: None,
            amount: None,
            remaining: None,
            min_investment: None,
            max_investment: None,
            increment: None,
            unit_price: None,
            status: String::new(),
            listed_at: None,
            extra: BTreeMap::new(),
        }
    }
}

/// Reads an optional timestamp exactly as chrono's own `Deserialize` does (same values,
/// same errors), but the plain UTC form every importer and recorder writes,
/// `2018-01-01T00:00:00Z`, is read directly: a backtest reads millions of them and
/// chrono's general RFC 3339 parser is several times slower.
fn optional_rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<Rfc3339>::deserialize(deserializer)?.map(|at| at.0))
}

struct Rfc3339(DateTime<Utc>);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Rfc3339Visitor)
    }
}

struct Rfc3339Visitor;

impl de::Visitor<'_> for Rfc3339Visitor {
    type Value = Rfc3339;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        // chrono's wording, so errors read as they did before.
        formatter.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Rfc3339, E> {
        if let Some(at) = plain_utc(text) {
            return Ok(Rfc3339(at));
        }
        text.parse::<DateTime<FixedOffset>>()
            .map(|at| Rfc3339(at.with_timezone(&Utc)))
            .map_err(E::custom)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` and nothing else; `None` sends anything different (offsets,
/// fractions, leap seconds, invalid dates) to chrono's parser.
fn plain_utc(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ];
    if bytes.len() != 20 || separators.iter().any(|&(i, c)| bytes[i] != c) {
        return None;
    }
    let number = |from: usize, to: usize| {
        bytes[from..to].iter().try_fold(0u32, |n, &digit| {
            digit
                .is_ascii_digit()
                .then(|| n * 10 + u32::from(digit - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?;
    let time = date.and_hms_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path and chrono agree on every input, valid or not.
    #[test]
    fn timestamps_read_as_chrono_reads_them() {
        let inputs = [
            "\"2018-01-01T00:00:00Z\"",
            "\"2026-11-20T21:05:59Z\"",
            "\"2024-02-29T12:00:00Z\"",
            "\"0000-01-01T00:00:00Z\"",
            "\"9999-12-31T23:59:59Z\"",
            "\"2018-01-01T00:00:00+02:00\"",
            "\"2018-01-01T00:00:00.250Z\"",
            "\"2018-01-01 00:00:00Z\"",
            "\"2018-01-01t00:00:00z\"",
            "\"2016-12-31T23:59:60Z\"",
            "\"2023-02-29T00:00:00Z\"",
            "\"2018-13-01T00:00:00Z\"",
            "\"2018-01-01T24:00:00Z\"",
            "\"2018-01-01T00:60:00Z\"",
            "\"2018-01-0aT00:00:00Z\"",
            "\"+2018-01-01T00:00:00Z\"",
            "\"2018-01-01T00:00:00\\u005a\"",
            "\"\"",
            "17",
        ];
        for input in inputs {
            let ours = serde_json::from_str::<Rfc3339>(input).map(|at| at.0);
            let chrono = serde_json::from_str::<DateTime<Utc>>(input);
            match (ours, chrono) {
                (Ok(ours), Ok(chrono)) => assert_eq!(ours, chrono, "{input}"),
                (Err(ours), Err(chrono)) => {
                    assert_eq!(ours.to_string(), chrono.to_string(), "{input}")
                }
                (ours, chrono) => panic!("{input}: {ours:?} but chrono says {chrono:?}"),
            }
        }
        assert!(plain_utc("2018-01-01T00:00:00Z").is_some());
    }

    #[test]
    fn a_missing_or_null_listed_at_is_none() {
        let base = r#""platform":"fc","platform_kind":"fundingcircle","id":"a","kind":"loan""#;
        for json in [
            format!("{{{base}}}"),
            format!(r#"{{{base},"listed_at":null}}"#),
        ] {
            let o: Opportunity = serde_json::from_str(&json).unwrap();
            assert_eq!(o.listed_at, None, "{json}");
        }
        let o: Opportunity =
            serde_json::from_str(&format!(r#"{{{base},"listed_at":"2018-03-01T10:20:30Z"}}"#))
                .unwrap();
        assert_eq!(
            o.listed_at.unwrap().to_rfc3339(),
            "2018-03-01T10:20:30+00:00"
        );
    }
}

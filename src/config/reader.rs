//! Reading a TOML document key by key while collecting every problem: a table being
//! read ([`Section`]), a value with its key path and line ([`Field`]), typed readers
//! that report instead of stopping, and the unknown-key and secret-key checks.

use super::{ConfigError, ConfigErrors};
use crate::money::parse_usd;
use rust_decimal::Decimal;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml_edit::{Item, TableLike, Value};

/// Words that mark a key as holding a secret (unless it ends in `_env`).
const SECRET_WORDS: [&str; 7] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "credential",
];

/// One TOML table being read. Keys are recorded as they are read, so the ones left
/// over are the unknown ones.
pub(super) struct Section<'d> {
    /// Key path of the table ("" for the root).
    pub(super) path: String,
    /// Line of the table's header or key, for problems with the table as a whole.
    pub(super) line: Option<usize>,
    pub(super) table: &'d dyn TableLike,
    pub(super) read: Vec<&'static str>,
}

impl Section<'_> {
    pub(super) fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

/// A value found under a key, with where it was written.
pub(super) struct Field<'d> {
    pub(super) path: String,
    pub(super) line: Option<usize>,
    pub(super) item: &'d Item,
}

/// Walks one document, collecting every problem instead of stopping at the first.
pub(super) struct Checker<'s> {
    source: &'s str,
    base_dir: PathBuf,
    pub(super) errors: Vec<ConfigError>,
}

impl<'s> Checker<'s> {
    pub(super) fn new(source: &'s str, path: &Path) -> Self {
        Checker {
            source,
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            errors: Vec::new(),
        }
    }

    pub(super) fn into_errors(mut self, path: &Path) -> ConfigErrors {
        // Problems in file order; those without a line (rare) last.
        self.errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        ConfigErrors {
            path: path.to_path_buf(),
            errors: self.errors,
        }
    }

    pub(super) fn report(
        &mut self,
        key: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            key: key.into(),
            message: message.into(),
            line,
        });
    }

    pub(super) fn report_at(&mut self, field: &Field<'_>, message: impl Into<String>) {
        self.report(field.path.clone(), field.line, message);
    }

    pub(super) fn report_syntax_error(&mut self, error: &toml_edit::TomlError) {
        let start = error.span().map_or(0, |span| span.start);
        let (line, column) = self.position(start);
        // toml_edit's message spans lines ("invalid string\nexpected ..."): keep one line.
        let message = error.message().trim_end().replace('\n', "; ");
        self.report(
            "",
            Some(line),
            format!("invalid TOML at line {line}, column {column}: {message}"),
        );
    }

    /// 1-based line and column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.source.as_bytes()[..offset.min(self.source.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, column)
    }

    fn line_of(&self, span: Option<Range<usize>>) -> Option<usize> {
        span.map(|span| self.position(span.start).0)
    }

    /// The value as written in the file, for messages about non-secret values.
    fn written(&self, field: &Field<'_>) -> String {
        field
            .item
            .span()
            .and_then(|span| self.source.get(span))
            .map_or_else(|| field.item.to_string().trim().to_string(), str::to_string)
    }

    pub(super) fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    // ----- access to keys -------------------------------------------------------

    /// The value under `key`, if present; marks the key as known.
    pub(super) fn field<'d>(
        &self,
        section: &mut Section<'d>,
        key: &'static str,
    ) -> Option<Field<'d>> {
        section.read.push(key);
        let (found_key, item) = section.table.get_key_value(key)?;
        (!item.is_none()).then(|| Field {
            path: section.key_path(key),
            line: self.line_of(found_key.span()).or(section.line),
            item,
        })
    }

    pub(super) fn optional<'d, T>(
        &mut self,
        section: &mut Section<'d>,
        key: &'static str,
        read: impl FnOnce(&mut Self, &Field<'d>) -> Option<T>,
    ) -> Option<T> {
        let field = self.field(section, key)?;
        read(self, &field)
    }

    pub(super) fn required<'d, T>(
        &mut self,
        section: &mut Section<'d>,
        key: &'static str,
        read: impl FnOnce(&mut Self, &Field<'d>) -> Option<T>,
    ) -> Option<T> {
        match self.field(section, key) {
            Some(field) => read(self, &field),
            None => {
                self.report(section.key_path(key), section.line, "missing (required)");
                None
            }
        }
    }

    /// A sub-table (`[budget]` or `budget = { .. }`).
    pub(super) fn section<'d>(
        &mut self,
        parent: &mut Section<'d>,
        key: &'static str,
    ) -> Option<Section<'d>> {
        let field = self.field(parent, key)?;
        self.as_section(&field)
    }

    pub(super) fn as_section<'d>(&mut self, field: &Field<'d>) -> Option<Section<'d>> {
        match field.item.as_table_like() {
            Some(table) => Some(Section {
                path: field.path.clone(),
                line: field.line,
                table,
                read: Vec::new(),
            }),
            None => {
                self.wrong_type(field, "a table");
                None
            }
        }
    }

    /// Every `key = value` of a table whose keys are names (`[platforms.<id>]`).
    pub(super) fn entries<'d>(&self, section: &Section<'d>) -> Vec<(&'d str, Field<'d>)> {
        section
            .table
            .iter()
            .filter_map(|(name, _)| section.table.get_key_value(name))
            .map(|(key, item)| {
                let field = Field {
                    path: section.key_path(key.get()),
                    line: self.line_of(key.span()).or(section.line),
                    item,
                };
                (key.get(), field)
            })
            .collect()
    }

    /// `[[key]]` tables, or an inline array of inline tables.
    pub(super) fn table_array<'d>(
        &mut self,
        parent: &mut Section<'d>,
        key: &'static str,
    ) -> Vec<Section<'d>> {
        let Some(field) = self.field(parent, key) else {
            return Vec::new();
        };
        let element = |index: usize, line: Option<usize>, table: &'d dyn TableLike| Section {
            path: format!("{}[{index}]", field.path),
            line: line.or(field.line),
            table,
            read: Vec::new(),
        };
        match field.item {
            Item::ArrayOfTables(tables) => tables
                .iter()
                .enumerate()
                .map(|(i, table)| element(i, self.line_of(table.span()), table))
                .collect(),
            Item::Value(Value::Array(values)) => {
                let mut sections = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    match value.as_inline_table() {
                        Some(table) => sections.push(element(i, self.line_of(value.span()), table)),
                        None => self.report(
                            format!("{}[{i}]", field.path),
                            self.line_of(value.span()).or(field.line),
                            "expected a table",
                        ),
                    }
                }
                sections
            }
            _ => {
                self.wrong_type(&field, &format!("an array of tables ([[{key}]])"));
                Vec::new()
            }
        }
    }

    /// Reports the keys of `section` that were never read: secrets always, others
    /// when `unknown_keys_are_errors` (false when the table's kind is itself unknown).
    pub(super) fn finish(&mut self, section: Section<'_>, unknown_keys_are_errors: bool) {
        for (name, _) in section.table.iter() {
            if section.read.contains(&name) {
                continue;
            }
            let line = section
                .table
                .get_key_value(name)
                .and_then(|(key, _)| self.line_of(key.span()))
                .or(section.line);
            if looks_like_secret(name) {
                let advice = secret_advice(name, &section.read);
                self.report(section.key_path(name), line, advice);
            } else if unknown_keys_are_errors {
                let message = match closest(name, &section.read) {
                    Some(known) => format!("unknown key (did you mean {known}?)"),
                    None => "unknown key".to_string(),
                };
                self.report(section.key_path(name), line, message);
            }
        }
    }

    // ----- typed readers: each reports its own problem and yields None ----------

    pub(super) fn wrong_type(&mut self, field: &Field<'_>, expected: &str) {
        let found = type_name(field.item);
        self.report_at(field, format!("expected {expected}, found {found}"));
    }

    pub(super) fn string<'d>(&mut self, field: &Field<'d>) -> Option<&'d str> {
        let text = field.item.as_str();
        if text.is_none() {
            self.wrong_type(field, "a string");
        }
        text
    }

    pub(super) fn non_empty_string(&mut self, field: &Field<'_>) -> Option<String> {
        match self.string(field)? {
            "" => {
                self.report_at(field, "must not be empty");
                None
            }
            text => Some(text.to_string()),
        }
    }

    pub(super) fn boolean(&mut self, field: &Field<'_>) -> Option<bool> {
        let value = field.item.as_bool();
        if value.is_none() {
            self.wrong_type(field, "true or false");
        }
        value
    }

    pub(super) fn integer(&mut self, field: &Field<'_>) -> Option<i64> {
        let value = field.item.as_integer();
        if value.is_none() {
            self.wrong_type(field, "an integer");
        }
        value
    }

    /// Money is written as a string: a TOML float cannot hold every amount in cents.
    pub(super) fn money(&mut self, field: &Field<'_>) -> Option<Decimal> {
        match field.item {
            Item::Value(Value::String(text)) => match parse_usd(text.value()) {
                Ok(amount) => Some(amount),
                Err(error) => {
                    self.report_at(field, error.to_string());
                    None
                }
            },
            Item::Value(Value::Integer(_) | Value::Float(_)) => {
                let written = self.written(field);
                self.report_at(
                    field,
                    format!(
                        "{written} is a number: write amounts as strings, e.g. \"500.00\" \
                         (floats would lose cents)"
                    ),
                );
                None
            }
            _ => {
                self.wrong_type(field, "an amount as a string, e.g. \"500.00\"");
                None
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        field: &Field<'_>,
        bounds: (Duration, Duration),
    ) -> Option<Duration> {
        let text = self.string(field)?;
        let Ok(duration) = humantime::parse_duration(text) else {
            self.report_at(
                field,
                format!("{text:?} is not a duration such as \"5s\" or \"1m 30s\""),
            );
            return None;
        };
        let (min, max) = bounds;
        if duration < min || duration > max {
            self.report_at(
                field,
                format!(
                    "{text:?} is out of range: must be between {} and {}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            );
            return None;
        }
        Some(duration)
    }

    pub(super) fn socket_addr(&mut self, field: &Field<'_>) -> Option<SocketAddr> {
        let text = self.string(field)?;
        let address = text.parse().ok();
        if address.is_none() {
            self.report_at(
                field,
                format!("{text:?} is not an address such as \"127.0.0.1:9464\""),
            );
        }
        address
    }

    /// `""` disables the listener.
    pub(super) fn optional_socket_addr(&mut self, field: &Field<'_>) -> Option<Option<SocketAddr>> {
        match self.string(field)? {
            "" => Some(None),
            _ => self.socket_addr(field).map(Some),
        }
    }

    pub(super) fn one_of<T: Copy>(
        &mut self,
        field: &Field<'_>,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = self.string(field)?;
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        self.report_at(
            field,
            format!("{text:?} is not one of {}", quoted_list(&names)),
        );
        None
    }

    pub(super) fn key_line(&self, section: &Section<'_>, key: &str) -> Option<usize> {
        section
            .table
            .get_key_value(key)
            .and_then(|(key, _)| self.line_of(key.span()))
            .or(section.line)
    }
}

fn looks_like_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if key.ends_with("_env") {
        return false;
    }
    SECRET_WORDS.iter().any(|word| key.contains(word)) || key == "key" || key.ends_with("_key")
}

/// Which `_env` key to use instead of a secret-looking `key`.
fn secret_advice(key: &str, known: &[&str]) -> String {
    let wanted = format!("{key}_env");
    let replacement = known
        .iter()
        .find(|k| **k == wanted)
        .or_else(|| known.iter().find(|k| k.ends_with(&wanted)));
    match replacement {
        Some(replacement) => {
            format!("put secrets in environment variables: use {replacement}")
        }
        None => "put secrets in environment variables, named by a key ending in _env".to_string(),
    }
}

/// The known key nearest to a misspelt one, when it is close enough to be a typo.
pub(super) fn closest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|candidate| (edit_distance(unknown, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.min(candidate.len() / 2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

pub(super) fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a date-time",
        Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_suggested_and_far_ones_are_not() {
        let known = ["daily_limit", "total_limit", "cash_reserve"];
        assert_eq!(closest("daily_limt", &known), Some("daily_limit"));
        assert_eq!(closest("totl_limit", &known), Some("total_limit"));
        assert_eq!(closest("colour", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn secret_looking_keys_are_recognised() {
        for key in [
            "password",
            "api_key",
            "token",
            "refresh_token",
            "webhook_key",
            "Secret",
        ] {
            assert!(looks_like_secret(key), "{key}");
        }
        for key in [
            "password_env",
            "api_key_env",
            "account_id",
            "investor_id",
            "base_url",
        ] {
            assert!(!looks_like_secret(key), "{key}");
        }
        assert_eq!(
            secret_advice("password", &["username_env", "password_env"]),
            "put secrets in environment variables: use password_env"
        );
        assert_eq!(
            secret_advice("token", &["refresh_token_env"]),
            "put secrets in environment variables: use refresh_token_env"
        );
    }
}

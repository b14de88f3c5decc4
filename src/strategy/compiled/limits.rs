//! The engine's data size limits, counted and checked as Rhai does (`calc_data_sizes`,
//! `throw_on_size`): a value over a limit makes the evaluator give up, and Rhai then
//! reports the error.

use super::value::Value;
use serde_json::Value as Json;

/// The engine's data size limits (0: none), as Rhai checks them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub string: usize,
    pub array: usize,
    pub map: usize,
}

impl Limits {
    /// Whether sizes as Rhai's `calc_data_sizes` counts them — (array items, map
    /// entries, string bytes), nested values included — are within every limit.
    pub(super) fn allow(&self, (arrays, maps, strings): (usize, usize, usize)) -> bool {
        let within = |size: usize, limit: usize| limit == 0 || size <= limit;
        within(arrays, self.array) && within(maps, self.map) && within(strings, self.string)
    }
}

/// (array items, map entries, string bytes) of a value, as Rhai counts them.
pub(super) fn sizes(value: &Value<'_>) -> (usize, usize, usize) {
    let add =
        |a: (usize, usize, usize), b: (usize, usize, usize)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    match value {
        Value::Str(s) => (0, 0, s.len()),
        Value::Array(items) => items.iter().fold((0, 0, 0), |total, item| {
            add(add(total, (1, 0, 0)), sizes(item))
        }),
        Value::Map(entries) => entries.iter().fold((0, 0, 0), |total, (_, item)| {
            add(add(total, (0, 1, 0)), sizes(item))
        }),
        Value::Extra(extra) => json_map_sizes(extra.values()),
        _ => (0, 0, 0),
    }
}

pub(super) fn json_map_sizes<'j>(values: impl Iterator<Item = &'j Json>) -> (usize, usize, usize) {
    values.fold((0, 0, 0), |(a, m, s), value| {
        let (da, dm, ds) = json_sizes(value);
        (a + da, m + 1 + dm, s + ds)
    })
}

fn json_sizes(value: &Json) -> (usize, usize, usize) {
    match value {
        Json::String(s) => (0, 0, s.len()),
        Json::Array(items) => items.iter().fold((0, 0, 0), |(a, m, s), item| {
            let (da, dm, ds) = json_sizes(item);
            (a + 1 + da, m + dm, s + ds)
        }),
        Json::Object(entries) => json_map_sizes(entries.values()),
        _ => (0, 0, 0),
    }
}

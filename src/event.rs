//! The kinds of event a notification reports. A module of its own, below both `config`
//! (`[[notify]]` `events` lists name them) and `notify` (which sends them).

use std::fmt;

/// What happened. The names (`order_placed`, ...) are the `event` field of the body,
/// the `X-Autoinvest-Event` header and the values of a `[[notify]]` `events` list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    OrderPlaced,
    OrderRejected,
    /// The outcome is unknown, or the order was found not placed after reconciliation.
    OrderFailed,
    BudgetExhausted,
    PlatformDown,
    PlatformRecovered,
    StrategyError,
    /// Sent by `autoinvest notify test`.
    Test,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::OrderPlaced,
        EventKind::OrderRejected,
        EventKind::OrderFailed,
        EventKind::BudgetExhausted,
        EventKind::PlatformDown,
        EventKind::PlatformRecovered,
        EventKind::StrategyError,
        EventKind::Test,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::OrderPlaced => "order_placed",
            EventKind::OrderRejected => "order_rejected",
            EventKind::OrderFailed => "order_failed",
            EventKind::BudgetExhausted => "budget_exhausted",
            EventKind::PlatformDown => "platform_down",
            EventKind::PlatformRecovered => "platform_recovered",
            EventKind::StrategyError => "strategy_error",
            EventKind::Test => "test",
        }
    }

    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

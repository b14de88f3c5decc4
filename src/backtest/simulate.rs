//! The simulated market: the daemon's own [`Engine`] over a simulated [`Portfolio`],
//! with each row's `listed_at` as the clock.
//!
//! Nothing here decides anything: [`Engine::evaluate`] sizes and records approved
//! buys in the portfolio exactly as it does live, so daily budgets roll over on the
//! simulated UTC day and total caps, cash and exposure accumulate. An approved intent
//! counts as filled at its sized amount (the engine already committed it); there is
//! no store, no executor and no network.

use crate::engine::{Engine, Evaluation};
use crate::opportunity::Opportunity;
use crate::portfolio::Portfolio;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::sync::Arc;

/// One backtest's engine and portfolio.
#[derive(Debug)]
pub struct Simulation {
    engine: Engine,
    portfolio: Portfolio,
    /// Cash each platform account starts with (`--start-cash`); `None` = unlimited.
    start_cash: Option<Decimal>,
    /// Platform accounts whose starting cash has been set.
    funded: HashSet<String>,
}

impl Simulation {
    pub fn new(engine: Engine, start_cash: Option<Decimal>) -> Self {
        Simulation {
            engine,
            portfolio: Portfolio::new(start_cash),
            start_cash,
            funded: HashSet::new(),
        }
    }

    /// Evaluates one opportunity at simulated time `now` (the row's `listed_at`).
    pub fn step(&mut self, opp: &Arc<Opportunity>, now: DateTime<Utc>) -> Evaluation {
        self.fund(opp.platform.as_str());
        self.engine.evaluate(opp, &mut self.portfolio, now)
    }

    /// Live, cash is per platform account as the platform reports it; here each
    /// account seen in the data starts with `--start-cash` and spends from it.
    fn fund(&mut self, platform: &str) {
        let Some(cash) = self.start_cash else {
            return;
        };
        if !self.funded.contains(platform) {
            self.portfolio
                .set_platform_cash(platform, cash, Decimal::ZERO);
            self.funded.insert(platform.to_string());
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }
}

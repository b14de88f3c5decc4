//! The portfolio as the decision core sees it: cash and what is committed, by day,
//! grade, platform, strategy and opportunity.
//!
//! Live, it is rebuilt from the store at start and updated as intents are claimed and
//! settle; in a backtest it is the simulated portfolio. Strategies get a cheap
//! read-only [`PortfolioView`] (an `Arc` of the state): the engine mutates through
//! `Arc::make_mut`, which copies only if a script still holds a view.

use crate::order::{IdempotencyKey, OrderIntent, OrderState};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Plain data behind the view.
#[derive(Debug, Clone, Default)]
pub struct PortfolioState {
    /// Cash available to invest, when known (platform balance or simulated cash).
    pub cash: Option<Decimal>,
    /// The current UTC day (simulated in backtests).
    pub today: Option<NaiveDate>,
    pub invested_total: Decimal,
    pub by_day: HashMap<NaiveDate, Decimal>,
    pub by_grade: HashMap<String, Decimal>,
    pub by_platform: HashMap<String, Decimal>,
    pub by_strategy: HashMap<String, Decimal>,
    pub by_opportunity: HashMap<String, Decimal>,
    /// Per platform account and UTC day.
    pub by_platform_day: HashMap<(String, NaiveDate), Decimal>,
    /// Per strategy and UTC day.
    pub by_strategy_day: HashMap<(String, NaiveDate), Decimal>,
    /// Per (strategy, opportunity id): what one strategy put into one opportunity.
    pub by_strategy_opportunity: HashMap<(String, String), Decimal>,
    /// Cash per platform account, when known; `cash` is set from it per opportunity.
    pub cash_by_platform: HashMap<String, Decimal>,
    /// Every intent key ever claimed: such a decision is never made again.
    pub known_intents: HashSet<IdempotencyKey>,
}

/// A read-only handle given to strategies.
#[derive(Debug, Clone, Default)]
pub struct PortfolioView(Arc<PortfolioState>);

impl PortfolioView {
    pub fn cash(&self) -> Option<Decimal> {
        self.0.cash
    }
    pub fn invested_total(&self) -> Decimal {
        self.0.invested_total
    }
    pub fn invested_today(&self) -> Decimal {
        self.0
            .today
            .and_then(|d| self.0.by_day.get(&d).copied())
            .unwrap_or_default()
    }
    pub fn invested_in(&self, opportunity_id: &str) -> Decimal {
        get(&self.0.by_opportunity, opportunity_id)
    }
    pub fn exposure_by_grade(&self, grade: &str) -> Decimal {
        get(&self.0.by_grade, grade)
    }
    pub fn exposure_by_platform(&self, platform: &str) -> Decimal {
        get(&self.0.by_platform, platform)
    }
    pub fn invested_by_strategy(&self, strategy: &str) -> Decimal {
        get(&self.0.by_strategy, strategy)
    }
    /// "YYYY-MM-DD", or "" before the clock is set.
    pub fn today(&self) -> String {
        self.0
            .today
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
    /// Committed on the current day on one platform account.
    pub fn platform_today(&self, platform: &str) -> Decimal {
        self.on_day(&self.0.by_platform_day, platform)
    }
    /// Committed on the current day by one strategy.
    pub fn strategy_today(&self, strategy: &str) -> Decimal {
        self.on_day(&self.0.by_strategy_day, strategy)
    }
    /// What one strategy has put into one opportunity (all slots).
    pub fn strategy_in(&self, strategy: &str, opportunity_id: &str) -> Decimal {
        self.0
            .by_strategy_opportunity
            .get(&(strategy.to_string(), opportunity_id.to_string()))
            .copied()
            .unwrap_or_default()
    }
    fn on_day(&self, map: &HashMap<(String, NaiveDate), Decimal>, scope: &str) -> Decimal {
        self.0
            .today
            .and_then(|d| map.get(&(scope.to_string(), d)).copied())
            .unwrap_or_default()
    }
    pub fn state(&self) -> &PortfolioState {
        &self.0
    }
}

fn get(map: &HashMap<String, Decimal>, key: &str) -> Decimal {
    map.get(key).copied().unwrap_or_default()
}

/// The mutable portfolio owned by one decision loop.
#[derive(Debug, Clone, Default)]
pub struct Portfolio {
    view: PortfolioView,
}

impl Portfolio {
    pub fn new(cash: Option<Decimal>) -> Self {
        let state = PortfolioState {
            cash,
            ..PortfolioState::default()
        };
        Portfolio {
            view: PortfolioView(Arc::new(state)),
        }
    }

    /// The view handed to strategies (cheap to clone).
    pub fn view(&self) -> &PortfolioView {
        &self.view
    }

    fn state_mut(&mut self) -> &mut PortfolioState {
        Arc::make_mut(&mut self.view.0)
    }

    pub fn set_today(&mut self, today: NaiveDate) {
        if self.view.0.today != Some(today) {
            self.state_mut().today = Some(today);
        }
    }

    pub fn set_cash(&mut self, cash: Option<Decimal>) {
        if self.view.0.cash != cash {
            self.state_mut().cash = cash;
        }
    }

    /// Records a platform account's cash as reported by the platform, less what is
    /// committed there but not yet settled (`pending`).
    pub fn set_platform_cash(&mut self, platform: &str, reported: Decimal, pending: Decimal) {
        self.state_mut()
            .cash_by_platform
            .insert(platform.to_string(), reported - pending);
    }

    /// Points `cash` at the given platform account's cash (unknown → `None`), so the
    /// view a strategy gets shows the cash it can spend on that opportunity.
    pub fn focus_platform(&mut self, platform: &str) {
        let cash = self.view.0.cash_by_platform.get(platform).copied();
        self.set_cash(cash);
    }

    pub fn knows(&self, key: &IdempotencyKey) -> bool {
        self.view.0.known_intents.contains(key)
    }

    /// Records an intent's key; when it holds money, commits its amount (what the
    /// platform confirmed, once placed) on the day it was created and takes it from cash.
    pub fn record(&mut self, intent: &OrderIntent) {
        let state = self.state_mut();
        state.known_intents.insert(intent.key.clone());
        let amount = match &intent.state {
            OrderState::Placed { amount, .. } => *amount,
            other if other.holds_money() => intent.amount,
            _ => return,
        };
        commit(state, intent, intent.created_at.date_naive(), amount);
    }

    /// Gives back money an intent had committed (rejected, not placed, or filled for less).
    pub fn release(&mut self, intent: &OrderIntent, amount: Decimal) {
        let day = intent.created_at.date_naive();
        commit(self.state_mut(), intent, day, -amount);
    }
}

fn commit(state: &mut PortfolioState, intent: &OrderIntent, day: NaiveDate, amount: Decimal) {
    state.invested_total += amount;
    *state.by_day.entry(day).or_default() += amount;
    let platform = intent.platform.as_str().to_string();
    *state
        .by_platform_day
        .entry((platform.clone(), day))
        .or_default() += amount;
    *state
        .by_strategy_day
        .entry((intent.strategy.clone(), day))
        .or_default() += amount;
    *state
        .by_strategy_opportunity
        .entry((intent.strategy.clone(), intent.opportunity_id.clone()))
        .or_default() += amount;
    if let Some(cash) = state.cash_by_platform.get_mut(&platform) {
        *cash -= amount;
    }
    if let Some(grade) = &intent.grade {
        *state.by_grade.entry(grade.clone()).or_default() += amount;
    }
    *state.by_platform.entry(platform).or_default() += amount;
    *state
        .by_strategy
        .entry(intent.strategy.clone())
        .or_default() += amount;
    *state
        .by_opportunity
        .entry(intent.opportunity_id.clone())
        .or_default() += amount;
    if let Some(cash) = state.cash.as_mut() {
        *cash -= amount;
    }
}

//! The decision core: (opportunity, portfolio, clock) → decisions and order intents.
//!
//! Synchronous and free of I/O. Live runs, dry runs and backtests all call
//! [`Engine::evaluate`]; they differ only in where opportunities come from and what
//! happens to the intents it returns. Approved intents are recorded in the portfolio
//! at once, so later evaluations in the same poll see the money as committed.

use crate::decision::{Decision, Verdict};
use crate::opportunity::{Opportunity, PlatformId};
use crate::order::{IdempotencyKey, OrderIntent, OrderState, DEFAULT_SLOT};
use crate::portfolio::Portfolio;
use crate::sizing::{self, BudgetRules, PlatformRules, Refusal, Rules, StrategyRules};
use crate::strategy::{ScriptOpportunity, Strategy, StrategyAnswer};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// A compiled strategy with the limits and platforms the config gives it.
#[derive(Debug, Clone)]
pub struct StrategySlot {
    pub strategy: Arc<Strategy>,
    pub rules: StrategyRules,
    /// Platform accounts it trades; `None` = every platform (and every backtest row).
    pub platforms: Option<Vec<PlatformId>>,
}

impl StrategySlot {
    fn applies_to(&self, platform: &PlatformId) -> bool {
        self.platforms
            .as_ref()
            .is_none_or(|list| list.contains(platform))
    }
}

/// What one opportunity produced.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// One per applicable strategy.
    pub decisions: Vec<Decision>,
    /// Approved buys, already recorded in the portfolio, state `Claimed`.
    pub intents: Vec<OrderIntent>,
}

/// The strategies and rules; immutable once built (reload builds a new one).
#[derive(Debug)]
pub struct Engine {
    strategies: Vec<StrategySlot>,
    budget: BudgetRules,
    platforms: HashMap<PlatformId, PlatformRules>,
    unlisted_platform: PlatformRules,
    metrics: Option<Arc<Metrics>>,
}

impl Engine {
    pub fn new(
        strategies: Vec<StrategySlot>,
        budget: BudgetRules,
        platforms: HashMap<PlatformId, PlatformRules>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Engine {
            strategies,
            budget,
            platforms,
            unlisted_platform: PlatformRules::default(),
            metrics,
        }
    }

    pub fn strategies(&self) -> &[StrategySlot] {
        &self.strategies
    }

    pub fn budget(&self) -> &BudgetRules {
        &self.budget
    }

    /// A platform account's own limits (none configured: no limits).
    pub fn platform_rules(&self, platform: &PlatformId) -> &PlatformRules {
        self.platforms
            .get(platform)
            .unwrap_or(&self.unlisted_platform)
    }

    fn rules<'a>(&'a self, slot: &'a StrategySlot, platform: &PlatformId) -> Rules<'a> {
        Rules {
            budget: &self.budget,
            platform: self
                .platforms
                .get(platform)
                .unwrap_or(&self.unlisted_platform),
            strategy: &slot.rules,
        }
    }

    /// Runs every applicable strategy on `opp` and sizes what they ask for. The
    /// strategies share `opp`'s allocation: the caller's `Arc` is all they need.
    pub fn evaluate(
        &self,
        opp: &Arc<Opportunity>,
        portfolio: &mut Portfolio,
        now: DateTime<Utc>,
    ) -> Evaluation {
        portfolio.set_today(now.date_naive());
        portfolio.focus_platform(opp.platform.as_str());
        let mut evaluation = Evaluation::default();
        // Wrapped once for the scripts (a reference count, not a copy), shared by
        // every strategy.
        let mut prepared: Option<ScriptOpportunity> = None;
        for slot in self
            .strategies
            .iter()
            .filter(|s| s.applies_to(&opp.platform))
        {
            let script_opp =
                prepared.get_or_insert_with(|| ScriptOpportunity::new(Arc::clone(opp)));
            let verdict = self.decide_one(
                slot,
                opp,
                script_opp,
                portfolio,
                now,
                &mut evaluation.intents,
            );
            evaluation.decisions.push(Decision {
                at: now,
                platform: opp.platform.clone(),
                strategy: slot.rules.name.clone(),
                opportunity_id: opp.id.clone(),
                verdict,
            });
        }
        evaluation
    }

    fn decide_one(
        &self,
        slot: &StrategySlot,
        opp: &Opportunity,
        script_opp: &ScriptOpportunity,
        portfolio: &mut Portfolio,
        now: DateTime<Utc>,
        intents: &mut Vec<OrderIntent>,
    ) -> Verdict {
        // Timed only where it is reported: a backtest has no metrics and makes millions
        // of calls.
        let timed = self
            .metrics
            .as_ref()
            .map(|metrics| (metrics, Instant::now()));
        let answer = slot.strategy.decide_prepared(script_opp, portfolio.view());
        if let Some((metrics, started)) = timed {
            metrics
                .strategy_eval_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        let (amount, reason, slot_name) = match answer {
            Err(error) => {
                if let Some(metrics) = &self.metrics {
                    metrics
                        .strategy_errors_total
                        .with_label_values(&[&slot.rules.name])
                        .inc();
                }
                tracing::warn!(strategy = %slot.rules.name, opportunity = %opp.id, %error, "strategy failed; skipping");
                return Verdict::Error {
                    message: error.to_string(),
                };
            }
            Ok(StrategyAnswer::Skip { reason }) => {
                return Verdict::Skip {
                    reason: reason.unwrap_or_else(|| "strategy skipped".into()),
                }
            }
            Ok(StrategyAnswer::Buy {
                amount,
                reason,
                slot,
            }) => (amount, reason, slot),
        };
        let slot_name = slot_name.unwrap_or_else(|| DEFAULT_SLOT.to_string());
        let key = IdempotencyKey::derive(&opp.platform, &slot.rules.name, &opp.id, &slot_name);
        if portfolio.knows(&key) {
            return Verdict::Skip {
                reason: format!("already ordered (slot {slot_name})"),
            };
        }
        let rules = self.rules(slot, &opp.platform);
        match sizing::size(amount, opp, rules, portfolio.view()) {
            Err(refusal) => Verdict::Skip {
                reason: refusal.reason,
            },
            Ok(sized) => {
                let reason = reason.unwrap_or_else(|| "strategy buy".into());
                let intent = OrderIntent {
                    key: key.clone(),
                    platform: opp.platform.clone(),
                    strategy: slot.rules.name.clone(),
                    opportunity_id: opp.id.clone(),
                    opportunity_kind: opp.kind,
                    purchase: opp.purchase,
                    amount: sized.amount,
                    shares: sized.shares,
                    grade: opp.grade.clone(),
                    reason: reason.clone(),
                    slot: slot_name,
                    created_at: now,
                    updated_at: now,
                    state: OrderState::Claimed,
                    dry_run: false,
                };
                portfolio.record(&intent);
                intents.push(intent);
                Verdict::Buy {
                    key,
                    amount: sized.amount,
                    reason,
                }
            }
        }
    }

    /// Re-checks an intent right before it is sent, against the latest data for its
    /// opportunity; the portfolio already includes the intent's own reservation.
    pub fn verify(
        &self,
        intent: &OrderIntent,
        opp: &Opportunity,
        portfolio: &mut Portfolio,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let Some(slot) = self
            .strategies
            .iter()
            .find(|s| s.rules.name == intent.strategy)
        else {
            return Err(Refusal {
                rule: "strategy",
                reason: format!("strategy {} is no longer configured", intent.strategy),
            });
        };
        portfolio.set_today(now.date_naive());
        portfolio.focus_platform(opp.platform.as_str());
        sizing::verify(
            intent.amount,
            opp,
            self.rules(slot, &opp.platform),
            portfolio.view(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::{OpportunityKind, PlatformKind};
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn slot(name: &str, source: &str) -> StrategySlot {
        StrategySlot {
            strategy: Arc::new(
                Strategy::compile_source(name, &format!("{name}.rhai"), source).unwrap(),
            ),
            rules: StrategyRules {
                name: name.into(),
                ..StrategyRules::default()
            },
            platforms: None,
        }
    }

    fn loan(id: &str) -> Arc<Opportunity> {
        let mut o = Opportunity::new(
            PlatformId::new("fc"),
            PlatformKind::FundingCircle,
            id,
            OpportunityKind::Loan,
        );
        o.remaining = Some(dec!(1000));
        o.min_investment = Some(dec!(25));
        o.grade = Some("A".into());
        Arc::new(o)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 13, 0, 0).unwrap()
    }

    #[test]
    fn a_failing_strategy_skips_and_the_others_still_decide() {
        let metrics = Metrics::new();
        let engine = Engine::new(
            vec![
                slot("broken", "fn decide(o, p) {\n  o.remaining + ()\n}"),
                slot(
                    "buyer",
                    "fn decide(o, p) { #{ amount: 40, reason: \"ok\" } }",
                ),
            ],
            BudgetRules::default(),
            HashMap::new(),
            Some(metrics.clone()),
        );
        let mut portfolio = Portfolio::new(None);
        let evaluation = engine.evaluate(&loan("L1"), &mut portfolio, now());
        assert!(
            matches!(&evaluation.decisions[0].verdict, Verdict::Error { message } if message.contains("broken.rhai:2")),
            "{:?}",
            evaluation.decisions[0]
        );
        assert!(
            matches!(evaluation.decisions[1].verdict, Verdict::Buy { amount, .. } if amount == dec!(40))
        );
        assert_eq!(evaluation.intents.len(), 1);
        assert_eq!(
            metrics
                .strategy_errors_total
                .with_label_values(&["broken"])
                .get(),
            1
        );
    }

    #[test]
    fn an_intent_is_never_made_twice_and_budgets_are_shared() {
        let engine = Engine::new(
            vec![
                slot("a", "fn decide(o, p) { 60 }"),
                slot("b", "fn decide(o, p) { 60 }"),
            ],
            BudgetRules {
                daily_limit: Some(dec!(100)),
                ..BudgetRules::default()
            },
            HashMap::new(),
            None,
        );
        let mut portfolio = Portfolio::new(None);
        let first = engine.evaluate(&loan("L1"), &mut portfolio, now());
        // b only gets what a left of the daily budget.
        let amounts: Vec<_> = first.intents.iter().map(|i| i.amount).collect();
        assert_eq!(amounts, vec![dec!(60), dec!(40)]);
        let again = engine.evaluate(&loan("L1"), &mut portfolio, now());
        assert!(again.intents.is_empty());
        assert!(
            matches!(&again.decisions[0].verdict, Verdict::Skip { reason } if reason.starts_with("already ordered"))
        );
        // The next UTC day has a fresh daily budget.
        let tomorrow = now() + chrono::Duration::days(1);
        let next_day = engine.evaluate(&loan("L2"), &mut portfolio, tomorrow);
        assert_eq!(next_day.intents.len(), 2);
    }
}

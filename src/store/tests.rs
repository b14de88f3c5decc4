//! Tests of the store: intents and their indexes, decisions, seen records, webhooks,
//! pruning, schema version and corrupt records.

use super::*;
use crate::decision::Verdict;
use crate::opportunity::PlatformId;
use chrono::{Duration, TimeZone};
use rust_decimal_macros::dec;
use tempfile::TempDir;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap()
}

fn intent(opportunity_id: &str, kind: OpportunityKind, created: DateTime<Utc>) -> OrderIntent {
    OrderIntent {
        opportunity_kind: kind,
        ..OrderIntent::for_test("fc", opportunity_id, created)
    }
}

fn decision(when: DateTime<Utc>, verdict: Verdict) -> Decision {
    Decision {
        at: when,
        platform: PlatformId::new("fc"),
        strategy: "s".into(),
        opportunity_id: "l1".into(),
        verdict,
    }
}

fn placed() -> OrderState {
    OrderState::Placed {
        order_id: "o1".into(),
        amount: dec!(25.00),
        platform_status: "pending".into(),
    }
}

#[test]
fn intents_are_sorted_by_creation_and_unresolved_excludes_final() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let late = intent("late", OpportunityKind::Loan, at(3));
    let early = intent("early", OpportunityKind::Loan, at(1));
    assert!(store.claim(&late).unwrap());
    assert!(store.claim(&early).unwrap());
    store
        .transition(&early.key, OrderState::Sending, at(2))
        .unwrap();
    store.transition(&early.key, placed(), at(2)).unwrap();

    let all = store.intents().unwrap();
    assert_eq!(
        all.iter()
            .map(|i| i.opportunity_id.as_str())
            .collect::<Vec<_>>(),
        ["early", "late"]
    );
    let open = store.unresolved().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, late.key);
}

fn index_keys(store: &Store) -> Vec<String> {
    store
        .unresolved
        .iter()
        .keys()
        .map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn the_unresolved_index_holds_exactly_the_intents_not_final() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let done = intent("done", OpportunityKind::Loan, at(1));
    let open = intent("open", OpportunityKind::Loan, at(2));
    assert!(store.claim(&done).unwrap());
    assert!(store.claim(&open).unwrap());
    assert_eq!(index_keys(&store).len(), 2);
    store
        .transition(&done.key, OrderState::Sending, at(2))
        .unwrap();
    assert_eq!(index_keys(&store).len(), 2, "Sending is not final");
    store.transition(&done.key, placed(), at(2)).unwrap();
    assert_eq!(index_keys(&store), [open.key.as_str()]);
    // A second claim of a final intent writes nothing and leaves no trace.
    assert!(!store.claim(&done).unwrap());
    assert_eq!(store.unresolved().unwrap()[0].key, open.key);
    assert_eq!(index_keys(&store), [open.key.as_str()]);
}

#[test]
fn a_database_from_before_the_index_gets_it_built_and_orphan_keys_go_at_open() {
    let dir = TempDir::new().unwrap();
    let done = intent("done", OpportunityKind::Loan, at(1));
    let open = intent("open", OpportunityKind::Loan, at(2));
    {
        let store = Store::open(dir.path()).unwrap();
        store.claim(&done).unwrap();
        store.claim(&open).unwrap();
        store
            .transition(&done.key, OrderState::Sending, at(2))
            .unwrap();
        store.transition(&done.key, placed(), at(2)).unwrap();
        // As an older build left it: no index, no marker.
        store.unresolved.clear().unwrap();
        let meta = store.db.open_tree("meta").unwrap();
        meta.remove(UNRESOLVED_INDEX_KEY).unwrap();
        store.flush().unwrap();
    }
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(index_keys(&store), [open.key.as_str()]);
        // A claim cut short by a crash: the index key without its intent.
        store.unresolved.insert("fc/s/ghost/once", &[]).unwrap();
        store.flush().unwrap();
        assert_eq!(store.unresolved().unwrap().len(), 1);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(index_keys(&store), [open.key.as_str()]);
    assert_eq!(store.unresolved().unwrap()[0].key, open.key);
}

/// The index as a fresh build from every stored intent would give it.
fn recounted(store: &Store) -> IntentIndex {
    let mut index = IntentIndex::default();
    for intent in store.intents().unwrap() {
        index.add(&intent);
    }
    index
}

fn placed_as(order_id: &str, amount: rust_decimal::Decimal, status: &str) -> OrderState {
    OrderState::Placed {
        order_id: order_id.into(),
        amount,
        platform_status: status.into(),
    }
}

#[test]
fn the_intent_index_follows_claims_transitions_prune_and_a_reopen() {
    let dir = TempDir::new().unwrap();
    let fc = PlatformId::new("fc");
    let fr = PlatformId::new("fr");
    let a = intent("a", OpportunityKind::Loan, at(1));
    let b = intent("b", OpportunityKind::Loan, at(1));
    let c = OrderIntent {
        key: IdempotencyKey::derive(&fr, "s", "c", "once"),
        platform: fr.clone(),
        ..intent("c", OpportunityKind::Loan, at(2))
    };
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.claim_all(&[a.clone(), b.clone(), c.clone()]).unwrap(),
            [true; 3]
        );
        assert_eq!(
            store.claim_all(std::slice::from_ref(&a)).unwrap(),
            [false],
            "a claimed twice"
        );
        assert_eq!(store.unresolved_count(Some(&fc)), 2);
        assert_eq!(store.unresolved_count(None), 3);

        store
            .transition(&a.key, OrderState::Sending, at(1))
            .unwrap();
        store
            .transition(&a.key, placed_as("o1", dec!(20), "pending"), at(1))
            .unwrap();
        let not_placed = OrderState::NotPlaced { reason: "x".into() };
        store.transition(&b.key, not_placed, at(1)).unwrap();
        store
            .transition(&c.key, OrderState::Sending, at(2))
            .unwrap();
        assert_eq!(store.unresolved_count(Some(&fc)), 0);
        assert_eq!(store.unresolved_count(Some(&fr)), 1);
        let placed = store.placed_on(&fc, at(1).date_naive());
        assert_eq!((placed.orders, placed.amount), (1, dec!(20)));
        assert_eq!(
            store.placed_on(&fc, at(2).date_naive()),
            PlacedOnDay::default()
        );
        let tracked = store.tracked_orders(&fc);
        assert_eq!(tracked.len(), 1);
        assert_eq!(tracked[0].platform_status, "pending");
        assert!(store.tracked_orders(&fr).is_empty());

        // The platform status moves on: tracked with the new one.
        store
            .transition(&a.key, placed_as("o1", dec!(20), "funded"), at(3))
            .unwrap();
        assert_eq!(store.tracked_orders(&fc)[0].platform_status, "funded");
        assert_eq!(store.placed_on(&fc, at(1).date_naive()).orders, 1);
        assert_eq!(*store.index(), recounted(&store));
    }
    // Rebuilt from the intents at open: the same counts.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(*store.index(), recounted(&store));
    assert_eq!(store.unresolved_count(None), 1);
    assert_eq!(store.placed_on(&fc, at(1).date_naive()).amount, dec!(20));

    // Pruning forgets a and b (final loans, old): a's placed order goes too.
    assert_eq!(store.prune(at(20)).unwrap(), 2);
    assert_eq!(
        store.placed_on(&fc, at(1).date_naive()),
        PlacedOnDay::default()
    );
    assert!(store.tracked_orders(&fc).is_empty());
    assert_eq!(*store.index(), recounted(&store));
}

#[test]
fn tracking_stops_for_a_final_status_and_resumes_when_the_status_changes() {
    let dir = TempDir::new().unwrap();
    let fc = PlatformId::new("fc");
    let store = Store::open(dir.path()).unwrap();
    let a = intent("a", OpportunityKind::Loan, at(1));
    store.claim(&a).unwrap();
    store
        .transition(&a.key, OrderState::Sending, at(1))
        .unwrap();
    store
        .transition(&a.key, placed_as("o1", dec!(25), "late"), at(1))
        .unwrap();
    let found_final = store.tracked_orders(&fc)[0].clone();
    // Meanwhile the status changes (a webhook): the newer status stays tracked.
    store
        .transition(&a.key, placed_as("o1", dec!(25), "current"), at(2))
        .unwrap();
    store.stop_tracking(&found_final);
    assert_eq!(store.tracked_orders(&fc).len(), 1);
    store.stop_tracking(&store.tracked_orders(&fc)[0]);
    assert!(store.tracked_orders(&fc).is_empty());
    store
        .transition(&a.key, placed_as("o1", dec!(25), "charged_off"), at(3))
        .unwrap();
    assert_eq!(store.tracked_orders(&fc)[0].platform_status, "charged_off");
    // The counts do not depend on tracking.
    assert_eq!(store.placed_on(&fc, at(1).date_naive()).orders, 1);
}

#[test]
fn the_intent_index_is_built_for_intents_written_without_it() {
    let dir = TempDir::new().unwrap();
    let fc = PlatformId::new("fc");
    let placed = OrderIntent {
        state: placed_as("o1", dec!(30), "pending"),
        ..intent("placed", OpportunityKind::Loan, at(1))
    };
    let claimed = intent("claimed", OpportunityKind::Loan, at(1));
    {
        let store = Store::open(dir.path()).unwrap();
        // As an older build (or any writer not going through the index) left them.
        for i in [&placed, &claimed] {
            store
                .intents
                .insert(i.key.as_str(), encode_intent(i).unwrap())
                .unwrap();
        }
        store.flush().unwrap();
        assert_eq!(store.unresolved_count(None), 0, "written past the index");
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.unresolved_count(Some(&fc)), 1);
    let on_day = store.placed_on(&fc, at(1).date_naive());
    assert_eq!((on_day.orders, on_day.amount), (1, dec!(30)));
    assert_eq!(store.tracked_orders(&fc)[0].order_id, "o1");
}

#[test]
fn corrupt_intent_is_reported_never_skipped() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .claim(&intent("good", OpportunityKind::Loan, at(1)))
        .unwrap();
    store
        .intents
        .insert("broken-key", &b"{not json"[..])
        .unwrap();
    // As a claimed (not final) intent is: in the unresolved index.
    store.unresolved.insert("broken-key", &[]).unwrap();

    for result in [store.intents().map(|_| ()), store.unresolved().map(|_| ())] {
        match result {
            Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "broken-key"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    let broken = IdempotencyKey::from_stored("broken-key".into());
    assert!(matches!(
        store.intent(&broken),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.transition(&broken, OrderState::Sending, at(2)),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.prune(at(28)),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn corrupt_decision_is_reported_with_its_id() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .decisions
        .insert(7u64.to_be_bytes(), &b"[]"[..])
        .unwrap();
    match store.decisions(10) {
        Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "decisions/7"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn decisions_round_trip_and_return_the_most_recent_oldest_first() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let buy = decision(
        at(1),
        Verdict::Buy {
            key: IdempotencyKey::from_stored("k".into()),
            amount: dec!(25.50),
            reason: "A band".into(),
        },
    );
    store.record_decision(&buy).unwrap();
    for day in 2..=5 {
        let skip = Verdict::Skip {
            reason: format!("day {day}"),
        };
        store.record_decision(&decision(at(day), skip)).unwrap();
    }
    assert_eq!(store.decisions(100).unwrap()[0], buy);
    let recent = store.decisions(2).unwrap();
    assert_eq!(
        recent.iter().map(|d| d.at).collect::<Vec<_>>(),
        [at(4), at(5)]
    );
    assert!(store.decisions(0).unwrap().is_empty());
}

#[test]
fn mark_seen_is_true_only_the_first_time() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.mark_seen("fc", "l1", at(1)).unwrap());
    assert!(!store.mark_seen("fc", "l1", at(2)).unwrap());
    assert!(store.mark_seen("fr", "l1", at(2)).unwrap());
    // An id that merely shares a prefix is a different opportunity.
    assert!(store.mark_seen("fc", "l10", at(2)).unwrap());
}

#[test]
fn webhooks_are_processed_once_across_reopening_and_pruned_when_old() {
    let dir = TempDir::new().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert!(store.mark_webhook_processed("w1", at(1)).unwrap());
        assert!(!store.mark_webhook_processed("w1", at(2)).unwrap());
        assert!(store.mark_webhook_processed("w10", at(5)).unwrap());
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.mark_webhook_processed("w1", at(3)).unwrap());
    // Webhooks only: intents, decisions and seen records are counted apart.
    assert_eq!(store.prune(at(4)).unwrap(), 1);
    assert!(store.mark_webhook_processed("w1", at(6)).unwrap());
    assert!(!store.mark_webhook_processed("w10", at(6)).unwrap());
}

#[test]
fn prune_keeps_what_idempotency_needs() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let cutoff = at(20);
    let old = at(1);

    let old_final_loan = intent("old-final-loan", OpportunityKind::Loan, old);
    let old_open_loan = intent("old-open-loan", OpportunityKind::Loan, old);
    let old_final_offering = intent("old-final-offering", OpportunityKind::Offering, old);
    let recent_final_loan = intent("recent-final-loan", OpportunityKind::Loan, old);
    for i in [
        &old_final_loan,
        &old_open_loan,
        &old_final_offering,
        &recent_final_loan,
    ] {
        assert!(store.claim(i).unwrap());
    }
    let not_placed = OrderState::NotPlaced { reason: "x".into() };
    store
        .transition(&old_final_loan.key, not_placed.clone(), old)
        .unwrap();
    store
        .transition(&old_final_offering.key, not_placed.clone(), old)
        .unwrap();
    store
        .transition(
            &recent_final_loan.key,
            not_placed,
            cutoff + Duration::days(1),
        )
        .unwrap();
    store
        .transition(&old_open_loan.key, OrderState::Sending, old)
        .unwrap();

    store
        .record_decision(&decision(
            old,
            Verdict::Skip {
                reason: "old".into(),
            },
        ))
        .unwrap();
    store
        .record_decision(&decision(
            at(25),
            Verdict::Skip {
                reason: "new".into(),
            },
        ))
        .unwrap();
    store.mark_seen("fc", "old", old).unwrap();
    store.mark_seen("fc", "new", at(25)).unwrap();

    assert_eq!(store.prune(cutoff).unwrap(), 3);

    let mut kept: Vec<String> = store
        .intents()
        .unwrap()
        .into_iter()
        .map(|i| i.opportunity_id)
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        ["old-final-offering", "old-open-loan", "recent-final-loan"]
    );
    assert_eq!(store.decisions(10).unwrap().len(), 1);
    assert!(store.mark_seen("fc", "old", at(26)).unwrap());
    assert!(!store.mark_seen("fc", "new", at(26)).unwrap());
    assert_eq!(store.prune(cutoff).unwrap(), 0);
}

#[test]
fn refuses_a_database_of_another_schema_version() {
    let dir = TempDir::new().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let meta = store.db.open_tree("meta").unwrap();
        meta.insert(SCHEMA_VERSION_KEY, &b"99"[..]).unwrap();
        store.flush().unwrap();
    }
    let error = Store::open(dir.path()).unwrap_err().to_string();
    assert!(error.contains("schema version 99"), "{error}");
}

#[test]
fn size_on_disk_is_reported() {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .claim(&intent("l1", OpportunityKind::Loan, at(1)))
        .unwrap();
    assert!(store.size_on_disk().unwrap() > 0);
}

//! Does sled's size on disk plateau under insert + remove churn? (issue 5, DESIGN.md's
//! sled pitfall.) Writes records of the store's sizes into one sled tree while removing
//! the oldest, so the number of live records stays at `WINDOW` — what pruning on a
//! schedule does to the store — and prints `size_on_disk` and the directory's files as
//! it goes. Two shapes of removal: one for one as records are written, and in batches
//! (what `Store::prune` does every `prune_every`).
//!
//! `cargo bench --bench store_churn` (release). `STORE_CHURN_RECORDS` sets how many
//! records each shape writes (default 2,000,000).

use std::time::Instant;

/// Live records kept: a minute of a saturated daemon is ~3,000 (orders, decisions,
/// seen listings); a day at a realistic pace is more. 50,000 is between.
const WINDOW: u64 = 50_000;
/// Removal in batches: this many records at a time (every ~`BATCH` writes).
const BATCH: u64 = 10_000;
/// sled flushes in the background every 500 ms; the daemon flushes after each intent.
const FLUSH_EVERY: u64 = 100;
/// How often a line is printed.
const REPORT_EVERY: u64 = 200_000;

/// A value the size of a stored intent (JSON, ~450 bytes).
fn value(i: u64) -> Vec<u8> {
    let mut text = format!(
        r#"{{"key":"fc/soak-1/{i:016x}/once","platform":"fc","strategy":"soak-1","amount":"25.00","reason":"soak: every fractional listing","#
    );
    while text.len() < 440 {
        text.push('x');
    }
    text.push_str(r#""}"#);
    text.into_bytes()
}

fn key(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    fn walk(dir: &std::path::Path, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => walk(&entry.path(), total),
                Ok(meta) => *total += meta.len(),
                Err(_) => {}
            }
        }
    }
    let mut total = 0;
    walk(dir, &mut total);
    total
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Writes `records` records, keeping at most `WINDOW` (+ one batch) live.
fn churn(records: u64, batched: bool) {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let db = sled::Config::new()
        .path(dir.path())
        .open()
        .expect("sled opens");
    let tree = db.open_tree("intents").expect("tree opens");
    let started = Instant::now();
    let mut oldest = 0u64;
    println!(
        "{:>10} {:>10} {:>14} {:>12} {:>8}",
        "written", "live", "size_on_disk", "files", "secs"
    );
    for i in 0..records {
        tree.insert(key(i), value(i)).expect("insert");
        let live = i + 1 - oldest;
        let remove_now = if batched {
            live >= WINDOW + BATCH
        } else {
            live > WINDOW
        };
        if remove_now {
            let until = if batched { oldest + BATCH } else { oldest + 1 };
            for old in oldest..until {
                tree.remove(key(old)).expect("remove");
            }
            oldest = until;
        }
        if i % FLUSH_EVERY == 0 {
            db.flush().expect("flush");
        }
        if (i + 1) % REPORT_EVERY == 0 {
            db.flush().expect("flush");
            println!(
                "{:>10} {:>10} {:>10.1} MiB {:>8.1} MiB {:>8.1}",
                i + 1,
                i + 1 - oldest,
                mib(db.size_on_disk().expect("size")),
                mib(dir_bytes(dir.path())),
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let records: u64 = std::env::var("STORE_CHURN_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    println!("sled 0.34.7, {WINDOW} live records of ~450 bytes, {records} written");
    println!("\nremoved one for one as records are written:");
    churn(records, false);
    println!("\nremoved {BATCH} at a time (a prune on a schedule):");
    churn(records, true);
}

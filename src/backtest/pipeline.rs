//! Hands rows between the backtest's threads: reading and parsing the file runs on
//! one thread, deciding on the caller's (one [`Simulation`](super::simulate::Simulation),
//! rows in file order, exactly as live), recording the report and `decisions.csv` on a
//! third, so both cores work while the decisions stay sequential.
//!
//! Items travel in batches (one channel message per [`BATCH_ITEMS`] rows keeps the
//! hand-over cost negligible) through bounded channels: at most [`QUEUED_BATCHES`]
//! batches wait between two threads, so memory stays flat however large the file, and
//! a slow thread holds the faster ones back instead of letting rows pile up.

use std::sync::mpsc::{self, Receiver, SyncSender};

/// Items per channel message.
pub const BATCH_ITEMS: usize = 256;
/// Full batches a channel holds before its sender waits.
pub const QUEUED_BATCHES: usize = 4;

/// The receiving thread has gone (it stopped on an error or panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

/// A bounded channel carrying items in batches.
pub fn batch_channel<T>() -> (BatchSender<T>, BatchReceiver<T>) {
    let (sender, receiver) = mpsc::sync_channel(QUEUED_BATCHES);
    (
        BatchSender {
            sender,
            batch: Vec::with_capacity(BATCH_ITEMS),
        },
        BatchReceiver {
            receiver,
            current: Vec::new().into_iter(),
        },
    )
}

/// Collects items into a batch and sends it when full. Dropping it sends what is left.
pub struct BatchSender<T> {
    sender: SyncSender<Vec<T>>,
    batch: Vec<T>,
}

impl<T> BatchSender<T> {
    /// Queues one item; waits when the channel is full.
    pub fn push(&mut self, item: T) -> Result<(), Disconnected> {
        self.batch.push(item);
        if self.batch.len() < BATCH_ITEMS {
            return Ok(());
        }
        self.send_batch()
    }

    fn send_batch(&mut self) -> Result<(), Disconnected> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ITEMS));
        self.sender.send(batch).map_err(|_| Disconnected)
    }
}

impl<T> Drop for BatchSender<T> {
    fn drop(&mut self) {
        // A receiver that has gone no longer wants the rest.
        let _ = self.send_batch();
    }
}

/// The items of a [`batch_channel`] one by one, in the order they were pushed; ends
/// when the sender is dropped.
pub struct BatchReceiver<T> {
    receiver: Receiver<Vec<T>>,
    current: std::vec::IntoIter<T>,
}

impl<T> Iterator for BatchReceiver<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.receiver.recv().ok()?.into_iter();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order_including_a_partial_last_batch() {
        let (mut sender, receiver) = batch_channel();
        let count = 3 * BATCH_ITEMS + 7;
        let producer = std::thread::spawn(move || {
            for i in 0..count {
                sender.push(i).unwrap();
            }
        });
        let received: Vec<usize> = receiver.collect();
        producer.join().unwrap();
        assert_eq!(received, (0..count).collect::<Vec<_>>());
    }

    #[test]
    fn a_sender_learns_that_the_receiver_has_gone_and_stays_bounded() {
        let (mut sender, receiver) = batch_channel::<usize>();
        drop(receiver);
        // The first full batch cannot be delivered: the producer stops there
        // instead of buffering the rest of the file.
        let sent = (0..10 * BATCH_ITEMS).take_while(|&i| sender.push(i).is_ok());
        assert_eq!(sent.count(), BATCH_ITEMS - 1);
    }
}

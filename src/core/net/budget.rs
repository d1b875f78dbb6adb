//! Byte budgets for the queues between a socket and its decoder.
//!
//! A bounded channel bounds the number of items, not the memory they hold: 64 WebSocket
//! messages of up to 16 MiB are a gigabyte. A [`Budget`] bounds the bytes: a sender takes
//! permits for an item's length before queueing it ([`Budget::take`]) and the permits come
//! back when the item is dropped, once it has been used. An item larger than the whole
//! budget takes all of it, so it still passes, alone.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most this many bytes in flight between two ends.
#[derive(Clone, Debug)]
pub struct Budget {
    permits: Arc<Semaphore>,
    bytes: usize,
}

/// A share of a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Held(#[allow(dead_code)] OwnedSemaphorePermit);

/// Queued data holding its share of a [`Budget`] until dropped.
#[derive(Debug)]
pub struct Budgeted<T> {
    pub data: T,
    _held: Option<Held>,
}

impl<T> Budgeted<T> {
    /// Data outside any budget (small messages bounded by their count).
    pub fn free(data: T) -> Self {
        Self { data, _held: None }
    }

    /// Data holding `held` until dropped.
    pub fn holding(data: T, held: Held) -> Self {
        Self {
            data,
            _held: Some(held),
        }
    }
}

impl Budget {
    pub fn new(bytes: usize) -> Self {
        let bytes = bytes.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(bytes)),
            bytes,
        }
    }

    /// Waits until `len` bytes (at most the whole budget) are free and takes them.
    /// Cancel-safe: a wait given up takes nothing. `None` if the budget was closed.
    pub async fn take(&self, len: usize) -> Option<Held> {
        let n = u32::try_from(len.clamp(1, self.bytes)).unwrap_or(u32::MAX);
        let permit = self.permits.clone().acquire_many_owned(n).await.ok()?;
        Some(Held(permit))
    }

    /// Bytes taken now.
    pub fn in_flight(&self) -> usize {
        self.bytes - self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_not_items_are_bounded_and_come_back_when_used() {
        let budget = Budget::new(100);
        let a = budget.take(60).await.unwrap();
        assert_eq!(budget.in_flight(), 60);
        // 60 more do not fit until `a` is used.
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), budget.take(60)).await;
        assert!(waiting.is_err(), "over the budget: waits");
        drop(a);
        let b = budget.take(60).await.unwrap();
        assert_eq!(budget.in_flight(), 60);
        drop(b);
        // Larger than the whole budget: passes alone.
        let big = budget.take(10_000).await.unwrap();
        assert_eq!(budget.in_flight(), 100);
        drop(big);
        assert_eq!(budget.in_flight(), 0);
    }
}

//! Single-flight: the first caller does the work, everyone who arrives meanwhile
//! waits for the same outcome — by looking at it on their own timers, never by being
//! woken by the caller doing the work. On Cloudflare Workers the work of one request
//! must not resume another (workerd cancels a request whose pending work only another
//! request's context can fire), and the caller doing the work may vanish with its
//! request: a flight that makes no progress for a bound is taken over.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// One piece of work in flight and its eventual outcome.
pub struct Flight<T: Clone> {
    outcome: RefCell<Option<T>>,
    progress_at: Cell<u64>,
}

impl<T: Clone> Flight<T> {
    /// A flight with no outcome yet, started at `now` (epoch ms).
    pub fn new(now: u64) -> Rc<Self> {
        Rc::new(Flight {
            outcome: RefCell::new(None),
            progress_at: Cell::new(now),
        })
    }

    /// Publishes the outcome.
    pub fn land(&self, outcome: T) {
        *self.outcome.borrow_mut() = Some(outcome);
    }

    /// The outcome, once landed.
    pub fn outcome(&self) -> Option<T> {
        self.outcome.borrow().clone()
    }

    /// The worker says it is still working (before each step that may take long).
    pub fn progress(&self, now: u64) {
        self.progress_at.set(now);
    }

    /// Whether the worker has said nothing for longer than `bound_ms`: it is gone.
    pub fn stalled(&self, now: u64, bound_ms: u64) -> bool {
        self.outcome.borrow().is_none() && now.saturating_sub(self.progress_at.get()) > bound_ms
    }
}

/// How long a waiter sleeps between looks: short at first (a refresh on a fast link
/// lands in milliseconds), then longer, with jitter so a herd does not look at once.
pub fn next_look_ms(look: u32, jitter: u64) -> u64 {
    let base = 2u64 << look.min(4);
    base + jitter % (base / 2 + 1)
}

/// How long a worker waits between tries of a lock another worker holds: a token
/// request takes a few hundred ms, so 25 ms growing to 200 ms, jittered.
pub fn lock_look_ms(look: u32, jitter: u64) -> u64 {
    let base = 25u64 << look.min(3);
    base + jitter % (base / 2 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_waiter_sees_the_one_outcome() {
        let flight: Rc<Flight<u32>> = Flight::new(0);
        assert_eq!(flight.outcome(), None);
        flight.land(7);
        assert_eq!(flight.outcome(), Some(7));
        assert!(!flight.stalled(1_000_000, 10));
    }

    #[test]
    fn a_flight_without_progress_is_stalled() {
        let flight: Rc<Flight<u32>> = Flight::new(1000);
        assert!(!flight.stalled(1500, 1000));
        assert!(flight.stalled(2001, 1000));
        flight.progress(2001);
        assert!(!flight.stalled(2500, 1000));
    }

    #[test]
    fn looks_grow_and_stay_bounded() {
        assert!((2..=3).contains(&next_look_ms(0, 7)));
        assert!((32..=48).contains(&next_look_ms(10, 12345)));
        for look in 0..100 {
            assert!(next_look_ms(look, u64::MAX) <= 48);
            assert!((25..=300).contains(&lock_look_ms(look, u64::MAX)));
        }
        assert!((200..=300).contains(&lock_look_ms(7, 3)));
    }
}

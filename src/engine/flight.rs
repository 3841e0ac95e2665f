//! Single-flight: the first caller does the work, everyone who arrives meanwhile
//! awaits the same outcome. Single-threaded (one isolate), no executor needed.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// One piece of work in flight and its eventual outcome.
pub struct Flight<T: Clone> {
    outcome: RefCell<Option<T>>,
    wakers: RefCell<Vec<Waker>>,
}

impl<T: Clone> Flight<T> {
    /// A flight with no outcome yet.
    pub fn new() -> Rc<Self> {
        Rc::new(Flight {
            outcome: RefCell::new(None),
            wakers: RefCell::new(Vec::new()),
        })
    }

    /// Publishes the outcome and wakes every waiter.
    pub fn land(&self, outcome: T) {
        *self.outcome.borrow_mut() = Some(outcome);
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for w in wakers {
            w.wake();
        }
    }

    /// Waits for the outcome.
    pub fn wait(self: &Rc<Self>) -> Wait<T> {
        Wait(Rc::clone(self))
    }
}

/// The future of a flight's outcome.
pub struct Wait<T: Clone>(Rc<Flight<T>>);

impl<T: Clone> Future for Wait<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(outcome) = self.0.outcome.borrow().as_ref() {
            return Poll::Ready(outcome.clone());
        }
        self.0.wakers.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;

    #[test]
    fn every_waiter_gets_the_one_outcome() {
        let mut pool = LocalPool::new();
        let flight: Rc<Flight<u32>> = Flight::new();
        let seen = Rc::new(RefCell::new(Vec::new()));
        for _ in 0..100 {
            let (f, s) = (flight.clone(), seen.clone());
            pool.spawner()
                .spawn_local(async move {
                    let v = f.wait().await;
                    s.borrow_mut().push(v);
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert!(seen.borrow().is_empty());
        flight.land(7);
        pool.run_until_stalled();
        assert_eq!(seen.borrow().len(), 100);
        assert!(seen.borrow().iter().all(|v| *v == 7));
    }
}

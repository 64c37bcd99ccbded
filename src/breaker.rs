//! A circuit breaker per dependency (the database, the bucket). After `threshold` failures in a
//! row that say the dependency is down, calls fail at once for `open_for`; then one call is let
//! through as a probe, and its outcome closes the breaker or opens it again. Each change of
//! state is logged and shown in `/metrics` (`mediastore_breaker_state{dependency}`: 0 closed,
//! 1 open, 2 half-open).
//!
//! Small and without I/O, so it sits at the bottom of the layers: `db` and `storage` use it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const BREAKER_STATE: &str = "mediastore_breaker_state";

#[derive(Debug)]
pub struct Breaker {
    dependency: &'static str,
    threshold: u32,
    open_for: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is in flight; everyone else still fails fast.
    HalfOpen,
}

/// The breaker is open: the dependency failed repeatedly and has not been probed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{dependency} is unavailable; retry in {retry_after:?}")]
pub struct Open {
    pub dependency: &'static str,
    pub retry_after: Duration,
}

impl Breaker {
    pub fn new(dependency: &'static str, threshold: u32, open_for: Duration) -> Self {
        let breaker = Self {
            dependency,
            threshold: threshold.max(1),
            open_for,
            state: Mutex::new(State::Closed { failures: 0 }),
        };
        breaker.publish(State::Closed { failures: 0 });
        breaker
    }

    /// Whether a call may go ahead now. When the open time is over, the first caller becomes
    /// the probe (and must report its outcome).
    pub fn allow(&self, now: Instant) -> Result<(), Open> {
        let mut state = self.state.lock().expect("breaker lock");
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now >= until => {
                self.change(&mut state, State::HalfOpen);
                Ok(())
            }
            State::Open { until } => Err(self.open(until - now)),
            State::HalfOpen => Err(self.open(self.open_for)),
        }
    }

    /// A call that reached the dependency and got an answer (even a refusal such as "not
    /// found"): it is up.
    pub fn succeeded(&self) {
        let mut state = self.state.lock().expect("breaker lock");
        if *state != (State::Closed { failures: 0 }) {
            self.change(&mut state, State::Closed { failures: 0 });
        }
    }

    /// A call that found the dependency down (unreachable, timed out, 5xx).
    pub fn failed(&self, now: Instant) {
        let mut state = self.state.lock().expect("breaker lock");
        let next = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            State::Closed { .. } | State::HalfOpen => State::Open {
                until: now + self.open_for,
            },
            // Calls let through before it opened report late; the open time stands.
            open @ State::Open { .. } => open,
        };
        self.change(&mut state, next);
    }

    #[cfg(test)]
    fn is_open(&self) -> bool {
        !matches!(
            *self.state.lock().expect("breaker lock"),
            State::Closed { .. }
        )
    }

    fn open(&self, retry_after: Duration) -> Open {
        Open {
            dependency: self.dependency,
            retry_after,
        }
    }

    fn change(&self, state: &mut State, next: State) {
        let was = std::mem::discriminant(state);
        *state = next;
        if was != std::mem::discriminant(&next) {
            match next {
                State::Closed { .. } => tracing::info!(
                    dependency = self.dependency,
                    "breaker closed: the dependency answers again"
                ),
                State::Open { .. } => {
                    tracing::warn!(dependency = self.dependency, open_for = ?self.open_for, "breaker open: calls fail at once")
                }
                State::HalfOpen => tracing::info!(
                    dependency = self.dependency,
                    "breaker half-open: one probe goes through"
                ),
            }
            self.publish(next);
        }
    }

    fn publish(&self, state: State) {
        let value = match state {
            State::Closed { .. } => 0.0,
            State::Open { .. } => 1.0,
            State::HalfOpen => 2.0,
        };
        metrics::gauge!(BREAKER_STATE, "dependency" => self.dependency).set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(2);

    #[test]
    fn it_opens_after_the_threshold_and_fails_fast_until_the_open_time_is_over() {
        let breaker = Breaker::new("db", 3, OPEN_FOR);
        let t0 = Instant::now();
        for _ in 0..2 {
            breaker.failed(t0);
            assert!(
                breaker.allow(t0).is_ok(),
                "below the threshold it stays closed"
            );
        }
        breaker.failed(t0);
        let refused = breaker.allow(t0 + Duration::from_millis(500)).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(1500));
        assert!(breaker.is_open());
    }

    #[test]
    fn after_the_open_time_one_probe_goes_through_and_its_success_closes_it() {
        let breaker = Breaker::new("db", 1, OPEN_FOR);
        let t0 = Instant::now();
        breaker.failed(t0);
        let later = t0 + OPEN_FOR;
        assert!(breaker.allow(later).is_ok(), "the probe");
        assert!(breaker.allow(later).is_err(), "others wait for the probe");
        breaker.succeeded();
        assert!(breaker.allow(later).is_ok());
        assert!(!breaker.is_open());
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let breaker = Breaker::new("bucket", 1, OPEN_FOR);
        let t0 = Instant::now();
        breaker.failed(t0);
        let later = t0 + OPEN_FOR;
        breaker.allow(later).unwrap();
        breaker.failed(later);
        assert!(breaker.allow(later + Duration::from_secs(1)).is_err());
        assert!(breaker.allow(later + OPEN_FOR).is_ok());
    }

    #[test]
    fn a_success_resets_the_count_of_failures() {
        let breaker = Breaker::new("db", 2, OPEN_FOR);
        let t0 = Instant::now();
        breaker.failed(t0);
        breaker.succeeded();
        breaker.failed(t0);
        assert!(breaker.allow(t0).is_ok(), "two failures, but not in a row");
    }
}

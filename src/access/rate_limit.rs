//! Per-address budgets (`RATE_LIMIT_UPLOADS`, `RATE_LIMIT_DOWNLOADS`): a GCRA bucket per
//! client address (the `governor` crate), `n` requests at once and refilled evenly over the
//! period. Addresses whose bucket is full again are forgotten, so memory is bounded by the
//! addresses active within one period, however many have been seen.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::ClientAddr;

/// Checks between two sweeps of the addresses whose buckets are full again.
const SWEEP_EVERY: u32 = 1024;

/// `<n>/<sec|min|hour>`, e.g. `60/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || format!("{text:?} is not <n>/<sec|min|hour>, e.g. 60/min");
        let (n, unit) = text.trim().split_once('/').ok_or_else(usage)?;
        let requests = n.trim().parse::<NonZeroU32>().map_err(|_| usage())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(usage()),
        };
        Ok(Self { requests, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "sec",
            60 => "min",
            _ => "hour",
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

pub struct RateLimiter {
    limit: RateLimit,
    buckets: DefaultKeyedRateLimiter<ClientAddr>,
    checks: AtomicU32,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        let quota = Quota::with_period(limit.per / limit.requests.get())
            .expect("a period of at least a second over at most u32::MAX requests is not zero")
            .allow_burst(limit.requests);
        Self {
            limit,
            buckets: DefaultKeyedRateLimiter::keyed(quota),
            checks: AtomicU32::new(0),
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request from `client`'s budget, or says how long until there is one.
    pub fn check(&self, client: ClientAddr) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
        self.buckets
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Addresses with a bucket (for tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> ClientAddr {
        ClientAddr::new(text.parse().unwrap())
    }

    #[test]
    fn limits_parse_and_print() {
        let limit: RateLimit = "60/min".parse().unwrap();
        assert_eq!(limit.requests.get(), 60);
        assert_eq!(limit.per, Duration::from_secs(60));
        assert_eq!(limit.to_string(), "60/min");
        for bad in ["", "60", "0/min", "x/min", "60/day", "-1/sec"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_request_past_the_budget_waits_and_other_addresses_do_not() {
        let limiter = RateLimiter::new("3/min".parse().unwrap());
        for _ in 0..3 {
            limiter.check(client("192.0.2.1")).unwrap();
        }
        let wait = limiter.check(client("192.0.2.1")).unwrap_err();
        assert!(
            wait > Duration::from_secs(10) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        limiter.check(client("192.0.2.2")).unwrap();
    }

    #[test]
    fn addresses_with_full_buckets_are_forgotten() {
        let limiter = RateLimiter::new("1000/sec".parse().unwrap());
        for i in 0..(SWEEP_EVERY * 3) {
            let addr = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            let _ = limiter.check(ClientAddr::new(addr.into()));
            if i % 256 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // Each bucket refills in 1 ms, so only those since the last sweep can remain.
        assert!(
            limiter.tracked() <= SWEEP_EVERY as usize,
            "{}",
            limiter.tracked()
        );
    }
}

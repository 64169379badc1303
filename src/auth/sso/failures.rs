//! Limits failed sign-ins per client address (GCRA via `governor`). Only failures spend the
//! budget, so a busy office behind one address can keep opening meetings through `/auth`.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::{
    auth::rate_limit::address_key,
    error::{AppError, AppResult},
};

/// Failed-attempt budget per client address.
pub struct FailureLimiter {
    budget: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses whose budget is spent, until when. `governor` cannot peek at a budget without
    /// spending it, and attempts must be refused *before* their secret is checked.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailureLimiter {
    /// Allows `per_minute` failures per address per minute (at least 1).
    pub fn new(per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            budget: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// 429 with a retry delay while the address has no budget left.
    pub fn check(&self, address: IpAddr) -> AppResult<()> {
        let address = address_key(address);
        let blocked = self.blocked.lock().map_err(AppError::internal)?;
        if let Some(until) = blocked.get(&address) {
            let now = Instant::now();
            if *until > now {
                return Err(AppError::rate_limited(
                    until.duration_since(now).as_secs() + 1,
                ));
            }
        }
        Ok(())
    }

    /// Spends one unit of the address's budget for a failed attempt.
    pub fn record_failure(&self, address: IpAddr) {
        let address = address_key(address);
        if let Err(not_until) = self.budget.check_key(&address) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            if let Ok(mut blocked) = self.blocked.lock() {
                blocked.insert(address, Instant::now() + wait.max(Duration::from_secs(1)));
            }
        }
    }

    /// Drops state that no longer limits anything, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.budget.retain_recent();
        if let Ok(mut blocked) = self.blocked.lock() {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_spend_the_budget_and_then_block() {
        let limiter = FailureLimiter::new(2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..2 {
            assert!(limiter.check(ip).is_ok());
            limiter.record_failure(ip);
        }
        assert!(
            limiter.check(ip).is_ok(),
            "the budget is spent, not exceeded"
        );
        limiter.record_failure(ip);
        let err = limiter.check(ip).unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(limiter.check(other).is_ok());
    }
}

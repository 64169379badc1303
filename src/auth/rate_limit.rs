//! Login rate limits, per account and per client address (GCRA via `governor`).

use std::{net::IpAddr, num::NonZeroU32};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::error::{AppError, AppResult};

/// The two keyed limiters guarding password logins.
pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<(i64, String)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginLimiter {
    /// Limits of `per_account` and `per_address` attempts per minute (each at least 1).
    pub fn new(per_account: u32, per_address: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            per_account: RateLimiter::keyed(quota(per_account)),
            per_address: RateLimiter::keyed(quota(per_address)),
        }
    }

    /// Counts one attempt; 429 with a retry delay when either budget is spent.
    pub fn check(&self, reseller_id: i64, email: &str, address: IpAddr) -> AppResult<()> {
        let clock = DefaultClock::default();
        if let Err(not_until) = self.per_address.check_key(&address) {
            return Err(AppError::rate_limited(
                not_until.wait_time_from(clock.now()).as_secs() + 1,
            ));
        }
        if let Err(not_until) = self
            .per_account
            .check_key(&(reseller_id, email.to_string()))
        {
            return Err(AppError::rate_limited(
                not_until.wait_time_from(clock.now()).as_secs() + 1,
            ));
        }
        Ok(())
    }

    /// Drops state of keys whose budgets are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_budget_is_separate_from_address_budget() {
        let limiter = LoginLimiter::new(2, 100);
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(limiter.check(1, "a@x.tld", ip).is_ok());
        assert!(limiter.check(1, "a@x.tld", ip).is_ok());
        let err = limiter.check(1, "a@x.tld", ip).unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.unwrap() >= 1);
        assert!(limiter.check(1, "b@x.tld", ip).is_ok());
        assert!(limiter.check(2, "a@x.tld", ip).is_ok());
    }
}

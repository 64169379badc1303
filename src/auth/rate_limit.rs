//! Login rate limits, per account, per client address and for the whole server (GCRA via
//! `governor`), and the one rule for what counts as "one client address".

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
};

use governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::error::{AppError, AppResult};

/// The key address limits count under: IPv4 addresses as they are, IPv6 addresses by their /64
/// (one subscriber usually holds a whole /64, so counting single addresses would give an
/// attacker 2^64 budgets). IPv4-mapped IPv6 addresses count as the IPv4 address.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !0u128 >> 64 << 64)),
        },
    }
}

/// The limiters guarding password logins.
pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<(i64, String)>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// All logins of the server together, so that many addresses cannot add up to an overload.
    global: DefaultDirectRateLimiter,
}

impl LoginLimiter {
    /// Limits of `per_account`, `per_address` and `global` attempts per minute (each at least 1).
    /// The global budget allows bursts of ten seconds' worth.
    pub fn new(per_account: u32, per_address: u32, global: u32) -> Self {
        let per_minute = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let quota = |n: u32| Quota::per_minute(per_minute(n));
        let global_burst = per_minute(global.div_ceil(6));
        Self {
            per_account: RateLimiter::keyed(quota(per_account)),
            per_address: RateLimiter::keyed(quota(per_address)),
            global: RateLimiter::direct(quota(global).allow_burst(global_burst)),
        }
    }

    /// Counts one attempt; 429 with a retry delay when any budget is spent.
    pub fn check(&self, reseller_id: i64, email: &str, address: IpAddr) -> AppResult<()> {
        let clock = DefaultClock::default();
        if let Err(not_until) = self.global.check() {
            tracing::warn!("global login rate reached");
            return Err(AppError::rate_limited(
                not_until.wait_time_from(clock.now()).as_secs() + 1,
            ));
        }
        if let Err(not_until) = self.per_address.check_key(&address_key(address)) {
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
        let limiter = LoginLimiter::new(2, 100, 1000);
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(limiter.check(1, "a@x.tld", ip).is_ok());
        assert!(limiter.check(1, "a@x.tld", ip).is_ok());
        let err = limiter.check(1, "a@x.tld", ip).unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.unwrap() >= 1);
        assert!(limiter.check(1, "b@x.tld", ip).is_ok());
        assert!(limiter.check(2, "a@x.tld", ip).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());

        let limiter = LoginLimiter::new(100, 2, 1000);
        assert!(limiter.check(1, "a@x.tld", a).is_ok());
        assert!(limiter.check(1, "b@x.tld", b).is_ok());
        assert!(
            limiter.check(1, "c@x.tld", a).is_err(),
            "same /64 shares one budget"
        );
        assert!(limiter.check(1, "c@x.tld", other).is_ok());
    }

    #[test]
    fn global_budget_spans_addresses() {
        // 60 a minute: bursts of 10 from any mix of addresses, then refused.
        let limiter = LoginLimiter::new(100, 100, 60);
        for i in 0..10u8 {
            let ip: IpAddr = [127, 0, 0, i + 2].into();
            assert!(limiter.check(1, &format!("{i}@x.tld"), ip).is_ok());
        }
        let err = limiter
            .check(1, "late@x.tld", [127, 0, 0, 99].into())
            .unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
    }
}

//! How much chat a participant and a room may send: token buckets, so that a conversation's
//! bursts pass while a script that writes hundreds of messages a second cannot fill the
//! `chat_messages` table.

use tokio::time::Instant;

/// A bucket's shape: it holds at most `burst` messages and refills `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    pub burst: f64,
    pub per_second: f64,
}

/// One participant: a burst of 10 messages, then one a second.
pub const PARTICIPANT_CHAT: Allowance = Allowance {
    burst: 10.0,
    per_second: 1.0,
};

/// A whole room, all participants together: a burst of 30, then five a second.
pub const ROOM_CHAT: Allowance = Allowance {
    burst: 30.0,
    per_second: 5.0,
};

/// What one guest may announce to everyone besides chat — `media_state`, `raise_hand` and
/// renegotiation `offer`s: a burst of 20, then two a second. Each reaches every member's queue, so
/// without a limit one guest could fill everyone's and have them disconnected. Moderators are not
/// limited: they can remove anyone anyway.
pub const PARTICIPANT_STATE_CHANGES: Allowance = Allowance {
    burst: 20.0,
    per_second: 2.0,
};

/// A token bucket; starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    allowance: Allowance,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket of this shape.
    pub fn new(allowance: Allowance, now: Instant) -> Self {
        Self {
            allowance,
            tokens: allowance.burst,
            updated: now,
        }
    }

    /// Takes one message's token; false (and nothing taken) when the bucket is empty.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.allowance.per_second).min(self.allowance.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(PARTICIPANT_CHAT, start);
        let passed = (0..50).filter(|_| bucket.try_take(start)).count();
        assert_eq!(passed, 10);
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
        assert!(bucket.try_take(start + Duration::from_millis(1000)));
        assert!(!bucket.try_take(start + Duration::from_millis(1100)));
        // A long pause refills to the burst, not beyond.
        let later = start + Duration::from_secs(3600);
        assert_eq!((0..50).filter(|_| bucket.try_take(later)).count(), 10);
    }
}

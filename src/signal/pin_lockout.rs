//! Wrong PINs counted per room, not only per client address: an attacker spreading guesses over
//! many addresses still meets one budget for the room. After [`FAILURES_BEFORE_LOCK`] wrong
//! PINs (room PIN or moderator PIN) within [`WINDOW`], the room accepts no PIN for a while;
//! each further lock-out doubles that pause up to [`MAX_LOCK`]. Participants already in the
//! room, signed-in hosts and moderator links are not affected.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{Media, RoomAccess, messages::ServerMessage};
use crate::auth::rate_limit::address_key;

/// Wrong PINs a room tolerates within [`WINDOW`] before it locks PIN entry.
pub const FAILURES_BEFORE_LOCK: u32 = 10;
/// The window wrong PINs are counted in.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// The first lock-out; each next one within [`FORGIVE_AFTER`] doubles it.
pub const FIRST_LOCK: Duration = Duration::from_secs(60);
/// The longest lock-out.
pub const MAX_LOCK: Duration = Duration::from_secs(3600);
/// A room without wrong PINs for this long starts again from [`FIRST_LOCK`].
pub const FORGIVE_AFTER: Duration = Duration::from_secs(3600);

/// What one room has seen of wrong PINs.
#[derive(Clone, Copy)]
struct RoomFailures {
    window_start: Instant,
    in_window: u32,
    /// Lock-outs so far (decides the next pause).
    locks: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// Per-room wrong-PIN counters, keyed by the room key.
#[derive(Default)]
pub struct PinLockout {
    rooms: Mutex<HashMap<String, RoomFailures>>,
}

impl PinLockout {
    /// Seconds until the room accepts PINs again, or `None` when it accepts them now.
    pub fn locked_for(&self, room: &str, now: Instant) -> Option<u64> {
        let rooms = self.rooms.lock().ok()?;
        let until = rooms.get(room)?.locked_until?;
        (until > now).then(|| until.duration_since(now).as_secs().max(1))
    }

    /// Counts one wrong PIN; answers the lock-out's length in seconds when this one starts it.
    pub fn record_failure(&self, room: &str, now: Instant) -> Option<u64> {
        let mut rooms = self.rooms.lock().ok()?;
        let entry = rooms.entry(room.to_string()).or_insert(RoomFailures {
            window_start: now,
            in_window: 0,
            locks: 0,
            locked_until: None,
            last_failure: now,
        });
        if now.duration_since(entry.last_failure) >= FORGIVE_AFTER {
            entry.locks = 0;
        }
        if now.duration_since(entry.window_start) >= WINDOW {
            entry.window_start = now;
            entry.in_window = 0;
        }
        entry.last_failure = now;
        entry.in_window += 1;
        if entry.in_window < FAILURES_BEFORE_LOCK {
            return None;
        }
        let pause = FIRST_LOCK
            .saturating_mul(1 << entry.locks.min(16))
            .min(MAX_LOCK);
        entry.locks += 1;
        entry.in_window = 0;
        entry.window_start = now;
        entry.locked_until = Some(now + pause);
        Some(pause.as_secs())
    }

    /// Drops rooms whose counters no longer matter, so memory stays bounded.
    pub fn forget_idle(&self, now: Instant) {
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.retain(|_, r| now.duration_since(r.last_failure) < FORGIVE_AFTER);
        }
    }
}

/// The refusal to send instead of checking a PIN while the room's PIN entry is locked.
pub(super) fn refusal_while_locked(media: &Media, access: &RoomAccess) -> Option<ServerMessage> {
    let secs = media
        .pin_lockout
        .locked_for(access.room_key.as_str(), Instant::now())?;
    Some(ServerMessage::error(
        "pin_locked",
        format!("Too many wrong PINs for this meeting; try again in {secs} seconds"),
    ))
}

/// Counts a wrong PIN or moderator credential against the client's address and the room.
pub(super) fn count_wrong_pin(media: &Media, access: &RoomAccess, client: IpAddr) {
    let _ = media.attempts.check_key(&address_key(client));
    if let Some(secs) = media
        .pin_lockout
        .record_failure(access.room_key.as_str(), Instant::now())
    {
        tracing::warn!(
            room = %access.room_key,
            %client,
            secs,
            "too many wrong PINs: PIN entry locked for this room"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_budget_and_doubles_the_pause() {
        let lockout = PinLockout::default();
        let t0 = Instant::now();
        for n in 1..FAILURES_BEFORE_LOCK {
            assert_eq!(lockout.record_failure("1:123", t0), None, "failure {n}");
            assert_eq!(lockout.locked_for("1:123", t0), None);
        }
        assert_eq!(lockout.record_failure("1:123", t0), Some(60));
        assert_eq!(lockout.locked_for("1:123", t0), Some(60));
        assert_eq!(
            lockout.locked_for("1:999", t0),
            None,
            "other rooms unaffected"
        );

        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(lockout.locked_for("1:123", t1), None, "the pause ends");
        for _ in 1..FAILURES_BEFORE_LOCK {
            lockout.record_failure("1:123", t1);
        }
        assert_eq!(lockout.record_failure("1:123", t1), Some(120), "doubled");

        // An hour without failures forgives the history.
        let t2 = t1 + FORGIVE_AFTER;
        for _ in 1..FAILURES_BEFORE_LOCK {
            lockout.record_failure("1:123", t2);
        }
        assert_eq!(lockout.record_failure("1:123", t2), Some(60));
        lockout.forget_idle(t2 + FORGIVE_AFTER);
        assert_eq!(lockout.locked_for("1:123", t2), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let lockout = PinLockout::default();
        let t0 = Instant::now();
        for n in 0..FAILURES_BEFORE_LOCK * 3 {
            let at = t0 + WINDOW * n / (FAILURES_BEFORE_LOCK - 1);
            assert_eq!(lockout.record_failure("r", at), None);
        }
    }
}

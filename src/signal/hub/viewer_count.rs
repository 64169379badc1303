//! When to tell a room its viewer count. Every arrival or departure of a viewer changes the count,
//! and every change would go to everyone in the room, so a burst of N viewers would cost N²
//! messages. A room is told at most once per [`INTERVAL`]: at once when the last count is older,
//! otherwise once at the end of the interval with the count of that moment, so the final count is
//! always delivered.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use tokio::time::Instant;

/// Shortest time between two counts sent to a room.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// What to do about a changed count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the count now.
    Now,
    /// Send the count of that moment at this instant (the caller schedules it).
    At(Instant),
    /// A send is already scheduled and will carry this change.
    Scheduled,
}

#[derive(Debug, Clone, Copy)]
struct Clock {
    last_sent: Instant,
    scheduled: bool,
}

/// Per-room send times of viewer counts.
#[derive(Default)]
pub struct ViewerCounts {
    rooms: Mutex<HashMap<String, Clock>>,
}

impl ViewerCounts {
    fn rooms(&self) -> MutexGuard<'_, HashMap<String, Clock>> {
        // Single inserts and field updates only: a poisoned map is still consistent.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a change of the room's count at `now`.
    pub fn changed(&self, room: &str, now: Instant) -> Decision {
        let mut rooms = self.rooms();
        // Rooms whose last send is older than the interval behave as if never sent: forget them.
        rooms.retain(|_, c| c.scheduled || now.duration_since(c.last_sent) < INTERVAL);
        match rooms.get_mut(room) {
            None => {
                let clock = Clock {
                    last_sent: now,
                    scheduled: false,
                };
                rooms.insert(room.to_string(), clock);
                Decision::Now
            }
            Some(clock) if clock.scheduled => Decision::Scheduled,
            Some(clock) => {
                clock.scheduled = true;
                Decision::At(clock.last_sent + INTERVAL)
            }
        }
    }

    /// Records the scheduled send happening at `now`; later changes schedule a new one.
    pub fn sent(&self, room: &str, now: Instant) {
        let clock = Clock {
            last_sent: now,
            scheduled: false,
        };
        self.rooms().insert(room.to_string(), clock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_count_per_interval_and_always_a_trailing_one() {
        let counts = ViewerCounts::default();
        let start = Instant::now();
        assert_eq!(counts.changed("r", start), Decision::Now);
        assert_eq!(counts.changed("other", start), Decision::Now);
        let later = start + INTERVAL;
        assert_eq!(
            counts.changed("r", start + Duration::from_millis(10)),
            Decision::At(later)
        );
        assert_eq!(
            counts.changed("r", start + Duration::from_millis(20)),
            Decision::Scheduled
        );
        counts.sent("r", later);
        // A change right after the trailing send waits for the next interval ...
        assert_eq!(
            counts.changed("r", later + Duration::from_millis(1)),
            Decision::At(later + INTERVAL)
        );
        counts.sent("r", later + INTERVAL);
        // ... and one after a quiet interval goes out at once.
        assert_eq!(counts.changed("r", later + 3 * INTERVAL), Decision::Now);
    }
}

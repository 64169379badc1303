//! Live stream viewers of each room: hidden, receive-only connections. They are kept apart from
//! the room's members so that they never appear in participant lists, never open or keep a
//! meeting session, and never count as occupants.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use super::{
    mailbox::{Farewell, Mailbox},
    messages::ServerMessage,
};
use crate::sfu::PeerId;

/// The room already has as many viewers as allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudienceFull {
    pub max: usize,
}

/// Viewers per room key.
pub struct Audience {
    max: usize,
    // A plain mutex: nothing awaits while it is held.
    rooms: Mutex<HashMap<String, HashMap<PeerId, Mailbox>>>,
}

impl Audience {
    /// An empty audience admitting at most `max` viewers per room.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<String, HashMap<PeerId, Mailbox>>> {
        // A panic while holding the lock leaves the map consistent (every change is one insert
        // or remove), so a poisoned lock is still usable.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a viewer; returns the new count.
    pub fn add(&self, room: &str, peer: PeerId, mailbox: Mailbox) -> Result<usize, AudienceFull> {
        let mut rooms = self.rooms();
        let viewers = rooms.entry(room.to_string()).or_default();
        if viewers.len() >= self.max {
            return Err(AudienceFull { max: self.max });
        }
        viewers.insert(peer, mailbox);
        Ok(viewers.len())
    }

    /// Removes a viewer; returns the new count, or `None` when it was not there.
    pub fn remove(&self, room: &str, peer: PeerId) -> Option<usize> {
        let mut rooms = self.rooms();
        let viewers = rooms.get_mut(room)?;
        viewers.remove(&peer)?;
        let count = viewers.len();
        if count == 0 {
            rooms.remove(room);
        }
        Some(count)
    }

    /// Viewers watching a room now.
    pub fn count(&self, room: &str) -> usize {
        self.rooms().get(room).map_or(0, HashMap::len)
    }

    /// Queues the same message for every viewer of a room (except `except`); a viewer whose
    /// queue is full is told to go.
    pub fn tell_all(&self, room: &str, message: &ServerMessage, except: Option<PeerId>) {
        if let Some(viewers) = self.rooms().get_mut(room) {
            for (id, mailbox) in viewers {
                if Some(*id) != except {
                    mailbox.post(message.clone());
                }
            }
        }
    }

    /// Tells every viewer of a room to go; each session then removes itself.
    pub fn dismiss_all(&self, room: &str, farewell: impl Fn() -> Farewell) {
        if let Some(viewers) = self.rooms().get_mut(room) {
            for mailbox in viewers.values_mut() {
                mailbox.dismiss(farewell());
            }
        }
    }

    /// Tells every viewer of a room (except `except`) how many viewers there are; returns the
    /// count. Counted and sent under one lock, so concurrent calls deliver counts in order.
    pub fn tell_count(&self, room: &str, except: Option<PeerId>) -> usize {
        let mut rooms = self.rooms();
        let Some(viewers) = rooms.get_mut(room) else {
            return 0;
        };
        let message = ServerMessage::Viewers {
            count: viewers.len(),
        };
        for (id, mailbox) in viewers.iter_mut() {
            if Some(*id) != except {
                mailbox.post(message.clone());
            }
        }
        viewers.len()
    }

    /// Sends a message to every viewer of a room.
    pub fn send(&self, room: &str, message: &ServerMessage) {
        self.tell_all(room, message, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::mailbox::channel;

    #[test]
    fn caps_counts_and_forgets_rooms() {
        let audience = Audience::new(2);
        let (first, mut first_inbox) = channel();
        let (second, mut second_inbox) = channel();
        assert_eq!(audience.add("r", PeerId(1), first), Ok(1));
        assert_eq!(audience.add("r", PeerId(2), second), Ok(2));
        assert_eq!(
            audience.add("r", PeerId(3), channel().0),
            Err(AudienceFull { max: 2 })
        );
        assert_eq!(audience.add("other", PeerId(4), channel().0), Ok(1));
        audience.send("r", &ServerMessage::Viewers { count: 2 });
        assert!(first_inbox.messages.try_recv().is_ok());
        assert!(second_inbox.messages.try_recv().is_ok());
        assert!(first_inbox.messages.try_recv().is_err());
        assert_eq!(audience.remove("r", PeerId(1)), Some(1));
        assert_eq!(audience.remove("r", PeerId(1)), None);
        assert_eq!(audience.remove("r", PeerId(2)), Some(0));
        assert_eq!(audience.count("r"), 0);
    }
}

//! Live stream viewers of each room: hidden, receive-only connections. They are kept apart from
//! the room's members so that they never appear in participant lists, never open or keep a
//! meeting session, and never count as occupants.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use tokio::sync::mpsc;

use super::{hub::Outbound, messages::ServerMessage};
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
    rooms: Mutex<HashMap<String, HashMap<PeerId, mpsc::UnboundedSender<Outbound>>>>,
}

impl Audience {
    /// An empty audience admitting at most `max` viewers per room.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    fn rooms(
        &self,
    ) -> MutexGuard<'_, HashMap<String, HashMap<PeerId, mpsc::UnboundedSender<Outbound>>>> {
        // A panic while holding the lock leaves the map consistent (every change is one insert
        // or remove), so a poisoned lock is still usable.
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a viewer; returns the new count.
    pub fn add(
        &self,
        room: &str,
        peer: PeerId,
        tx: mpsc::UnboundedSender<Outbound>,
    ) -> Result<usize, AudienceFull> {
        let mut rooms = self.rooms();
        let viewers = rooms.entry(room.to_string()).or_default();
        if viewers.len() >= self.max {
            return Err(AudienceFull { max: self.max });
        }
        viewers.insert(peer, tx);
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

    /// Gives every viewer of a room the same order (except `except`).
    pub fn tell_all(&self, room: &str, order: &Outbound, except: Option<PeerId>) {
        if let Some(viewers) = self.rooms().get(room) {
            for (id, tx) in viewers {
                if Some(*id) != except {
                    let _ = tx.send(order.clone());
                }
            }
        }
    }

    /// Tells every viewer of a room (except `except`) how many viewers there are; returns the
    /// count. Counted and sent under one lock, so concurrent calls deliver counts in order.
    pub fn tell_count(&self, room: &str, except: Option<PeerId>) -> usize {
        let rooms = self.rooms();
        let Some(viewers) = rooms.get(room) else {
            return 0;
        };
        let order = Outbound::Send(ServerMessage::Viewers {
            count: viewers.len(),
        });
        for (id, tx) in viewers {
            if Some(*id) != except {
                let _ = tx.send(order.clone());
            }
        }
        viewers.len()
    }

    /// Sends a message to every viewer of a room.
    pub fn send(&self, room: &str, message: &ServerMessage) {
        self.tell_all(room, &Outbound::Send(message.clone()), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_counts_and_forgets_rooms() {
        let audience = Audience::new(2);
        let (tx, mut rx) = mpsc::unbounded_channel();
        assert_eq!(audience.add("r", 1, tx.clone()), Ok(1));
        assert_eq!(audience.add("r", 2, tx.clone()), Ok(2));
        assert_eq!(
            audience.add("r", 3, tx.clone()),
            Err(AudienceFull { max: 2 })
        );
        assert_eq!(audience.add("other", 4, tx), Ok(1));
        audience.send("r", &ServerMessage::Viewers { count: 2 });
        assert!(rx.try_recv().is_ok() && rx.try_recv().is_ok() && rx.try_recv().is_err());
        assert_eq!(audience.remove("r", 1), Some(1));
        assert_eq!(audience.remove("r", 1), None);
        assert_eq!(audience.remove("r", 2), Some(0));
        assert_eq!(audience.count("r"), 0);
    }
}

//! One room of the hub and the map that finds it.
//!
//! Locks, always taken in this order and never skipped backwards: a room's `order` lock (async,
//! held across the database writes of a join or leave), the map (held only to find, create or
//! retire an entry), a room's `state` (members and flags), the audience. Only `order` is ever
//! held across an `.await`, so a slow write delays that one room's joins and leaves and nothing
//! else.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::{
    sfu::PeerId,
    signal::{
        chat_limit::TokenBucket,
        mailbox::Mailbox,
        messages::{ParticipantView, ServerMessage},
    },
};

pub(super) struct Member {
    pub view: ParticipantView,
    pub mailbox: Mailbox,
    pub occupant_id: i64,
    pub moderator: bool,
}

/// What is known about a room now.
#[derive(Default)]
pub(super) struct RoomState {
    /// The open meeting session; `None` until the first join has recorded one.
    pub session_id: Option<i64>,
    pub members: HashMap<PeerId, Member>,
    pub locked: bool,
    /// The room's chat allowance, all participants together; made by the first message.
    pub chat: Option<TokenBucket>,
    /// Taken out of the map: whoever still holds this cell must look the room up again.
    pub retired: bool,
}

impl RoomState {
    /// Queues a message for every member except `except`. A member whose queue is full is
    /// told to go (see mailbox.rs); its session then leaves as `connection_lost`.
    pub fn tell_members(&mut self, message: &ServerMessage, except: Option<PeerId>) {
        for (id, member) in &mut self.members {
            if Some(*id) != except {
                member.mailbox.post(message.clone());
            }
        }
    }

    /// Members as the others see them; those already told to go are left out.
    pub fn visible_members(&self) -> Vec<ParticipantView> {
        self.members
            .values()
            .filter(|m| m.mailbox.is_open())
            .map(|m| m.view.clone())
            .collect()
    }
}

/// A room entry.
#[derive(Default)]
pub(super) struct RoomCell {
    /// Orders joins and leaves (and their database writes) within the room.
    order: Arc<AsyncMutex<()>>,
    state: Mutex<RoomState>,
}

impl RoomCell {
    pub fn state(&self) -> MutexGuard<'_, RoomState> {
        // Every change under this lock is a single field update or map insert/remove, so a
        // panic elsewhere cannot leave it half-done: a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Rooms by key.
#[derive(Default)]
pub(super) struct Rooms {
    map: Mutex<HashMap<String, Arc<RoomCell>>>,
}

impl Rooms {
    pub fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<RoomCell>>> {
        // As above: single inserts and removes only.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The room's entry, if it has one.
    pub fn get(&self, room: &str) -> Option<Arc<RoomCell>> {
        self.map().get(room).cloned()
    }

    /// The room's entry with its `order` lock held, creating the entry when there is none. A cell
    /// retired while we waited for its lock is dropped and the room looked up again, so a join
    /// never lands in a room that has already been closed.
    pub async fn enter(&self, room: &str) -> (Arc<RoomCell>, OwnedMutexGuard<()>) {
        loop {
            let cell = self.map().entry(room.to_string()).or_default().clone();
            let order = cell.order.clone().lock_owned().await;
            if !cell.state().retired {
                return (cell, order);
            }
        }
    }

    /// The room's existing entry with its `order` lock held; `None` when the room has none.
    pub async fn enter_existing(&self, room: &str) -> Option<(Arc<RoomCell>, OwnedMutexGuard<()>)> {
        loop {
            let cell = self.get(room)?;
            let order = cell.order.clone().lock_owned().await;
            if !cell.state().retired {
                return Some((cell, order));
            }
        }
    }

    /// Takes the room out of the map if it has neither members nor an open session. Called with
    /// the room's `order` lock held, so no join of this cell is half-way through.
    pub fn retire_if_idle(&self, room: &str, cell: &Arc<RoomCell>) {
        let mut map = self.map();
        let mut state = cell.state();
        if state.retired || !state.members.is_empty() || state.session_id.is_some() {
            return;
        }
        state.retired = true;
        if map.get(room).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            map.remove(room);
        }
    }
}

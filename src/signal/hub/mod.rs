//! Room membership as the signalling layer sees it: who is in which room, fan-out of room
//! events, and the meeting-session record in the database.
//!
//! Each room has its own locks (see room.rs): a join or leave holds only its room's `order` lock
//! while it writes to the database, so a slow write never holds up another room.

mod room;
mod viewer_count;
mod viewers;

use std::sync::Arc;

use self::{
    room::{Member, RoomCell, Rooms},
    viewer_count::ViewerCounts,
};
use super::{
    audience::Audience,
    chat_limit::{ROOM_CHAT, TokenBucket},
    mailbox::{Farewell, Mailbox},
    messages::{ParticipantView, ServerMessage},
};
use crate::{
    room::RoomRecord,
    sfu::PeerId,
    store::{self, Db, meetings::NewSession},
};

/// All rooms with someone in them.
pub struct Hub {
    db: Db,
    rooms: Arc<Rooms>,
    /// Live stream viewers; changed only while the map and the room's state are locked, so a
    /// viewer sees every participant event after the participant list it was given.
    pub audience: Arc<Audience>,
    viewer_counts: Arc<ViewerCounts>,
}

impl Hub {
    /// An empty hub admitting `max_viewers` live stream viewers per room.
    pub fn new(db: Db, max_viewers: usize) -> Self {
        Self {
            db,
            rooms: Arc::default(),
            audience: Arc::new(Audience::new(max_viewers)),
            viewer_counts: Arc::default(),
        }
    }

    /// Adds a participant, opening the meeting session if the room was empty; returns the others.
    ///
    /// Joins of one room run one at a time: the first opens the session, the next is admitted
    /// only once the previous one's rows are written.
    pub async fn join(
        &self,
        room: &str,
        record: &RoomRecord,
        peer: PeerId,
        view: ParticipantView,
        moderator: bool,
        mailbox: Mailbox,
    ) -> sqlx::Result<Vec<ParticipantView>> {
        let (cell, _order) = self.rooms.enter(room).await;
        let open = cell.state().session_id;
        let session_id = match open {
            Some(id) => id,
            None => {
                let new = NewSession {
                    reseller_id: record.reseller_id,
                    company_id: record.company_id,
                    host_id: record.host_id,
                    conference_id: record.conference_id,
                    access_code: &record.access_code,
                };
                match store::meetings::start_session(&self.db, &new).await {
                    Ok(id) => {
                        cell.state().session_id = Some(id);
                        id
                    }
                    Err(err) => {
                        self.rooms.retire_if_idle(room, &cell);
                        return Err(err);
                    }
                }
            }
        };
        let occupant = store::meetings::add_occupant(
            &self.db,
            session_id,
            &view.participant_id,
            &view.name,
            view.role,
            record.host_id.filter(|_| moderator),
        )
        .await;
        let occupant_id = match occupant {
            Ok(id) => id,
            Err(err) => {
                // A session nobody got into is closed again rather than left open.
                self.close_if_empty(room, &cell).await;
                return Err(err);
            }
        };
        let mut state = cell.state();
        let others = state.visible_members();
        let announcement = ServerMessage::ParticipantJoined {
            participant: view.clone(),
        };
        state.tell_members(&announcement, None);
        self.audience.send(room, &announcement);
        let member = Member {
            view,
            mailbox,
            occupant_id,
            moderator,
        };
        state.members.insert(peer, member);
        Ok(others)
    }

    /// Removes a participant; the last one out ends the meeting session.
    pub async fn leave(&self, room: &str, peer: PeerId, reason: &'static str) {
        let Some((cell, _order)) = self.rooms.enter_existing(room).await else {
            return;
        };
        let Some(member) = cell.state().members.remove(&peer) else {
            return;
        };
        self.record_departure(room, &cell, &member, reason).await;
    }

    /// Takes a participant out of the room at once (a moderator's `remove_participant`): it is
    /// recorded as left and the others are told now, whatever its connection is doing; its
    /// session gets `farewell` ahead of anything queued. False when it was not in the room.
    pub async fn remove(&self, room: &str, peer: PeerId, farewell: ServerMessage) -> bool {
        let Some((cell, _order)) = self.rooms.enter_existing(room).await else {
            return false;
        };
        let Some(mut member) = cell.state().members.remove(&peer) else {
            return false;
        };
        member.mailbox.dismiss(Farewell::Close(farewell));
        self.record_departure(room, &cell, &member, "removed").await;
        true
    }

    /// Records that `member` (already out of the member map) left, tells the others, and ends
    /// the session if it was the last one. Called with the room's `order` lock held.
    async fn record_departure(
        &self,
        room: &str,
        cell: &Arc<RoomCell>,
        member: &Member,
        reason: &'static str,
    ) {
        if let Err(err) = store::meetings::occupant_left(&self.db, member.occupant_id).await {
            tracing::warn!(%err, "cannot record leave");
        }
        let announcement = ServerMessage::ParticipantLeft {
            participant_id: member.view.participant_id.clone(),
            reason,
        };
        cell.state().tell_members(&announcement, None);
        self.audience.send(room, &announcement);
        self.close_if_empty(room, cell).await;
    }

    /// Ends the session of a room nobody is in and retires the room. Called with the room's
    /// `order` lock held: no join can slip in between the emptiness check and the retirement,
    /// and a join waiting for the lock finds the room retired and opens a new one.
    async fn close_if_empty(&self, room: &str, cell: &Arc<RoomCell>) {
        let session = {
            let state = cell.state();
            state
                .members
                .is_empty()
                .then_some(state.session_id)
                .flatten()
        };
        if let Some(session_id) = session {
            if let Err(err) = store::meetings::end_session(&self.db, session_id).await {
                tracing::warn!(%err, "cannot record session end");
            }
            cell.state().session_id = None;
        }
        self.rooms.retire_if_idle(room, cell);
    }

    /// Runs `f` on the room's state, if the room exists.
    fn with_state<R>(&self, room: &str, f: impl FnOnce(&mut room::RoomState) -> R) -> Option<R> {
        let cell = self.rooms.get(room)?;
        let mut state = cell.state();
        Some(f(&mut state))
    }

    /// Sends a message to everyone in the room except `except`.
    pub async fn broadcast(&self, room: &str, message: ServerMessage, except: Option<PeerId>) {
        self.with_state(room, |s| s.tell_members(&message, except));
    }

    /// Updates a participant's visible state and tells the others.
    pub async fn update(
        &self,
        room: &str,
        peer: PeerId,
        change: impl FnOnce(&mut ParticipantView),
    ) {
        self.with_state(room, |state| {
            let Some(member) = state.members.get_mut(&peer) else {
                return;
            };
            change(&mut member.view);
            let message = ServerMessage::ParticipantUpdated {
                participant: member.view.clone(),
            };
            state.tell_members(&message, Some(peer));
            self.audience.send(room, &message);
        });
    }

    /// Queues a message for one participant; false when it is not in the room (or not served).
    pub async fn tell(&self, room: &str, peer: PeerId, message: ServerMessage) -> bool {
        self.with_state(room, |s| {
            s.members.get_mut(&peer).map(|m| m.mailbox.post(message))
        })
        .flatten()
        .unwrap_or(false)
    }

    /// Whether a participant joined as moderator.
    pub async fn is_moderator(&self, room: &str, peer: PeerId) -> bool {
        self.with_state(room, |s| s.members.get(&peer).is_some_and(|m| m.moderator))
            .unwrap_or(false)
    }

    /// Ends the meeting: every participant is taken out and recorded as left at once, whatever
    /// its connection is doing, and gets `ended` ahead of anything queued; viewers get `ended`
    /// too. A join being written meanwhile is let in first and ended with the others; a join
    /// after this opens a new meeting session.
    pub async fn end(&self, room: &str) {
        self.audience
            .dismiss_all(room, || Farewell::Close(ServerMessage::Ended {}));
        let Some((cell, _order)) = self.rooms.enter_existing(room).await else {
            return;
        };
        let mut members: Vec<Member> = cell.state().members.drain().map(|(_, m)| m).collect();
        for member in &mut members {
            member
                .mailbox
                .dismiss(Farewell::Close(ServerMessage::Ended {}));
        }
        for member in &members {
            if let Err(err) = store::meetings::occupant_left(&self.db, member.occupant_id).await {
                tracing::warn!(%err, "cannot record leave");
            }
        }
        self.close_if_empty(room, &cell).await;
    }

    /// Number of participants in a room (0 when nobody is there).
    pub async fn occupancy(&self, room: &str) -> usize {
        self.with_state(room, |s| s.members.len()).unwrap_or(0)
    }

    /// Whether the room is locked (only moderators may join).
    pub async fn is_locked(&self, room: &str) -> bool {
        self.with_state(room, |s| s.locked).unwrap_or(false)
    }

    /// Locks or unlocks a room and tells everyone.
    pub async fn set_locked(&self, room: &str, locked: bool) {
        self.with_state(room, |s| {
            s.locked = locked;
            s.tell_members(&ServerMessage::RoomLocked { locked }, None);
        });
    }

    /// Participants who joined as guests.
    pub async fn guests(&self, room: &str) -> Vec<PeerId> {
        self.with_state(room, |s| {
            s.members
                .iter()
                .filter(|(_, m)| !m.moderator && m.mailbox.is_open())
                .map(|(id, _)| *id)
                .collect()
        })
        .unwrap_or_default()
    }

    /// Takes one message from the room's chat allowance (all participants together); false
    /// when the room is over its rate (see chat_limit.rs) or gone.
    pub fn allow_room_chat(&self, room: &str) -> bool {
        let now = tokio::time::Instant::now();
        self.with_state(room, |s| {
            s.chat
                .get_or_insert_with(|| TokenBucket::new(ROOM_CHAT, now))
                .try_take(now)
        })
        .unwrap_or(false)
    }

    /// Stores a chat message with the room's meeting session.
    pub async fn record_chat(&self, room: &str, participant_key: &str, name: &str, text: &str) {
        // No lock is held across the write: chat never waits for a join.
        let session = self.with_state(room, |s| s.session_id).flatten();
        if let Some(session_id) = session
            && let Err(err) =
                store::meetings::add_chat_message(&self.db, session_id, participant_key, name, text)
                    .await
        {
            tracing::warn!(%err, "cannot store chat message");
        }
    }

    /// Whether a participant is in a room.
    pub async fn contains(&self, room: &str, peer: PeerId) -> bool {
        self.with_state(room, |s| s.members.contains_key(&peer))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests;

//! Room membership as the signalling layer sees it: who is in which room, fan-out of room
//! events, and the meeting-session record in the database.

use std::collections::HashMap;

use tokio::sync::{Mutex, mpsc};

use super::{
    audience::{Audience, AudienceFull},
    messages::{ParticipantView, ServerMessage},
};
use crate::{
    sfu::PeerId,
    store::{self, Db, meetings::NewSession},
};

/// What a session task is told to do.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Send this message.
    Send(ServerMessage),
    /// Send this message, then leave and close.
    Close(ServerMessage),
}

/// Identity of a room in the database.
#[derive(Debug, Clone)]
pub struct RoomRecord {
    pub reseller_id: i64,
    pub company_id: i64,
    pub host_id: Option<i64>,
    pub conference_id: Option<i64>,
    pub access_code: String,
}

struct Member {
    view: ParticipantView,
    tx: mpsc::UnboundedSender<Outbound>,
    occupant_id: i64,
    moderator: bool,
}

struct HubRoom {
    session_id: i64,
    members: HashMap<PeerId, Member>,
    locked: bool,
}

/// All rooms with someone in them.
pub struct Hub {
    db: Db,
    rooms: Mutex<HashMap<String, HubRoom>>,
    /// Live stream viewers; changed only while `rooms` is locked, so a viewer sees every
    /// participant event after the participant list it was given.
    pub audience: Audience,
}

impl Hub {
    /// An empty hub admitting `max_viewers` live stream viewers per room.
    pub fn new(db: Db, max_viewers: usize) -> Self {
        Self {
            db,
            rooms: Mutex::new(HashMap::new()),
            audience: Audience::new(max_viewers),
        }
    }

    /// Adds a participant, opening the meeting session if the room was empty; returns the others.
    pub async fn join(
        &self,
        room: &str,
        record: &RoomRecord,
        peer: PeerId,
        view: ParticipantView,
        moderator: bool,
        tx: mpsc::UnboundedSender<Outbound>,
    ) -> sqlx::Result<Vec<ParticipantView>> {
        let mut rooms = self.rooms.lock().await;
        if !rooms.contains_key(room) {
            let session_id = store::meetings::start_session(
                &self.db,
                &NewSession {
                    reseller_id: record.reseller_id,
                    company_id: record.company_id,
                    host_id: record.host_id,
                    conference_id: record.conference_id,
                    access_code: &record.access_code,
                },
            )
            .await?;
            rooms.insert(
                room.to_string(),
                HubRoom {
                    session_id,
                    members: HashMap::new(),
                    locked: false,
                },
            );
        }
        let Some(hub_room) = rooms.get_mut(room) else {
            return Ok(Vec::new());
        };
        let occupant_id = store::meetings::add_occupant(
            &self.db,
            hub_room.session_id,
            &view.participant_id,
            &view.name,
            view.role,
            record.host_id.filter(|_| moderator),
        )
        .await?;
        let others: Vec<ParticipantView> =
            hub_room.members.values().map(|m| m.view.clone()).collect();
        let announcement = ServerMessage::ParticipantJoined {
            participant: view.clone(),
        };
        for member in hub_room.members.values() {
            let _ = member.tx.send(Outbound::Send(announcement.clone()));
        }
        self.audience.send(room, &announcement);
        hub_room.members.insert(
            peer,
            Member {
                view,
                tx,
                occupant_id,
                moderator,
            },
        );
        Ok(others)
    }

    /// Removes a participant; the last one out ends the meeting session.
    pub async fn leave(&self, room: &str, peer: PeerId, reason: &'static str) {
        let mut rooms = self.rooms.lock().await;
        let Some(hub_room) = rooms.get_mut(room) else {
            return;
        };
        let Some(member) = hub_room.members.remove(&peer) else {
            return;
        };
        if let Err(err) = store::meetings::occupant_left(&self.db, member.occupant_id).await {
            tracing::warn!(%err, "cannot record leave");
        }
        let announcement = ServerMessage::ParticipantLeft {
            participant_id: member.view.participant_id.clone(),
            reason,
        };
        for other in hub_room.members.values() {
            let _ = other.tx.send(Outbound::Send(announcement.clone()));
        }
        self.audience.send(room, &announcement);
        if hub_room.members.is_empty() {
            if let Err(err) = store::meetings::end_session(&self.db, hub_room.session_id).await {
                tracing::warn!(%err, "cannot record session end");
            }
            rooms.remove(room);
        }
    }

    /// Sends a message to everyone in the room except `except`.
    pub async fn broadcast(&self, room: &str, message: ServerMessage, except: Option<PeerId>) {
        let rooms = self.rooms.lock().await;
        if let Some(hub_room) = rooms.get(room) {
            for (id, member) in &hub_room.members {
                if Some(*id) != except {
                    let _ = member.tx.send(Outbound::Send(message.clone()));
                }
            }
        }
    }

    /// Updates a participant's visible state and tells the others.
    pub async fn update(
        &self,
        room: &str,
        peer: PeerId,
        change: impl FnOnce(&mut ParticipantView),
    ) {
        let mut rooms = self.rooms.lock().await;
        let Some(hub_room) = rooms.get_mut(room) else {
            return;
        };
        let Some(member) = hub_room.members.get_mut(&peer) else {
            return;
        };
        change(&mut member.view);
        let message = ServerMessage::ParticipantUpdated {
            participant: member.view.clone(),
        };
        for (id, other) in &hub_room.members {
            if *id != peer {
                let _ = other.tx.send(Outbound::Send(message.clone()));
            }
        }
        self.audience.send(room, &message);
    }

    /// Delivers an order to one participant; false when it is not in the room.
    pub async fn tell(&self, room: &str, peer: PeerId, order: Outbound) -> bool {
        let rooms = self.rooms.lock().await;
        rooms
            .get(room)
            .and_then(|r| r.members.get(&peer))
            .map(|m| m.tx.send(order).is_ok())
            .unwrap_or(false)
    }

    /// Whether a participant joined as moderator.
    pub async fn is_moderator(&self, room: &str, peer: PeerId) -> bool {
        let rooms = self.rooms.lock().await;
        rooms
            .get(room)
            .and_then(|r| r.members.get(&peer))
            .is_some_and(|m| m.moderator)
    }

    /// Tells everyone the meeting ended, viewers included; each session then leaves by itself.
    pub async fn end(&self, room: &str) {
        let rooms = self.rooms.lock().await;
        let order = Outbound::Close(ServerMessage::Ended {});
        if let Some(hub_room) = rooms.get(room) {
            for member in hub_room.members.values() {
                let _ = member.tx.send(order.clone());
            }
        }
        self.audience.tell_all(room, &order, None);
    }

    /// Adds a live stream viewer; returns the participants it can see and the viewer count.
    pub async fn add_viewer(
        &self,
        room: &str,
        peer: PeerId,
        tx: mpsc::UnboundedSender<Outbound>,
    ) -> Result<(Vec<ParticipantView>, usize), AudienceFull> {
        let rooms = self.rooms.lock().await;
        let count = self.audience.add(room, peer, tx)?;
        let participants = rooms
            .get(room)
            .map(|r| r.members.values().map(|m| m.view.clone()).collect())
            .unwrap_or_default();
        Self::announce_viewers(&rooms, &self.audience, room, count, Some(peer));
        Ok((participants, count))
    }

    /// Removes a live stream viewer and tells the room the new count.
    pub async fn remove_viewer(&self, room: &str, peer: PeerId) {
        let rooms = self.rooms.lock().await;
        if let Some(count) = self.audience.remove(room, peer) {
            Self::announce_viewers(&rooms, &self.audience, room, count, None);
        }
    }

    fn announce_viewers(
        rooms: &HashMap<String, HubRoom>,
        audience: &Audience,
        room: &str,
        count: usize,
        except: Option<PeerId>,
    ) {
        let order = Outbound::Send(ServerMessage::Viewers { count });
        if let Some(hub_room) = rooms.get(room) {
            for member in hub_room.members.values() {
                let _ = member.tx.send(order.clone());
            }
        }
        audience.tell_all(room, &order, except);
    }

    /// Number of participants in a room (0 when nobody is there).
    pub async fn occupancy(&self, room: &str) -> usize {
        self.rooms
            .lock()
            .await
            .get(room)
            .map_or(0, |r| r.members.len())
    }

    /// Whether the room is locked (only moderators may join).
    pub async fn is_locked(&self, room: &str) -> bool {
        self.rooms.lock().await.get(room).is_some_and(|r| r.locked)
    }

    /// Locks or unlocks a room and tells everyone.
    pub async fn set_locked(&self, room: &str, locked: bool) {
        let mut rooms = self.rooms.lock().await;
        if let Some(hub_room) = rooms.get_mut(room) {
            hub_room.locked = locked;
            for member in hub_room.members.values() {
                let _ = member
                    .tx
                    .send(Outbound::Send(ServerMessage::RoomLocked { locked }));
            }
        }
    }

    /// Participants who joined as guests.
    pub async fn guests(&self, room: &str) -> Vec<PeerId> {
        let rooms = self.rooms.lock().await;
        rooms
            .get(room)
            .map(|r| {
                r.members
                    .iter()
                    .filter(|(_, m)| !m.moderator)
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stores a chat message with the room's meeting session.
    pub async fn record_chat(&self, room: &str, participant_key: &str, name: &str, text: &str) {
        let session = self.rooms.lock().await.get(room).map(|r| r.session_id);
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
        self.rooms
            .lock()
            .await
            .get(room)
            .is_some_and(|r| r.members.contains_key(&peer))
    }
}

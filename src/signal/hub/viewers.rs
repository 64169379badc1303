//! Live stream viewers in the hub: admission with a consistent participant list, and the
//! coalesced viewer counts (see viewer_count.rs).

use std::sync::Arc;

use tokio::time::Instant;

use super::{
    Hub,
    room::Rooms,
    viewer_count::{Decision, ViewerCounts},
};
use crate::{
    sfu::PeerId,
    signal::{
        audience::{Audience, AudienceFull},
        mailbox::Mailbox,
        messages::{ParticipantView, ServerMessage},
    },
};

impl Hub {
    /// Adds a live stream viewer; returns the participants it can see and the viewer count.
    pub async fn add_viewer(
        &self,
        room: &str,
        peer: PeerId,
        mailbox: Mailbox,
    ) -> Result<(Vec<ParticipantView>, usize), AudienceFull> {
        // The map stays locked so that the room cannot be created or retired meanwhile: the
        // participant list and the viewer's place in the audience are taken at one moment.
        let map = self.rooms.map();
        let cell = map.get(room).cloned();
        let state = cell.as_ref().map(|c| c.state());
        let count = self.audience.add(room, peer, mailbox)?;
        let participants = state
            .as_ref()
            .map(|s| s.visible_members())
            .unwrap_or_default();
        drop(state);
        drop(map);
        self.count_changed(room, Some(peer));
        Ok((participants, count))
    }

    /// Removes a live stream viewer; the room learns the new count.
    pub async fn remove_viewer(&self, room: &str, peer: PeerId) {
        if self.audience.remove(room, peer).is_some() {
            self.count_changed(room, None);
        }
    }

    /// Sends the room its viewer count now, or schedules the send (see viewer_count.rs).
    /// `joined` has just been given the count in its `joined` message.
    fn count_changed(&self, room: &str, joined: Option<PeerId>) {
        match self.viewer_counts.changed(room, Instant::now()) {
            Decision::Now => announce(&self.rooms, &self.audience, room, joined),
            Decision::Scheduled => {}
            Decision::At(at) => {
                let rooms = self.rooms.clone();
                let audience = self.audience.clone();
                let counts = self.viewer_counts.clone();
                let room = room.to_string();
                tokio::spawn(trailing_count(rooms, audience, counts, room, at));
            }
        }
    }
}

/// The scheduled send: the count of the moment it runs, which covers every change since the
/// previous send.
async fn trailing_count(
    rooms: Arc<Rooms>,
    audience: Arc<Audience>,
    counts: Arc<ViewerCounts>,
    room: String,
    at: Instant,
) {
    tokio::time::sleep_until(at).await;
    counts.sent(&room, Instant::now());
    announce(&rooms, &audience, &room, None);
}

/// Tells the room's participants and viewers (except `except`) the current viewer count.
fn announce(rooms: &Rooms, audience: &Audience, room: &str, except: Option<PeerId>) {
    // The room's state stays locked from reading the count to telling the members, and the
    // viewers are told under the audience's lock: when two sends race, the later read is the
    // later message, so everyone ends on the latest count.
    let cell = rooms.get(room);
    let mut state = cell.as_ref().map(|c| c.state());
    let count = audience.tell_count(room, except);
    if let Some(state) = &mut state {
        state.tell_members(&ServerMessage::Viewers { count }, None);
    }
}

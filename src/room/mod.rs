//! What a room is, apart from how clients talk to it: which room an access code opens and what
//! joining it needs ([`access`]), and the moderation of a live room ([`moderation`]), written once
//! so that signalling, the API or a console can all call it.

pub mod access;
pub mod moderation;

pub use access::{RoomAccess, RoomRecord, resolve_room, room_id};

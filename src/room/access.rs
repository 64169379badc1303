//! Which room an access code opens on a tenant's domain, and what joining it needs.

use crate::{
    app::AppState,
    error::{AppError, AppResult},
    sfu::RoomId,
    store,
    tenancy::{Tenant, hosts::CODE_DIGITS, names},
};

use axum::http::StatusCode;

/// Identity of a room in the database.
#[derive(Debug, Clone)]
pub struct RoomRecord {
    pub reseller_id: i64,
    pub company_id: i64,
    pub host_id: Option<i64>,
    pub conference_id: Option<i64>,
    pub access_code: String,
}

/// Everything a session needs to know about the room it joins.
#[derive(Debug, Clone)]
pub struct RoomAccess {
    /// The room's one key, inside this process and the SFU: reseller and access code (access codes
    /// are unique per reseller).
    pub room_key: RoomId,
    pub record: RoomRecord,
    pub host_name: String,
    /// The page title: a conference's subject, else "Meeting with <host>".
    pub title: String,
    pub moderator_pin: String,
    pub security_pin: Option<String>,
    /// The room's host is signed in in this browser (`/auth`, `/login`, OpenID Connect): it joins
    /// as moderator without the PIN.
    pub signed_in_host: bool,
    /// `conversation` (everyone may speak), `presentation` (guests start muted) or `lecture`
    /// (guests stay muted unless a moderator speaks to them).
    pub mute_mode: String,
}

/// The key of the room with `access_code` in a reseller (codes are unique per reseller).
pub fn room_id(reseller_id: i64, access_code: &str) -> RoomId {
    RoomId::new(format!("{reseller_id}:{access_code}"))
}

/// Finds the room behind an access code on this tenant's domain: a host's personal room, or a
/// scheduled conference with its own one-time code (open from shortly before its start until its
/// end).
pub async fn resolve_room(state: &AppState, tenant: &Tenant, code: &str) -> AppResult<RoomAccess> {
    let code = names::digits("access_code", code, CODE_DIGITS.0, CODE_DIGITS.1)
        .map_err(|_| AppError::not_found("Meeting room"))?;
    let room_key = room_id(tenant.reseller_id, &code);
    if let Some((host_id, host_name, moderator_pin)) =
        store::meetings::host_room(&state.db, tenant.reseller_id, tenant.company_id, &code).await?
    {
        return Ok(RoomAccess {
            room_key,
            record: RoomRecord {
                reseller_id: tenant.reseller_id,
                company_id: tenant.company_id,
                host_id: Some(host_id),
                conference_id: None,
                access_code: code,
            },
            title: format!("Meeting with {host_name}"),
            host_name,
            moderator_pin,
            security_pin: None,
            signed_in_host: false,
            mute_mode: "conversation".into(),
        });
    }
    let conference =
        crate::scheduling::rooms::find_by_access_code(&state.db, tenant.reseller_id, &code)
            .await?
            .filter(|c| c.company_id == tenant.company_id)
            .ok_or_else(|| AppError::not_found("Meeting room"))?;
    let now = store::now();
    if now < conference.valid_from {
        let opens = crate::api::fields::timestamp(conference.valid_from);
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "not_open_yet",
            format!("This meeting opens at {opens}"),
        ));
    }
    if now >= conference.valid_until {
        return Err(AppError::new(
            StatusCode::GONE,
            "meeting_over",
            "This meeting is over",
        ));
    }
    let host = store::hosts::get(&state.db, tenant.reseller_id, conference.host_id)
        .await?
        .ok_or_else(|| AppError::not_found("Meeting room"))?;
    Ok(RoomAccess {
        room_key,
        record: RoomRecord {
            reseller_id: tenant.reseller_id,
            company_id: tenant.company_id,
            host_id: Some(host.id),
            conference_id: Some(conference.conference_id),
            access_code: code,
        },
        title: match conference.subject.trim() {
            "" => format!("Meeting with {}", host.name),
            subject => subject.to_string(),
        },
        host_name: host.name,
        moderator_pin: host.moderator_pin,
        security_pin: conference.security_pin,
        signed_in_host: false,
        mute_mode: conference.mute_mode,
    })
}

//! What the meeting room asks about scheduled conferences: which conference a one-time code opens,
//! when, with which settings, and whether a `?mod=` token grants moderator rights.

use crate::{
    auth::token,
    error::AppResult,
    store::{self, Db},
};

/// A conference's room as the meeting page needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceRoom {
    pub conference_id: i64,
    pub host_id: i64,
    pub company_id: i64,
    /// Shown as the meeting's title on its pages.
    pub subject: String,
    /// Guests must give it before joining, when set.
    pub security_pin: Option<String>,
    /// One of `rules::MUTE_MODES`.
    pub mute_mode: String,
    /// One of `rules::AUTO_RECORD`.
    pub auto_record: String,
    /// Unix seconds from which the code opens the room (start less the configured early-join time).
    pub valid_from: i64,
    /// Unix seconds at which the conference ends and the code stops working.
    pub valid_until: i64,
}

/// The conference whose one-time access code is `code` in the reseller, if any. The caller checks
/// its clock against `valid_from..valid_until`.
pub async fn find_by_access_code(
    db: &Db,
    reseller_id: i64,
    code: &str,
) -> AppResult<Option<ConferenceRoom>> {
    let found = store::conferences::find_by_access_code(db, reseller_id, code.trim()).await?;
    Ok(found.map(|c| ConferenceRoom {
        conference_id: c.id,
        host_id: c.host_id,
        company_id: c.company_id,
        subject: c.subject,
        security_pin: c.security_pin,
        mute_mode: c.mute_mode,
        auto_record: c.auto_record,
        valid_from: c.opens_at,
        valid_until: c.ends_at,
    }))
}

/// Whether `token` (from `?mod=`) is a moderator token of the conference: its host's or a
/// moderator invitee's.
pub async fn moderator_for(db: &Db, conference_id: i64, token: &str) -> AppResult<bool> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(false);
    }
    Ok(
        store::conferences::is_moderator_token(db, conference_id, &token::hash_secret(token))
            .await?,
    )
}

/// The conference a `?mod=` token belongs to, for rooms that do not know it from their code (a
/// conference held in the host's personal room). The room checks the conference meets in it.
pub async fn conference_of_moderator_token(
    db: &Db,
    reseller_id: i64,
    token: &str,
) -> AppResult<Option<i64>> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    Ok(
        store::conferences::find_by_moderator_token(db, reseller_id, &token::hash_secret(token))
            .await?,
    )
}

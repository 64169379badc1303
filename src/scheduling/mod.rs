//! Scheduled conferences: time zones, validation, calendar invitations by email, reminders as
//! durable jobs, and what the meeting room and the host's pages need to know about them.

pub mod conferences;
pub mod ics;
pub mod mails;
pub mod notify;
pub mod reminders;
pub mod rooms;
pub mod rules;
pub mod time;

use crate::{
    app::App,
    config::Config,
    error::AppResult,
    store::{self, Db, PageRequest, conferences::Conference},
};

pub use crate::mail::brand::Brand;

/// The path of a conference's room: its own one-time code, or the host's personal room.
pub fn join_path(conference: &Conference) -> String {
    format!("/conf/call/{}", conference.room_code())
}

/// The absolute URL guests join with.
pub fn join_url(config: &Config, conference: &Conference) -> String {
    format!(
        "{}{}",
        config.base_url(&conference.company_hostname),
        join_path(conference)
    )
}

/// The absolute URL of the conference's live stream player.
pub fn livestream_url(config: &Config, conference: &Conference) -> String {
    format!(
        "{}/livestream/{}",
        config.base_url(&conference.company_hostname),
        conference.room_code()
    )
}

/// The join URL carrying a moderator token.
pub fn moderator_url(config: &Config, conference: &Conference, token: &str) -> String {
    format!("{}?mod={token}", join_url(config, conference))
}

/// A conference on a host's upcoming page.
#[derive(Debug, Clone)]
pub struct UpcomingConference {
    pub conference_id: i64,
    pub subject: String,
    /// `YYYY-MM-DD HH:MM:SS` in `time_zone`.
    pub start_local: String,
    pub end_local: String,
    pub time_zone: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// `/conf/call/<code>` on the host's company domain.
    pub join_path: String,
    /// Whether a meeting session of the conference is running.
    pub active: bool,
}

/// Conferences of a host that have not ended at `now`, soonest first.
pub async fn upcoming_for_host(
    db: &Db,
    reseller_id: i64,
    host_id: i64,
    now: i64,
    limit: i64,
) -> AppResult<Vec<UpcomingConference>> {
    let filter = store::conferences::ListFilter {
        host_id: Some(host_id),
        company_id: None,
        hide_reseller_admins: false,
        when: store::conferences::When::Upcoming,
        now,
    };
    let page = PageRequest {
        limit: limit.clamp(1, 500),
        offset: 0,
    };
    let found = store::conferences::list(db, reseller_id, filter, page).await?;
    Ok(found
        .items
        .into_iter()
        .map(|c| UpcomingConference {
            conference_id: c.id,
            join_path: join_path(&c),
            end_local: time::local(c.ends_at, &c.time_zone),
            subject: c.subject,
            start_local: c.start_local,
            time_zone: c.time_zone,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            active: c.active,
        })
        .collect())
}

/// The absolute join URL of an upcoming conference, for pages that have the app at hand.
pub fn upcoming_join_url(
    app: &App,
    company_hostname: &str,
    upcoming: &UpcomingConference,
) -> String {
    format!(
        "{}{}",
        app.config.base_url(company_hostname),
        upcoming.join_path
    )
}

//! Creating, changing and deleting conferences: each is one transaction that writes the rows,
//! (re)schedules the reminders and queues the calendar emails, so nothing is half done.

use sqlx::AnyConnection;

use super::{
    Brand, moderator_url,
    notify::{self, Kind, Recipient},
    reminders,
    time::Slot,
};
use crate::{
    app::App,
    auth::token,
    error::{AppError, AppResult},
    store::{
        self,
        conferences::{Conference, Invitee},
        hosts::Host,
    },
};

/// Length of generated one-time access codes (longer than personal room codes).
pub const ONE_TIME_CODE_LEN: usize = 9;

/// Validated fields of a conference, as `conference/create` and `conference/update` produce them.
#[derive(Debug, Clone)]
pub struct Draft {
    pub subject: String,
    pub agenda: String,
    pub slot: Slot,
    pub auto_record: String,
    pub auto_transcribe: bool,
    pub one_time_access_code: bool,
    pub security_pin: Option<String>,
    pub mute_mode: String,
    /// Without tokens: new moderator tokens are issued on every save.
    pub invitees: Vec<Invitee>,
}

/// A saved conference with the moderator links, whose tokens are shown only now.
#[derive(Debug, Clone)]
pub struct Saved {
    pub conference: Conference,
    pub invitees: Vec<Invitee>,
    /// The host's moderator link.
    pub host_moderator_url: String,
    /// (email, moderator link) of each moderator invitee.
    pub moderator_urls: Vec<(String, String)>,
}

/// Picks a one-time code used by no host and no conference of the reseller.
async fn unused_code(conn: &mut AnyConnection, reseller_id: i64) -> AppResult<String> {
    for _ in 0..50 {
        let code = token::random_digits(ONE_TIME_CODE_LEN);
        if !store::hosts::access_code_taken(conn, reseller_id, &code, 0).await?
            && !store::conferences::access_code_taken(conn, reseller_id, &code, 0).await?
        {
            return Ok(code);
        }
    }
    Err(AppError::internal(
        "could not find a free one-time access code",
    ))
}

/// Gives every moderator invitee a fresh token; returns the plaintext tokens by email.
fn issue_tokens(invitees: &mut [Invitee]) -> Vec<(String, String)> {
    let mut plain = Vec::new();
    for i in invitees.iter_mut() {
        if i.moderator {
            let secret = token::random_secret();
            i.moderator_token_hash = Some(token::hash_secret(&secret));
            plain.push((i.email.clone(), secret));
        } else {
            i.moderator_token_hash = None;
        }
    }
    plain
}

fn apply(draft: &Draft, c: &mut Conference, early_join_secs: i64) {
    c.subject = draft.subject.clone();
    c.agenda = draft.agenda.clone();
    c.start_local = draft.slot.start_local.clone();
    c.time_zone = draft.slot.time_zone.clone();
    c.duration = draft.slot.duration;
    c.starts_at = draft.slot.starts_at;
    c.opens_at = draft.slot.starts_at - early_join_secs;
    c.ends_at = draft.slot.ends_at;
    c.auto_record = draft.auto_record.clone();
    c.auto_transcribe = draft.auto_transcribe;
    c.security_pin = draft.security_pin.clone();
    c.mute_mode = draft.mute_mode.clone();
}

/// The links of a save, and the recipients each invitee's message carries.
fn links(
    app: &App,
    c: &Conference,
    host_token: &str,
    tokens: &[(String, String)],
) -> (String, Vec<(String, String)>) {
    let urls = tokens
        .iter()
        .map(|(email, t)| (email.clone(), moderator_url(&app.config, c, t)))
        .collect();
    (moderator_url(&app.config, c, host_token), urls)
}

fn recipient_url(
    app: &App,
    c: &Conference,
    invitee: &Invitee,
    urls: &[(String, String)],
) -> String {
    urls.iter()
        .find(|(email, _)| *email == invitee.email)
        .map(|(_, url)| url.clone())
        .unwrap_or_else(|| super::join_url(&app.config, c))
}

/// Creates a conference of `host` and invites everyone.
pub async fn create(app: &App, brand: &Brand, host: &Host, draft: Draft) -> AppResult<Saved> {
    let company = store::companies::get(&app.db, host.reseller_id, host.company_id)
        .await?
        .ok_or_else(|| AppError::not_found("Company"))?;
    let now = store::now();
    let host_token = token::random_secret();
    let mut conference = Conference {
        id: 0,
        reseller_id: host.reseller_id,
        company_id: host.company_id,
        host_id: host.id,
        ical_uid: format!(
            "{}@{}",
            &token::hash_secret(&token::random_secret())[..32],
            brand.domain
        ),
        sequence: 0,
        subject: String::new(),
        agenda: String::new(),
        start_local: String::new(),
        time_zone: String::new(),
        duration: 0,
        starts_at: 0,
        opens_at: 0,
        ends_at: 0,
        auto_record: String::new(),
        auto_transcribe: false,
        access_code: None,
        security_pin: None,
        mute_mode: String::new(),
        host_token_hash: token::hash_secret(&host_token),
        created_at: now,
        updated_at: now,
        host_name: host.name.clone(),
        host_email: host.email.clone(),
        host_access_code: host.access_code.clone(),
        company_name: company.name,
        company_hostname: host.company_hostname.clone(),
        active: false,
    };
    apply(
        &draft,
        &mut conference,
        app.config.conference_join_early_secs,
    );
    let mut invitees = draft.invitees;
    let tokens = issue_tokens(&mut invitees);

    let mut tx = app.db.begin_write().await?;
    if draft.one_time_access_code {
        conference.access_code = Some(unused_code(&mut tx, host.reseller_id).await?);
    }
    conference.id = store::conferences::insert(&mut tx, &conference).await?;
    store::conferences::replace_invitees(&mut tx, conference.id, &invitees).await?;
    reminders::schedule(&mut tx, &app.config.reminder_offsets_secs, &conference, now).await?;
    let (host_moderator_url, moderator_urls) = links(app, &conference, &host_token, &tokens);
    let recipients: Vec<Recipient<'_>> = invitees
        .iter()
        .map(|i| Recipient {
            invitee: i,
            url: recipient_url(app, &conference, i, &moderator_urls),
        })
        .collect();
    notify::queue_calendar(
        &mut tx,
        &app.config,
        brand,
        &conference,
        Kind::Invitation,
        &recipients,
        &invitees,
    )
    .await?;
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(Saved {
        conference,
        invitees,
        host_moderator_url,
        moderator_urls,
    })
}

/// Changes a conference: SEQUENCE goes up, remaining invitees get the update, new ones an
/// invitation, removed ones a cancellation; reminders are rescheduled; moderator tokens renewed.
pub async fn update(
    app: &App,
    brand: &Brand,
    before: &Conference,
    before_invitees: &[Invitee],
    draft: Draft,
) -> AppResult<Saved> {
    let now = store::now();
    let host_token = token::random_secret();
    let mut conference = before.clone();
    apply(
        &draft,
        &mut conference,
        app.config.conference_join_early_secs,
    );
    conference.sequence += 1;
    conference.updated_at = now;
    conference.host_token_hash = token::hash_secret(&host_token);
    let mut invitees = draft.invitees;
    let tokens = issue_tokens(&mut invitees);

    let mut tx = app.db.begin_write().await?;
    conference.access_code = match (draft.one_time_access_code, &before.access_code) {
        (true, Some(code)) => Some(code.clone()),
        (true, None) => Some(unused_code(&mut tx, before.reseller_id).await?),
        (false, _) => None,
    };
    if !store::conferences::update(&mut tx, &conference).await? {
        return Err(AppError::conflict(
            "concurrent_update",
            "The conference was changed meanwhile; fetch it and try again",
        ));
    }
    store::conferences::replace_invitees(&mut tx, conference.id, &invitees).await?;
    reminders::schedule(&mut tx, &app.config.reminder_offsets_secs, &conference, now).await?;
    let (host_moderator_url, moderator_urls) = links(app, &conference, &host_token, &tokens);
    let was_invited = |i: &Invitee| before_invitees.iter().any(|b| b.email == i.email);
    let recipients = |wanted: bool| -> Vec<Recipient<'_>> {
        invitees
            .iter()
            .filter(|i| was_invited(i) == wanted)
            .map(|i| Recipient {
                invitee: i,
                url: recipient_url(app, &conference, i, &moderator_urls),
            })
            .collect()
    };
    let (remaining, added) = (recipients(true), recipients(false));
    notify::queue_calendar(
        &mut tx,
        &app.config,
        brand,
        &conference,
        Kind::Update,
        &remaining,
        &invitees,
    )
    .await?;
    notify::queue_calendar(
        &mut tx,
        &app.config,
        brand,
        &conference,
        Kind::Invitation,
        &added,
        &invitees,
    )
    .await?;
    let removed: Vec<Recipient<'_>> = before_invitees
        .iter()
        .filter(|b| !invitees.iter().any(|i| i.email == b.email))
        .map(|b| Recipient {
            invitee: b,
            url: String::new(),
        })
        .collect();
    notify::queue_calendar(
        &mut tx,
        &app.config,
        brand,
        &conference,
        Kind::Cancellation,
        &removed,
        &invitees,
    )
    .await?;
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(Saved {
        conference,
        invitees,
        host_moderator_url,
        moderator_urls,
    })
}

/// Deletes a conference, drops its reminders and, unless it is over, cancels it for everyone.
pub async fn delete(
    app: &App,
    brand: &Brand,
    conference: &Conference,
    invitees: &[Invitee],
) -> AppResult<()> {
    let mut tx = app.db.begin_write().await?;
    if !store::conferences::delete(&mut tx, conference.reseller_id, conference.id).await? {
        return Err(AppError::not_found("Conference"));
    }
    if conference.ends_at > store::now() {
        let mut cancelled = conference.clone();
        cancelled.sequence += 1;
        let recipients: Vec<Recipient<'_>> = invitees
            .iter()
            .map(|i| Recipient {
                invitee: i,
                url: String::new(),
            })
            .collect();
        notify::queue_calendar(
            &mut tx,
            &app.config,
            brand,
            &cancelled,
            Kind::Cancellation,
            &recipients,
            invitees,
        )
        .await?;
    }
    tx.commit().await?;
    app.mail_wake.notify_one();
    Ok(())
}

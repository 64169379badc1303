//! Queues the conference emails in the caller's transaction (see `mail::enqueue`), one message per
//! recipient because each carries that recipient's own join link.

use lettre::message::Mailbox;
use sqlx::AnyConnection;

use super::{
    Brand,
    ics::{self, Attendee, Method},
    join_url,
    mails::{self, ConferenceMail},
    time,
};
use crate::{
    config::Config,
    error::{AppError, AppResult},
    mail,
    store::{self, conferences::Conference, conferences::Invitee},
};

/// Which calendar message a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invitation,
    Update,
    Cancellation,
}

/// One recipient of a calendar message and the link written into it.
pub struct Recipient<'a> {
    pub invitee: &'a Invitee,
    /// The recipient's join link (a moderator link for moderators).
    pub url: String,
}

fn mailbox(name: &str, email: &str) -> AppResult<Mailbox> {
    let address = email.parse().map_err(|_| {
        AppError::invalid_field(
            "participant_emails",
            format!("`{email}` cannot receive mail"),
        )
    })?;
    let name = (name != email).then(|| name.to_string());
    Ok(Mailbox::new(name, address))
}

fn attendee(i: &Invitee) -> Attendee {
    Attendee {
        name: i.name.clone(),
        email: i.email.clone(),
        moderator: i.moderator,
    }
}

/// Queues a calendar message (`kind`) to each recipient; `attendees` are the ATTENDEE lines.
pub async fn queue_calendar(
    conn: &mut AnyConnection,
    config: &Config,
    brand: &Brand,
    conference: &Conference,
    kind: Kind,
    recipients: &[Recipient<'_>],
    attendees: &[Invitee],
) -> AppResult<()> {
    let from = brand.sender.clone();
    let when = time::human(conference.starts_at, &conference.time_zone);
    let organizer = Attendee {
        name: conference.host_name.clone(),
        email: conference.host_email.clone(),
        moderator: true,
    };
    let attendees: Vec<Attendee> = attendees.iter().map(attendee).collect();
    let (method, headline, prefix) = match kind {
        Kind::Invitation => (Method::Request, "You are invited", "Invitation"),
        Kind::Update => (
            Method::Request,
            "The meeting has changed",
            "Updated invitation",
        ),
        Kind::Cancellation => (
            Method::Cancel,
            "The meeting has been cancelled",
            "Cancelled",
        ),
    };
    let guest_url = join_url(config, conference);
    let vtimezone = ics::vtimezone(
        &conference.time_zone,
        conference.starts_at,
        conference.ends_at,
    );
    for r in recipients {
        let cancel = kind == Kind::Cancellation;
        let url = if cancel { &guest_url } else { &r.url };
        let description = if conference.agenda.is_empty() {
            format!("Join: {url}")
        } else {
            format!("{}\n\nJoin: {url}", conference.agenda)
        };
        // A cancellation sent to a removed invitee names only them; other messages name everyone.
        let own = [attendee(r.invitee)];
        let listed: &[Attendee] = if attendees.iter().any(|a| a.email == r.invitee.email) {
            &attendees
        } else {
            &own
        };
        let calendar = ics::render(&ics::Invitation {
            product: &brand.name,
            method,
            uid: &conference.ical_uid,
            sequence: conference.sequence,
            time_zone: &conference.time_zone,
            starts_at: conference.starts_at,
            ends_at: conference.ends_at,
            stamp: store::now(),
            summary: &conference.subject,
            description: &description,
            url,
            organizer: &organizer,
            attendees: listed,
            vtimezone: &vtimezone,
        });
        let message = mails::build(
            from.clone(),
            mailbox(&r.invitee.name, &r.invitee.email)?,
            &ConferenceMail {
                brand,
                company_name: &conference.company_name,
                headline,
                mail_subject: format!("{prefix}: {} @ {when}", conference.subject),
                subject: &conference.subject,
                agenda: &conference.agenda,
                when: &when,
                join_url: (!cancel).then_some(url.as_str()),
                moderator: !cancel && r.invitee.moderator,
                security_pin: if cancel {
                    None
                } else {
                    conference.security_pin.as_deref()
                },
                calendar: Some((method, calendar)),
            },
        )?;
        mail::enqueue(conn, &message).await?;
    }
    Ok(())
}

/// Queues a reminder to the host and every invitee, with the conference's guest link.
pub async fn queue_reminders(
    conn: &mut AnyConnection,
    config: &Config,
    brand: &Brand,
    conference: &Conference,
    invitees: &[Invitee],
) -> AppResult<usize> {
    let from = brand.sender.clone();
    let when = time::human(conference.starts_at, &conference.time_zone);
    let url = join_url(config, conference);
    let mut people = vec![(
        conference.host_name.as_str(),
        conference.host_email.as_str(),
    )];
    people.extend(invitees.iter().map(|i| (i.name.as_str(), i.email.as_str())));
    for (name, email) in &people {
        let message = mails::build(
            from.clone(),
            mailbox(name, email)?,
            &ConferenceMail {
                brand,
                company_name: &conference.company_name,
                headline: "Your meeting starts soon",
                mail_subject: format!("Reminder: {} @ {when}", conference.subject),
                subject: &conference.subject,
                agenda: &conference.agenda,
                when: &when,
                join_url: Some(&url),
                moderator: false,
                security_pin: conference.security_pin.as_deref(),
                calendar: None,
            },
        )?;
        mail::enqueue(conn, &message).await?;
    }
    Ok(people.len())
}

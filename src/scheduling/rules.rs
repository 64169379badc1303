//! Validation of conference fields: the closed value sets, the PIN, texts and the invitee list.

use crate::{
    auth::Role,
    error::{AppError, AppResult},
    store::{self, Db, conferences::Invitee, hosts::Host},
    tenancy::names,
};

/// Accepted `mute_mode` values: everyone may talk; guests join muted but may unmute; only
/// moderators may unmute guests.
pub const MUTE_MODES: [&str; 3] = ["conversation", "presentation", "lecture"];
/// Accepted `auto_record` values: no recording, or recording starts with the meeting.
pub const AUTO_RECORD: [&str; 2] = ["none", "cloud"];
/// Accepted lengths of a new `security_pin` or `moderator_pin`. Six digits at least: with four,
/// a lock-out after ten wrong guesses still leaves one chance in a thousand. PINs stored before
/// this rule keep working; only new values must meet it.
pub const PIN_DIGITS: (usize, usize) = (6, 12);
/// Longest agenda, in characters.
pub const AGENDA_MAX: usize = 4000;
/// Most invitees (participant hosts and emails together) of one conference.
pub const MAX_INVITEES: usize = 500;

/// One of a closed set of values; 400 naming `field` and the choices otherwise.
pub fn one_of(field: &str, value: &str, choices: &[&str]) -> AppResult<String> {
    let v = value.trim().to_ascii_lowercase();
    if choices.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(AppError::invalid_field(
            field,
            format!("must be one of {}", choices.join(", ")),
        ))
    }
}

/// `security_pin`: 6–12 digits, or none when absent or empty.
pub fn security_pin(value: Option<&str>) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(pin) => names::digits("security_pin", pin, PIN_DIGITS.0, PIN_DIGITS.1).map(Some),
    }
}

/// The agenda: free text with line breaks, at most [`AGENDA_MAX`] characters.
pub fn agenda(value: Option<&str>) -> AppResult<String> {
    let text = value.unwrap_or_default().trim().replace("\r\n", "\n");
    if text.chars().count() > AGENDA_MAX {
        return Err(AppError::invalid_field(
            "agenda",
            format!("must be at most {AGENDA_MAX} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::invalid_field(
            "agenda",
            "must not contain control characters",
        ));
    }
    Ok(text)
}

/// An invitee by email as the request gives it.
#[derive(Debug, Clone)]
pub struct EmailInvitee {
    pub email: String,
    pub moderator: bool,
}

/// Builds the invitee list: participant hosts (those `may_invite` accepts: hosts of the
/// organiser's company within the scheduler's reach) then email invitees, without the organiser
/// and without duplicates (a duplicate keeps moderator rights if any of its mentions had them).
/// Tokens are not set here. Every refused id, unknown, of another company or out of reach, gets
/// the same answer, so the list cannot be used to probe who exists.
pub async fn invitees(
    db: &Db,
    may_invite: impl Fn(&Host) -> bool,
    organiser: &Host,
    participants: &[i64],
    emails: &[EmailInvitee],
) -> AppResult<Vec<Invitee>> {
    if participants.len() + emails.len() > MAX_INVITEES {
        return Err(AppError::invalid_field(
            "participants",
            format!(
                "at most {MAX_INVITEES} invitees (participants and participant_emails together)"
            ),
        ));
    }
    let mut out: Vec<Invitee> = Vec::new();
    for (i, id) in participants.iter().enumerate() {
        let field = format!("participants[{i}]");
        let host = if *id >= 1 {
            store::hosts::get(db, organiser.reseller_id, *id).await?
        } else {
            None
        };
        let Some(host) = host.filter(|h| h.company_id == organiser.company_id && may_invite(h))
        else {
            return Err(AppError::invalid_field(
                &field,
                format!("{id} is not a host of the conference host's company"),
            ));
        };
        let moderator = Role::parse(&host.role).is_some_and(|r| r != Role::Host);
        push(
            &mut out,
            organiser,
            Invitee {
                host_id: Some(host.id),
                email: host.email,
                name: host.name,
                moderator,
                moderator_token_hash: None,
            },
        );
    }
    for (i, e) in emails.iter().enumerate() {
        let email = names::email(&format!("participant_emails[{i}].email"), &e.email)?;
        push(
            &mut out,
            organiser,
            Invitee {
                host_id: None,
                name: email.clone(),
                email,
                moderator: e.moderator,
                moderator_token_hash: None,
            },
        );
    }
    Ok(out)
}

fn push(list: &mut Vec<Invitee>, organiser: &Host, invitee: Invitee) {
    if invitee.email == organiser.email {
        return;
    }
    match list.iter_mut().find(|i| i.email == invitee.email) {
        Some(existing) => {
            existing.moderator |= invitee.moderator;
            existing.host_id = existing.host_id.or(invitee.host_id);
        }
        None => list.push(invitee),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_and_pins() {
        assert_eq!(
            one_of("mute_mode", "Presentation", &MUTE_MODES).unwrap(),
            "presentation"
        );
        let err = one_of("mute_mode", "silent", &MUTE_MODES).unwrap_err();
        assert!(err.message.starts_with("mute_mode:"), "{}", err.message);
        assert_eq!(
            security_pin(Some("123456")).unwrap().as_deref(),
            Some("123456")
        );
        assert_eq!(security_pin(Some("")).unwrap(), None);
        for bad in ["12a456", "1234", "12345", "1234567890123"] {
            assert!(
                security_pin(Some(bad))
                    .unwrap_err()
                    .message
                    .starts_with("security_pin:")
            );
        }
        assert_eq!(agenda(Some(" a\r\nb ")).unwrap(), "a\nb");
        assert!(agenda(Some(&"x".repeat(AGENDA_MAX + 1))).is_err());
    }
}

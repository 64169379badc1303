//! Reading conference emails as a mail client does: the `text/calendar` part decoded and parsed
//! with the `icalendar` crate's parser, independent of the code that wrote it.

use std::time::Duration;

use base64::Engine;
use chrono::NaiveDateTime;
use icalendar::parser::{Component, read_calendar, unfold};

use crate::helpers::{ReceivedMail, TestApp};

/// The facts of one invitation that the tests check.
#[derive(Debug, Clone)]
pub struct Invite {
    pub method: String,
    pub uid: String,
    pub sequence: i64,
    pub status: String,
    pub tzid: String,
    /// DTSTART as written (local time, `YYYYMMDDTHHMMSS`).
    pub dtstart: String,
    /// The instant DTSTART means, computed from the calendar's own VTIMEZONE.
    pub dtstart_utc: i64,
    pub location: String,
    pub url: String,
    pub organizer: String,
    /// (email, ROLE) of each ATTENDEE.
    pub attendees: Vec<(String, String)>,
    pub raw: String,
}

/// Mails received so far by `recipient`, oldest first.
pub fn mails_to(app: &TestApp, recipient: &str) -> Vec<ReceivedMail> {
    app.mails()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == recipient))
        .collect()
}

/// Waits up to `secs` seconds until `recipient` has received `count` mails; returns them.
pub async fn wait_for_mails(
    app: &TestApp,
    recipient: &str,
    count: usize,
    secs: u64,
) -> Vec<ReceivedMail> {
    for _ in 0..secs * 10 {
        let found = mails_to(app, recipient);
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{recipient} received {} mails, expected {count}",
        mails_to(app, recipient).len()
    );
}

/// A header of the mail (first occurrence, unfolded).
pub fn header(mail: &ReceivedMail, name: &str) -> String {
    let head = mail.data.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
        .unwrap_or_default()
}

/// The base64 body of the `text/calendar` part.
pub fn calendar_text(mail: &ReceivedMail) -> String {
    let data = mail.data.replace("\r\n", "\n");
    let at = data
        .find("Content-Type: text/calendar")
        .unwrap_or_else(|| panic!("no text/calendar part in:\n{}", mail.data));
    let part = &data[at..];
    let body = &part[part.find("\n\n").expect("part body") + 2..];
    let body = &body[..body.find("\n--").unwrap_or(body.len())];
    let b64: String = body.lines().map(str::trim).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64 calendar part");
    String::from_utf8(bytes).expect("utf-8 calendar")
}

fn prop(c: &Component<'_>, name: &str) -> String {
    c.find_prop(name)
        .map(|p| p.val.as_str().to_string())
        .unwrap_or_default()
}

fn param(p: &icalendar::parser::Property<'_>, key: &str) -> String {
    p.params
        .iter()
        .find(|x| x.key.as_str() == key)
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().to_string())
        .unwrap_or_default()
}

/// Parses the invitation of a mail.
pub fn invite(mail: &ReceivedMail) -> Invite {
    let raw = calendar_text(mail);
    for line in raw.split("\r\n") {
        assert!(line.len() <= 75, "line longer than 75 octets: {line:?}");
    }
    let unfolded = unfold(&raw);
    let cal = read_calendar(&unfolded).unwrap_or_else(|e| panic!("unparseable: {e}\n{raw}"));
    let method = cal
        .properties
        .iter()
        .find(|p| p.name.as_str() == "METHOD")
        .map(|p| p.val.as_str().to_string())
        .unwrap_or_default();
    let event = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VEVENT")
        .expect("VEVENT");
    let start = event.find_prop("DTSTART").expect("DTSTART");
    let tzid = param(start, "TZID");
    let dtstart = start.val.as_str().to_string();
    let local = NaiveDateTime::parse_from_str(&dtstart, "%Y%m%dT%H%M%S").expect("local DTSTART");
    let vtz = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VTIMEZONE" && prop(c, "TZID") == tzid)
        .unwrap_or_else(|| panic!("no VTIMEZONE for {tzid}:\n{raw}"));
    let mut best: Option<(NaiveDateTime, i64)> = None;
    for o in &vtz.components {
        let since = NaiveDateTime::parse_from_str(&prop(o, "DTSTART"), "%Y%m%dT%H%M%S")
            .expect("observance DTSTART");
        let to = prop(o, "TZOFFSETTO");
        let sign = if to.starts_with('-') { -1 } else { 1 };
        let secs = sign
            * (to[1..3].parse::<i64>().expect("hours") * 3600
                + to[3..5].parse::<i64>().expect("minutes") * 60);
        if since <= local && best.is_none_or(|(b, _)| since > b) {
            best = Some((since, secs));
        }
    }
    let (_, offset) = best.expect("an observance covers DTSTART");
    let attendees = event
        .properties
        .iter()
        .filter(|p| p.name.as_str() == "ATTENDEE")
        .map(|p| {
            let email = p.val.as_str().trim_start_matches("mailto:").to_string();
            (email, param(p, "ROLE"))
        })
        .collect();
    Invite {
        method,
        uid: prop(event, "UID"),
        sequence: prop(event, "SEQUENCE").parse().expect("SEQUENCE"),
        status: prop(event, "STATUS"),
        tzid,
        dtstart,
        dtstart_utc: local.and_utc().timestamp() - offset,
        location: event
            .find_prop("LOCATION")
            .map(|p| p.val.clone().unescape_text().as_str().to_string())
            .unwrap_or_default(),
        url: prop(event, "URL"),
        organizer: prop(event, "ORGANIZER"),
        attendees,
        raw,
    }
}

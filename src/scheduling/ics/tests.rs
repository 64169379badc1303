//! The invitations read back with the `icalendar` crate's parser, an implementation independent of
//! the writer, and the event's instant recomputed from the VTIMEZONE alone.

use chrono::NaiveDateTime;
use icalendar::parser::{Component, read_calendar, unfold};

use super::*;
use crate::scheduling::time::slot;

fn invitation_text(zone: &str, start: &str, summary: &str) -> (String, i64) {
    let s = slot(start, zone, 45).unwrap();
    let organizer = Attendee {
        name: "Olga \"The\" Organiser".into(),
        email: "olga@example.com".into(),
        moderator: true,
    };
    let attendees = vec![
        Attendee {
            name: "Bob, Jr.".into(),
            email: "bob@example.com".into(),
            moderator: true,
        },
        Attendee {
            name: "Zoë".into(),
            email: "zoe@example.com".into(),
            moderator: false,
        },
    ];
    let url = "https://joe.example.com/conf/call/123456789?mod=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let text = render(&Invitation {
        product: "Alpha Video",
        method: Method::Request,
        uid: "c0ffee@example.com",
        sequence: 3,
        time_zone: zone,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        stamp: 1_700_000_000,
        summary,
        description: "Line one\nLine two; with, punctuation \\ and more text so that this line is folded",
        url,
        organizer: &organizer,
        attendees: &attendees,
        vtimezone: &vtimezone(zone, s.starts_at, s.ends_at),
    });
    (text, s.starts_at)
}

fn prop<'a>(c: &'a Component<'a>, name: &str) -> String {
    c.find_prop(name)
        .map(|p| p.val.as_str().to_string())
        .unwrap_or_else(|| panic!("no {name}"))
}

/// UTC instant of the event's DTSTART, using only the calendar's own VTIMEZONE.
fn dtstart_utc(text: &str) -> i64 {
    let unfolded = unfold(text);
    let cal = read_calendar(&unfolded).expect("parses");
    let event = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VEVENT")
        .expect("VEVENT");
    let start = event.find_prop("DTSTART").expect("DTSTART");
    let tzid = start
        .params
        .iter()
        .find(|p| p.key.as_str() == "TZID")
        .and_then(|p| p.val.as_ref())
        .expect("TZID")
        .as_str()
        .to_string();
    let local = NaiveDateTime::parse_from_str(start.val.as_str(), "%Y%m%dT%H%M%S").unwrap();
    let vtz = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VTIMEZONE" && prop(c, "TZID") == tzid)
        .expect("VTIMEZONE for the TZID");
    let mut best: Option<(NaiveDateTime, i64)> = None;
    for o in &vtz.components {
        let since = NaiveDateTime::parse_from_str(&prop(o, "DTSTART"), "%Y%m%dT%H%M%S").unwrap();
        let to = prop(o, "TZOFFSETTO");
        let sign = if to.starts_with('-') { -1 } else { 1 };
        let secs = sign
            * (to[1..3].parse::<i64>().unwrap() * 3600 + to[3..5].parse::<i64>().unwrap() * 60);
        if since <= local && best.is_none_or(|(b, _)| since > b) {
            best = Some((since, secs));
        }
    }
    let (_, offset) = best.expect("an observance covers the event");
    local.and_utc().timestamp() - offset
}

#[test]
fn london_summer_new_york_winter_and_kolkata_resolve_to_the_right_instant() {
    for (zone, start, utc) in [
        (
            "Europe/London",
            "2026-07-15 13:00:00",
            "2026-07-15T12:00:00Z",
        ),
        (
            "America/New_York",
            "2026-01-15 09:00:00",
            "2026-01-15T14:00:00Z",
        ),
        (
            "Asia/Kolkata",
            "2026-05-01 18:30:00",
            "2026-05-01T13:00:00Z",
        ),
    ] {
        let (text, starts_at) = invitation_text(zone, start, "Plan");
        let expected = chrono::DateTime::parse_from_rfc3339(utc)
            .unwrap()
            .timestamp();
        assert_eq!(starts_at, expected, "{zone}");
        assert_eq!(dtstart_utc(&text), expected, "{zone}:\n{text}");
    }
}

#[test]
fn london_vtimezone_has_both_observances() {
    let (text, _) = invitation_text("Europe/London", "2026-07-15 13:00:00", "Plan");
    let unfolded = unfold(&text);
    assert!(unfolded.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST"), "{text}");
    assert!(unfolded.contains("BEGIN:STANDARD\r\nDTSTART:20261025T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT"), "{text}");
}

#[test]
fn lines_are_folded_crlf_and_text_round_trips() {
    let summary =
        "Budget; review, Q3 \\ final — with a long tail of words to force folding of the line";
    let (text, _) = invitation_text("Europe/Paris", "2026-07-15 13:00:00", summary);
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert!(text.contains("\r\nPRODID:-//Alpha Video//Meetings//EN\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "too long: {line:?}");
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
    let unfolded = unfold(&text);
    let cal = read_calendar(&unfolded).unwrap();
    let event = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VEVENT")
        .unwrap();
    let parsed = event
        .find_prop("SUMMARY")
        .unwrap()
        .val
        .clone()
        .unescape_text();
    assert_eq!(parsed.as_str(), summary);
    assert_eq!(prop(event, "SEQUENCE"), "3");
    let roles: Vec<String> = event
        .properties
        .iter()
        .filter(|p| p.name.as_str() == "ATTENDEE")
        .map(|p| {
            p.params
                .iter()
                .find(|x| x.key.as_str() == "ROLE")
                .and_then(|x| x.val.as_ref())
                .unwrap()
                .as_str()
                .to_string()
        })
        .collect();
    assert_eq!(roles, ["CHAIR", "REQ-PARTICIPANT"]);
    assert!(prop(event, "URL").ends_with("UVWXYZ"));
}

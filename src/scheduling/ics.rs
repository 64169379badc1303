//! iCalendar (RFC 5545) invitations: `METHOD:REQUEST` / `METHOD:CANCEL` with one VEVENT and the
//! VTIMEZONE of its zone.
//!
//! Written by hand rather than with a builder crate because the one part that needs care, the
//! VTIMEZONE with its STANDARD/DAYLIGHT observances, has to be computed from chrono-tz (which
//! exposes offsets but not transitions) and would be assembled from untyped components anyway.
//! The writer below does the rest of the format: CRLF line ends, lines folded at 75 octets, TEXT
//! escaping. The tests read every invitation back with an independent parser.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

/// What the calendar message asks of its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add or update the event.
    Request,
    /// Remove the event.
    Cancel,
}

impl Method {
    /// The iCalendar spelling, also used in the MIME `method=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// A person on the invitation.
#[derive(Debug, Clone)]
pub struct Attendee {
    pub name: String,
    pub email: String,
    /// Moderators are `ROLE=CHAIR`, everyone else `ROLE=REQ-PARTICIPANT`.
    pub moderator: bool,
}

/// The event of one invitation.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// The brand the calendar names as its producer (PRODID): white-label, so the reseller's.
    pub product: &'a str,
    pub method: Method,
    /// Stable across updates and cancellation so clients match them to one event.
    pub uid: &'a str,
    /// Raised on every change; clients ignore messages with a lower one.
    pub sequence: i64,
    pub time_zone: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    /// When this message was made (DTSTAMP).
    pub stamp: i64,
    pub summary: &'a str,
    pub description: &'a str,
    /// The join URL, written as both LOCATION and URL.
    pub url: &'a str,
    pub organizer: &'a Attendee,
    pub attendees: &'a [Attendee],
    /// The zone's VTIMEZONE from [`vtimezone`], computed once for all messages of a batch.
    pub vtimezone: &'a str,
}

/// The whole `.ics` text.
pub fn render(inv: &Invitation<'_>) -> String {
    let tz = inv.time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
    let mut out = Writer::default();
    out.line("BEGIN:VCALENDAR");
    out.line(&format!("PRODID:-//{}//Meetings//EN", text(inv.product)));
    out.line("VERSION:2.0");
    out.line("CALSCALE:GREGORIAN");
    out.line(&format!("METHOD:{}", inv.method.as_str()));
    out.0.push_str(inv.vtimezone);
    out.line("BEGIN:VEVENT");
    out.line(&format!("UID:{}", inv.uid));
    out.line(&format!("SEQUENCE:{}", inv.sequence));
    out.line(&format!("DTSTAMP:{}", utc_stamp(inv.stamp)));
    out.line(&format!(
        "DTSTART;TZID={}:{}",
        tz.name(),
        local_stamp(tz, inv.starts_at)
    ));
    out.line(&format!(
        "DTEND;TZID={}:{}",
        tz.name(),
        local_stamp(tz, inv.ends_at)
    ));
    out.line(&format!("SUMMARY:{}", text(inv.summary)));
    if !inv.description.is_empty() {
        out.line(&format!("DESCRIPTION:{}", text(inv.description)));
    }
    out.line(&format!("LOCATION:{}", text(inv.url)));
    out.line(&format!("URL:{}", inv.url));
    out.line(&format!(
        "ORGANIZER;CN={}:mailto:{}",
        param(&inv.organizer.name),
        inv.organizer.email
    ));
    for a in inv.attendees {
        let role = if a.moderator {
            "CHAIR"
        } else {
            "REQ-PARTICIPANT"
        };
        out.line(&format!(
            "ATTENDEE;CN={};ROLE={role};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{}",
            param(&a.name),
            a.email
        ));
    }
    let status = match inv.method {
        Method::Request => "CONFIRMED",
        Method::Cancel => "CANCELLED",
    };
    out.line(&format!("STATUS:{status}"));
    out.line("END:VEVENT");
    out.line("END:VCALENDAR");
    out.0
}

/// A zone offset change: the UTC instant and the offsets (seconds east of UTC) around it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Transition {
    at: i64,
    from: i32,
    to: i32,
    name: String,
    daylight: bool,
}

/// How far around the event the VTIMEZONE describes the zone (a year covers both changes).
const TZ_WINDOW_SECS: i64 = 366 * 86_400;

/// The VTIMEZONE of `time_zone` with every offset change within a year of the event (plus, when
/// none precedes the event, the observance in force a year before), so any client resolves it.
pub fn vtimezone(time_zone: &str, starts_at: i64, ends_at: i64) -> String {
    let tz = time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
    let mut out = Writer::default();
    let window_start = starts_at - TZ_WINDOW_SECS;
    let window_end = ends_at + TZ_WINDOW_SECS;
    let initial = observance_at(tz, window_start);
    out.line("BEGIN:VTIMEZONE");
    out.line(&format!("TZID:{}", tz.name()));
    let changes = transitions(tz, window_start, window_end);
    // Zones without a change before the event (no DST, or a one-off change after it) need the
    // observance in force at the start of the window.
    let mut observances = Vec::new();
    if !changes.iter().any(|t| t.at <= starts_at) {
        observances.push(initial);
    }
    observances.extend(changes);
    for t in observances {
        let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
        out.line(&format!("BEGIN:{kind}"));
        out.line(&format!(
            "DTSTART:{}",
            naive_stamp(t.at + i64::from(t.from))
        ));
        out.line(&format!("TZOFFSETFROM:{}", offset(t.from)));
        out.line(&format!("TZOFFSETTO:{}", offset(t.to)));
        if !t.name.is_empty() {
            out.line(&format!("TZNAME:{}", text(&t.name)));
        }
        out.line(&format!("END:{kind}"));
    }
    out.line("END:VTIMEZONE");
    out.0
}

/// The observance in force at `at` (with `from` equal to `to`).
fn observance_at(tz: Tz, at: i64) -> Transition {
    let utc = DateTime::<Utc>::from_timestamp(at, 0).unwrap_or_default();
    let o = tz.offset_from_utc_datetime(&utc.naive_utc());
    let secs = o.fix().local_minus_utc();
    Transition {
        at,
        from: secs,
        to: secs,
        name: o.abbreviation().unwrap_or_default().to_string(),
        daylight: !o.dst_offset().is_zero(),
    }
}

/// Offset changes of `tz` in `[from, to)`: scanned hour by hour, then narrowed to the second.
fn transitions(tz: Tz, from: i64, to: i64) -> Vec<Transition> {
    const STEP: i64 = 3600;
    let mut found = Vec::new();
    let mut before = observance_at(tz, from);
    let mut t = from;
    while t < to {
        let next = observance_at(tz, t + STEP);
        if next.to != before.to || next.daylight != before.daylight {
            // First second of the new offset lies in (t, t + STEP].
            let (mut lo, mut hi) = (t, t + STEP);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let o = observance_at(tz, mid);
                if o.to == before.to && o.daylight == before.daylight {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let after = observance_at(tz, hi);
            found.push(Transition {
                at: hi,
                from: before.to,
                ..after
            });
            before = next;
        }
        t += STEP;
    }
    found
}

fn offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

fn utc_stamp(at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn naive_stamp(local_secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(local_secs, 0)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

fn local_stamp(tz: Tz, at: i64) -> String {
    DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

/// Escapes a TEXT value (RFC 5545 3.3.11).
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (a display name): quoted, without the characters quoting cannot carry.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{clean}\"")
}

/// Collects content lines, folding each at 75 octets without splitting a UTF-8 character.
#[derive(Default)]
struct Writer(String);

impl Writer {
    fn line(&mut self, line: &str) {
        let mut budget = 75;
        let mut used = 0;
        for c in line.chars() {
            let len = c.len_utf8();
            if used + len > budget {
                self.0.push_str("\r\n ");
                // The leading space of a continuation line counts towards its 75 octets.
                budget = 74;
                used = 0;
            }
            self.0.push(c);
            used += len;
        }
        self.0.push_str("\r\n");
    }
}

#[cfg(test)]
mod tests;

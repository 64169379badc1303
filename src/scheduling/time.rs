//! Local wall-clock times in IANA zones: parsing `start`, the DST rules, formatting.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{AppError, AppResult};

/// The wire format of `start` and `end_time`: local time in the conference's zone.
pub const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// Accepted durations in minutes (one minute to one day).
pub const DURATION_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;

/// A validated conference time: what the caller said and the UTC instants it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start_local: String,
    pub time_zone: String,
    pub duration: i64,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// Parses an IANA zone name (`Europe/London`); 400 naming `field` otherwise.
pub fn zone(field: &str, name: &str) -> AppResult<Tz> {
    name.trim().parse::<Tz>().map_err(|_| {
        AppError::invalid_field(
            field,
            format!("`{}` is not a known IANA time zone", name.trim()),
        )
    })
}

/// Resolves `start` (local time in `time_zone`) and `duration` to UTC instants.
///
/// A local time skipped by a DST change (the gap) does not exist and is refused. A local time that
/// happens twice (the overlap, when clocks go back) means its first occurrence, the one still on
/// summer time, which is what calendar clients also pick.
pub fn slot(start: &str, time_zone: &str, duration: i64) -> AppResult<Slot> {
    let tz = zone("time_zone", time_zone)?;
    if !DURATION_MINUTES.contains(&duration) {
        return Err(AppError::invalid_field(
            "duration",
            format!(
                "must be between {} and {} minutes",
                DURATION_MINUTES.start(),
                DURATION_MINUTES.end()
            ),
        ));
    }
    let bad_start =
        || AppError::invalid_field("start", "must be a local time as YYYY-MM-DD HH:MM:SS");
    let naive =
        NaiveDateTime::parse_from_str(start.trim(), LOCAL_FORMAT).map_err(|_| bad_start())?;
    // chrono also reads unpadded fields (`13:00:0`); the wire format has exactly two digits each.
    if naive.format(LOCAL_FORMAT).to_string() != start.trim() {
        return Err(bad_start());
    }
    let begins = match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(first, _) => first,
        LocalResult::None => {
            return Err(AppError::invalid_field(
                "start",
                format!(
                    "{} does not exist in {} (skipped by a daylight saving change)",
                    naive.format(LOCAL_FORMAT),
                    tz.name()
                ),
            ));
        }
    };
    let starts_at = begins.timestamp();
    Ok(Slot {
        start_local: naive.format(LOCAL_FORMAT).to_string(),
        time_zone: tz.name().to_string(),
        duration,
        starts_at,
        ends_at: starts_at + duration * 60,
    })
}

/// An instant as local time in `time_zone` (`YYYY-MM-DD HH:MM:SS`); UTC if the zone is unknown.
pub fn local(at: i64, time_zone: &str) -> String {
    in_zone(at, time_zone)
        .map(|t| t.format(LOCAL_FORMAT).to_string())
        .unwrap_or_default()
}

/// An instant for people: `Saturday 19 September 2020, 13:00 BST (Europe/London)`.
pub fn human(at: i64, time_zone: &str) -> String {
    in_zone(at, time_zone)
        .map(|t| format!("{} ({})", t.format("%A %-d %B %Y, %H:%M %Z"), time_zone))
        .unwrap_or_default()
}

/// An instant in a zone (UTC if the stored name stopped parsing).
pub fn in_zone(at: i64, time_zone: &str) -> Option<DateTime<Tz>> {
    let tz = time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
    DateTime::<Utc>::from_timestamp(at, 0).map(|t| t.with_timezone(&tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_example_resolves_to_summer_time() {
        let s = slot("2020-09-19 13:00:00", "Europe/London", 60).unwrap();
        assert_eq!(s.starts_at, 1_600_516_800); // 12:00 UTC
        assert_eq!(local(s.ends_at, "Europe/London"), "2020-09-19 14:00:00");
    }

    #[test]
    fn start_has_two_digits_per_field() {
        for start in [
            "2030-09-19 13:00:0",
            "2030-9-19 13:00:00",
            "2030-09-19 1:00:00",
        ] {
            let err = slot(start, "UTC", 30).unwrap_err();
            assert!(
                err.message.starts_with("start:"),
                "{start}: {}",
                err.message
            );
        }
        assert!(slot(" 2030-09-19 13:00:00 ", "UTC", 30).is_ok());
    }

    #[test]
    fn gap_is_refused_naming_start() {
        let err = slot("2026-03-29 01:30:00", "Europe/London", 30).unwrap_err();
        assert!(err.message.starts_with("start:"), "{}", err.message);
    }

    #[test]
    fn overlap_takes_the_first_occurrence() {
        // 01:30 happens twice on 2026-10-25 in London: first at BST (00:30 UTC).
        let s = slot("2026-10-25 01:30:00", "Europe/London", 30).unwrap();
        assert_eq!(s.starts_at, 1_792_888_200);
    }

    #[test]
    fn bad_zone_and_duration_name_their_fields() {
        assert!(
            slot("2026-01-01 10:00:00", "Mars/Olympus", 30)
                .unwrap_err()
                .message
                .starts_with("time_zone:")
        );
        for d in [0, 1441, -5] {
            assert!(
                slot("2026-01-01 10:00:00", "UTC", d)
                    .unwrap_err()
                    .message
                    .starts_with("duration:")
            );
        }
        assert!(
            slot("2026-01-01T10:00", "UTC", 30)
                .unwrap_err()
                .message
                .starts_with("start:")
        );
    }
}

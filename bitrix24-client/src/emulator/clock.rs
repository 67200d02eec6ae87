//! Rendering and parsing of dates and datetimes the way the portal does.
//!
//! The portal renders every datetime in its own UTC offset with an explicit
//! offset (`2025-04-29T13:03:20+03:00`). A date is rendered as the instant
//! "midnight UTC of that day" shown in the portal's offset, so on a `+03:00`
//! portal the date 2025-04-29 reads `2025-04-29T03:00:00+03:00`.

use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// Renders a datetime in the portal's offset, whole seconds.
pub(crate) fn datetime(ts: Timestamp, offset: Offset) -> String {
    let whole = Timestamp::from_second(ts.as_second()).unwrap_or(ts);
    whole.display_with_offset(offset).to_string()
}

/// Renders a date the way `CRestUtil::ConvertDate` does: midnight UTC shown in the portal's offset.
pub(crate) fn date(day: Date, offset: Offset) -> String {
    match Offset::UTC.to_timestamp(day.at(0, 0, 0, 0)) {
        Ok(ts) => datetime(ts, offset),
        Err(_) => String::new(),
    }
}

/// Parses a datetime as the portal accepts it on input.
///
/// Accepted forms: ISO-8601 with an offset; ISO-8601 or `YYYY-MM-DD HH:MM:SS`
/// without one (portal-local time); a bare `YYYY-MM-DD` (local midnight); and
/// the Russian site format `DD.MM.YYYY[ HH:MM:SS]`.
pub(crate) fn parse_datetime(text: &str, offset: Offset) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }

    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }

    let local = parse_local(text)?;
    offset.to_timestamp(local).ok()
}

/// Parses a date as the portal accepts it: the date part of any accepted datetime form.
///
/// A value with an offset keeps its own calendar day (`2025-04-29T13:03:20+03:00` is the 29th).
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Some(prefix) = text.get(..10)
        && let Ok(day) = prefix.parse::<Date>()
    {
        return Some(day);
    }

    parse_local(text).map(|dt| dt.date())
}

fn parse_local(text: &str) -> Option<DateTime> {
    const FORMATS: [&str; 5] = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ];
    for format in FORMATS {
        if let Ok(dt) = DateTime::strptime(format, text) {
            return Some(dt);
        }
    }

    for format in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(day) = Date::strptime(format, text) {
            return Some(day.at(0, 0, 0, 0));
        }
    }
    None
}

/// Returns `ts` shifted by a number of days.
pub(crate) fn days_after(ts: Timestamp, days: i64) -> Timestamp {
    ts.checked_add(SignedDuration::from_hours(days * 24))
        .unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_renders_as_utc_midnight_in_offset() {
        let day = Date::new(2025, 4, 29).unwrap();
        assert_eq!(date(day, Offset::constant(3)), "2025-04-29T03:00:00+03:00");
        assert_eq!(date(day, Offset::constant(2)), "2025-04-29T02:00:00+02:00");
    }

    #[test]
    fn datetime_renders_whole_seconds_with_offset() {
        let ts: Timestamp = "2025-04-29T10:03:20.5Z".parse().unwrap();
        assert_eq!(
            datetime(ts, Offset::constant(3)),
            "2025-04-29T13:03:20+03:00"
        );
    }

    #[test]
    fn local_datetime_uses_portal_offset() {
        let ts = parse_datetime("2025-03-01 10:00:00", Offset::constant(3)).unwrap();
        assert_eq!(ts.to_string(), "2025-03-01T07:00:00Z");
        let ts = parse_datetime("01.03.2025 10:00:00", Offset::constant(3)).unwrap();
        assert_eq!(ts.to_string(), "2025-03-01T07:00:00Z");
    }

    #[test]
    fn datetime_with_offset_keeps_instant() {
        let ts = parse_datetime("2025-03-01T10:00:00+05:00", Offset::constant(3)).unwrap();
        assert_eq!(ts.to_string(), "2025-03-01T05:00:00Z");
    }

    #[test]
    fn date_takes_calendar_day() {
        assert_eq!(
            parse_date("2025-04-29T13:03:20+03:00").unwrap().to_string(),
            "2025-04-29"
        );
        assert_eq!(parse_date("29.04.2025").unwrap().to_string(), "2025-04-29");
        assert!(parse_date("tomorrow").is_none());
    }
}

//! Times in Moscow time, as the firm's staff read them.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Formats an instant as `YYYY-MM-DD HH:MM` in Moscow time, or in UTC with
/// the suffix `UTC` when the time-zone database has no Europe/Moscow.
pub fn moscow(at: Timestamp) -> String {
    format_moscow(at, "%Y-%m-%d %H:%M")
}

/// Formats an instant like [`moscow`] with seconds: `YYYY-MM-DD HH:MM:SS`.
pub fn moscow_with_seconds(at: Timestamp) -> String {
    format_moscow(at, "%Y-%m-%d %H:%M:%S")
}

fn format_moscow(at: Timestamp, format: &str) -> String {
    match TimeZone::get("Europe/Moscow") {
        Ok(zone) => at.to_zoned_datetime(zone).strftime(format).to_string(),
        Err(_) => format!("{} UTC", at.strftime(format)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moscow_is_utc_plus_three() {
        let at: Timestamp = "2026-01-15T21:30:00Z".parse().unwrap();

        assert_eq!(moscow(at), "2026-01-16 00:30");
    }

    #[test]
    fn moscow_with_seconds_keeps_seconds() {
        let at: Timestamp = "2026-01-15T21:30:07Z".parse().unwrap();

        assert_eq!(moscow_with_seconds(at), "2026-01-16 00:30:07");
    }
}

//! The request timestamp: parsing `X-Amz-Date` (ISO 8601 basic format) and `Date` (RFC 7231
//! / RFC 2822), and printing seconds since the epoch back in the basic format.
//!
//! Written by hand over days-since-epoch arithmetic so the crate needs no calendar library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (UTC).
pub type Seconds = i64;

/// `now` as seconds since the epoch; a clock before 1970 counts as the epoch itself.
pub fn unix_seconds(now: SystemTime) -> Seconds {
    now.duration_since(UNIX_EPOCH)
        .map(|d| Seconds::try_from(d.as_secs()).unwrap_or(Seconds::MAX))
        .unwrap_or(0)
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_basic(text: &str) -> Option<Seconds> {
    let bytes = text.as_bytes();
    // ASCII only, so that the byte ranges below fall on character boundaries.
    if !text.is_ascii() || bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let year = digits(&text[0..4])?;
    let month = digits(&text[4..6])?;
    let day = digits(&text[6..8])?;
    let hour = digits(&text[9..11])?;
    let minute = digits(&text[11..13])?;
    let second = digits(&text[13..15])?;
    from_fields(year, month, day, hour, minute, second)
}

/// Parses an HTTP `Date` value: `Sun, 06 Nov 1994 08:49:37 GMT`, or with a numeric zone such
/// as botocore's `-0000`; the weekday is optional and not checked.
pub fn parse_http_date(text: &str) -> Option<Seconds> {
    let text = text.trim();
    let rest = match text.split_once(',') {
        Some((_weekday, rest)) => rest,
        None => text,
    };
    let mut parts = rest.split_whitespace();
    let day = digits(parts.next()?)?;
    let month = month_number(parts.next()?)?;
    let year = digits(parts.next()?)?;
    let mut clock = parts.next()?.split(':');
    let hour = digits(clock.next()?)?;
    let minute = digits(clock.next()?)?;
    let second = digits(clock.next()?)?;
    if clock.next().is_some() {
        return None;
    }
    let offset = zone_offset(parts.next()?)?;
    if parts.next().is_some() {
        return None;
    }
    Some(from_fields(year, month, day, hour, minute, second)? - offset)
}

/// Prints `YYYYMMDDTHHMMSSZ`.
pub fn format_basic(seconds: Seconds) -> String {
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn month_number(name: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let position = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))?;
    i64::try_from(position).ok().map(|p| p + 1)
}

/// The zone's offset east of UTC in seconds.
fn zone_offset(zone: &str) -> Option<Seconds> {
    if ["GMT", "UT", "UTC", "Z"]
        .iter()
        .any(|z| z.eq_ignore_ascii_case(zone))
    {
        return Some(0);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if !rest.is_ascii() || rest.len() != 4 {
        return None;
    }
    let hours = digits(&rest[0..2])?;
    let minutes = digits(&rest[2..4])?;
    if minutes >= 60 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn from_fields(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
) -> Option<Seconds> {
    // Four-digit years only: this also keeps the day arithmetic far from overflow.
    if !(0..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, counting in 400-year eras that start
/// on March 1st so the leap day falls at the end of each year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_format_round_trips() {
        let seconds = parse_basic("20150830T123600Z");
        assert_eq!(seconds, Some(1_440_938_160));
        assert_eq!(format_basic(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_basic(0), "19700101T000000Z");
        assert_eq!(
            parse_basic("20240229T235959Z").map(format_basic).as_deref(),
            Some("20240229T235959Z")
        );
    }

    #[test]
    fn basic_format_rejects_impossible_dates() {
        for bad in [
            "20230229T000000Z",
            "20151330T000000Z",
            "20150830T243600Z",
            "20150830 123600Z",
            "2015083T123600Z",
            "20150830T123600",
            "+0150830T123600Z",
            "2015083éT12360Z",
        ] {
            assert_eq!(parse_basic(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates_in_the_forms_clients_send() {
        let expected = Some(1_440_938_160);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"), expected);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 -0000"), expected);
        assert_eq!(parse_http_date("30 Aug 2015 14:36:00 +0200"), expected);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36 GMT"), None);
        assert_eq!(parse_http_date("Sun, 30 Foo 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 +é00"), None);
        assert_eq!(
            parse_http_date("Sun, 30 Aug 99999999999999999 12:36:00 GMT"),
            None
        );
        assert_eq!(
            parse_http_date("Sun, 99999999999999999999 Aug 2015 12:36:00 GMT"),
            None
        );
    }
}

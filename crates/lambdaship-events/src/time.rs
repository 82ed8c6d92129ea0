//! The two time forms the fronts write: milliseconds since the epoch and the access-log
//! form `15/May/2020:06:01:09 +0000` (always UTC).

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Milliseconds since the Unix epoch (0 for earlier times).
pub(crate) fn epoch_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Whole seconds since the Unix epoch (0 for earlier times).
pub(crate) fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `time` as `dd/Mon/yyyy:HH:MM:SS +0000`, the form of `requestTime` and `time`.
pub(crate) fn access_log_time(time: SystemTime) -> String {
    let secs = epoch_seconds(time);
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_date(days);
    let month_name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .unwrap_or(&"Jan");
    format!(
        "{day:02}/{month_name}/{year}:{:02}:{:02}:{:02} +0000",
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of `days` after 1970-01-01.
fn civil_date(days: u64) -> (u64, u32, u32) {
    // Count from 0000-03-01 so that the leap day ends each 4-year cycle; 719_468 days
    // separate that date from the epoch.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(millis)
    }

    #[test]
    fn formats_the_documented_examples() {
        // Pairs taken from AWS's example events (requestTime with requestTimeEpoch).
        assert_eq!(
            access_log_time(at(1589522469693)),
            "15/May/2020:06:01:09 +0000"
        );
        assert_eq!(
            access_log_time(at(1583349317135)),
            "04/Mar/2020:19:15:17 +0000"
        );
        assert_eq!(
            access_log_time(at(1587481701067)),
            "21/Apr/2020:15:08:21 +0000"
        );
        assert_eq!(epoch_millis(at(1589522469693)), 1589522469693);
    }

    #[test]
    fn handles_epoch_leap_days_and_year_ends() {
        assert_eq!(access_log_time(UNIX_EPOCH), "01/Jan/1970:00:00:00 +0000");
        // 2024-02-29T23:59:59Z
        assert_eq!(
            access_log_time(at(1_709_251_199_000)),
            "29/Feb/2024:23:59:59 +0000"
        );
        // 2000-12-31T12:00:00Z
        assert_eq!(
            access_log_time(at(978_264_000_000)),
            "31/Dec/2000:12:00:00 +0000"
        );
        assert_eq!(epoch_millis(UNIX_EPOCH - Duration::from_secs(5)), 0);
    }
}

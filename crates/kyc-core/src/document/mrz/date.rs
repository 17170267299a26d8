//! A small calendar date type (proleptic Gregorian) used for MRZ dates and "today".

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A calendar date, serialised as ISO 8601 `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day of month 1–31.
    pub day: u32,
}

/// Number of days in `month` of `year`, or 0 for a month outside 1–12.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
        _ => 0,
    }
}

impl IsoDate {
    /// A checked constructor: `None` unless the day exists in the calendar.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        (day >= 1 && day <= days_in_month(year, month)).then_some(Self { year, month, day })
    }

    /// The date `days` after 1970-01-01 (negative for earlier dates).
    pub fn from_days_since_epoch(days: i64) -> Self {
        // Civil-from-days conversion over 400-year eras (146 097 days each).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }

    /// Today's date in UTC from the system clock (1970-01-01 if the clock is before the epoch).
    pub fn today_utc() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::from_days_since_epoch((secs / 86_400) as i64)
    }

    /// Parse `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Self> {
        let mut it = s.trim().splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        Self::new(y, m, d)
    }

    /// Whole years from `self` to `on` (age on a date), 0 when `on` is earlier.
    pub fn years_until(&self, on: &IsoDate) -> i32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years.max(0)
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for IsoDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for IsoDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IsoDate::parse_iso(&s).ok_or_else(|| serde::de::Error::custom("expected YYYY-MM-DD"))
    }
}

/// Which century rule resolves a two-digit MRZ year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRole {
    /// A birth date: never after today.
    Birth,
    /// An expiry date: at most `max_years_ahead` years after today.
    Expiry {
        /// How far ahead an expiry may lie (ICAO documents: 10–20 years).
        max_years_ahead: i32,
    },
}

/// Resolve a six-character `YYMMDD` MRZ date to a calendar date.
///
/// Returns `None` when the field holds fillers (unknown date) or names no real day.
pub fn resolve_yymmdd(raw: &str, role: DateRole, today: IsoDate) -> Option<IsoDate> {
    let b = raw.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (yy, mm, dd) = (num(0) as i32, num(2), num(4));
    let century = today.year - today.year.rem_euclid(100);
    let candidate = |c: i32| IsoDate::new(c + yy, mm, dd);
    match role {
        DateRole::Birth => {
            let this = candidate(century)?;
            if this <= today {
                Some(this)
            } else {
                candidate(century - 100)
            }
        }
        DateRole::Expiry { max_years_ahead } => {
            let this = candidate(century)?;
            let limit = today.year + max_years_ahead;
            if this.year > limit {
                candidate(century - 100)
            } else if this.year + 100 <= limit {
                candidate(century + 100)
            } else {
                Some(this)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn epoch_conversion_round_trips_known_days() {
        assert_eq!(IsoDate::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(
            IsoDate::from_days_since_epoch(19_723).to_string(),
            "2024-01-01"
        );
        assert_eq!(IsoDate::from_days_since_epoch(-1).to_string(), "1969-12-31");
        assert_eq!(
            IsoDate::from_days_since_epoch(11_016).to_string(),
            "2000-02-29"
        );
    }

    #[test]
    fn century_resolution() {
        let today = IsoDate::new(2026, 11, 22).unwrap();
        let birth = |s| resolve_yymmdd(s, DateRole::Birth, today).map(|d| d.to_string());
        let exp = |s| {
            resolve_yymmdd(
                s,
                DateRole::Expiry {
                    max_years_ahead: 20,
                },
                today,
            )
            .map(|d| d.to_string())
        };
        assert_eq!(birth("740812").as_deref(), Some("1974-08-12"));
        assert_eq!(birth("261122").as_deref(), Some("2026-11-22"));
        assert_eq!(birth("261123").as_deref(), Some("1926-11-23"));
        assert_eq!(birth("000229").as_deref(), Some("2000-02-29"));
        assert_eq!(exp("120415").as_deref(), Some("2012-04-15"));
        assert_eq!(exp("461231").as_deref(), Some("2046-12-31"));
        assert_eq!(exp("470101").as_deref(), Some("1947-01-01"));
        assert_eq!(birth("741302"), None);
        assert_eq!(birth("<<<<<<"), None);
        assert_eq!(birth("010229"), None);
    }
}

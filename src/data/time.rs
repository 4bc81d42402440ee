use std::fmt;

/// Start of a recording as EDF stores it (local clock time, no zone), plus the
/// sub-second offset that EDF+ carries in the first time-keeping annotation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StartTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Fraction of a second in [0, 1).
    pub subsecond: f64,
}

impl Default for StartTime {
    /// EDF's conventional "unknown" date: 1 January 1985 (the year-2000 clipping date).
    fn default() -> Self {
        Self {
            year: 1985,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            subsecond: 0.0,
        }
    }
}

impl fmt::Display for StartTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.subsecond > 0.0 {
            let frac = format!("{:.7}", self.subsecond);
            write!(f, "{}", frac.trim_start_matches('0').trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl StartTime {
    /// The start moved later by `seconds` (≥ 0), carrying into minutes, hours and days
    /// with the Gregorian calendar (used when a recording is cropped).
    pub fn plus_seconds(&self, seconds: f64) -> StartTime {
        let total = self.subsecond + seconds.max(0.0);
        let whole = total.floor();
        let mut t = *self;
        t.subsecond = total - whole;
        let mut secs = t.second as u64 + whole as u64;
        t.second = (secs % 60) as u8;
        secs /= 60;
        let mut mins = t.minute as u64 + secs;
        t.minute = (mins % 60) as u8;
        mins /= 60;
        let mut hours = t.hour as u64 + mins;
        t.hour = (hours % 24) as u8;
        hours /= 24;
        for _ in 0..hours {
            t.day += 1;
            if t.day > days_in_month(t.year, t.month) {
                t.day = 1;
                t.month += 1;
                if t.month > 12 {
                    t.month = 1;
                    t.year += 1;
                }
            }
        }
        t
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_seconds_carries_through_the_calendar() {
        let t = StartTime {
            year: 2024,
            month: 2,
            day: 28,
            hour: 23,
            minute: 59,
            second: 59,
            subsecond: 0.5,
        };
        let u = t.plus_seconds(86400.0 + 0.75);
        // 2024 is a leap year: 28 Feb 23:59:59.5 + 1 day + 0.75 s → 1 Mar 00:00:00.25
        assert_eq!(
            (u.year, u.month, u.day, u.hour, u.minute, u.second),
            (2024, 3, 1, 0, 0, 0)
        );
        assert!((u.subsecond - 0.25).abs() < 1e-12);
    }
}

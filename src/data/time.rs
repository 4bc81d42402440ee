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

//! EDF+ time-stamped annotation lists (TALs): `+onset[\x15duration]\x14text\x14…\x14\x00`,
//! packed into the bytes of an annotation signal, one or more per data record, padded
//! with NULs. The first TAL of the first annotation signal in each record is the
//! time-keeping one: its onset is the record's onset.

/// One parsed TAL.
#[derive(Debug, Clone, PartialEq)]
pub struct Tal {
    /// Seconds from the header start time.
    pub onset: f64,
    pub duration: Option<f64>,
    /// Annotation texts in order; the time-keeping TAL's first one is empty.
    pub texts: Vec<String>,
}

/// Why a TAL could not be parsed, and at which byte of the annotation bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TalError {
    pub offset: usize,
    pub problem: String,
}

/// Parse every TAL in one annotation signal's bytes of one record.
pub fn parse_tals(bytes: &[u8]) -> Result<Vec<Tal>, TalError> {
    let mut tals = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos] == 0 {
            pos += 1;
            continue;
        }
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == 0)
            .map(|e| pos + e)
            .unwrap_or(bytes.len());
        tals.push(
            parse_one(&bytes[pos..end]).map_err(|(o, problem)| TalError {
                offset: pos + o,
                problem,
            })?,
        );
        pos = end;
    }
    Ok(tals)
}

fn parse_one(tal: &[u8]) -> Result<Tal, (usize, String)> {
    let head_end = tal
        .iter()
        .position(|&b| b == 0x14)
        .ok_or((0, "TAL has no 0x14 after its onset".to_string()))?;
    if tal.last() != Some(&0x14) {
        return Err((tal.len(), "TAL does not end with 0x14 0x00".to_string()));
    }
    let head = &tal[..head_end];
    let (onset_bytes, duration_bytes) = match head.iter().position(|&b| b == 0x15) {
        Some(p) => (&head[..p], Some(&head[p + 1..])),
        None => (head, None),
    };
    let onset = parse_number(onset_bytes, true).ok_or_else(|| {
        (
            0,
            format!(
                "TAL onset {:?} is not +seconds or -seconds",
                String::from_utf8_lossy(onset_bytes)
            ),
        )
    })?;
    let duration = match duration_bytes {
        // An empty duration after 0x15 is tolerated as "no duration" (some writers emit it).
        Some([]) | None => None,
        Some(d) => Some(parse_number(d, false).ok_or_else(|| {
            (
                onset_bytes.len() + 1,
                format!(
                    "TAL duration {:?} is not a number of seconds",
                    String::from_utf8_lossy(d)
                ),
            )
        })?),
    };
    let texts = if tal.len() == head_end + 1 {
        Vec::new()
    } else {
        tal[head_end + 1..tal.len() - 1]
            .split(|&b| b == 0x14)
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect()
    };
    Ok(Tal {
        onset,
        duration,
        texts,
    })
}

/// `[+-]digits[.digits]` (sign required for onsets, forbidden for durations).
fn parse_number(b: &[u8], signed: bool) -> Option<f64> {
    let rest = if signed {
        match b.first() {
            Some(b'+') | Some(b'-') => &b[1..],
            _ => return None,
        }
    } else {
        b
    };
    let ok = !rest.is_empty()
        && rest.iter().all(|c| c.is_ascii_digit() || *c == b'.')
        && rest.iter().filter(|&&c| c == b'.').count() <= 1
        && rest.iter().any(u8::is_ascii_digit);
    if !ok {
        return None;
    }
    std::str::from_utf8(b)
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keeping_and_events() {
        let b = b"+0.5\x14\x14\x00+1.25\x152\x14T1\x14T2\x14\x00\x00\x00";
        let t = parse_tals(b).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].onset, 0.5);
        assert_eq!(t[0].texts, vec![String::new()]);
        assert_eq!(t[1].duration, Some(2.0));
        assert_eq!(t[1].texts, vec!["T1".to_string(), "T2".to_string()]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_tals(b"abc\x14\x00").is_err());
        assert!(parse_tals(b"+1\x15x\x14\x14\x00").is_err());
        assert!(parse_tals(b"+1").is_err());
        assert!(parse_tals(b"\x14\x00").is_err());
        // Found by the header fuzz test: the onset's 0x14 is also the last byte.
        assert_eq!(
            parse_tals(b"+1\x14\x00").unwrap()[0].texts,
            Vec::<String>::new()
        );
    }
}

//! `google.protobuf.Duration` and `google.protobuf.Timestamp` values: parsing,
//! formatting, arithmetic and calendar accessors (UTC or fixed offsets).

use std::fmt;

use super::EvalError;

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the valid range.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

/// A signed span with nanosecond precision (the range of an int64 of nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Duration(pub(crate) i64);

/// An instant, as nanoseconds since the Unix epoch, between years 1 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(pub(crate) i128);

fn overflow() -> EvalError {
    EvalError::new("integer overflow")
}

impl Duration {
    /// Parses Go duration syntax: `1h30m`, `-1.5s`, `300ms`, `0`.
    pub(crate) fn parse(s: &str) -> Result<Duration, EvalError> {
        let bad = || EvalError::new(format!("invalid duration \"{s}\""));
        let (neg, mut rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "0" {
            return Ok(Duration(0));
        }
        if rest.is_empty() {
            return Err(bad());
        }
        let mut total: i128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let int_part = &rest[..int_len];
            rest = &rest[int_len..];
            let mut frac_part = "";
            if let Some(r) = rest.strip_prefix('.') {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                frac_part = &r[..n];
                rest = &r[n..];
            }
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(bad());
            }
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit: i128 = match &rest[..unit_len] {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            let whole: i128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| bad())?
            };
            let mut v = whole.checked_mul(unit).ok_or_else(bad)?;
            if !frac_part.is_empty() {
                let digits = &frac_part[..frac_part.len().min(18)];
                let f: i128 = digits.parse().map_err(|_| bad())?;
                v += f * unit / 10i128.pow(digits.len() as u32);
            }
            total = total.checked_add(v).ok_or_else(bad)?;
            if total > i128::from(i64::MAX) {
                return Err(bad());
            }
        }
        let total = if neg { -total } else { total };
        i64::try_from(total).map(Duration).map_err(|_| bad())
    }

    pub(crate) fn add(self, o: Duration) -> Result<Duration, EvalError> {
        self.0.checked_add(o.0).map(Duration).ok_or_else(overflow)
    }

    pub(crate) fn sub(self, o: Duration) -> Result<Duration, EvalError> {
        self.0.checked_sub(o.0).map(Duration).ok_or_else(overflow)
    }

    pub(crate) fn neg(self) -> Result<Duration, EvalError> {
        self.0.checked_neg().map(Duration).ok_or_else(overflow)
    }

    /// `getHours()` and friends: the whole span in the given unit, truncated.
    pub(crate) fn total(self, unit_nanos: i64) -> i64 {
        self.0 / unit_nanos
    }
}

/// The protobuf JSON form CEL uses for `string(duration)`: seconds with the
/// fraction only as long as needed, e.g. `5400s`, `1.5s`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let secs = abs / NANOS_PER_SEC as u64;
        let nanos = abs % NANOS_PER_SEC as u64;
        if nanos == 0 {
            write!(f, "{sign}{secs}s")
        } else {
            let frac = format!("{nanos:09}");
            write!(f, "{sign}{secs}.{}s", frac.trim_end_matches('0'))
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Calendar fields of a timestamp in some zone.
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: i64,
    pub(crate) day: i64,
    pub(crate) hour: i64,
    pub(crate) minute: i64,
    pub(crate) second: i64,
    pub(crate) nanos: i64,
    pub(crate) weekday: i64,
    pub(crate) yearday: i64,
}

impl Timestamp {
    /// Parses RFC 3339, e.g. `2023-01-02T03:04:05.5Z` or `...+01:00`.
    pub(crate) fn parse(s: &str) -> Result<Timestamp, EvalError> {
        let bad = || EvalError::new(format!("invalid timestamp \"{s}\""));
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Result<i64, EvalError> {
            let t = s.get(r).ok_or_else(bad)?;
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse().map_err(|_| bad())
        };
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let (y, mo, d, h, mi, sec) = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        );
        let mut i = 19;
        let mut nanos = 0i64;
        if b[i] == b'.' {
            let n = s[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 || n > 9 {
                return Err(bad());
            }
            nanos = num(i + 1..i + 1 + n)? * 10i64.pow(9 - n as u32);
            i += 1 + n;
        }
        let offset = match &s[i..] {
            "Z" | "z" => 0,
            z if z.len() == 6
                && (z.starts_with('+') || z.starts_with('-'))
                && z.as_bytes()[3] == b':' =>
            {
                let secs = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
                if z.starts_with('-') { -secs } else { secs }
            }
            _ => return Err(bad()),
        };
        let mdays = [
            31,
            if is_leap(y) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&mo)
            || d < 1
            || d > mdays[(mo - 1) as usize]
            || h > 23
            || mi > 59
            || sec > 59
        {
            return Err(bad());
        }
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
        Timestamp::from_secs_nanos(secs, nanos).map_err(|_| bad())
    }

    pub(crate) fn from_secs_nanos(secs: i64, nanos: i64) -> Result<Timestamp, EvalError> {
        Timestamp::checked(i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos))
    }

    fn checked(n: i128) -> Result<Timestamp, EvalError> {
        let secs = n.div_euclid(i128::from(NANOS_PER_SEC));
        if secs < i128::from(MIN_SECS) || secs > i128::from(MAX_SECS) {
            return Err(EvalError::new("timestamp overflow"));
        }
        Ok(Timestamp(n))
    }

    pub(crate) fn unix_secs(self) -> i64 {
        self.0.div_euclid(i128::from(NANOS_PER_SEC)) as i64
    }

    pub(crate) fn add(self, d: Duration) -> Result<Timestamp, EvalError> {
        Timestamp::checked(self.0 + i128::from(d.0))
    }

    pub(crate) fn sub(self, d: Duration) -> Result<Timestamp, EvalError> {
        Timestamp::checked(self.0 - i128::from(d.0))
    }

    pub(crate) fn since(self, o: Timestamp) -> Result<Duration, EvalError> {
        i64::try_from(self.0 - o.0)
            .map(Duration)
            .map_err(|_| overflow())
    }

    /// Calendar fields in the zone `tz`: `UTC`, or a fixed offset `+05:30` / `-08:00`.
    pub(crate) fn civil(self, tz: Option<&str>) -> Result<Civil, EvalError> {
        let offset = match tz {
            None | Some("UTC" | "Z" | "Etc/UTC") => 0,
            Some(z) => {
                parse_offset(z).ok_or_else(|| EvalError::new(format!("unknown time zone {z}")))?
            }
        };
        let total = self.unix_secs() + offset;
        let days = total.div_euclid(86_400);
        let rem = total.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Ok(Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            nanos: self.0.rem_euclid(i128::from(NANOS_PER_SEC)) as i64,
            weekday: (days + 4).rem_euclid(7),
            yearday: days - days_from_civil(year, 1, 1),
        })
    }
}

fn parse_offset(z: &str) -> Option<i64> {
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => (1, z),
    };
    let (h, m) = rest.split_once(':')?;
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// RFC 3339 in UTC with the fraction trimmed, as `string(timestamp)` gives.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = match self.civil(None) {
            Ok(c) => c,
            Err(_) => return write!(f, "<invalid timestamp>"),
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )?;
        if c.nanos != 0 {
            let frac = format!("{:09}", c.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        write!(f, "Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_162, -1, 0, 59, 365, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn go_duration_syntax() {
        assert_eq!(Duration::parse("1h30m").unwrap().0, 5_400 * NANOS_PER_SEC);
        assert_eq!(Duration::parse("1.5s").unwrap().0, 1_500_000_000);
        assert_eq!(Duration::parse("-300ms").unwrap().0, -300_000_000);
        assert_eq!(Duration::parse("0").unwrap().0, 0);
        assert!(Duration::parse("1d").is_err());
        assert!(Duration::parse("").is_err());
        assert!(Duration::parse("h").is_err());
        assert_eq!(Duration(5_400 * NANOS_PER_SEC).to_string(), "5400s");
        assert_eq!(Duration(-1_500_000_000).to_string(), "-1.5s");
    }

    #[test]
    fn rfc3339() {
        let t = Timestamp::parse("2023-08-20T12:34:56.25+02:00").unwrap();
        assert_eq!(t.to_string(), "2023-08-20T10:34:56.25Z");
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z").unwrap().0, 0);
        assert!(Timestamp::parse("2023-02-29T00:00:00Z").is_err());
        assert!(Timestamp::parse("2023-01-01 00:00:00Z").is_err());
        let c = t.civil(Some("-01:00")).unwrap();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.weekday, c.yearday),
            (2023, 8, 20, 9, 0, 231)
        );
    }
}

//! Kubernetes resource quantities (`quantity("1.5Gi")`) for the Kubernetes
//! quantity library: exact decimal values with the suffix style they were
//! written in, compared and added exactly.

use std::cmp::Ordering;
use std::fmt;

/// How a quantity prints: the style of suffix it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// A quantity `mantissa * 10^exp`, normalised so the mantissa has no
/// trailing zeros.
#[derive(Debug, Clone)]
pub(crate) struct Quantity {
    mantissa: i128,
    exp: i32,
    format: Format,
}

const DECIMAL: &[(&str, i32)] = &[
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];
const BINARY: &[(&str, u32)] = &[
    ("Ki", 10),
    ("Mi", 20),
    ("Gi", 30),
    ("Ti", 40),
    ("Pi", 50),
    ("Ei", 60),
];

impl Quantity {
    /// Parses the Kubernetes quantity syntax; `None` when `s` is not one.
    pub(crate) fn parse(s: &str) -> Option<Quantity> {
        let num_len = s
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '+' || c == '-'))))
            .map_or(s.len(), |(i, _)| i);
        let (num, suffix) = s.split_at(num_len);
        let (neg, digits) = match num.as_bytes().first()? {
            b'-' => (true, &num[1..]),
            b'+' => (false, &num[1..]),
            _ => (false, num),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return None;
        }
        let all: String = format!("{int}{frac}");
        let all = all.trim_start_matches('0');
        if all.len() > 36 {
            return None;
        }
        let mut mantissa: i128 = if all.is_empty() { 0 } else { all.parse().ok()? };
        let mut exp = -(frac.len() as i32);
        let format = if let Some(&(_, e)) = DECIMAL.iter().find(|(n, _)| *n == suffix) {
            exp += e;
            Format::DecimalSi
        } else if let Some(&(_, bits)) = BINARY.iter().find(|(n, _)| *n == suffix) {
            mantissa = mantissa.checked_mul(1i128 << bits)?;
            Format::BinarySi
        } else if let Some(e) = suffix.strip_prefix(['e', 'E']) {
            let e: i32 = e.parse().ok()?;
            if e.unsigned_abs() > 1000 {
                return None;
            }
            exp += e;
            Format::DecimalExponent
        } else {
            return None;
        };
        if neg {
            mantissa = -mantissa;
        }
        Some(Quantity::new(mantissa, exp, format))
    }

    fn new(mut mantissa: i128, mut exp: i32, format: Format) -> Quantity {
        if mantissa == 0 {
            exp = 0;
        }
        while mantissa != 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            exp += 1;
        }
        Quantity {
            mantissa,
            exp,
            format,
        }
    }

    /// Both mantissas scaled to the smaller exponent, if that fits.
    fn aligned(&self, o: &Quantity) -> Option<(i128, i128, i32)> {
        let e = self.exp.min(o.exp);
        let scale = |q: &Quantity| {
            10i128
                .checked_pow((q.exp - e) as u32)
                .and_then(|p| q.mantissa.checked_mul(p))
        };
        Some((scale(self)?, scale(o)?, e))
    }

    pub(crate) fn cmp_value(&self, o: &Quantity) -> Ordering {
        match self.aligned(o) {
            Some((a, b, _)) => a.cmp(&b),
            None => self
                .approx()
                .partial_cmp(&o.approx())
                .unwrap_or(Ordering::Equal),
        }
    }

    pub(crate) fn approx(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exp)
    }

    pub(crate) fn sign(&self) -> i64 {
        self.mantissa.signum() as i64
    }

    /// The integer value, if the quantity is whole and fits an int64.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        if self.exp < 0 {
            return None;
        }
        let v = self
            .mantissa
            .checked_mul(10i128.checked_pow(self.exp as u32)?)?;
        i64::try_from(v).ok()
    }

    pub(crate) fn is_integer(&self) -> bool {
        self.exp >= 0
    }

    pub(crate) fn from_i64(v: i64) -> Quantity {
        Quantity::new(i128::from(v), 0, Format::DecimalSi)
    }

    pub(crate) fn add(&self, o: &Quantity) -> Option<Quantity> {
        let (a, b, e) = self.aligned(o)?;
        Some(Quantity::new(a.checked_add(b)?, e, self.format))
    }

    pub(crate) fn neg(&self) -> Quantity {
        Quantity {
            mantissa: -self.mantissa,
            ..self.clone()
        }
    }
}

/// The canonical form Kubernetes serializes: binary suffixes only for whole
/// values of at least 1024 divisible by the suffix, otherwise the smallest
/// decimal suffix (or exponent) that keeps the mantissa whole.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = (self.format == Format::BinarySi && self.exp >= 0)
            .then(|| {
                10i128
                    .checked_pow(self.exp as u32)
                    .and_then(|p| self.mantissa.checked_mul(p))
            })
            .flatten();
        if let Some(v) = whole
            && v.abs() >= 1024
        {
            let (mut v, mut i) = (v, 0);
            while i < BINARY.len() && v % 1024 == 0 {
                v /= 1024;
                i += 1;
            }
            let suffix = if i == 0 { "" } else { BINARY[i - 1].0 };
            return write!(f, "{v}{suffix}");
        }
        let mut e3 = self.exp.div_euclid(3) * 3;
        let mut m = self
            .mantissa
            .saturating_mul(10i128.pow((self.exp - e3) as u32));
        if e3 < -9 {
            // Kubernetes rounds sub-nano precision up to the next nano unit.
            m = match 10i128.checked_pow((-9 - e3) as u32) {
                Some(div) => {
                    let q = m / div;
                    if m % div != 0 && m > 0 { q + 1 } else { q }
                }
                None => i128::from(m > 0),
            };
            e3 = -9;
        }
        if self.format == Format::DecimalExponent {
            return if e3 == 0 {
                write!(f, "{m}")
            } else {
                write!(f, "{m}e{e3}")
            };
        }
        while e3 > 18 {
            m = m.saturating_mul(1000);
            e3 -= 3;
        }
        let suffix = DECIMAL
            .iter()
            .find(|(_, e)| *e == e3)
            .map_or("", |(n, _)| n);
        write!(f, "{m}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn parses_and_canonicalizes_like_kubernetes() {
        for (input, canonical) in [
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("1.5Gi", "1536Mi"),
            ("500m", "500m"),
            ("0.5", "500m"),
            ("1000", "1k"),
            ("1k", "1k"),
            ("12e6", "12e6"),
            ("100M", "100M"),
            ("0", "0"),
            ("-1Ki", "-1Ki"),
            ("512", "512"),
        ] {
            assert_eq!(q(input).to_string(), canonical, "{input}");
        }
        for bad in ["", "1Gb", "abc", "1..2", "Gi", "1 Gi"] {
            assert!(Quantity::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn compares_across_suffixes() {
        assert_eq!(q("1Gi").cmp_value(&q("1073741824")), Ordering::Equal);
        assert_eq!(q("1G").cmp_value(&q("1Gi")), Ordering::Less);
        assert_eq!(q("100m").cmp_value(&q("0.1")), Ordering::Equal);
        assert_eq!(q("1Gi").add(&q("512Mi")).unwrap().to_string(), "1536Mi");
        assert_eq!(q("1.5").as_i64(), None);
        assert_eq!(q("2k").as_i64(), Some(2000));
    }
}

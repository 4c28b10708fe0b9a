//! Cron schedules, parsed as upstream's cron library (robfig/cron) does so
//! that errors carry the same text.

use super::go_quote;

/// Field bounds and names of the five standard cron fields.
pub(super) const CRON_FIELDS: [(u32, u32, &[&str]); 5] = [
    (0, 59, &[]),
    (0, 23, &[]),
    (1, 31, &[]),
    (
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (0, 6, &["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
];

/// Parses a schedule as upstream's cron library does (standard five fields
/// or an `@` descriptor), returning that library's error text.
pub(super) fn parse_cron(spec: &str) -> Result<(), String> {
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        // The zone itself is judged by the TZ rule in the caller.
        spec = spec.split_once(' ').map_or("", |(_, rest)| rest.trim());
    }
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    if let Some(d) = spec.strip_prefix('@') {
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ => match d.strip_prefix("every ") {
                Some(dur) if go_duration_ok(dur) => Ok(()),
                Some(dur) => Err(format!(
                    "failed to parse duration {spec}: time: invalid duration {}",
                    go_quote(dur)
                )),
                None => Err(format!("unrecognized descriptor: {spec}")),
            },
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (field, (min, max, names)) in fields.iter().zip(CRON_FIELDS) {
        for expr in field.split(',').filter(|e| !e.is_empty()) {
            cron_range(expr, min, max, names)?;
        }
    }
    Ok(())
}

pub(super) fn cron_range(expr: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let steps: Vec<&str> = expr.split('/').collect();
    let bounds: Vec<&str> = steps[0].split('-').collect();
    let (start, mut end) = if bounds[0] == "*" || bounds[0] == "?" {
        (min, max)
    } else {
        let start = cron_value(bounds[0], names)?;
        match bounds.len() {
            1 => (start, start),
            2 => (start, cron_value(bounds[1], names)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match steps.len() {
        1 => 1,
        2 => {
            // "N/step" runs from N to the maximum.
            if bounds.len() == 1 {
                end = max;
            }
            cron_int(steps[1])?
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

pub(super) fn cron_value(s: &str, names: &[&str]) -> Result<u32, String> {
    let lower = s.to_lowercase();
    match names.iter().position(|n| *n == lower) {
        // Months are numbered from 1, weekdays from 0.
        Some(i) => Ok(u32::try_from(i).unwrap_or(0) + u32::from(names.len() == 12)),
        None => cron_int(s),
    }
}

pub(super) fn cron_int(s: &str) -> Result<u32, String> {
    let invalid = || {
        format!(
            "failed to parse int from {s}: strconv.Atoi: parsing {}: invalid syntax",
            go_quote(s)
        )
    };
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let n: i64 = s.parse().map_err(|_| {
        format!(
            "failed to parse int from {s}: strconv.Atoi: parsing {}: value out of range",
            go_quote(s)
        )
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {s}"));
    }
    u32::try_from(n).map_err(|_| format!("end of range ({n}) above maximum: {s}"))
}

/// Go's `time.ParseDuration` syntax: `1h30m`, `90s`, `1.5h`.
pub(super) fn go_duration_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n == 0 || rest[..n] == *"." {
            return false;
        }
        rest = &rest[n..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::{def, messages};
    use super::super::validate;
    use super::*;
    use serde_json::json;

    #[test]
    fn cron_schedules() {
        for ok in [
            "*/5 * * * *",
            "0 0 * * 0",
            "@hourly",
            "0 9 1-15 JAN-MAR mon-fri",
            "@every 1h30m",
            "5 4 * * sun",
        ] {
            assert_eq!(parse_cron(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            parse_cron("* * *"),
            Err("expected exactly 5 fields, found 3: [* * *]".into())
        );
        assert_eq!(
            parse_cron("60 * * * *"),
            Err("end of range (60) above maximum (59): 60".into())
        );
        assert_eq!(
            parse_cron("@fortnightly"),
            Err("unrecognized descriptor: @fortnightly".into())
        );
        assert_eq!(
            parse_cron("x * * * *"),
            Err("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax".into())
        );
        let cj = json!({"metadata": {"name": "c"}, "spec": {"concurrencyPolicy": "Allow", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "containers": [{"name": "c", "image": "busybox", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}]}}}}}});
        assert_eq!(
            messages(&validate(def("batch", "CronJob"), &cj, None)),
            vec!["spec.schedule: Required value"]
        );
    }
}

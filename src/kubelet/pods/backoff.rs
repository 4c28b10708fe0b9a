//! Per-item exponential back-off as upstream's kubelet keeps it for container
//! restarts and image pulls: 10 s doubling to a 300 s cap, forgotten once
//! the item stayed quiet for twice the cap (a container that ran 10 min).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

pub(crate) const INITIAL: Duration = Duration::from_secs(10);
pub(crate) const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Backoff {
    items: HashMap<String, Entry>,
}

fn expired(event: Instant, last_update: Instant) -> bool {
    event.saturating_duration_since(last_update) > MAX * 2
}

impl Backoff {
    /// Whether `key` must still wait, measured from `event` (the moment the
    /// container finished or the pull failed).
    pub(crate) fn in_backoff_since(&self, key: &str, event: Instant, now: Instant) -> bool {
        match self.items.get(key) {
            Some(e) if !expired(event, e.last_update) => {
                now.saturating_duration_since(event) < e.backoff
            }
            _ => false,
        }
    }

    /// The current delay of `key` (zero if none).
    pub(crate) fn current(&self, key: &str) -> Duration {
        self.items.get(key).map_or(Duration::ZERO, |e| e.backoff)
    }

    /// When `key` may be retried after `event`.
    pub(crate) fn ready_at(&self, key: &str, event: Instant) -> Instant {
        event + self.current(key)
    }

    /// Records another attempt at `now`: first delay, or the doubled one.
    pub(crate) fn next(&mut self, key: &str, now: Instant) {
        let entry = self.items.entry(key.to_owned()).or_insert(Entry {
            backoff: Duration::ZERO,
            last_update: now,
        });
        entry.backoff = if entry.backoff.is_zero() || expired(now, entry.last_update) {
            INITIAL
        } else {
            (entry.backoff * 2).min(MAX)
        };
        entry.last_update = now;
    }

    pub(crate) fn reset(&mut self, key: &str) {
        self.items.remove(key);
    }
}

/// Upstream's rendering of a back-off duration in messages ("10s", "5m0s").
pub(crate) fn render(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_to_the_cap_and_resets_after_quiet_time() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(!b.in_backoff_since("c", t0, t0));
        b.next("c", t0);
        assert_eq!(b.current("c"), Duration::from_secs(10));
        assert!(b.in_backoff_since("c", t0, t0 + Duration::from_secs(9)));
        assert!(!b.in_backoff_since("c", t0, t0 + Duration::from_secs(10)));
        let mut seen = vec![];
        let mut now = t0;
        for _ in 0..7 {
            now += Duration::from_secs(1);
            b.next("c", now);
            seen.push(render(b.current("c")));
        }
        assert_eq!(
            seen,
            ["20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s", "5m0s"]
        );
        // Ten quiet minutes (twice the cap) start over at the initial delay.
        let later = now + Duration::from_secs(601);
        assert!(!b.in_backoff_since("c", later, later));
        b.next("c", later);
        assert_eq!(b.current("c"), INITIAL);
        b.reset("c");
        assert_eq!(b.current("c"), Duration::ZERO);
    }
}

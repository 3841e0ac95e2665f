//! Time-based decisions: when a token is due for refresh, when a read-only org may
//! be probed again, when INVALID_SESSION_ID on one org becomes a spike.

use std::collections::VecDeque;

/// Salesforce returns no `expires_in`: a session lives `timeout` after its last
/// activity, so `issued_at + timeout` is a lower bound of its real expiry.
pub fn estimate_expiry(issued_at_ms: u64, session_timeout_s: u64) -> u64 {
    issued_at_ms.saturating_add(session_timeout_s.saturating_mul(1000))
}

/// Whether a token should be replaced before use.
pub fn due_for_refresh(now_ms: u64, expires_at_ms: u64, margin_s: u64) -> bool {
    now_ms >= refresh_due_at(expires_at_ms, margin_s)
}

/// From when, epoch ms, a token expiring at `expires_at_ms` is due for refresh: the
/// margin before its expiry.
pub fn refresh_due_at(expires_at_ms: u64, margin_s: u64) -> u64 {
    expires_at_ms.saturating_sub(margin_s.saturating_mul(1000))
}

/// How often the real expiry may be asked of the introspection endpoint, per token.
pub const INTROSPECT_EVERY_MS: u64 = 5 * 60 * 1000;

/// A read-only (maintenance) org: writes wait until `next_probe_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadOnlyState {
    /// When it was first seen, epoch ms.
    pub since: u64,
    /// When the next write may go through as a probe.
    pub next_probe_at: u64,
    /// The current backoff.
    pub backoff_ms: u64,
    /// A probe write is in flight.
    pub probing: bool,
}

/// First backoff before a write is tried again on a read-only org.
pub const READ_ONLY_FIRST_BACKOFF_MS: u64 = 30_000;
/// Longest backoff between probes.
pub const READ_ONLY_MAX_BACKOFF_MS: u64 = 15 * 60_000;

impl ReadOnlyState {
    /// The state after a write met the maintenance error.
    pub fn after_refusal(previous: Option<&ReadOnlyState>, now: u64) -> ReadOnlyState {
        let backoff_ms = previous.map_or(READ_ONLY_FIRST_BACKOFF_MS, |p| {
            (p.backoff_ms * 2).min(READ_ONLY_MAX_BACKOFF_MS)
        });
        ReadOnlyState {
            since: previous.map_or(now, |p| p.since),
            next_probe_at: now + backoff_ms,
            backoff_ms,
            probing: false,
        }
    }
}

/// What to do with a write to an org that may be read-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteGate {
    /// Send it.
    Send,
    /// Send it as the probe that tells whether the org is writable again.
    Probe,
    /// Fail fast without sending; the next probe is at this time.
    Hold(u64),
}

/// Decides whether a write may be sent.
pub fn write_gate(state: Option<&ReadOnlyState>, now: u64) -> WriteGate {
    match state {
        None => WriteGate::Send,
        Some(s) if now >= s.next_probe_at && !s.probing => WriteGate::Probe,
        Some(s) => WriteGate::Hold(s.next_probe_at),
    }
}

/// Methods that change data.
pub fn is_write(method: &str) -> bool {
    ["POST", "PATCH", "PUT", "DELETE"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// INVALID_SESSION_ID occurrences on one org within a sliding window.
#[derive(Clone, Debug, Default)]
pub struct SpikeWindow {
    times: VecDeque<u64>,
    last_alert: Option<u64>,
}

impl SpikeWindow {
    /// Records one occurrence; returns the count in the window when it crosses the
    /// threshold (at most one alert per window).
    pub fn record(&mut self, now: u64, window_ms: u64, threshold: usize) -> Option<usize> {
        self.times.push_back(now);
        while self
            .times
            .front()
            .is_some_and(|t| now.saturating_sub(*t) > window_ms)
        {
            self.times.pop_front();
        }
        let alerted_recently = self
            .last_alert
            .is_some_and(|t| now.saturating_sub(t) <= window_ms);
        if self.times.len() >= threshold && !alerted_recently {
            self.last_alert = Some(now);
            return Some(self.times.len());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_is_due_within_the_margin() {
        let exp = estimate_expiry(1_000_000, 7200);
        assert_eq!(exp, 1_000_000 + 7_200_000);
        assert!(!due_for_refresh(exp - 301_000, exp, 300));
        assert!(due_for_refresh(exp - 300_000, exp, 300));
        assert!(due_for_refresh(exp + 1, exp, 300));
        assert_eq!(refresh_due_at(exp, 300), exp - 300_000);
        assert_eq!(refresh_due_at(1_000, 300), 0);
        assert!(due_for_refresh(0, 1_000, 300));
    }

    #[test]
    fn read_only_backoff_doubles_up_to_a_cap() {
        let s1 = ReadOnlyState::after_refusal(None, 0);
        assert_eq!(s1.next_probe_at, READ_ONLY_FIRST_BACKOFF_MS);
        assert_eq!(
            write_gate(Some(&s1), 10),
            WriteGate::Hold(READ_ONLY_FIRST_BACKOFF_MS)
        );
        assert_eq!(
            write_gate(Some(&s1), READ_ONLY_FIRST_BACKOFF_MS),
            WriteGate::Probe
        );
        let probing = ReadOnlyState {
            probing: true,
            ..s1.clone()
        };
        assert!(matches!(
            write_gate(Some(&probing), READ_ONLY_FIRST_BACKOFF_MS),
            WriteGate::Hold(_)
        ));
        let mut s = s1;
        for _ in 0..20 {
            s = ReadOnlyState::after_refusal(Some(&s), 0);
        }
        assert_eq!(s.backoff_ms, READ_ONLY_MAX_BACKOFF_MS);
        assert_eq!(write_gate(None, 0), WriteGate::Send);
    }

    #[test]
    fn writes_are_the_changing_methods() {
        assert!(is_write("post") && is_write("PATCH") && is_write("PUT") && is_write("DELETE"));
        assert!(!is_write("GET") && !is_write("HEAD"));
    }

    #[test]
    fn a_spike_alerts_once_per_window() {
        let mut w = SpikeWindow::default();
        assert_eq!(w.record(0, 60_000, 3), None);
        assert_eq!(w.record(1, 60_000, 3), None);
        assert_eq!(w.record(2, 60_000, 3), Some(3));
        assert_eq!(w.record(3, 60_000, 3), None);
        // Old occurrences slide out of the window.
        assert_eq!(w.record(200_000, 60_000, 3), None);
    }
}

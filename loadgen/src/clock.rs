//! The server's clock as seen from the generator. Fan-out delay is receipt time minus a server
//! timestamp, so when the two run on different machines every figure is off by the clocks'
//! offset. Each vote answer is a request and reply whose reply carries the server's time: the
//! server read its clock somewhere between the send and the receipt, which bounds the offset
//! (as NTP does); intersecting the bounds of every vote leaves an interval as narrow as the
//! shortest round trips allow.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How fan-out is measured with respect to the clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// `same` when every target is on this machine (loopback), else `estimate`.
    Auto,
    /// The generator and the servers share a clock (one machine, or clocks kept in step): the
    /// offset is still estimated and reported, but the figures are not corrected.
    Same,
    /// Correct every fan-out figure by the estimated offset; report none where the bound is
    /// wider than `--clock-max-error`.
    Estimate,
}

impl ClockMode {
    /// `Auto` settled for `targets`.
    pub fn settle(self, targets: &[String]) -> ClockMode {
        match self {
            ClockMode::Auto => {
                let local = targets.iter().all(|t| {
                    t.contains("://127.") || t.contains("://localhost") || t.contains("://[::1]")
                });
                if local {
                    ClockMode::Same
                } else {
                    ClockMode::Estimate
                }
            }
            other => other,
        }
    }
}

/// Microseconds since the epoch of a monotonic instant: the wall clock read once, then moved
/// by the monotonic clock, so send and receipt times of one run never jump.
pub fn wall_micros(at: Instant) -> f64 {
    static ANCHOR: OnceLock<(Instant, f64)> = OnceLock::new();
    let (instant, wall) = *ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1e6);
        (Instant::now(), wall)
    });
    if at >= instant {
        wall + at.duration_since(instant).as_secs_f64() * 1e6
    } else {
        wall - instant.duration_since(at).as_secs_f64() * 1e6
    }
}

/// The offset of one target's clock (server minus generator, ms), narrowed by every request
/// and reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetBounds {
    /// The offset is at least this (ms).
    pub low: f64,
    /// And at most this.
    pub high: f64,
    /// Replies that narrowed it.
    pub samples: u64,
    /// The shortest round trip (ms).
    pub min_rtt_ms: f64,
    /// The bounds of that shortest round trip alone: what is left when the intersection came
    /// out empty.
    pub shortest: (f64, f64),
    /// Two replies disagreed (their bounds do not meet): a clock stepped or drifted during
    /// the run, and the shortest round trip's bounds stand in.
    pub inconsistent: bool,
}

impl OffsetBounds {
    /// A request sent at `sent_us` and answered at `received_us` (generator's clock, µs since
    /// the epoch) with the server's time `server_ms` (whole ms, read between the two).
    ///
    /// ```
    /// use loadgen::clock::OffsetBounds;
    /// let mut b = OffsetBounds::default();
    /// // The server's clock is 250 ms ahead; round trips of 4 ms and 1 ms.
    /// b.add(1_000_000.0, 1_004_000.0, 1252);
    /// b.add(2_000_000.0, 2_001_000.0, 2250);
    /// let (offset, error) = b.estimate();
    /// assert!((offset - 250.0).abs() <= error && error <= 1.0, "{offset} ± {error}");
    /// ```
    pub fn add(&mut self, sent_us: f64, received_us: f64, server_ms: i64) {
        let (t1, t4, s) = (sent_us / 1000.0, received_us / 1000.0, server_ms as f64);
        // The server read s ≤ its time < s + 1 at a moment between t1 and t4 of ours.
        let (low, high) = (s - t4, s + 1.0 - t1);
        let rtt = t4 - t1;
        if self.samples == 0 {
            *self = OffsetBounds {
                low,
                high,
                samples: 1,
                min_rtt_ms: rtt,
                shortest: (low, high),
                inconsistent: false,
            };
            return;
        }
        self.samples += 1;
        if rtt < self.min_rtt_ms {
            self.min_rtt_ms = rtt;
            self.shortest = (low, high);
        }
        let (l, h) = (self.low.max(low), self.high.min(high));
        if l <= h {
            (self.low, self.high) = (l, h);
        } else {
            self.inconsistent = true;
        }
    }

    /// The offset (ms, server minus generator) and its error bound (±ms).
    pub fn estimate(&self) -> (f64, f64) {
        let (low, high) = if self.inconsistent {
            self.shortest
        } else {
            (self.low, self.high)
        };
        ((low + high) / 2.0, (high - low) / 2.0)
    }

    /// Merges another shard's bounds of the same target.
    pub fn merge(&mut self, other: &OffsetBounds) {
        if other.samples == 0 {
            return;
        }
        if self.samples == 0 {
            *self = *other;
            return;
        }
        self.samples += other.samples;
        if other.min_rtt_ms < self.min_rtt_ms {
            self.min_rtt_ms = other.min_rtt_ms;
            self.shortest = other.shortest;
        }
        let (l, h) = (self.low.max(other.low), self.high.min(other.high));
        if l <= h && !other.inconsistent {
            (self.low, self.high) = (l, h);
        } else {
            self.inconsistent = true;
        }
    }
}

/// One shard's view of the servers' clocks, as its snapshot carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockReport {
    /// `same` or `estimate` (never `auto`).
    pub mode: Option<ClockMode>,
    /// Per target URL.
    pub targets: Vec<(String, OffsetBounds)>,
    /// The offset applied to this shard's fan-out figures (ms); 0 with `same`.
    pub applied_ms: f64,
    /// The error bound of the applied offset (±ms): the bound of the fleet (every target's
    /// interval, since a broadcast may be stamped by any node).
    pub error_ms: f64,
}

impl ClockReport {
    /// The fleet's offset and error bound: the midpoint and half-width of the span covering
    /// every target's interval; `None` without a reply.
    pub fn fleet(targets: &[(String, OffsetBounds)]) -> Option<(f64, f64)> {
        let spans: Vec<(f64, f64)> = targets
            .iter()
            .filter(|(_, b)| b.samples > 0)
            .map(|(_, b)| {
                let (o, e) = b.estimate();
                (o - e, o + e)
            })
            .collect();
        let low = spans.iter().map(|s| s.0).reduce(f64::min)?;
        let high = spans.iter().map(|s| s.1).reduce(f64::max)?;
        Some(((low + high) / 2.0, (high - low) / 2.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disagreeing_reply_falls_back_to_the_shortest_round_trip() {
        let mut b = OffsetBounds::default();
        b.add(0.0, 2_000.0, 100); // offset in (98, 101]
        b.add(10_000.0, 10_500.0, 300); // offset in (289.5, 291]: the clock stepped
        assert!(b.inconsistent);
        let (o, e) = b.estimate();
        assert!(
            (o - 290.25).abs() < 0.01 && (e - 0.75).abs() < 0.01,
            "{o} ± {e}"
        );
    }

    #[test]
    fn the_fleet_spans_every_node() {
        let mut a = OffsetBounds::default();
        a.add(0.0, 1_000.0, 10); // (9, 11]
        let mut b = OffsetBounds::default();
        b.add(0.0, 1_000.0, 14); // (13, 15]
        let (o, e) = ClockReport::fleet(&[("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!((o, e), (12.0, 3.0));
        assert_eq!(ClockReport::fleet(&[]), None);
    }

    #[test]
    fn auto_is_same_on_loopback_only() {
        let local = ["http://127.0.0.1:3000".to_owned()];
        let remote = ["http://10.0.0.5:3000".to_owned()];
        assert_eq!(ClockMode::Auto.settle(&local), ClockMode::Same);
        assert_eq!(ClockMode::Auto.settle(&remote), ClockMode::Estimate);
        assert_eq!(ClockMode::Estimate.settle(&local), ClockMode::Estimate);
    }
}

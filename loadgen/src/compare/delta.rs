//! One figure in both runs and how it moved from A to B: the difference, the relative change
//! (with zero in A handled: no division by zero, no NaN in `compare.json`), and whether the move
//! is a regression, an improvement or noise. The tables colour by it; the rules compute the same
//! change.

use serde::{Deserialize, Serialize};

/// A relative change at least this large (in %) is coloured as better or worse: smaller moves
/// are within what two runs of the same build differ by on a shared machine.
pub const NOTABLE_PCT: f64 = 5.0;

/// Which way a figure gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Worse {
    /// Latencies, CPU, memory.
    Higher,
    /// Throughput.
    Lower,
    /// Counts, which follow the workload: a change says the runs differ, not that one is worse.
    Neither,
}

/// How a figure reads: its unit, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    Secs,
    /// A count.
    Count,
    /// Per second.
    PerSec,
    /// KiB, shown as MB.
    Kib,
    /// A share, 0–1, shown in %.
    Share,
}

impl Unit {
    /// `v` as the tables print it.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Ms => format!("{v:.2} ms"),
            Unit::Secs => format!("{v:.1} s"),
            Unit::Count => format!("{v:.0}"),
            Unit::PerSec => format!("{v:.0}/s"),
            Unit::Kib => format!("{:.1} MB", v / 1024.0),
            Unit::Share => format!("{:.0} %", v * 100.0),
        }
    }

    /// A difference `d`, with its sign.
    pub fn show_change(self, d: f64) -> String {
        let sign = if d > 0.0 { "+" } else { "" };
        match self {
            Unit::Ms => format!("{sign}{d:.2} ms"),
            Unit::Secs => format!("{sign}{d:.1} s"),
            Unit::Count => format!("{sign}{d:.0}"),
            Unit::PerSec => format!("{sign}{d:.0}/s"),
            Unit::Kib => format!("{sign}{:.1} MB", d / 1024.0),
            Unit::Share => format!("{sign}{:.0} points", d * 100.0),
        }
    }
}

/// Where a change leaves B against A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Trend {
    /// Worse by at least [`NOTABLE_PCT`].
    Worse,
    /// Better by at least [`NOTABLE_PCT`].
    Better,
    /// Less than that, or a figure with no better side.
    Even,
    /// Missing in a run.
    Missing,
}

/// The relative change from `a` to `b` in %, as a rule judges it: `(b − a) / |a|`; from 0 to 0
/// it is 0, and from 0 to anything else it is infinite in B's direction.
///
/// ```
/// use loadgen::compare::delta::percent_change;
/// assert_eq!(percent_change(10.0, 12.0), 20.0);
/// assert_eq!(percent_change(0.0, 0.0), 0.0);
/// assert_eq!(percent_change(0.0, 3.0), f64::INFINITY);
/// assert_eq!(percent_change(0.0, -3.0), f64::NEG_INFINITY);
/// ```
pub fn percent_change(a: f64, b: f64) -> f64 {
    let d = b - a;
    if a == 0.0 {
        if d == 0.0 {
            0.0
        } else {
            d.signum() * f64::INFINITY
        }
    } else {
        d / a.abs() * 100.0
    }
}

/// The relative change as text: `+12.3 %`, or `from 0`.
pub fn show_percent(p: f64) -> String {
    if p.is_infinite() {
        "from 0".to_owned()
    } else {
        format!("{}{p:.1} %", if p > 0.0 { "+" } else { "" })
    }
}

/// One figure of both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delta {
    /// Its name (`vote_ack.p99`: the name a `--fail-if` rule uses).
    pub figure: String,
    /// How it reads.
    pub unit: Unit,
    /// In run A, if it has it.
    pub a: Option<f64>,
    /// In run B, if it has it.
    pub b: Option<f64>,
    /// B − A.
    pub change: Option<f64>,
    /// The relative change in % (`None` when a run lacks it, or from 0 in A to another value,
    /// where it is infinite).
    pub percent: Option<f64>,
    /// Which way is worse.
    pub worse: Worse,
    /// Where the change leaves B.
    pub trend: Trend,
}

impl Delta {
    /// The figure `figure` at `a` in A and `b` in B.
    pub fn new(figure: &str, unit: Unit, worse: Worse, a: Option<f64>, b: Option<f64>) -> Delta {
        let both = a.zip(b);
        let pct = both.map(|(a, b)| percent_change(a, b));
        let trend = match pct {
            None => Trend::Missing,
            Some(p) => match worse {
                Worse::Neither => Trend::Even,
                _ if p.abs() < NOTABLE_PCT => Trend::Even,
                Worse::Higher if p > 0.0 => Trend::Worse,
                Worse::Lower if p < 0.0 => Trend::Worse,
                _ => Trend::Better,
            },
        };
        Delta {
            figure: figure.to_owned(),
            unit,
            a,
            b,
            change: both.map(|(a, b)| b - a),
            percent: pct.filter(|p| p.is_finite()),
            worse,
            trend,
        }
    }

    /// A's figure as the tables print it ("–" when missing).
    pub fn show_a(&self) -> String {
        self.a.map_or("–".into(), |v| self.unit.show(v))
    }

    /// B's figure as the tables print it.
    pub fn show_b(&self) -> String {
        self.b.map_or("–".into(), |v| self.unit.show(v))
    }

    /// B − A as text.
    pub fn show_change(&self) -> String {
        self.change.map_or("–".into(), |d| self.unit.show_change(d))
    }

    /// The relative change as text.
    pub fn show_percent(&self) -> String {
        match (self.a.zip(self.b), self.percent) {
            (None, _) => "–".into(),
            (Some(_), Some(p)) => show_percent(p),
            (Some(_), None) => "from 0".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trends_follow_the_worse_side_and_ignore_noise() {
        let d = |worse, a, b| Delta::new("x", Unit::Ms, worse, Some(a), Some(b)).trend;
        assert_eq!(d(Worse::Higher, 10.0, 11.0), Trend::Worse);
        assert_eq!(d(Worse::Higher, 10.0, 10.4), Trend::Even);
        assert_eq!(d(Worse::Higher, 10.0, 9.0), Trend::Better);
        assert_eq!(d(Worse::Lower, 10.0, 9.0), Trend::Worse);
        assert_eq!(d(Worse::Lower, 10.0, 12.0), Trend::Better);
        assert_eq!(d(Worse::Neither, 10.0, 100.0), Trend::Even);
        assert_eq!(d(Worse::Higher, 0.0, 1.0), Trend::Worse);
        assert_eq!(d(Worse::Higher, 0.0, 0.0), Trend::Even);
        let missing = Delta::new("x", Unit::Ms, Worse::Higher, Some(1.0), None);
        assert_eq!(missing.trend, Trend::Missing);
        assert_eq!((missing.change, missing.percent), (None, None));
        assert_eq!(missing.show_percent(), "–");
    }

    #[test]
    fn from_zero_has_no_percentage_and_no_nan() {
        let d = Delta::new("x", Unit::Count, Worse::Neither, Some(0.0), Some(5.0));
        assert_eq!((d.change, d.percent), (Some(5.0), None));
        assert_eq!(d.show_percent(), "from 0");
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains("\"percent\":null"), "{json}");
        let same = Delta::new("x", Unit::Count, Worse::Neither, Some(0.0), Some(0.0));
        assert_eq!(same.percent, Some(0.0));
    }

    #[test]
    fn figures_print_in_their_units() {
        let d = Delta::new("m", Unit::Kib, Worse::Higher, Some(2048.0), Some(1024.0));
        assert_eq!(
            (d.show_a(), d.show_b(), d.show_change(), d.show_percent()),
            (
                "2.0 MB".into(),
                "1.0 MB".into(),
                "-1.0 MB".into(),
                "-50.0 %".into()
            )
        );
        assert_eq!(Unit::Ms.show_change(1.5), "+1.50 ms");
        assert_eq!(Unit::Share.show(0.5), "50 %");
    }
}

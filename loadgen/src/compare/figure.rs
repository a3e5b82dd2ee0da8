//! The figures a comparison reads, by the names `--fail-if` rules use (`vote_ack.p99`,
//! `deliveries_per_second.mean`, `servers.cpu_secs`): which names exist, what unit each is in,
//! and why a figure is missing from a run. Both the tables and the rules read figures here, so
//! a rule judges exactly the number the page shows.

use crate::record::metric;
use crate::report::Summary;

/// The statistics of a latency metric (`summary.json`'s `MetricStats`), in table order.
pub const STATS: [&str; 7] = ["count", "p50", "p90", "p99", "p999", "max", "mean"];

/// The figures that are not latency metrics.
pub const OTHER: [&str; 7] = [
    "deliveries_per_second.mean",
    "deliveries_per_second.peak",
    "generator.cpu_secs",
    "generator.rss_kib",
    "generator.cpu_share",
    "servers.cpu_secs",
    "servers.rss_kib",
];

/// What a figure measures, which decides the units a rule may use on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A latency in ms (a metric's percentile, max or mean): `us`, `ms`, `s`.
    Latency,
    /// CPU time in seconds: `us`, `ms`, `s`.
    CpuSeconds,
    /// A count, a rate, KiB or a share: plain numbers only.
    Plain,
}

/// Why a name is not a figure: the message lists the names that are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// No dot between the metric and the statistic.
    #[error("`{0}` is not metric.statistic (e.g. vote_ack.p99)")]
    Shape(String),
    /// A metric loadgen does not measure.
    #[error("unknown metric `{metric}` (one of {known})", known = known_metrics())]
    Metric {
        /// As written.
        metric: String,
    },
    /// A statistic the metric does not have.
    #[error("`{metric}` has no statistic `{stat}` (one of {known})")]
    Stat {
        /// The metric.
        metric: String,
        /// As written.
        stat: String,
        /// Those it has.
        known: String,
    },
}

fn known_metrics() -> String {
    let mut names: Vec<&str> = metric::ALL.to_vec();
    names.extend(["deliveries_per_second", "generator", "servers"]);
    names.join(", ")
}

/// Checks `name` and gives it in the form [`Summary::figure`] reads (`p99.9` becomes `p999`,
/// as `--slo` writes it), with its kind.
///
/// ```
/// use loadgen::compare::figure::{Kind, resolve};
/// assert_eq!(resolve("vote_ack.p99.9").unwrap(), ("vote_ack.p999".to_string(), Kind::Latency));
/// assert_eq!(resolve("join.count").unwrap().1, Kind::Plain);
/// assert!(resolve("vote_akc.p99").unwrap_err().to_string().contains("vote_akc"));
/// ```
pub fn resolve(name: &str) -> Result<(String, Kind), NameError> {
    let name = name.trim();
    let normal = match name.strip_suffix(".p99.9") {
        Some(m) => format!("{m}.p999"),
        None => name.to_owned(),
    };
    let (m, stat) = normal
        .rsplit_once('.')
        .filter(|(m, s)| !m.is_empty() && !s.is_empty())
        .ok_or_else(|| NameError::Shape(name.to_owned()))?;
    if metric::ALL.contains(&m) {
        return match stat {
            "count" => Ok((normal, Kind::Plain)),
            s if STATS.contains(&s) => Ok((normal, Kind::Latency)),
            _ => Err(NameError::Stat {
                metric: m.to_owned(),
                stat: stat.to_owned(),
                known: "count, p50, p90, p99, p99.9 (or p999), max, mean".to_owned(),
            }),
        };
    }
    let of_metric: Vec<&str> = OTHER
        .iter()
        .filter_map(|f| f.strip_prefix(m)?.strip_prefix('.'))
        .collect();
    if of_metric.is_empty() {
        return Err(NameError::Metric {
            metric: m.to_owned(),
        });
    }
    if !of_metric.contains(&stat) {
        return Err(NameError::Stat {
            metric: m.to_owned(),
            stat: stat.to_owned(),
            known: of_metric.join(", "),
        });
    }
    let kind = if stat == "cpu_secs" {
        Kind::CpuSeconds
    } else {
        Kind::Plain
    };
    Ok((normal, kind))
}

/// The figure `name` (as [`resolve`] gives it) of a run, or why the run has none: a metric
/// missing from the summary (with the reason when the run withheld its fan-out figures), a
/// latency metric without samples (its percentiles would read 0 ms, which no comparison should
/// take for fast), or no server process watched.
pub fn read(s: &Summary, name: &str) -> Result<f64, String> {
    let (m, stat) = name.rsplit_once('.').unwrap_or((name, ""));
    if metric::ALL.contains(&m) || s.metrics.contains_key(m) {
        let Some(stats) = s.metrics.get(m) else {
            return Err(
                if metric::is_fanout(m) && !s.clock.fanout_withheld.is_empty() {
                    format!(
                        "fan-out figures withheld: {}",
                        s.clock.fanout_withheld.join("; ")
                    )
                } else {
                    format!("no {m} in its summary.json")
                },
            );
        };
        if stat != "count" && stats.count == 0 {
            return Err(format!("no {m} samples"));
        }
        return stats
            .get(stat)
            .ok_or_else(|| format!("no statistic {stat} of {m}"));
    }
    if m == "servers" && s.servers.is_empty() {
        return Err("no server process watched (--server-pid)".to_owned());
    }
    s.figure(name)
        .ok_or_else(|| format!("no {name} in its summary.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::MetricStats;

    #[test]
    fn names_resolve_or_say_what_exists() {
        assert_eq!(
            resolve("fanout_vote_result.max").unwrap(),
            ("fanout_vote_result.max".into(), Kind::Latency)
        );
        assert_eq!(resolve("servers.cpu_secs").unwrap().1, Kind::CpuSeconds);
        assert_eq!(
            resolve("deliveries_per_second.peak").unwrap().1,
            Kind::Plain
        );
        assert_eq!(
            resolve("vote_ack").unwrap_err(),
            NameError::Shape("vote_ack".into())
        );
        assert_eq!(
            resolve(".p99").unwrap_err(),
            NameError::Shape(".p99".into())
        );
        let e = resolve("vote_ack.p75").unwrap_err().to_string();
        assert!(e.contains("p75") && e.contains("p99.9"), "{e}");
        let e = resolve("generator.p99").unwrap_err().to_string();
        assert!(e.contains("cpu_secs, rss_kib, cpu_share"), "{e}");
        let e = resolve("memory.p99").unwrap_err().to_string();
        assert!(e.contains("memory") && e.contains("vote_ack"), "{e}");
    }

    #[test]
    fn a_missing_figure_says_why() {
        let mut s = Summary::default();
        s.metrics.insert(
            "vote_ack".into(),
            MetricStats {
                count: 3,
                p99: 4.5,
                ..MetricStats::default()
            },
        );
        s.metrics.insert("join".into(), MetricStats::default());
        assert_eq!(read(&s, "vote_ack.p99"), Ok(4.5));
        assert_eq!(read(&s, "join.count"), Ok(0.0));
        assert_eq!(read(&s, "join.p50"), Err("no join samples".into()));
        assert!(read(&s, "connect.p50").unwrap_err().contains("no connect"));
        s.clock.fanout_withheld.push("clock bound too wide".into());
        assert!(
            read(&s, "fanout_question_live.p99")
                .unwrap_err()
                .contains("withheld: clock bound too wide")
        );
        assert!(
            read(&s, "servers.rss_kib")
                .unwrap_err()
                .contains("--server-pid")
        );
        assert_eq!(read(&s, "deliveries_per_second.mean"), Ok(0.0));
    }
}

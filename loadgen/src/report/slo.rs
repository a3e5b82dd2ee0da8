//! Service-level objectives: `metric.pNN<bound`.

use crate::record::metric;

/// A service-level objective: `metric.pNN<value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The metric.
    pub metric: String,
    /// The quantile, 0–1.
    pub quantile: f64,
    /// The bound in ms.
    pub max_ms: f64,
    /// As written.
    pub text: String,
}

/// Parses `vote_ack.p99<100ms` (units ms, s, us).
///
/// ```
/// let s = loadgen::report::parse_slo("vote_ack.p99.9<2s").unwrap();
/// assert_eq!((s.metric.as_str(), s.quantile, s.max_ms), ("vote_ack", 0.999, 2000.0));
/// assert!(loadgen::report::parse_slo("vote_ack<1ms").is_err());
/// ```
pub fn parse_slo(text: &str) -> Result<Slo, String> {
    let (lhs, rhs) = text
        .split_once('<')
        .ok_or_else(|| format!("{text}: expected metric.pNN<value"))?;
    let (m, p) = lhs
        .trim()
        .split_once(".p")
        .ok_or_else(|| format!("{text}: expected metric.pNN"))?;
    let q: f64 = p
        .parse()
        .map_err(|_| format!("{text}: bad percentile {p}"))?;
    let rhs = rhs.trim();
    let (num, scale) = if let Some(v) = rhs.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = rhs.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = rhs.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return Err(format!("{text}: the bound needs a unit (us, ms, s)"));
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{text}: bad bound {num}"))?;
    if !metric::ALL.contains(&m) {
        return Err(format!(
            "{text}: unknown metric {m} (one of {})",
            metric::ALL.join(", ")
        ));
    }
    Ok(Slo {
        metric: m.to_owned(),
        quantile: (q * 1000.0).round() / 100_000.0,
        max_ms: v * scale,
        text: text.to_owned(),
    })
}

//! When a voter votes after `question:live`.

use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use serde::{Deserialize, Serialize};

/// `timing`: `"uniform"` over the voting window, `{ lognormal = { median_s, sigma } }` (a burst
/// right after `question:live`: half the votes within the median, a long tail), or
/// `{ histogram = [[from_s, to_s, weight], …] }` (a share of the votes in each span).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Uniformly random over the window.
    #[default]
    Uniform,
    /// Log-normal: the median, and the spread (σ of the underlying normal; 0.5 is a tight
    /// burst, 1.5 a long tail). Draws past the window are drawn again.
    Lognormal {
        /// Half the votes come before this many seconds.
        median_s: f64,
        /// σ of the logarithm.
        sigma: f64,
    },
    /// Spans of the window with weights: `[[0, 2, 60], [2, 5, 30], [5, 9, 10]]` sends 60 % of
    /// the votes in the first two seconds. Spans past the window are cut to it.
    Histogram(Vec<[f64; 3]>),
}

impl Timing {
    /// Whether the parameters make sense; the reason if not.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Timing::Uniform => Ok(()),
            Timing::Lognormal { median_s, sigma } => {
                if !(*median_s > 0.0 && median_s.is_finite()) {
                    return Err(format!("lognormal median_s = {median_s}: must be above 0"));
                }
                if !(*sigma >= 0.0 && *sigma <= 5.0) {
                    return Err(format!("lognormal sigma = {sigma}: must be 0 to 5"));
                }
                Ok(())
            }
            Timing::Histogram(bins) => {
                if bins.is_empty() {
                    return Err("histogram: no spans".into());
                }
                for [from, to, weight] in bins {
                    if !(*from >= 0.0 && from < to) {
                        return Err(format!(
                            "histogram span [{from}, {to}]: needs 0 ≤ from < to"
                        ));
                    }
                    if !(*weight > 0.0 && weight.is_finite()) {
                        return Err(format!(
                            "histogram span [{from}, {to}]: weight {weight} must be above 0"
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// A vote's offset after `question:live`, in ms, within `window_ms`.
    pub fn draw(&self, rng: &mut impl Rng, window_ms: u64) -> u64 {
        let window = window_ms.max(1);
        match self {
            Timing::Uniform => rng.random_range(0..window),
            Timing::Lognormal { median_s, sigma } => {
                let Ok(d) = LogNormal::new((median_s * 1000.0).ln(), *sigma) else {
                    return rng.random_range(0..window);
                };
                // Redrawn past the window; after a few misses (a median far past the window)
                // the vote goes uniformly, so every vote stays inside.
                (0..8)
                    .map(|_| d.sample(rng))
                    .find(|ms| *ms < window as f64)
                    .map_or_else(|| rng.random_range(0..window), |ms| ms as u64)
            }
            Timing::Histogram(bins) => {
                let spans: Vec<(f64, f64, f64)> = bins
                    .iter()
                    .map(|[from, to, w]| (from * 1000.0, (to * 1000.0).min(window as f64), *w))
                    .filter(|(from, to, _)| from < to)
                    .collect();
                let total: f64 = spans.iter().map(|s| s.2).sum();
                if spans.is_empty() || total <= 0.0 {
                    return rng.random_range(0..window);
                }
                let mut pick = rng.random_range(0.0..total);
                for (from, to, w) in &spans {
                    if pick < *w {
                        return rng.random_range(*from..*to) as u64;
                    }
                    pick -= w;
                }
                let (from, to, _) = spans[spans.len() - 1];
                rng.random_range(from..to) as u64
            }
        }
    }

    /// A few words for the report.
    pub fn describe(&self) -> String {
        match self {
            Timing::Uniform => "uniformly over the window".into(),
            Timing::Lognormal { median_s, sigma } => {
                format!("in a burst (log-normal, median {median_s} s, σ {sigma})")
            }
            Timing::Histogram(bins) => format!("by a histogram of {} spans", bins.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn draws(t: &Timing, window: u64) -> Vec<u64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut v: Vec<u64> = (0..10_000).map(|_| t.draw(&mut rng, window)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn a_lognormal_burst_puts_half_the_votes_before_its_median() {
        let v = draws(
            &Timing::Lognormal {
                median_s: 1.5,
                sigma: 0.8,
            },
            19_000,
        );
        assert!((1300..1700).contains(&v[5000]), "median {}", v[5000]);
        assert!(*v.last().unwrap() < 19_000);
    }

    #[test]
    fn a_histogram_fills_its_spans_by_weight() {
        let v = draws(
            &Timing::Histogram(vec![[0.0, 2.0, 60.0], [2.0, 9.0, 40.0]]),
            9_000,
        );
        let early = v.iter().filter(|ms| **ms < 2000).count();
        assert!((5700..6300).contains(&early), "{early}");
    }

    #[test]
    fn every_draw_is_inside_the_window() {
        for t in [
            Timing::Uniform,
            Timing::Lognormal {
                median_s: 60.0,
                sigma: 0.1,
            },
            Timing::Histogram(vec![[5.0, 100.0, 1.0]]),
        ] {
            assert!(draws(&t, 3000).iter().all(|ms| *ms < 3000), "{t:?}");
        }
    }
}

//! How a run's voters are spread over its conferences.

use serde::{Deserialize, Serialize};

/// `sizes`: `"equal"`, `{ power_law = EXPONENT }` (conference k of n gets a share ∝ 1/k^EXPONENT:
/// a few large rooms and many small ones), or a list with one size per conference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Sizes {
    /// Every conference the same size (the remainder goes to the first ones).
    #[serde(with = "equal")]
    Equal,
    /// Conference k (1-based) gets a share proportional to k^−power_law.
    PowerLaw {
        /// The exponent: 0 is equal sizes, 1 is Zipf's law, 2 is steeper.
        power_law: f64,
    },
    /// One size per conference.
    List(Vec<usize>),
}

mod equal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("equal")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        let s = String::deserialize(d)?;
        if s == "equal" {
            Ok(())
        } else {
            Err(serde::de::Error::custom(format!(
                "{s:?}: expected \"equal\", {{ power_law = N }} or a list of sizes"
            )))
        }
    }
}

impl Sizes {
    /// `total` voters over `count` conferences, largest first; every conference gets at least
    /// one voter, and the sizes add up to `total` exactly.
    ///
    /// ```
    /// use loadgen::workload::Sizes;
    /// assert_eq!(Sizes::Equal.split(10, 3), [4, 3, 3]);
    /// assert_eq!(Sizes::PowerLaw { power_law: 1.0 }.split(110, 3), [60, 30, 20]);
    /// ```
    pub fn split(&self, total: usize, count: usize) -> Vec<usize> {
        let count = count.max(1);
        match self {
            Sizes::List(list) => list.clone(),
            Sizes::Equal => scale(&vec![1; count], total, count),
            Sizes::PowerLaw { power_law } => {
                // Weights in millionths, so the integer scaling below does the rounding.
                let weights: Vec<usize> = (1..=count)
                    .map(|k| ((k as f64).powf(-power_law) * 1e6).round().max(1.0) as usize)
                    .collect();
                let sum = weights.iter().sum();
                scale(&weights, total, sum)
            }
        }
    }
}

/// `weights` (adding up to `sum`) scaled to add up to `total`: largest remainders get the
/// leftover voters, and every entry keeps at least one when `total` allows.
pub(super) fn scale(weights: &[usize], total: usize, sum: usize) -> Vec<usize> {
    let sum = sum.max(1) as u128;
    let exact: Vec<(usize, u128)> = weights
        .iter()
        .map(|w| {
            let x = *w as u128 * total as u128;
            ((x / sum) as usize, x % sum)
        })
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|(n, _)| *n).collect();
    let mut left = total - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order.iter().cycle().take(left) {
        out[*i] += 1;
    }
    left = 0;
    // Empty conferences borrow one voter from the largest.
    for i in 0..out.len() {
        if out[i] == 0
            && let Some(big) = (0..out.len()).max_by_key(|j| out[*j])
            && out[big] > 1
        {
            out[big] -= 1;
            out[i] += 1;
        }
    }
    debug_assert_eq!(left, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_add_up_and_none_is_empty() {
        for total in [20, 99, 10_000] {
            for s in [
                Sizes::Equal,
                Sizes::PowerLaw { power_law: 1.0 },
                Sizes::PowerLaw { power_law: 2.5 },
            ] {
                let v = s.split(total, 20);
                assert_eq!(v.iter().sum::<usize>(), total, "{s:?} {total}");
                assert!(v.iter().all(|n| *n >= 1), "{s:?} {total}: {v:?}");
            }
        }
    }

    #[test]
    fn a_power_law_of_20_conferences_has_a_few_large_rooms() {
        let v = Sizes::PowerLaw { power_law: 1.0 }.split(10_000, 20);
        assert_eq!(v[0], 2780, "{v:?}: 10,000 / H(20) = 2,779.5");
        assert!(v[0] > v[1] && v[1] > v[19], "{v:?}");
        assert!(v[10..].iter().sum::<usize>() < v[0], "{v:?}");
    }
}

//! The audience of each step: `from`, `from × factor`, … and `to` itself last.

use super::CapacityError;

/// Steps in one search at most: a factor so close to 1 that it needs more is a mistake, and
/// each step is a full run.
pub const MAX_STEPS: usize = 50;

/// The voters of each step: `from`, then each the one before × `factor` rounded to the
/// nearest voter (and at least one more than the one before, so no step repeats), and `to`
/// itself as the last step when the series steps over it without landing on it. The top the
/// user asked for is always measured: a search from 1,000 to 100,000 by 2 ends 64,000, 100,000
/// (not 128,000, past what was asked, and not 64,000, short of it).
///
/// ```
/// use loadgen::capacity::steps;
/// assert_eq!(steps(40, 160, 2.0).unwrap(), [40, 80, 160]);
/// assert_eq!(steps(1000, 100_000, 2.0).unwrap().last(), Some(&100_000));
/// assert!(steps(100, 50, 2.0).is_err());
/// ```
///
/// # Errors
///
/// `factor` not above 1 (or not a number), `from` 0, `from` above `to`, or more than
/// [`MAX_STEPS`] steps.
pub fn steps(from: usize, to: usize, factor: f64) -> Result<Vec<usize>, CapacityError> {
    if !factor.is_finite() || factor <= 1.0 {
        return Err(CapacityError::Factor(factor));
    }
    if from == 0 {
        return Err(CapacityError::FromZero);
    }
    if from > to {
        return Err(CapacityError::FromAboveTo { from, to });
    }
    let mut out = vec![from];
    let mut exact = from as f64;
    while out.last() != Some(&to) {
        if out.len() == MAX_STEPS {
            return Err(CapacityError::TooManySteps {
                from,
                to,
                factor,
                max: MAX_STEPS,
            });
        }
        exact *= factor;
        let last = out.last().copied().unwrap_or(from);
        // `as` saturates: a product past usize's range is simply past `to`.
        let next = (exact.round() as usize).max(last + 1);
        out.push(next.min(to));
    }
    Ok(out)
}

//! Each voter's part, drawn from the run's seed: when it arrives, whether and when it leaves or
//! drops in a storm, and its vote on each question. Every draw has its own stream (seed, voter,
//! question, purpose), so changing one share does not reshuffle the others.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Plan;

/// A moment of a run: `after_ms` after question `question` (0-based) of the voter's conference
/// went live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment {
    /// The question, 0-based.
    pub question: usize,
    /// Milliseconds after its `question:live`.
    pub after_ms: u64,
}

/// A drop in a reconnect storm: the connection closes at `at`, and the voter is back
/// `back_after_ms` later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drop {
    /// When the connection closes.
    pub at: Moment,
    /// How long the voter stays away.
    pub back_after_ms: u64,
}

/// A voter's part in the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Role {
    /// When it joins: `None` from the start (the host waits for it).
    pub arrives: Option<Moment>,
    /// When it leaves for good (`conference:leave`), if it does.
    pub leaves: Option<Moment>,
    /// When it drops and comes back, if it is in the storm.
    pub drops: Option<Drop>,
    /// When it stops reading its socket, if it is a slow reader (it never reads again).
    pub slow: Option<Moment>,
}

/// A vote: when after `question:live`, which option, and whether it is sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    /// Milliseconds after `question:live`.
    pub offset_ms: u64,
    /// A–D.
    pub option: &'static str,
    /// Sent a second time right after the first (the server must answer `duplicate`).
    pub twice: bool,
}

/// What a draw is for: each has its own random stream.
#[derive(Clone, Copy)]
enum Purpose {
    Arrival = 1,
    Leave = 2,
    Storm = 3,
    Vote = 4,
    Slow = 5,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The random stream of voter `i`, question `k`, for `purpose`.
fn stream(seed: u64, i: usize, k: usize, purpose: Purpose) -> ChaCha8Rng {
    let key =
        splitmix64(seed ^ splitmix64(((i as u64) << 20) ^ ((k as u64) << 4) ^ purpose as u64));
    ChaCha8Rng::seed_from_u64(key)
}

pub(super) fn role(plan: &Plan, i: usize) -> Role {
    if plan.is_anchor(i) {
        return Role::default();
    }
    let w = &plan.workload;
    let questions = w.questions.count;
    // Arrival: late (in the first question), or joining while some question is live.
    let mut rng = stream(plan.seed, i, 0, Purpose::Arrival);
    let u: f64 = rng.random();
    let late_ms = w
        .churn
        .late_within_s
        .map_or(w.vote_window_ms(0), |s| (s * 1000.0) as u64);
    let mut arrives = None;
    if u < w.churn.late_share {
        arrives = Some(Moment {
            question: 0,
            after_ms: rng.random_range(0..late_ms.max(1)),
        });
    } else {
        let mut edge = w.churn.late_share;
        for (k, share) in w.join_shares().into_iter().enumerate() {
            edge += share;
            if u < edge {
                arrives = Some(Moment {
                    question: k,
                    after_ms: rng.random_range(0..w.vote_window_ms(k)),
                });
                break;
            }
        }
    }
    // Leave: in the first question where the draw says so, after the arrival.
    let leave_shares = w.leave_shares();
    let from = arrives.map_or(0, |a| a.question);
    let leaves = (from..questions).find_map(|k| {
        let mut rng = stream(plan.seed, i, k, Purpose::Leave);
        if rng.random::<f64>() >= leave_shares[k] {
            return None;
        }
        let earliest = arrives
            .filter(|a| a.question == k)
            .map_or(0, |a| a.after_ms + 1);
        let window = w.vote_window_ms(k);
        (earliest < window).then(|| Moment {
            question: k,
            after_ms: rng.random_range(earliest..window),
        })
    });
    // The storm takes voters present at its moment who do not leave before they are back.
    let drops = w.churn.storm.as_ref().and_then(|s| {
        let mut rng = stream(plan.seed, i, 0, Purpose::Storm);
        if rng.random::<f64>() >= s.share {
            return None;
        }
        let at = Moment {
            question: s.question - 1,
            after_ms: (s.at_s * 1000.0) as u64,
        };
        let back_after_ms = rng.random_range(0..=(s.back_within_s * 1000.0) as u64);
        let back = Moment {
            after_ms: at.after_ms + back_after_ms,
            ..at
        };
        let present = arrives.is_none_or(|a| a < at) && leaves.is_none_or(|l| l > back);
        present.then_some(Drop { at, back_after_ms })
    });
    // Slow readers: present from the start, never leaving nor dropping.
    let slow = w.churn.slow_readers.as_ref().and_then(|s| {
        let mut rng = stream(plan.seed, i, 0, Purpose::Slow);
        let drawn = rng.random::<f64>() < s.share;
        (drawn && arrives.is_none() && leaves.is_none() && drops.is_none()).then(|| Moment {
            question: s.question - 1,
            after_ms: (s.at_s * 1000.0) as u64,
        })
    });
    Role {
        arrives,
        leaves,
        drops,
        slow,
    }
}

pub(super) fn vote(plan: &Plan, i: usize, k: usize) -> Option<Vote> {
    let w = &plan.workload;
    let mut rng = stream(plan.seed, i, k, Purpose::Vote);
    if rng.random::<f64>() >= w.votes.share {
        return None;
    }
    let offset_ms = w.votes.timing.draw(&mut rng, w.vote_window_ms(k));
    let option = lcr_testkit::conference::OPTION_KEYS[rng.random_range(0..4)];
    let twice = rng.random::<f64>() < w.votes.retry_share;
    Some(Vote {
        offset_ms,
        option,
        twice,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::plan;
    use super::super::{Plan, Spread};
    use crate::workload::Workload;

    fn run(text: &str) -> Plan {
        plan(
            Workload::parse(text, "w").unwrap(),
            Spread::RoundRobin,
            (0, 1),
        )
    }

    #[test]
    fn the_same_seed_gives_the_same_parts() {
        let p = run("[conferences]\nvoters = 500\n[churn]\nlate_share = 0.1\nleave_per_s = 5");
        let a: Vec<_> = (0..500).map(|i| (p.role(i), p.vote(i, 1))).collect();
        let b: Vec<_> = (0..500).map(|i| (p.role(i), p.vote(i, 1))).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn shares_come_out_near_what_was_asked() {
        let p = run(concat!(
            "[conferences]\nvoters = 10000\n",
            "[questions]\ncount = 2\nduration_s = 11\n",
            "[votes]\nshare = 0.8\nretry_share = 0.05\n",
            "[churn]\nlate_share = 0.1\njoin_per_s = 50\nleave_per_s = 100\n",
            "[churn.storm]\nshare = 0.2\nquestion = 1\nat_s = 5\nback_within_s = 3\n",
        ));
        let roles: Vec<_> = (0..10_000).map(|i| p.role(i)).collect();
        let count = |f: &dyn Fn(&super::Role) -> bool| roles.iter().filter(|r| f(r)).count();
        // 10 % late, plus 50/s × 10 s window × 2 questions = 1,000 joiners.
        let late = count(&|r| r.arrives.is_some());
        assert!((1800..2200).contains(&late), "{late}");
        // 100/s × 10 s per question.
        let leaving = count(&|r| r.leaves.is_some());
        assert!((1700..2100).contains(&leaving), "{leaving}");
        let storm = count(&|r| r.drops.is_some());
        assert!((1500..2000).contains(&storm), "{storm}");
        let votes = (0..10_000).filter_map(|i| p.vote(i, 0)).collect::<Vec<_>>();
        assert!((7800..8200).contains(&votes.len()), "{}", votes.len());
        let twice = votes.iter().filter(|v| v.twice).count();
        assert!((300..500).contains(&twice), "{twice}");
        assert_eq!(p.initial_audience(0) as usize, 10_000 - late);
    }

    #[test]
    fn nobody_leaves_before_arriving_or_drops_when_absent() {
        let p = run(concat!(
            "[conferences]\nvoters = 5000\n",
            "[churn]\nlate_share = 0.3\nleave_per_s = 200\n",
            "[churn.storm]\nshare = 0.5\nquestion = 1\nat_s = 2\nback_within_s = 2\n",
        ));
        for i in 0..5000 {
            let r = p.role(i);
            if let (Some(a), Some(l)) = (r.arrives, r.leaves) {
                assert!(l > a, "voter {i}: {r:?}");
            }
            if let Some(d) = r.drops {
                assert!(r.arrives.is_none_or(|a| a < d.at), "voter {i}: {r:?}");
                assert!(
                    r.leaves.is_none_or(
                        |l| l.question > 0 || l.after_ms > d.at.after_ms + d.back_after_ms
                    ),
                    "voter {i}: {r:?}"
                );
            }
        }
        assert_eq!(p.role(0), super::Role::default(), "the anchor stays");
    }

    #[test]
    fn slow_readers_are_present_from_the_start_and_stay() {
        let p = run(concat!(
            "[conferences]\nvoters = 10000\n",
            "[churn]\nlate_share = 0.1\nleave_per_s = 100\n",
            "[churn.slow_readers]\nshare = 0.1\nquestion = 2\nat_s = 3\n",
        ));
        let roles: Vec<_> = (0..10_000).map(|i| p.role(i)).collect();
        let slow: Vec<_> = roles.iter().filter(|r| r.slow.is_some()).collect();
        // 10 % of the voters who neither arrive late nor leave (about 72 %).
        assert!((600..850).contains(&slow.len()), "{}", slow.len());
        for r in &slow {
            assert!(
                r.arrives.is_none() && r.leaves.is_none() && r.drops.is_none(),
                "{r:?}"
            );
            let at = r.slow.unwrap();
            assert_eq!((at.question, at.after_ms), (1, 3000));
        }
        assert_eq!(p.role(0).slow, None, "the anchor reads");
    }
}

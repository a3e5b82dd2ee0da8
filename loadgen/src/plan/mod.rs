//! What a run does, decided up front: its conferences and their ids, which voters belong to
//! which, the shards' slices, and each voter's part (its [`Role`]: when it arrives, leaves or
//! drops, and its vote on every question), drawn from a seeded generator, identical in every
//! shard.

mod roles;

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lcr_profile::{Created, Presentation, TokenError, Tokens};

use crate::workload::Workload;

pub use roles::{Drop, Moment, Role, Vote};

/// Everything a shard needs to play its part.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Names the conferences, questions and users of this run.
    pub run_id: String,
    /// Socket.IO / Control API base URLs; [`Plan::spread`] says which one a voter uses.
    pub targets: Vec<String>,
    /// How voters are spread over the targets.
    pub spread: Spread,
    /// Tokens, made the profile's way.
    pub tokens: Arc<Tokens>,
    /// The Socket.IO path.
    pub path: String,
    /// What the audience does.
    pub workload: Arc<Workload>,
    /// The run's conferences, as the server knows them.
    pub conferences: Vec<ConferencePlan>,
    /// Seed of every draw.
    pub seed: u64,
    /// This process's slice: shard `shard.0` of `shard.1`.
    pub shard: (usize, usize),
    /// Voters one goose user drives.
    pub batch_size: usize,
    /// Local addresses to spread connections over (127.0.0.x), if any.
    pub local_ips: Vec<std::net::IpAddr>,
    /// The whole run stops by itself after this long.
    pub deadline: Duration,
    /// Whether this shard creates the conferences (false when a parent did it).
    pub setup: bool,
    /// A voter (or a host) whose connection drops unasked connects to the next target, joins
    /// again and sends its unanswered vote again (`--reconnect`, for runs that kill a node).
    pub reconnect: bool,
    /// Per conference, its voters present from the start (computed once).
    initial: Arc<OnceLock<Vec<u64>>>,
}

/// One conference of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct ConferencePlan {
    /// Its id, as the server knows it.
    pub id: String,
    /// Its host's user id.
    pub host_user: String,
    /// Its questions, in order, as the server knows them.
    pub question_ids: Vec<String>,
    /// Its voters (indices into the run's voters).
    pub voters: Range<usize>,
}

impl Plan {
    /// A plan for `workload`, with the ids this run asks a fixture to create ([`Plan::own_ids`];
    /// [`Plan::with_created`] takes the server's).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        run_id: &str,
        workload: Workload,
        targets: Vec<String>,
        tokens: Arc<Tokens>,
        path: String,
        seed: u64,
        shard: (usize, usize),
    ) -> Plan {
        let mut start = 0;
        let sizes = workload.conference_sizes();
        let many = sizes.len() > 1;
        let conferences = sizes
            .iter()
            .enumerate()
            .map(|(c, n)| {
                let (id, question_ids) =
                    Plan::own_ids(run_id, many.then_some(c), workload.questions.count);
                let voters = start..start + n;
                start += n;
                ConferencePlan {
                    id,
                    host_user: match many {
                        false => format!("host-{run_id}"),
                        true => format!("host-{run_id}-c{}", c + 1),
                    },
                    question_ids,
                    voters,
                }
            })
            .collect();
        Plan {
            run_id: run_id.to_owned(),
            targets,
            spread: Spread::RoundRobin,
            tokens,
            path,
            workload: Arc::new(workload),
            conferences,
            seed,
            shard,
            batch_size: 100,
            local_ips: Vec::new(),
            deadline: Duration::from_secs(600),
            setup: true,
            reconnect: false,
            initial: Arc::default(),
        }
    }

    /// The ids the run asks a fixture to create for conference `c` (`None` when it is the only
    /// one): `load-<run-id>[-c<n>]` and its questions `<run-id>[-c<n>]-q1`…; a server may assign
    /// its own ([`Plan::with_created`]).
    pub fn own_ids(run_id: &str, c: Option<usize>, questions: usize) -> (String, Vec<String>) {
        let stem = match c {
            None => run_id.to_owned(),
            Some(c) => format!("{run_id}-c{}", c + 1),
        };
        (
            format!("load-{stem}"),
            (1..=questions).map(|k| format!("{stem}-q{k}")).collect(),
        )
    }

    /// Takes the server's ids of the conferences `created` describes, in the plan's order.
    pub fn with_created(mut self, created: &[Created]) -> Self {
        for (c, made) in self.conferences.iter_mut().zip(created) {
            c.question_ids = c
                .question_ids
                .iter()
                .map(|q| made.question(q).to_owned())
                .collect();
            c.id = made.conference_id.clone();
        }
        self
    }

    /// Voters in the whole run (all shards, everyone who ever joins).
    pub fn voters(&self) -> usize {
        self.conferences.last().map_or(0, |c| c.voters.end)
    }

    /// Questions each conference runs.
    pub fn questions(&self) -> usize {
        self.workload.questions.count
    }

    /// The conference voter `i` belongs to.
    pub fn conference_of(&self, i: usize) -> usize {
        self.conferences
            .partition_point(|c| c.voters.end <= i)
            .min(self.conferences.len().saturating_sub(1))
    }

    /// Voter `i`'s user id.
    pub fn voter_user(&self, i: usize) -> String {
        format!("v{i}-{}", self.run_id)
    }

    /// Index of question `id` in conference `c`, if it is one of its.
    pub fn question_index(&self, c: usize, id: &str) -> Option<usize> {
        self.conferences[c]
            .question_ids
            .iter()
            .position(|q| q == id)
    }

    /// How `user` presents a token at the handshake, the profile's way.
    pub async fn credentials(&self, user: &str) -> Result<Presentation, TokenError> {
        self.tokens.presentation(user).await
    }

    /// The voters of this shard.
    pub fn my_voters(&self) -> Range<usize> {
        shard_range(self.voters(), self.shard.0, self.shard.1)
    }

    /// The conferences whose host this shard runs: conference `c` on shard `c mod shards`.
    pub fn my_hosts(&self) -> Vec<usize> {
        (0..self.conferences.len())
            .filter(|c| c % self.shard.1 == self.shard.0)
            .collect()
    }

    /// Whether this shard creates the conferences (the first one).
    pub fn creates(&self) -> bool {
        self.setup && self.shard.0 == 0
    }

    /// The target voter `i` connects to.
    pub fn target_for(&self, i: usize) -> &str {
        self.target_after(i, 0)
    }

    /// The target of voter `i` after it lost its connection `lost` times: the next ones in turn.
    pub fn target_after(&self, i: usize, lost: usize) -> &str {
        let first = match self.spread {
            Spread::RoundRobin => i,
            Spread::ByWorker => self.shard.0,
        };
        &self.targets[(first + lost) % self.targets.len()]
    }

    /// The target of conference `c`'s host after `lost` lost connections.
    pub fn host_target(&self, c: usize, lost: usize) -> &str {
        &self.targets[(c + lost) % self.targets.len()]
    }

    /// Voter `i`'s part in the run.
    pub fn role(&self, i: usize) -> Role {
        roles::role(self, i)
    }

    /// Voter `i`'s vote on question `k` of its conference, if it votes.
    pub fn vote(&self, i: usize, k: usize) -> Option<Vote> {
        roles::vote(self, i, k)
    }

    /// Voters of conference `c` present from the start: its host waits for them before the
    /// first push.
    pub fn initial_audience(&self, c: usize) -> u64 {
        self.initial.get_or_init(|| {
            self.conferences
                .iter()
                .map(|conf| {
                    conf.voters
                        .clone()
                        .filter(|i| self.role(*i).arrives.is_none())
                        .count() as u64
                })
                .collect()
        })[c]
    }

    /// Whether voter `i` is the first of its conference in its shard: it stays from the start
    /// to the end, so the shard always hears when its conference's questions go live (its late
    /// joiners wait for that).
    pub fn is_anchor(&self, i: usize) -> bool {
        let (total, n) = (self.voters(), self.shard.1.max(1));
        let (base, extra) = (total / n, total % n);
        let s = if i < extra * (base + 1) {
            i / (base + 1)
        } else {
            extra + (i - extra * (base + 1)) / base.max(1)
        };
        let shard_start = shard_range(total, s, n).start;
        i == self.conferences[self.conference_of(i)]
            .voters
            .start
            .max(shard_start)
    }
}

/// How voters are spread over several targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Spread {
    /// Voter `i` connects to target `i mod T`: every worker talks to every server.
    #[default]
    RoundRobin,
    /// Every voter of worker (shard) `k` connects to target `k mod T`: each worker talks to one
    /// server, so the two can share a CPU (`--pin-cpus`).
    ByWorker,
}

/// The CPU worker `worker` is pinned to, of `cores`, when voters are spread over `targets`
/// servers: with [`Spread::ByWorker`] the CPU of the server it drives (server `j` runs on CPU
/// `j mod cores`, as `loadgen/bench.sh` pins them with `PIN=1`), otherwise `worker mod cores`.
///
/// ```
/// use loadgen::plan::{pinned_cpu, Spread};
/// // Worker 4 of a by-worker run over 3 servers drives server 1, which runs on CPU 1.
/// assert_eq!(pinned_cpu(Spread::ByWorker, 4, 3, 2), 1);
/// assert_eq!(pinned_cpu(Spread::RoundRobin, 4, 3, 2), 0);
/// ```
pub fn pinned_cpu(spread: Spread, worker: usize, targets: usize, cores: usize) -> usize {
    let k = match spread {
        Spread::RoundRobin => worker,
        Spread::ByWorker => worker % targets.max(1),
    };
    k % cores.max(1)
}

/// Shard `index` of `count` over `total` voters: contiguous, sizes differ by at most one.
///
/// ```
/// use loadgen::plan::shard_range;
/// assert_eq!(shard_range(10, 0, 3), 0..4);
/// assert_eq!(shard_range(10, 2, 3), 7..10);
/// ```
pub fn shard_range(total: usize, index: usize, count: usize) -> Range<usize> {
    let count = count.max(1);
    let base = total / count;
    let extra = total % count;
    let start = index * base + index.min(extra);
    let len = base + usize::from(index < extra);
    start..(start + len).min(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn plan(workload: Workload, spread: Spread, shard: (usize, usize)) -> Plan {
        let mut p = Plan::new(
            "r",
            workload,
            vec!["a".into(), "b".into(), "c".into()],
            Arc::new(Tokens::new(&lcr_profile::Auth::hs256("s")).unwrap()),
            "/socket.io/".into(),
            1,
            shard,
        );
        p.spread = spread;
        p
    }

    fn sixty() -> Workload {
        let mut w = Workload::default();
        w.conferences.voters = Some(60);
        w
    }

    #[test]
    fn round_robin_spreads_each_workers_voters_over_every_target() {
        let p = plan(sixty(), Spread::RoundRobin, (1, 6));
        let targets: Vec<&str> = p.my_voters().take(3).map(|i| p.target_for(i)).collect();
        assert_eq!(targets, ["b", "c", "a"]);
    }

    #[test]
    fn by_worker_sends_a_workers_voters_to_one_target_and_on_to_the_next_after_a_loss() {
        let p = plan(sixty(), Spread::ByWorker, (4, 6));
        assert!(p.my_voters().all(|i| p.target_for(i) == "b"));
        let first = p.my_voters().start;
        assert_eq!(p.target_after(first, 1), "c");
        assert_eq!(
            pinned_cpu(p.spread, p.shard.0, p.targets.len(), 2),
            1,
            "worker 4 drives target 1, which runs on CPU 1"
        );
    }

    #[test]
    fn conferences_split_the_voters_and_hosts_spread_over_the_shards() {
        let w = crate::workload::Workload::parse("[conferences]\ncount = 4\nvoters = 10\n", "w")
            .unwrap();
        let p = plan(w, Spread::RoundRobin, (1, 3));
        let ranges: Vec<_> = p.conferences.iter().map(|c| c.voters.clone()).collect();
        assert_eq!(ranges, [0..3, 3..6, 6..8, 8..10]);
        assert_eq!(
            (p.conference_of(0), p.conference_of(5), p.conference_of(9)),
            (0, 1, 3)
        );
        assert_eq!(p.conferences[1].id, "load-r-c2");
        assert_eq!(p.conferences[1].question_ids, ["r-c2-q1", "r-c2-q2"]);
        assert_eq!(p.my_hosts(), [1]);
        // Shard 1 of 3 holds voters 4..7: voter 4 (conference 1) and 6 (conference 2) anchor.
        assert_eq!(p.my_voters(), 4..7);
        let anchors: Vec<usize> = (0..10).filter(|i| p.is_anchor(*i)).collect();
        assert_eq!(anchors, [0, 3, 4, 6, 7, 8]);
    }
}

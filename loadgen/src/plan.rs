//! What a run does, decided up front: ids, the voters' slices, and every vote's time and option
//! (an open-model schedule from a seeded generator, identical in every shard).

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use lcr_profile::{Created, Presentation, TokenError, Tokens};

/// Everything a shard needs to play its part.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Names the conference, questions and users of this run.
    pub run_id: String,
    /// Socket.IO / Control API base URLs; [`Plan::spread`] says which one a voter uses.
    pub targets: Vec<String>,
    /// How voters are spread over the targets.
    pub spread: Spread,
    /// Tokens, made the profile's way.
    pub tokens: Arc<Tokens>,
    /// The Socket.IO path.
    pub path: String,
    /// The conference, as the server knows it.
    pub conference_id: String,
    /// Its questions, in order, as the server knows them.
    pub question_ids: Vec<String>,
    /// Voters in the whole run (all shards).
    pub voters: usize,
    /// Questions pushed one after another.
    pub questions: usize,
    /// Seconds each question is live.
    pub question_duration: u32,
    /// Close each question by hand after this many seconds (instead of the timeout).
    pub close_after: Option<u32>,
    /// Seed of the vote schedule.
    pub seed: u64,
    /// This process's slice: shard `shard.0` of `shard.1`.
    pub shard: (usize, usize),
    /// Voters one goose user drives.
    pub batch_size: usize,
    /// Local addresses to spread connections over (127.0.0.x), if any.
    pub local_ips: Vec<std::net::IpAddr>,
    /// The whole run stops by itself after this long.
    pub deadline: Duration,
    /// Whether this shard creates the conference (false when a parent did it).
    pub setup: bool,
    /// A voter (or the host) whose connection drops connects to the next target, joins again
    /// and sends its unanswered vote again (`--reconnect`, for runs that kill a node).
    pub reconnect: bool,
}

impl Plan {
    /// The conference of this run, as the server knows it.
    pub fn conference_id(&self) -> String {
        self.conference_id.clone()
    }
    /// The host's user id.
    pub fn host_user(&self) -> String {
        format!("host-{}", self.run_id)
    }
    /// Voter `i`'s user id.
    pub fn voter_user(&self, i: usize) -> String {
        format!("v{i}-{}", self.run_id)
    }
    /// Question `k`'s id (0-based), as the server knows it.
    pub fn question_id(&self, k: usize) -> String {
        self.question_ids[k].clone()
    }
    /// Index of a question id, if it is one of this run's.
    pub fn question_index(&self, id: &str) -> Option<usize> {
        self.question_ids.iter().position(|q| q == id)
    }
    /// The ids the run asks a fixture to create: the conference `load-<run-id>` and its
    /// questions `<run-id>-q1`…; a server may assign its own ([`Plan::with_created`]).
    pub fn own_ids(run_id: &str, questions: usize) -> (String, Vec<String>) {
        (
            format!("load-{run_id}"),
            (1..=questions).map(|k| format!("{run_id}-q{k}")).collect(),
        )
    }
    /// Takes the server's ids of the conference `created` describes.
    pub fn with_created(mut self, created: &Created) -> Self {
        self.question_ids = self
            .question_ids
            .iter()
            .map(|q| created.question(q).to_owned())
            .collect();
        self.conference_id = created.conference_id.clone();
        self
    }
    /// How `user` presents a token at the handshake, the profile's way.
    pub async fn credentials(&self, user: &str) -> Result<Presentation, TokenError> {
        self.tokens.presentation(user).await
    }
    /// The voters of this shard.
    pub fn my_voters(&self) -> Range<usize> {
        shard_range(self.voters, self.shard.0, self.shard.1)
    }
    /// Whether this shard runs the host.
    pub fn hosts(&self) -> bool {
        self.shard.0 == 0
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
    /// When voter `i` votes on question `k`, in ms after `startedAt`, and which option.
    pub fn vote_of(&self, i: usize, k: usize) -> (u64, &'static str) {
        schedule(self.seed, i, k, self.question_duration)
    }
    /// Whether voter `i` also sends a second vote on question `k` right after its first: one
    /// voter in a hundred, chosen by the seed, so the server's duplicate check is exercised.
    pub fn votes_twice(&self, i: usize, k: usize) -> bool {
        splitmix64(self.seed ^ 0xD0B1E ^ ((i as u64) << 16) ^ k as u64).is_multiple_of(100)
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

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The vote of voter `i` on question `k`: an offset inside the question window (leaving the
/// last second free, so a scheduled vote is not a late one) and an option A–D.
///
/// ```
/// let (a, o) = loadgen::plan::schedule(42, 7, 0, 10);
/// assert_eq!((a, o), loadgen::plan::schedule(42, 7, 0, 10));
/// assert!(a < 9_000);
/// assert!(["A", "B", "C", "D"].contains(&o));
/// ```
pub fn schedule(seed: u64, i: usize, k: usize, duration_secs: u32) -> (u64, &'static str) {
    let r = splitmix64(seed ^ splitmix64((i as u64) << 16 ^ k as u64));
    let window = (u64::from(duration_secs) * 1000)
        .saturating_sub(1000)
        .max(200);
    let option = ["A", "B", "C", "D"][(splitmix64(r) % 4) as usize];
    (r % window, option)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(spread: Spread, shard: (usize, usize)) -> Plan {
        Plan {
            run_id: "r".into(),
            targets: vec!["a".into(), "b".into(), "c".into()],
            spread,
            tokens: Arc::new(Tokens::new(&lcr_profile::Auth::hs256("s")).unwrap()),
            path: "/socket.io/".into(),
            conference_id: "c".into(),
            question_ids: vec!["q1".into()],
            voters: 60,
            questions: 1,
            question_duration: 10,
            close_after: None,
            seed: 1,
            shard,
            batch_size: 10,
            local_ips: vec![],
            deadline: Duration::from_secs(60),
            setup: false,
            reconnect: false,
        }
    }

    #[test]
    fn round_robin_spreads_each_workers_voters_over_every_target() {
        let p = plan(Spread::RoundRobin, (1, 6));
        let targets: Vec<&str> = p.my_voters().take(3).map(|i| p.target_for(i)).collect();
        assert_eq!(targets, ["b", "c", "a"]);
    }

    #[test]
    fn by_worker_sends_a_workers_voters_to_one_target_and_on_to_the_next_after_a_loss() {
        let p = plan(Spread::ByWorker, (4, 6));
        assert!(p.my_voters().all(|i| p.target_for(i) == "b"));
        let first = p.my_voters().start;
        assert_eq!(p.target_after(first, 1), "c");
        assert_eq!(
            pinned_cpu(p.spread, p.shard.0, p.targets.len(), 2),
            1,
            "worker 4 drives target 1, which runs on CPU 1"
        );
    }
}

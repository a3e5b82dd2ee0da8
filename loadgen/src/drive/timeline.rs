//! What this process has heard of each conference: when each question went live and whether
//! the conference is over. Voters and hosts tell it; voters who arrive late wait on it to know
//! when to join.

use std::time::{Duration, Instant};

use tokio::sync::watch;

/// A question heard live: the server's `startedAt` and when this process heard it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Live {
    /// `startedAt`, ms on the server's clock.
    pub started_at: i64,
    /// Receipt, ms since the epoch on this machine's clock.
    pub at: i64,
    /// Receipt on this machine's monotonic clock.
    pub instant: Instant,
}

impl Live {
    /// The monotonic instant of `startedAt + ms`: the receipt moved by the difference (past
    /// instants come out as they are, so a late learner acts at once).
    pub fn instant_after(&self, ms: u64) -> Instant {
        let target = self.started_at + ms as i64;
        if target >= self.at {
            self.instant + Duration::from_millis((target - self.at) as u64)
        } else {
            self.instant
                .checked_sub(Duration::from_millis((self.at - target) as u64))
                .unwrap_or(self.instant)
        }
    }
}

/// One conference as heard.
#[derive(Debug, Clone, Default)]
pub struct Heard {
    /// Per question, when it went live.
    pub live: Vec<Option<Live>>,
    /// Its last question's final result came, or its host gave up.
    pub over: bool,
}

/// Every conference of the run, as this process heard them.
pub struct Timelines {
    conferences: Vec<watch::Sender<Heard>>,
}

impl Timelines {
    /// `conferences` conferences of `questions` questions each, nothing heard yet.
    pub fn new(conferences: usize, questions: usize) -> Timelines {
        Timelines {
            conferences: (0..conferences)
                .map(|_| {
                    watch::Sender::new(Heard {
                        live: vec![None; questions],
                        over: false,
                    })
                })
                .collect(),
        }
    }

    /// Question `k` of conference `c` went live (the first to hear it sets it).
    pub fn heard_live(&self, c: usize, k: usize, live: Live) {
        self.conferences[c].send_if_modified(|h| match h.live.get_mut(k) {
            Some(slot @ None) => {
                *slot = Some(live);
                true
            }
            _ => false,
        });
    }

    /// Conference `c` is over.
    pub fn heard_over(&self, c: usize) {
        self.conferences[c].send_if_modified(|h| !std::mem::replace(&mut h.over, true));
    }

    /// When question `k` of conference `c` went live, if heard yet.
    pub fn live(&self, c: usize, k: usize) -> Option<Live> {
        self.conferences[c].borrow().live.get(k).copied().flatten()
    }

    /// Whether conference `c` is over.
    pub fn is_over(&self, c: usize) -> bool {
        self.conferences[c].borrow().over
    }

    /// Waits until question `k` of conference `c` is live; `None` if the conference is over
    /// first, or `until` passes.
    pub async fn wait_live(&self, c: usize, k: usize, until: Instant) -> Option<Live> {
        let mut rx = self.conferences[c].subscribe();
        let waited = tokio::time::timeout_at(until.into(), async {
            loop {
                {
                    let h = rx.borrow_and_update();
                    if let Some(Some(live)) = h.live.get(k) {
                        return Some(*live);
                    }
                    if h.over {
                        return None;
                    }
                }
                rx.changed().await.ok()?;
            }
        });
        waited.await.ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_late_joiner_wakes_when_its_question_goes_live() {
        let t = std::sync::Arc::new(Timelines::new(2, 2));
        let waiter = {
            let t = t.clone();
            tokio::spawn(async move {
                t.wait_live(1, 1, Instant::now() + Duration::from_secs(5))
                    .await
            })
        };
        let now = Instant::now();
        t.heard_live(
            1,
            0,
            Live {
                started_at: 1,
                at: 1,
                instant: now,
            },
        );
        t.heard_live(
            1,
            1,
            Live {
                started_at: 5_000,
                at: 5_010,
                instant: now,
            },
        );
        t.heard_live(
            1,
            1,
            Live {
                started_at: 9,
                at: 9,
                instant: now,
            },
        );
        let live = waiter.await.unwrap().unwrap();
        assert_eq!(live.started_at, 5_000, "the first report stands");
        assert_eq!(
            live.instant_after(1_010),
            now + Duration::from_millis(1_000)
        );
        t.heard_over(0);
        assert_eq!(
            t.wait_live(0, 1, Instant::now() + Duration::from_secs(5))
                .await,
            None
        );
    }
}

//! Leading-and-trailing-edge coalescing, shared by `vote:result` (D20) and the change-driven
//! `audience:count` (D11): both promise at most one broadcast per interval, the first at once
//! and the latest never lost.

use std::time::Duration;

use tokio::time::Instant;

/// Leading-and-trailing-edge coalescing: at most one emission per `interval`.
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use reference_server::coalesce::Coalescer;
/// let mut c = Coalescer::new(Duration::from_millis(100));
/// let t0 = Instant::now();
/// assert!(c.changed(t0));                          // leading edge: emit now
/// assert!(!c.changed(t0 + Duration::from_millis(10)));  // inside the interval: wait
/// assert_eq!(c.due(), Some(t0 + Duration::from_millis(100)));  // trailing edge scheduled
/// c.emitted(t0 + Duration::from_millis(100));
/// assert_eq!(c.due(), None);
/// ```
#[derive(Debug)]
pub struct Coalescer {
    interval: Duration,
    last: Option<Instant>,
    pending: bool,
}

impl Coalescer {
    /// A coalescer that lets one emission through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Coalescer {
            interval,
            last: None,
            pending: false,
        }
    }

    /// Something changed at `now`: true means emit now (and it is recorded as emitted).
    pub fn changed(&mut self, now: Instant) -> bool {
        if self.last.is_none_or(|l| now >= l + self.interval) {
            self.last = Some(now);
            self.pending = false;
            true
        } else {
            self.pending = true;
            false
        }
    }

    /// When the trailing emission is due, if one is pending.
    pub fn due(&self) -> Option<Instant> {
        self.pending
            .then(|| self.last.map(|l| l + self.interval))
            .flatten()
    }

    /// The trailing emission happened at `now`.
    pub fn emitted(&mut self, now: Instant) {
        self.last = Some(now);
        self.pending = false;
    }
}

//! What the server knows about one authenticated socket: its user, the conferences it joined
//! (with its role in each) and its rate limit (D24).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lcr_protocol::Role;

/// One authenticated socket.
pub struct Session {
    /// The token's user id (D2).
    pub user_id: String,
    /// The Socket.IO socket id.
    pub socket_id: String,
    joined: Mutex<HashMap<String, Role>>,
    limiter: Mutex<RateLimiter>,
}

impl Session {
    /// A session with no conference joined yet.
    pub fn new(user_id: String, socket_id: String, limiter: RateLimiter) -> Self {
        Session {
            user_id,
            socket_id,
            joined: Mutex::new(HashMap::new()),
            limiter: Mutex::new(limiter),
        }
    }

    /// Whether this socket joined some conference as its host.
    pub fn hosts_any(&self) -> bool {
        self.joined().values().any(|r| *r == Role::Host)
    }

    /// The role this socket joined `conference_id` with, if it joined it.
    pub fn role_in(&self, conference_id: &str) -> Option<Role> {
        self.joined().get(conference_id).copied()
    }

    /// Records a join; false if this socket had joined already.
    pub fn mark_joined(&self, conference_id: &str, role: Role) -> bool {
        self.joined()
            .insert(conference_id.to_owned(), role)
            .is_none()
    }

    /// Forgets a join, returning the role it had.
    pub fn forget(&self, conference_id: &str) -> Option<Role> {
        self.joined().remove(conference_id)
    }

    /// Forgets every join (disconnect, D12).
    pub fn forget_all(&self) -> Vec<(String, Role)> {
        self.joined().drain().collect()
    }

    /// Takes one event from the rate limit; false when the socket is over it.
    pub fn allow_event(&self) -> bool {
        self.limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_take(Instant::now())
    }

    fn joined(&self) -> std::sync::MutexGuard<'_, HashMap<String, Role>> {
        self.joined.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A sliding window (D24: 100 events per 60 s): an event is allowed when fewer than `limit`
/// events were allowed in the `window` before it. Exact, and no burst of twice the limit across
/// a window boundary; memory grows with the events actually sent, up to `limit` instants.
///
/// ```
/// use std::time::{Duration, Instant};
/// use reference_server::session::RateLimiter;
/// let mut rl = RateLimiter::new(2, Duration::from_secs(60));
/// let t = Instant::now();
/// assert!(rl.try_take(t) && rl.try_take(t));
/// assert!(!rl.try_take(t + Duration::from_secs(59)));
/// assert!(rl.try_take(t + Duration::from_secs(60)));
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    allowed: std::collections::VecDeque<Instant>,
}

impl RateLimiter {
    /// At most `limit` events in any `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        RateLimiter {
            limit: limit.max(1) as usize,
            window,
            allowed: std::collections::VecDeque::new(),
        }
    }

    /// Whether an event at `now` is allowed (and counts it if so).
    pub fn try_take(&mut self, now: Instant) -> bool {
        while self
            .allowed
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.allowed.pop_front();
        }
        if self.allowed.len() < self.limit {
            self.allowed.push_back(now);
            true
        } else {
            false
        }
    }
}

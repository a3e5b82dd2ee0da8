//! The clock thread: a node's time-critical work on a thread and a tokio runtime of its own.
//!
//! A node has a task per socket on its main runtime; under load a task woken by a timer waits
//! behind all of them, so a countdown tick (D16) could come seconds late and a lease renewal
//! could lapse. The clock thread runs what must keep time:
//! - each live question's countdown, ticker and lease renewals ([`crate::countdown`]);
//! - the periodic task (audience counts, D11; the watch for orphaned runs, D16);
//! - the Redis connections those use and the Socket.IO Redis adapter's connection, so a
//!   timer check, a lease renewal or the publish of a tick to the other nodes is read and
//!   written here, not behind the sockets;
//! - the adapter's stream of the other nodes' broadcasts. With what the countdown and the
//!   periodic task send (ticks, `vote:result`, the close and the final result;
//!   `audience:count`), every room fan-out during a question is then done here. A flow's own
//!   broadcast (`question:live` on the pushing node, `audience:joined` to the host) is fanned
//!   out where the flow runs.
//!
//! The operating system schedules the thread on its own: mostly asleep, it runs promptly when a
//! timer fires. What it broadcasts is handed to the sockets' queues, which the main runtime
//! drains. A writer woken from here waits in the main runtime's remote queue, which a
//! current-thread runtime serves after the tasks it woke itself (a socket's read, a flow),
//! and at least every 31st poll. So inputs come first: a vote read during a tick's fan-out goes
//! to Redis at once, not after those writes as it would if the main runtime did the fan-out
//! (see docs/benchmarks.md).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Handle to a running clock thread; cheap to clone.
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (clock, guard) = reference_server::clock::Clock::start().unwrap();
/// let on_clock = clock.spawn(async { std::thread::current().name().map(str::to_owned) });
/// assert_eq!(on_clock.await.unwrap().as_deref(), Some("lcr-clock"));
/// drop(guard); // stops the thread
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Clock {
    handle: Handle,
}

/// Stops the clock thread when dropped; what still runs there is cancelled.
#[derive(Debug)]
pub struct ClockGuard {
    _stop: oneshot::Sender<()>,
}

impl Clock {
    /// Starts the thread; the clock runs until the guard is dropped.
    ///
    /// # Errors
    ///
    /// When the thread or its runtime cannot be created.
    pub fn start() -> std::io::Result<(Clock, ClockGuard)> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("lcr-clock".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(rt.handle().clone()));
                // The guard dropped (or sent): return, and dropping `rt` cancels what is left.
                let _ = rt.block_on(stop_rx);
            })?;
        let handle = handle_rx
            .recv()
            .map_err(|_| std::io::Error::other("the clock thread stopped at once"))??;
        Ok((Clock { handle }, ClockGuard { _stop: stop_tx }))
    }

    /// Runs `task` on the clock thread.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }

    /// Runs `task` on the clock thread and waits for it: connections it opens (fred spawns
    /// their I/O tasks where they are initialised) are then served there.
    ///
    /// # Errors
    ///
    /// When the clock thread stopped before `task` finished.
    pub async fn run<F>(&self, task: F) -> Result<F::Output, ClockStopped>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task).await.map_err(|_| ClockStopped)
    }
}

/// Measures, forever, how late a 100 ms timer fires on the runtime this runs on, into `lag`,
/// and logs a warning when it is a second late or more: that runtime was stalled or starved
/// (on the clock thread every countdown tick and Redis reply of the node waited as long).
///
/// # Example
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use reference_server::metrics::Histogram;
/// let lag = Arc::new(Histogram::default());
/// let watch = tokio::spawn(reference_server::clock::watch_lag("demo", lag.clone()));
/// tokio::time::sleep(std::time::Duration::from_millis(350)).await;
/// watch.abort();
/// assert!(lag.count() >= 2);
/// # }
/// ```
pub async fn watch_lag(thread: &'static str, lag: Arc<crate::metrics::Histogram>) {
    const PERIOD: Duration = Duration::from_millis(100);
    let mut due = tokio::time::Instant::now() + PERIOD;
    loop {
        tokio::time::sleep_until(due).await;
        let late = tokio::time::Instant::now().saturating_duration_since(due);
        lag.record(late);
        if late >= Duration::from_secs(1) {
            tracing::warn!(
                thread,
                late_ms = late.as_millis() as u64,
                "runtime stalled: a timer fired late; everything else on it waited as long"
            );
        }
        due = tokio::time::Instant::now() + PERIOD;
    }
}

/// The clock thread stopped (the server is shutting down) before a task finished.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the clock thread has stopped")]
pub struct ClockStopped;

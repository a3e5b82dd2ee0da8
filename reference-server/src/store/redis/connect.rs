//! Connecting to Redis: the connection settings of every client, and where connections are
//! served (the clock thread's runtime when there is one).

use fred::prelude::*;

use super::RedisStore;
use super::scripts::Scripts;
use crate::store::StoreResult;

/// A fred builder with the server's connection settings: 5 s to connect, reconnecting with
/// exponential backoff (0.1 s to 5 s), and a 15 s command timeout, long enough that an
/// overloaded Redis answers late rather than leaving a flow unsure whether its script ran (a
/// vote counted, yet answered TIMEOUT).
pub(crate) fn client_builder(config: Config) -> Builder {
    let mut builder = Builder::from_config(config);
    builder
        .with_connection_config(|c| c.connection_timeout = std::time::Duration::from_secs(5))
        .with_performance_config(|p| {
            p.default_command_timeout = std::time::Duration::from_secs(15);
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
    builder
}

/// Runs a client's `init` on the clock thread when there is one (fred serves a connection on
/// the runtime that initialised it), else here.
async fn init_on<T, F>(
    clock: Option<&crate::clock::Clock>,
    init: F,
) -> Result<T, fred::error::Error>
where
    F: std::future::Future<Output = Result<T, fred::error::Error>> + Send + 'static,
    T: Send + 'static,
{
    match clock {
        Some(clock) => clock.run(init).await.map_err(|e| {
            fred::error::Error::new(fred::error::ErrorKind::Canceled, e.to_string())
        })?,
        None => init.await,
    }
}

impl RedisStore {
    /// Connects a pool of `size` connections to `url` (`redis://host:port[/db]`) and waits for
    /// the first connection. Reconnects by itself afterwards.
    pub async fn connect(url: &str, size: usize) -> StoreResult<Self> {
        Self::connect_on_clock(url, size, None).await
    }

    /// As [`RedisStore::connect`], with every connection (the pool, and the control connection
    /// for timer leases, timer checks and open runs) served by the clock thread's runtime when
    /// `clock` is given: a reply from Redis is read at once, not behind the sockets' work on a
    /// loaded node, so leases and timer checks keep time. The pool is there too, so its replies
    /// do not go ahead of the room fan-out's writers on the sockets' thread (see
    /// docs/benchmarks.md).
    pub async fn connect_on_clock(
        url: &str,
        size: usize,
        clock: Option<&crate::clock::Clock>,
    ) -> StoreResult<Self> {
        let config = Config::from_url(url)?;
        let control = client_builder(config.clone()).build()?;
        let c = control.clone();
        init_on(clock, async move { c.init().await }).await?;
        let pool = client_builder(config).build_pool(size.max(1))?;
        let p = pool.clone();
        init_on(clock, async move { p.init().await }).await?;
        Ok(RedisStore {
            pool,
            control,
            scripts: Scripts::new(),
            calls: None,
        })
    }
}

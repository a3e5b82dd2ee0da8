//! What `@cluster` and `@mongo` scenarios need beyond the sockets: the server's nodes and the
//! means to kill and restart one, and MongoDB and the means to take it away and back.
//!
//! Either the suite owns the processes (`--nodes N`: N reference-server nodes; or the profile's
//! `[[server]]` processes: it kills them with SIGKILL and stops them with SIGTERM), or the
//! operator gives shell commands (the profile's `[controls]`, or `--node-down-cmd`,
//! `--node-up-cmd`, `--node-stop-cmd`, `--mongo-down-cmd`, `--mongo-up-cmd`; `{node}` in a node
//! command is the node's number, 1-based), e.g. `docker compose kill server-{node}`,
//! `docker compose start server-{node}` and `docker compose stop server-{node}`, or
//! `docker compose pause mongo` and `… unpause mongo`.

use std::sync::Mutex;

use lcr_profile::launch::Launched;
use lcr_testkit::NodeProcess;

/// How the suite takes a node down and brings it back.
pub enum NodeControl {
    /// No way to (failover scenarios are filtered out).
    None,
    /// The suite started the nodes itself (`--nodes`).
    Owned(Mutex<Vec<NodeProcess>>),
    /// The profile's `[[server]]` processes.
    Launched(Mutex<Launched>),
    /// Shell commands run with `sh -c`.
    Commands {
        /// Kills node `{node}`.
        down: String,
        /// Starts node `{node}` again and returns once it is ready.
        up: String,
        /// Stops node `{node}` gracefully (SIGTERM) and returns once it has exited.
        stop: Option<String>,
    },
}

/// Shell commands taking MongoDB away and back.
pub struct MongoControl {
    /// Makes MongoDB unreachable (`kill -STOP`, `docker compose pause mongo`…).
    pub down: String,
    /// Brings it back.
    pub up: String,
}

/// The environment controls of one suite run.
pub struct Controls {
    /// Nodes.
    pub nodes: NodeControl,
    /// MongoDB.
    pub mongo: Option<MongoControl>,
}

async fn shell(cmd: &str) -> Result<(), String> {
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .status()
        .await
        .map_err(|e| format!("running `{cmd}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{cmd}` exited with {status}"))
    }
}

impl Controls {
    /// Whether nodes can be killed and restarted.
    pub fn can_kill_nodes(&self) -> bool {
        !matches!(self.nodes, NodeControl::None)
    }

    /// Kills node `n` (1-based) as in a crash.
    pub async fn node_down(&self, n: usize) -> Result<(), String> {
        match &self.nodes {
            NodeControl::None => {
                Err("no way to kill a node: use --nodes or --node-down-cmd".into())
            }
            NodeControl::Owned(nodes) => {
                let mut nodes = nodes.lock().unwrap_or_else(|p| p.into_inner());
                let node = nodes
                    .get_mut(n - 1)
                    .ok_or(format!("there is no node {n}"))?;
                node.kill();
                Ok(())
            }
            NodeControl::Launched(launched) => {
                let mut launched = launched.lock().unwrap_or_else(|p| p.into_inner());
                launched.node(n)?.kill();
                Ok(())
            }
            NodeControl::Commands { down, .. } => {
                shell(&down.replace("{node}", &n.to_string())).await
            }
        }
    }

    /// Whether nodes can be stopped gracefully (and restarted).
    pub fn can_stop_nodes(&self) -> bool {
        matches!(
            &self.nodes,
            NodeControl::Owned(_)
                | NodeControl::Launched(_)
                | NodeControl::Commands { stop: Some(_), .. }
        )
    }

    /// Stops node `n` (1-based) as an operator does: SIGTERM, and the node shuts down
    /// gracefully, handing its countdowns over (D16). Returns once it has exited.
    pub async fn node_stop(&self, n: usize) -> Result<(), String> {
        match &self.nodes {
            NodeControl::Owned(nodes) => {
                let mut nodes = nodes.lock().unwrap_or_else(|p| p.into_inner());
                let node = nodes
                    .get_mut(n - 1)
                    .ok_or(format!("there is no node {n}"))?;
                if tokio::task::block_in_place(|| node.terminate()) {
                    Ok(())
                } else {
                    Err(format!(
                        "node {n} did not exit within 10 s of SIGTERM and was killed: no graceful stop"
                    ))
                }
            }
            NodeControl::Launched(launched) => {
                let mut launched = launched.lock().unwrap_or_else(|p| p.into_inner());
                let node = launched.node(n)?;
                if tokio::task::block_in_place(|| node.stop()) {
                    Ok(())
                } else {
                    Err(format!(
                        "node {n} did not exit within 10 s of SIGTERM and was killed: no graceful stop"
                    ))
                }
            }
            NodeControl::Commands {
                stop: Some(stop), ..
            } => shell(&stop.replace("{node}", &n.to_string())).await,
            _ => Err("no way to stop a node: use --nodes or --node-stop-cmd".into()),
        }
    }

    /// Starts node `n` (1-based) again and waits until it is ready.
    pub async fn node_up(&self, n: usize) -> Result<(), String> {
        match &self.nodes {
            NodeControl::None => Err("no way to restart a node".into()),
            NodeControl::Owned(nodes) => {
                let mut nodes = nodes.lock().unwrap_or_else(|p| p.into_inner());
                let node = nodes
                    .get_mut(n - 1)
                    .ok_or(format!("there is no node {n}"))?;
                tokio::task::block_in_place(|| node.restart())
            }
            NodeControl::Launched(launched) => {
                let mut launched = launched.lock().unwrap_or_else(|p| p.into_inner());
                let node = launched.node(n)?;
                tokio::task::block_in_place(|| node.restart())
            }
            NodeControl::Commands { up, .. } => shell(&up.replace("{node}", &n.to_string())).await,
        }
    }

    /// Stops the nodes the suite started (the target lives in a static, which is never
    /// dropped, so this is called before the process exits).
    pub fn stop_owned_nodes(&self) {
        match &self.nodes {
            NodeControl::Owned(nodes) => {
                for node in nodes.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
                    node.terminate();
                }
            }
            NodeControl::Launched(launched) => {
                launched
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .stop_all();
            }
            _ => {}
        }
    }

    /// Makes MongoDB unreachable.
    pub async fn mongo_down(&self) -> Result<(), String> {
        shell(&self.mongo.as_ref().ok_or("no --mongo-down-cmd")?.down).await
    }

    /// Brings MongoDB back.
    pub async fn mongo_up(&self) -> Result<(), String> {
        shell(&self.mongo.as_ref().ok_or("no --mongo-up-cmd")?.up).await
    }
}

//! `docker-compose.yml` against what it runs: the reference server's CLI, loadgen's and
//! conformance's flags and `deploy/nginx.conf` (the images are `tests/image.rs`'s). Docker is
//! not needed: the files are read and compared, nothing is built or started.
//!
//! What is checked (each failure names the service and the key):
//! - services `redis`, `mongo`, `server-1`, `server-2`, `lb`, `loadgen`, `conformance` exist;
//!   no top-level `version:`; `redis` is `redis:7*`, `mongo` is `mongo:7*`, both with a healthcheck;
//! - server nodes (every service built from the Dockerfile target `server`): each environment key
//!   is `JWT_SECRET`, `ADMIN_TOKEN` or an `env` of `reference_server::config::Cli`; `REDIS_URL`,
//!   `MONGO_URL`, `NODE_ID`, `BIND`, `JWT_SECRET` and `ADMIN_TOKEN` are set; the environment
//!   parses with the server's own clap parser (values like `LOG_FORMAT`, `BIND` included);
//!   NODE_IDs differ; BIND listens on every interface; the Redis/Mongo URLs name compose
//!   services the node waits for (`service_healthy`); the healthcheck asks `:<BIND port>/ready`;
//! - `lb`: publishes a port whose container side is nginx's `listen` port; the nginx config it
//!   mounts has an `ip_hash` upstream whose servers are exactly the server nodes, each on its
//!   BIND port, and passes the WebSocket `Upgrade`/`Connection` headers;
//! - `loadgen` and `conformance`: the command names the binary; every `--flag` is a flag of it;
//!   `--target` points at the lb's (or a node's) port; the secrets equal the servers'; they are
//!   behind the profiles `load` / `conformance`; `--report-dir` is under the mounted `/reports`;
//!   conformance's `--features` is where the Dockerfile copies `features/`;
//!
//! Flags come from the binaries' own clap types, imported: `reference_server::config::Cli`,
//! `loadgen::cli::Cli`, and `conformance::cli::command()` (its `Suite` with cucumber's own
//! `cli::Opts` of the parser, runner and writers it runs with, so cucumber's flags are cucumber's).
//!
//! Compose `${VAR:-default}` interpolation is resolved to the default, so the checks see the
//! file as it runs with an empty environment. `LCR_COMPOSE_FILE=/path/docker-compose.yml` checks
//! another compose file (relative paths in it, build contexts and mounts, resolve from its folder).
//!
//! Run: `cargo test -p lcr-deploy` (this file alone: `cargo test -p lcr-deploy --test compose`).

use std::collections::{BTreeMap, BTreeSet};

use clap::CommandFactory;
use lcr_deploy::assert_no_failures;
use lcr_deploy::compose::{
    Compose, command, environment, flag_value, healthcheck_test, healthy_deps, host_of,
    interpolate, port_of, published_ports, scalar, strings,
};
use lcr_deploy::dockerfile::{dockerfile_stages, features_copy};
use lcr_deploy::flags::{env_flags, long_flags};
use lcr_deploy::nginx::{Nginx, parse_nginx};
use serde_yaml::Value;

/// Secrets the server reads from the environment only (not clap arguments).
const SERVER_SECRETS: &[&str] = &["JWT_SECRET", "ADMIN_TOKEN"];
/// Environment every server node must set.
const SERVER_REQUIRED: &[&str] = &[
    "REDIS_URL",
    "MONGO_URL",
    "NODE_ID",
    "BIND",
    "JWT_SECRET",
    "ADMIN_TOKEN",
];

/// The nginx config the `lb` service mounts (a volume whose source ends in `.conf`).
fn lb_nginx(compose: &Compose, failures: &mut Vec<String>) -> Option<Nginx> {
    let lb = compose.service("lb");
    let mounts = strings(lb.get("volumes"));
    let Some(source) = mounts
        .iter()
        .filter_map(|m| m.split(':').next())
        .find(|s| s.ends_with(".conf"))
    else {
        failures.push("service `lb`, key `volumes`: no nginx .conf file is mounted".into());
        return None;
    };
    let path = compose.dir.join(source);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(parse_nginx(&text)),
        Err(e) => {
            failures.push(format!(
                "service `lb`, key `volumes`: cannot read {}: {e}",
                path.display()
            ));
            None
        }
    }
}

// --- flags ---------------------------------------------------------------------------------

/// loadgen's flags: `loadgen::cli::Cli`'s (goose's own options flattened into it).
fn loadgen_flags() -> BTreeSet<String> {
    let flags = long_flags(&loadgen::cli::Cli::command());
    assert!(
        flags.contains("--target") && flags.contains("--users"),
        "loadgen::cli::Cli has no --target or goose's --users: {flags:?}"
    );
    flags
}

/// conformance's flags: its `Suite` and cucumber's own options, as the binary parses them.
fn conformance_flags() -> BTreeSet<String> {
    let flags = long_flags(&conformance::cli::command());
    assert!(
        flags.contains("--target") && flags.contains("--report-dir") && flags.contains("--tags"),
        "conformance::cli::command() has no --target/--report-dir/--tags: {flags:?}"
    );
    flags
}

/// The env names `reference_server::config::Cli` declares, with the long flag of each.
fn server_env_args() -> BTreeMap<String, String> {
    env_flags(&reference_server::config::Cli::command())
}

// --- tests ---------------------------------------------------------------------------------

#[test]
fn services_and_images() {
    let compose = Compose::load();
    let services = compose.services();
    let mut failures = Vec::new();
    if compose.doc.get("version").is_some() {
        failures.push("top-level key `version`: obsolete in the compose spec, remove it".into());
    }
    for name in [
        "redis",
        "mongo",
        "server-1",
        "server-2",
        "lb",
        "loadgen",
        "conformance",
    ] {
        if !services.contains_key(name) {
            failures.push(format!("service `{name}`: missing"));
        }
    }
    for (name, prefix, probe) in [
        ("redis", "redis:7", "redis-cli"),
        ("mongo", "mongo:7", "mongosh"),
    ] {
        let Some(svc) = services.get(name) else {
            continue;
        };
        let image = svc.get("image").and_then(scalar).unwrap_or_default();
        if !image.starts_with(prefix) {
            failures.push(format!(
                "service `{name}`, key `image`: `{image}` is not {prefix}*"
            ));
        }
        match healthcheck_test(svc) {
            Some(t) if t.contains(probe) => {}
            other => failures.push(format!(
                "service `{name}`, key `healthcheck.test`: expected a {probe} probe, got {other:?}"
            )),
        }
    }
    assert_no_failures("docker-compose.yml", failures);
}

#[test]
fn server_nodes_match_the_reference_server_cli() {
    let compose = Compose::load();
    let services = compose.services();
    let declared = server_env_args();
    assert!(
        declared.contains_key("BIND") && declared.contains_key("REDIS_URL"),
        "reference-server declares no BIND/REDIS_URL env: {declared:?}"
    );
    let nodes = compose.server_nodes();
    let mut failures = Vec::new();
    for name in ["server-1", "server-2"] {
        if !nodes.contains_key(name) {
            failures.push(format!(
                "service `{name}`, key `build.target`: missing or not `server`"
            ));
        }
    }
    let mut node_ids: BTreeMap<String, String> = BTreeMap::new();
    for (name, svc) in &nodes {
        let env = environment(svc);
        for key in env.keys() {
            if !declared.contains_key(key) && !SERVER_SECRETS.contains(&key.as_str()) {
                failures.push(format!(
                    "service `{name}`, key `environment.{key}`: not an env var of reference-server \
                     (declared: {}, plus {})",
                    declared.keys().cloned().collect::<Vec<_>>().join(", "),
                    SERVER_SECRETS.join(", ")
                ));
            }
        }
        for key in SERVER_REQUIRED {
            if env
                .get(*key)
                .and_then(Option::as_deref)
                .is_none_or(str::is_empty)
            {
                failures.push(format!(
                    "service `{name}`, key `environment.{key}`: must be set"
                ));
            }
        }
        // The values must parse with the server's own parser (env → the matching --flag).
        let mut argv = vec!["reference-server".to_owned()];
        for (key, value) in &env {
            if let (Some(long), Some(value)) = (declared.get(key), value) {
                argv.push(format!("--{long}={value}"));
            }
        }
        if let Err(e) = reference_server::config::Cli::command().try_get_matches_from(&argv) {
            failures.push(format!(
                "service `{name}`, key `environment`: reference-server rejects it: {}",
                e.to_string().lines().next().unwrap_or_default()
            ));
        }
        if let Some(Some(id)) = env.get("NODE_ID")
            && let Some(other) = node_ids.insert(id.clone(), name.clone())
        {
            failures.push(format!(
                "service `{name}`, key `environment.NODE_ID`: `{id}` is also {other}'s"
            ));
        }
        let bind = env.get("BIND").cloned().flatten().unwrap_or_default();
        if bind.starts_with("127.") || bind.starts_with("localhost") {
            failures.push(format!(
                "service `{name}`, key `environment.BIND`: `{bind}` is loopback-only; use 0.0.0.0"
            ));
        }
        let deps = healthy_deps(svc);
        for key in ["REDIS_URL", "MONGO_URL"] {
            let Some(Some(url)) = env.get(key) else {
                continue;
            };
            match host_of(url) {
                Some(host) if services.contains_key(host) => {
                    if !deps.contains(host) {
                        failures.push(format!(
                            "service `{name}`, key `depends_on.{host}`: must wait for condition \
                             service_healthy ({key} points at it)"
                        ));
                    }
                }
                host => failures.push(format!(
                    "service `{name}`, key `environment.{key}`: host {host:?} is not a compose service"
                )),
            }
        }
        match (port_of(&bind), healthcheck_test(svc)) {
            (Some(port), Some(test)) if test.contains(&format!(":{port}/ready")) => {}
            (port, test) => failures.push(format!(
                "service `{name}`, key `healthcheck.test`: must probe GET :{}/ready (BIND port), got {test:?}",
                port.map_or("?".into(), |p| p.to_string())
            )),
        }
    }
    assert_no_failures("docker-compose.yml", failures);
}

#[test]
fn load_balancer_points_at_the_server_nodes() {
    let compose = Compose::load();
    let nodes = compose.server_nodes();
    let mut failures = Vec::new();
    let lb = compose.service("lb");
    let image = lb.get("image").and_then(scalar).unwrap_or_default();
    if !image.starts_with("nginx") {
        failures.push(format!("service `lb`, key `image`: `{image}` is not nginx"));
    }
    let Some(nginx) = lb_nginx(&compose, &mut failures) else {
        return assert_no_failures("docker-compose.yml", failures);
    };
    let published = published_ports(lb);
    if published.is_empty() {
        failures.push("service `lb`, key `ports`: publishes no port".into());
    }
    for (host, container) in &published {
        if host.is_none() {
            failures.push("service `lb`, key `ports`: no host port given".into());
        }
        if !container.is_some_and(|p| nginx.listen.contains(&p)) {
            failures.push(format!(
                "service `lb`, key `ports`: container port {container:?} is not nginx's listen {:?}",
                nginx.listen
            ));
        }
    }
    let used: Vec<&(bool, Vec<String>)> = nginx
        .proxy_pass
        .iter()
        .filter_map(|url| nginx.upstreams.get(url.trim_start_matches("http://")))
        .collect();
    if used.is_empty() {
        failures.push(format!(
            "service `lb`, key `volumes` (nginx.conf): no proxy_pass to an upstream block (proxy_pass {:?}, upstreams {:?})",
            nginx.proxy_pass,
            nginx.upstreams.keys().collect::<Vec<_>>()
        ));
    }
    for (ip_hash, servers) in used {
        if !ip_hash {
            failures.push(
                "service `lb`, key `volumes` (nginx.conf upstream): no `ip_hash` (Engine.IO polling needs sticky sessions)".into(),
            );
        }
        let mut seen = BTreeSet::new();
        for addr in servers {
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr, ""));
            seen.insert(host.to_owned());
            match nodes.get(host) {
                None => failures.push(format!(
                    "service `lb`, key `volumes` (nginx.conf upstream): `server {addr}` is not a server node (nodes: {:?})",
                    nodes.keys().collect::<Vec<_>>()
                )),
                Some(node) => {
                    let bind = environment(node).get("BIND").cloned().flatten();
                    let bind_port = bind.as_deref().and_then(port_of);
                    if port.parse::<u16>().ok() != bind_port || bind_port.is_none() {
                        failures.push(format!(
                            "service `{host}`, key `environment.BIND`: port of {bind:?} differs from nginx upstream `server {addr}`"
                        ));
                    }
                }
            }
        }
        for node in nodes.keys() {
            if !seen.contains(node) {
                failures.push(format!(
                    "service `{node}`: not in the nginx upstream (add `server {node}:<port>;`)"
                ));
            }
        }
    }
    for header in ["Upgrade $http_upgrade", "Connection"] {
        if !nginx.text.contains(&format!("proxy_set_header {header}")) {
            failures.push(format!(
                "service `lb`, key `volumes` (nginx.conf): no `proxy_set_header {header}` (WebSocket upgrade)"
            ));
        }
    }
    if !lb_deps_ok(lb, &nodes) {
        failures.push(format!(
            "service `lb`, key `depends_on`: must wait for every server node healthy ({:?})",
            nodes.keys().collect::<Vec<_>>()
        ));
    }
    assert_no_failures("docker-compose.yml", failures);
}

fn lb_deps_ok(lb: &Value, nodes: &BTreeMap<String, &Value>) -> bool {
    let deps = healthy_deps(lb);
    nodes.keys().all(|n| deps.contains(n))
}

#[test]
fn loadgen_and_conformance_use_real_flags() {
    let compose = Compose::load();
    let services = compose.services();
    let nodes = compose.server_nodes();
    let mut failures = Vec::new();
    let lb_listen = lb_nginx(&compose, &mut failures)
        .map(|n| n.listen)
        .unwrap_or_default();
    let server_env: Vec<BTreeMap<String, Option<String>>> =
        nodes.values().map(|s| environment(s)).collect();
    let (_, dockerfile) = compose.dockerfile("loadgen");
    let features_dest = dockerfile_stages(&dockerfile)
        .get("loadgen")
        .and_then(|s| features_copy(s));

    for (name, binary, profile, flags) in [
        ("loadgen", "loadgen", "load", loadgen_flags()),
        (
            "conformance",
            "conformance",
            "conformance",
            conformance_flags(),
        ),
    ] {
        let Some(svc) = services.get(name) else {
            failures.push(format!("service `{name}`: missing"));
            continue;
        };
        if !strings(svc.get("profiles")).iter().any(|p| p == profile) {
            failures.push(format!(
                "service `{name}`, key `profiles`: must include `{profile}` so `docker compose up` leaves it out"
            ));
        }
        let args = command(svc);
        if args.first().map(String::as_str) != Some(binary) {
            failures.push(format!(
                "service `{name}`, key `command`: must start with `{binary}`, got {args:?}"
            ));
        }
        for arg in &args {
            if arg.starts_with("--") {
                let flag = arg.split('=').next().unwrap_or(arg);
                if !flags.contains(flag) {
                    failures.push(format!(
                        "service `{name}`, key `command`: `{flag}` is not a flag of {binary}"
                    ));
                }
            }
        }
        // --target: the lb on its listen port, or a node on its BIND port.
        match flag_value(&args, "--target") {
            None => failures.push(format!(
                "service `{name}`, key `command`: no --target (it would test an in-process server)"
            )),
            Some(url) => {
                let (host, port) = (host_of(url).unwrap_or(""), port_of(url));
                let ok = if host == "lb" {
                    port.is_some_and(|p| lb_listen.contains(&p))
                } else if let Some(node) = nodes.get(host) {
                    let bind = environment(node).get("BIND").cloned().flatten();
                    port.is_some() && port == bind.as_deref().and_then(port_of)
                } else {
                    false
                };
                if !ok {
                    failures.push(format!(
                        "service `{name}`, key `command` (--target {url}): not the lb's listen port {lb_listen:?} nor a server node's BIND port"
                    ));
                }
                if !healthy_deps(svc).contains(host) {
                    failures.push(format!(
                        "service `{name}`, key `depends_on.{host}`: must wait for its target (condition service_healthy)"
                    ));
                }
            }
        }
        // The secrets must be the servers'.
        let env = environment(svc);
        for key in SERVER_SECRETS {
            let mine = env.get(*key).cloned().flatten();
            if mine.as_deref().is_none_or(str::is_empty) {
                failures.push(format!(
                    "service `{name}`, key `environment.{key}`: must be set"
                ));
            } else if server_env
                .iter()
                .any(|s| s.get(*key).cloned().flatten() != mine)
            {
                failures.push(format!(
                    "service `{name}`, key `environment.{key}`: differs from the server nodes'"
                ));
            }
        }
        // Reports go to the mounted /reports.
        let mounts = strings(svc.get("volumes"));
        let reports_mounted = mounts
            .iter()
            .any(|m| m.split(':').nth(1) == Some("/reports"));
        if !reports_mounted {
            failures.push(format!(
                "service `{name}`, key `volumes`: nothing mounted at /reports"
            ));
        }
        match flag_value(&args, "--report-dir") {
            Some(dir) if dir.starts_with("/reports/") || dir == "/reports" => {}
            other => failures.push(format!(
                "service `{name}`, key `command` (--report-dir): {other:?} is not under /reports"
            )),
        }
        if name == "conformance"
            && let Some(features) = flag_value(&args, "--features")
            && features_dest.as_deref() != Some(features.trim_end_matches('/'))
        {
            failures.push(format!(
                        "service `{name}`, key `command` (--features {features}): the Dockerfile copies features/ to {features_dest:?}"
                    ));
        }
    }
    assert_no_failures("docker-compose.yml", failures);
}

#[test]
fn interpolation_and_parsers() {
    assert_eq!(interpolate("${A:-x}-$${B}-${C}-${D-y}"), "x-${B}--y");
    assert_eq!(port_of("0.0.0.0:3000"), Some(3000));
    assert_eq!(port_of("http://lb:3000/x"), Some(3000));
    assert_eq!(host_of("redis://redis:6379"), Some("redis"));
    assert_eq!(host_of("mongodb://u:p@mongo:27017/db"), Some("mongo"));
    let n = parse_nginx(
        "http { upstream up { ip_hash; server a:1 max_fails=3; # c\n server b:1; }\n server { listen 9; location / { proxy_pass http://up; } } }",
    );
    assert_eq!(n.upstreams["up"], (true, vec!["a:1".into(), "b:1".into()]));
    assert_eq!(n.listen, vec![9]);
    assert_eq!(n.proxy_pass, vec!["http://up".to_owned()]);
    let stages = dockerfile_stages(
        "FROM x AS b\nRUN a \\\n  b\nFROM y AS loadgen\nCOPY --chown=1 features/ /app/features/\n",
    );
    assert_eq!(stages["b"][1], "RUN a  b");
    assert_eq!(
        features_copy(&stages["loadgen"]).as_deref(),
        Some("/app/features")
    );
}

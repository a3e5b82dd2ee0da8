//! `docker-compose.yml` against what it runs: the reference server's CLI, loadgen's and
//! conformance's flags, `deploy/nginx.conf` and the `Dockerfile`. Docker is not needed: the
//! files are read and compared, nothing is built or started.
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
//! - the Dockerfile has a stage for every compose `build.target`, the builder builds the three
//!   packages, the `server` stage EXPOSEs the BIND port, the `loadgen` stage copies `features/`.
//!
//! Flags: loadgen's come from `loadgen --help` (the binary of this package, so it is current).
//! conformance is another package, whose binary this test cannot ask Cargo to build, so its flags
//! come from its source: the fields of `struct Suite` in `conformance/src/cli.rs` (clap's
//! `long` = field name in kebab-case, or an explicit `long = "..."`), plus the options cucumber
//! 0.21 itself adds (`CUCUMBER_FLAGS`).
//!
//! Compose `${VAR:-default}` interpolation is resolved to the default, so the checks see the
//! file as it runs with an empty environment. `LCR_COMPOSE_FILE=/path/docker-compose.yml` checks
//! another compose file (relative paths in it, build contexts and mounts, resolve from its folder).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use serde_yaml::Value;

/// Options cucumber 0.21 adds to `conformance` (runner, parser and writers of `cli::Opts`).
const CUCUMBER_FLAGS: &[&str] = &[
    "--name",
    "--scenario-name",
    "--tags",
    "--input",
    "--concurrency",
    "--fail-fast",
    "--ff",
    "--retry",
    "--retry-after",
    "--retry-tag-filter",
    "--color",
    "--junit-v",
    "--help",
];

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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("loadgen sits in the workspace")
        .to_path_buf()
}

fn compose_path() -> PathBuf {
    std::env::var_os("LCR_COMPOSE_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("docker-compose.yml"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The compose file, parsed, and the folder its relative paths resolve from.
struct Compose {
    doc: Value,
    dir: PathBuf,
}

impl Compose {
    fn load() -> Compose {
        let path = compose_path();
        let doc: Value = serde_yaml::from_str(&read(&path))
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Compose { doc, dir }
    }

    fn services(&self) -> BTreeMap<String, &Value> {
        self.doc
            .get("services")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn service(&self, name: &str) -> &Value {
        self.doc
            .get("services")
            .and_then(|s| s.get(name))
            .unwrap_or_else(|| panic!("service `{name}`: missing from docker-compose.yml"))
    }

    /// Services built from the Dockerfile target `server`.
    fn server_nodes(&self) -> BTreeMap<String, &Value> {
        self.services()
            .into_iter()
            .filter(|(_, s)| build_target(s).as_deref() == Some("server"))
            .collect()
    }

    fn dockerfile(&self, service: &str) -> (PathBuf, String) {
        let build = self
            .service(service)
            .get("build")
            .unwrap_or_else(|| panic!("service `{service}`, key `build`: missing"));
        let (context, file) = match build {
            Value::String(ctx) => (ctx.clone(), "Dockerfile".to_owned()),
            _ => (
                build
                    .get("context")
                    .and_then(Value::as_str)
                    .unwrap_or(".")
                    .to_owned(),
                build
                    .get("dockerfile")
                    .and_then(Value::as_str)
                    .unwrap_or("Dockerfile")
                    .to_owned(),
            ),
        };
        let path = self.dir.join(context).join(file);
        let text = read(&path);
        (path, text)
    }
}

/// Compose variable interpolation with an empty environment: `${VAR:-d}` / `${VAR-d}` give `d`,
/// `${VAR}` / `$VAR` give "", `$$` gives `$`.
fn interpolate(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').unwrap_or(body.len());
            let expr = &body[..end];
            if let Some((_, default)) = expr.split_once(":-").or_else(|| expr.split_once('-')) {
                out.push_str(default);
            }
            rest = body.get(end + 1..).unwrap_or("");
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(interpolate(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn build_target(service: &Value) -> Option<String> {
    service
        .get("build")
        .and_then(|b| b.get("target"))
        .and_then(scalar)
}

/// `environment:` as a map (mapping or `KEY=value` list form); `None` values are unset keys.
fn environment(service: &Value) -> BTreeMap<String, Option<String>> {
    match service.get("environment") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar(v))))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(interpolate(v))),
                None => (item.to_owned(), None),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// `command:` as arguments (list form, or a string split on whitespace).
fn command(service: &Value) -> Vec<String> {
    match service.get("command") {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(Value::String(s)) => interpolate(s)
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The value after `flag` in `args` (`--flag v` or `--flag=v`).
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
        }
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The port of `host:port` or `scheme://host:port/path`.
fn port_of(addr: &str) -> Option<u16> {
    let addr = addr.split_once("://").map_or(addr, |(_, r)| r);
    let hostport = addr.split('/').next()?;
    hostport.rsplit_once(':')?.1.parse().ok()
}

/// The host of `scheme://host:port/path`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let hostport = rest.split(['/', '?']).next()?;
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    Some(hostport.rsplit_once(':').map_or(hostport, |(h, _)| h))
}

/// Names of the services a service `depends_on` with `condition: service_healthy`.
fn healthy_deps(service: &Value) -> BTreeSet<String> {
    match service.get("depends_on") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter(|(_, v)| v.get("condition").and_then(Value::as_str) == Some("service_healthy"))
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn healthcheck_test(service: &Value) -> Option<String> {
    let test = service.get("healthcheck")?.get("test")?;
    Some(strings(Some(test)).join(" "))
}

fn finish(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "docker-compose.yml: {} problem(s):\n  - {}",
        failures.len(),
        failures.join("\n  - ")
    );
}

// --- nginx ---------------------------------------------------------------------------------

/// What the test reads from the nginx config.
#[derive(Debug, Default)]
struct Nginx {
    /// upstream name → (`ip_hash` present, `host:port` servers).
    upstreams: BTreeMap<String, (bool, Vec<String>)>,
    listen: Vec<u16>,
    proxy_pass: Vec<String>,
    text: String,
}

fn parse_nginx(text: &str) -> Nginx {
    let clean: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    // Statements end at `;`, `{` or `}`.
    let mut nginx = Nginx {
        text: clean.clone(),
        ..Nginx::default()
    };
    let mut stack: Vec<Vec<String>> = Vec::new();
    let mut current = String::new();
    for c in clean.chars() {
        match c {
            '{' => {
                stack.push(current.split_whitespace().map(str::to_owned).collect());
                current.clear();
            }
            '}' => {
                stack.pop();
                current.clear();
            }
            ';' => {
                let statement = std::mem::take(&mut current);
                let words: Vec<&str> = statement.split_whitespace().collect();
                let block = stack.last().cloned().unwrap_or_default();
                let in_upstream = block.first().map(String::as_str) == Some("upstream");
                match (in_upstream, words.as_slice()) {
                    (true, ["server", addr, ..]) => {
                        let name = block.get(1).cloned().unwrap_or_default();
                        nginx
                            .upstreams
                            .entry(name)
                            .or_default()
                            .1
                            .push((*addr).to_owned());
                    }
                    (true, ["ip_hash"]) => {
                        let name = block.get(1).cloned().unwrap_or_default();
                        nginx.upstreams.entry(name).or_default().0 = true;
                    }
                    (false, ["listen", addr, ..]) => {
                        let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                        nginx.listen.extend(port);
                    }
                    (false, ["proxy_pass", url]) => nginx.proxy_pass.push((*url).to_owned()),
                    _ => {}
                }
            }
            c => current.push(c),
        }
    }
    nginx
}

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

/// Container ports the `lb` publishes (short `HOST:CONTAINER` or long `{published, target}`).
fn published_ports(service: &Value) -> Vec<(Option<String>, Option<u16>)> {
    let Some(Value::Sequence(items)) = service.get("ports") else {
        return Vec::new();
    };
    items
        .iter()
        .map(|p| match p {
            Value::Mapping(_) => (
                p.get("published").and_then(scalar),
                p.get("target")
                    .and_then(scalar)
                    .and_then(|t| t.parse().ok()),
            ),
            _ => {
                let s = scalar(p).unwrap_or_default();
                let s = s.split('/').next().unwrap_or("").to_owned();
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [container] => (None, container.parse().ok()),
                    [.., host, container] => (Some((*host).to_owned()), container.parse().ok()),
                    [] => (None, None),
                }
            }
        })
        .collect()
}

// --- Dockerfile ----------------------------------------------------------------------------

/// Stage name → the stage's instructions (comments and continuations joined).
fn dockerfile_stages(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') && current.is_empty() {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            if !current.trim().is_empty() {
                instructions.push(current.trim().to_owned());
            }
            current.clear();
        }
    }
    let mut stages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Global ARGs before the first FROM.
    let mut stage = "(global)".to_owned();
    for ins in instructions {
        let words: Vec<&str> = ins.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            stage = match words.as_slice() {
                [.., as_kw, name] if as_kw.eq_ignore_ascii_case("AS") => name.to_string(),
                _ => format!("#{}", stages.len()),
            };
        }
        stages.entry(stage.clone()).or_default().push(ins);
    }
    stages
}

/// The destination of `COPY features/ DEST` (or `COPY features DEST`) in a stage.
fn features_copy(stage: &[String]) -> Option<String> {
    stage.iter().find_map(|ins| {
        let words: Vec<&str> = ins.split_whitespace().collect();
        if !words.first()?.eq_ignore_ascii_case("COPY") {
            return None;
        }
        let args: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        let (dest, sources) = args.split_last()?;
        sources
            .iter()
            .any(|s| s.trim_end_matches('/') == "features")
            .then(|| dest.trim_end_matches('/').to_owned())
    })
}

// --- flags ---------------------------------------------------------------------------------

/// `--long` names in a help text.
fn help_flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_owned)
        .collect()
}

fn loadgen_flags() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--help")
        .output()
        .expect("running loadgen --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && help.contains("--target"),
        "loadgen --help failed: {help}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    help_flags(&help)
}

/// conformance's flags from its source: `struct Suite`'s `#[arg(long ...)]` fields, plus
/// cucumber's own options.
fn conformance_flags() -> BTreeSet<String> {
    let path = workspace().join("conformance/src/cli.rs");
    let src = read(&path);
    let start = src
        .find("struct Suite")
        .unwrap_or_else(|| panic!("{}: no `struct Suite`", path.display()));
    let body = &src[start..];
    let body = &body[body.find('{').unwrap() + 1..];
    let mut depth = 1;
    let end = body
        .char_indices()
        .find(|&(_, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            depth == 0
        })
        .map_or(body.len(), |(i, _)| i);
    let mut flags: BTreeSet<String> = CUCUMBER_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    let mut attrs = String::new();
    // Brackets still open in `attrs` (an attribute spread over several lines).
    let mut open = 0i32;
    for line in body[..end].lines().map(str::trim) {
        if open == 0 && (line.starts_with("//") || line.is_empty()) {
            continue;
        }
        if open > 0 || line.starts_with("#[") {
            attrs.push_str(line);
            attrs.push(' ');
            open += line.matches('[').count() as i32 - line.matches(']').count() as i32;
            continue;
        }
        // A field: `name: Type,` (possibly `pub name: Type,`).
        let decl = line.strip_prefix("pub ").unwrap_or(line);
        if let Some((name, _)) = decl.split_once(':') {
            let explicit = attrs
                .split("long = \"")
                .nth(1)
                .and_then(|r| r.split('"').next());
            let has_long = attrs.contains("long");
            if has_long {
                let long = explicit.map_or_else(|| name.trim().replace('_', "-"), str::to_owned);
                flags.insert(format!("--{long}"));
            }
        }
        attrs.clear();
    }
    assert!(
        flags.contains("--target") && flags.contains("--report-dir"),
        "scanning {} found no --target/--report-dir: {flags:?}",
        path.display()
    );
    flags
}

/// The env names `reference_server::config::Cli` declares, with the long flag of each.
fn server_env_args() -> BTreeMap<String, String> {
    reference_server::config::Cli::command()
        .get_arguments()
        .filter_map(|a| Some((a.get_env()?.to_str()?.to_owned(), a.get_long()?.to_owned())))
        .collect()
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
    finish(failures);
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
    finish(failures);
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
        return finish(failures);
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
    finish(failures);
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
    finish(failures);
}

#[test]
fn dockerfile_targets_match_compose() {
    let compose = Compose::load();
    let mut failures = Vec::new();
    let (path, text) = compose.dockerfile("server-1");
    let stages = dockerfile_stages(&text);
    for (name, svc) in compose.services() {
        if svc.get("build").is_none() {
            continue;
        }
        match build_target(svc) {
            Some(t) if stages.contains_key(&t) => {}
            t => failures.push(format!(
                "service `{name}`, key `build.target`: {t:?} is not a stage of {} (stages: {:?})",
                path.display(),
                stages.keys().collect::<Vec<_>>()
            )),
        }
    }
    let all: Vec<&String> = stages.values().flatten().collect();
    let cargo_build = all.iter().find(|i| i.contains("cargo build"));
    for package in ["reference-server", "loadgen", "conformance"] {
        if !cargo_build.is_some_and(|b| b.contains(&format!("-p {package}"))) {
            failures.push(format!(
                "Dockerfile: the builder's `cargo build` does not build `-p {package}`"
            ));
        }
    }
    if !cargo_build.is_some_and(|b| b.contains("--locked") && b.contains("--release")) {
        failures.push("Dockerfile: the builder's `cargo build` must use --release --locked".into());
    }
    if let Some(server) = stages.get("server") {
        let bind = compose
            .server_nodes()
            .values()
            .find_map(|s| environment(s).get("BIND").cloned().flatten());
        if let Some(port) = bind.as_deref().and_then(port_of)
            && !server
                .iter()
                .any(|i| i.starts_with("EXPOSE") && i.contains(&port.to_string()))
        {
            failures.push(format!(
                    "Dockerfile stage `server`: does not EXPOSE the BIND port {port} of the compose nodes"
                ));
        }
        if !server
            .iter()
            .any(|i| i.starts_with("USER") && !i.contains("root"))
        {
            failures.push("Dockerfile stage `server`: no non-root USER".into());
        }
    }
    if let Some(loadgen) = stages.get("loadgen") {
        if features_copy(loadgen).is_none() {
            failures.push("Dockerfile stage `loadgen`: does not COPY features/".into());
        }
        if !loadgen
            .iter()
            .any(|i| i.starts_with("USER") && !i.contains("root"))
        {
            failures.push("Dockerfile stage `loadgen`: no non-root USER".into());
        }
    }
    // The build context must keep what the workspace needs.
    if let Ok(ignore) = std::fs::read_to_string(path.with_file_name(".dockerignore")) {
        for needed in ["vendor", "features", "Cargo.lock"] {
            if ignore
                .lines()
                .map(|l| l.trim().trim_end_matches('/'))
                .any(|l| l == needed || l == format!("{needed}*"))
            {
                failures.push(format!(
                    ".dockerignore: excludes `{needed}`, which the build needs"
                ));
            }
        }
    }
    finish(failures);
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

//! `docker-compose.yml`: services, environments, commands, ports and dependencies.
//!
//! Compose `${VAR:-default}` interpolation is resolved to the default, so the checks see the file
//! as it runs with an empty environment.
//!
//! ```
//! use lcr_deploy::compose::{host_of, interpolate, port_of};
//! assert_eq!(interpolate("${JWT_SECRET:-dev}"), "dev");
//! assert_eq!(port_of("http://lb:3000/x"), Some(3000));
//! assert_eq!(host_of("mongodb://u:p@mongo:27017/db"), Some("mongo"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::read;

/// The compose file checked: `$LCR_COMPOSE_FILE`, else the workspace's `docker-compose.yml`.
pub fn compose_path() -> PathBuf {
    std::env::var_os("LCR_COMPOSE_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("docker-compose.yml"))
}

/// The compose file, parsed, and the folder its relative paths resolve from.
pub struct Compose {
    /// The YAML document.
    pub doc: Value,
    /// The compose file's folder (build contexts and mounts resolve from it).
    pub dir: PathBuf,
}

impl Compose {
    /// The file of [`compose_path`].
    ///
    /// # Panics
    ///
    /// When it cannot be read or is not YAML.
    pub fn load() -> Compose {
        Compose::load_from(&compose_path())
    }

    /// The compose file at `path`.
    ///
    /// # Panics
    ///
    /// When it cannot be read or is not YAML.
    pub fn load_from(path: &Path) -> Compose {
        let doc: Value = serde_yaml::from_str(&read(path))
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Compose { doc, dir }
    }

    /// Every service, by name.
    pub fn services(&self) -> BTreeMap<String, &Value> {
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

    /// The service `name`.
    ///
    /// # Panics
    ///
    /// When there is none.
    pub fn service(&self, name: &str) -> &Value {
        self.doc
            .get("services")
            .and_then(|s| s.get(name))
            .unwrap_or_else(|| panic!("service `{name}`: missing from docker-compose.yml"))
    }

    /// Services built from the Dockerfile target `server`.
    pub fn server_nodes(&self) -> BTreeMap<String, &Value> {
        self.services()
            .into_iter()
            .filter(|(_, s)| build_target(s).as_deref() == Some("server"))
            .collect()
    }

    /// The build context folder of `service` and the Dockerfile it builds with (relative to
    /// the context).
    ///
    /// # Panics
    ///
    /// When the service has no `build`.
    pub fn build_context(&self, service: &str) -> (PathBuf, String) {
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
        (self.dir.join(context), file)
    }

    /// The Dockerfile `service` builds with: its path and its text.
    ///
    /// # Panics
    ///
    /// When the service has no `build` or the Dockerfile cannot be read.
    pub fn dockerfile(&self, service: &str) -> (PathBuf, String) {
        let (context, file) = self.build_context(service);
        let path = context.join(file);
        let text = read(&path);
        (path, text)
    }
}

/// Compose variable interpolation with an empty environment: `${VAR:-d}` / `${VAR-d}` give `d`,
/// `${VAR}` / `$VAR` give "", `$$` gives `$`.
pub fn interpolate(s: &str) -> String {
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

/// A scalar as text (strings interpolated); `None` for mappings and sequences.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(interpolate(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `build.target` of a service.
pub fn build_target(service: &Value) -> Option<String> {
    service
        .get("build")
        .and_then(|b| b.get("target"))
        .and_then(scalar)
}

/// `environment:` as a map (mapping or `KEY=value` list form); `None` values are unset keys.
pub fn environment(service: &Value) -> BTreeMap<String, Option<String>> {
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
pub fn command(service: &Value) -> Vec<String> {
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
pub fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(flag).and_then(|r| r.strip_prefix('='))
        }
    })
}

/// A scalar or a sequence of scalars as texts (nothing for `None`).
pub fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar).collect(),
        Some(v) => scalar(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The port of `host:port` or `scheme://host:port/path`.
pub fn port_of(addr: &str) -> Option<u16> {
    let addr = addr.split_once("://").map_or(addr, |(_, r)| r);
    let hostport = addr.split('/').next()?;
    hostport.rsplit_once(':')?.1.parse().ok()
}

/// The host of `scheme://host:port/path`.
pub fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let hostport = rest.split(['/', '?']).next()?;
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    Some(hostport.rsplit_once(':').map_or(hostport, |(h, _)| h))
}

/// Names of the services a service `depends_on` with `condition: service_healthy`.
pub fn healthy_deps(service: &Value) -> BTreeSet<String> {
    match service.get("depends_on") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter(|(_, v)| v.get("condition").and_then(Value::as_str) == Some("service_healthy"))
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// `healthcheck.test`, its words joined by spaces.
pub fn healthcheck_test(service: &Value) -> Option<String> {
    let test = service.get("healthcheck")?.get("test")?;
    Some(strings(Some(test)).join(" "))
}

/// The ports a service publishes: (host port, container port), from the short `HOST:CONTAINER`
/// or the long `{published, target}` form.
pub fn published_ports(service: &Value) -> Vec<(Option<String>, Option<u16>)> {
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

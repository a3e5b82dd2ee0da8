//! Reading a profile: the TOML parsed, `${VAR}` taken from the environment, then turned into a
//! [`Profile`] (defaults, relative paths made absolute) with a check of every value, each failure
//! naming the file and the key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::capabilities::{Capabilities, LAST_DECISION, Part};
use crate::file::{self, Decisions, ProfileFile};
use crate::interpolate;
use crate::profile::{
    Auth, Carrier, Controls, DEFAULT_MONGO_DB, DEFAULT_PATH, FixtureSpec, HttpFixture, Profile,
    ProfileError, RequestTemplate, ServerSpec, Target, TokenSource, Transport,
};

struct Checker<'a> {
    path: &'a Path,
    dir: &'a Path,
}

impl Checker<'_> {
    fn invalid(&self, key: &str, reason: impl Into<String>) -> ProfileError {
        ProfileError::Invalid {
            source_name: self.path.display().to_string(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    fn url(&self, key: &str, url: &str) -> Result<String, ProfileError> {
        let ok = ["http://", "https://"]
            .iter()
            .any(|s| url.starts_with(s) && url.len() > s.len());
        if ok {
            Ok(url.trim_end_matches('/').to_owned())
        } else {
            Err(self.invalid(key, format!("{url:?} is not an http:// or https:// URL")))
        }
    }

    fn file(&self, key: &str, file: &str) -> Result<PathBuf, ProfileError> {
        let p = self.dir.join(file);
        if p.is_file() {
            Ok(p)
        } else {
            Err(self.invalid(
                key,
                format!("no file {} (relative to the profile)", p.display()),
            ))
        }
    }
}

/// Checks and completes `file`, read from `path` in folder `dir`.
fn profile(file: ProfileFile, path: &Path, dir: &Path) -> Result<Profile, ProfileError> {
    let c = Checker { path, dir };
    let name = file.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map_or_else(|| "profile".into(), |s| s.to_string_lossy().into_owned())
    });
    let servers = file
        .server
        .iter()
        .enumerate()
        .map(|(i, s)| server(&c, i, s))
        .collect::<Result<Vec<_>, _>>()?;
    let target = target(&c, &file.target)?;
    let auth = match &file.auth {
        Some(a) => auth(&c, a)?,
        None => return Err(c.invalid("auth", "missing: say how the server's users get tokens")),
    };
    let fixtures = match &file.fixtures {
        Some(f) => fixtures(&c, f, &target)?,
        None => {
            return Err(c.invalid(
                "fixtures",
                "missing: say how a conference is created (control-api, http, command or store)",
            ));
        }
    };
    let controls = Controls {
        node_down: file.controls.node_down.clone(),
        node_up: file.controls.node_up.clone(),
        node_stop: file.controls.node_stop.clone(),
        mongo_down: file.controls.mongo_down.clone(),
        mongo_up: file.controls.mongo_up.clone(),
    };
    let mut profile = Profile {
        name,
        path: Some(path.to_owned()),
        servers,
        target,
        auth,
        fixtures,
        capabilities: Capabilities::default(),
        controls,
    };
    profile.capabilities = capabilities(&c, &file.capabilities, &profile)?;
    Ok(profile)
}

fn server(c: &Checker, i: usize, s: &file::ServerFile) -> Result<ServerSpec, ProfileError> {
    let key = format!("server[{i}]");
    if s.command.trim().is_empty() {
        return Err(c.invalid(&format!("{key}.command"), "empty"));
    }
    let url = s
        .url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:{port}".into());
    if let Some(ready) = &s.ready
        && !ready.starts_with('/')
    {
        return Err(c.invalid(&format!("{key}.ready"), "a path starting with /"));
    }
    Ok(ServerSpec {
        command: s.command.clone(),
        env: s.env.clone(),
        url,
        ready: s.ready.clone(),
        ready_timeout: Duration::from_secs(s.ready_timeout_secs.unwrap_or(30)),
        dir: c.dir.to_owned(),
    })
}

fn target(c: &Checker, t: &file::TargetFile) -> Result<Target, ProfileError> {
    let nodes = t
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| c.url(&format!("target.nodes[{i}]"), n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut path = t.path.clone().unwrap_or_else(|| DEFAULT_PATH.into());
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    let transports = match &t.transports {
        None => vec![Transport::Websocket, Transport::Polling],
        Some(list) => list
            .iter()
            .map(|s| match s.as_str() {
                "websocket" => Ok(Transport::Websocket),
                "polling" => Ok(Transport::Polling),
                other => Err(c.invalid(
                    "target.transports",
                    format!("{other:?} is not websocket or polling"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if !transports.contains(&Transport::Websocket) {
        return Err(c.invalid(
            "target.transports",
            "the suite and the load generator connect over websocket: list it",
        ));
    }
    Ok(Target {
        nodes,
        path,
        transports,
        redis_url: t.redis_url.clone(),
        mongo_url: t.mongo_url.clone(),
        mongo_db: t
            .mongo_db
            .clone()
            .unwrap_or_else(|| DEFAULT_MONGO_DB.into()),
    })
}

fn auth(c: &Checker, a: &file::AuthFile) -> Result<Auth, ProfileError> {
    let need = |field: &Option<String>, key: &str, what: &str| {
        field
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| c.invalid(&format!("auth.{key}"), format!("{} needs {what}", a.kind)))
    };
    let source = match a.kind.as_str() {
        "hs256" => TokenSource::Hs256 {
            secret: need(&a.secret, "secret", "the shared secret")?,
        },
        kind @ ("rs256" | "es256") => {
            let key = need(&a.private_key, "private_key", "a private key file (PEM)")?;
            let private_key = c.file("auth.private_key", &key)?;
            let alg = if kind == "rs256" {
                lcr_protocol::token::SigningAlgorithm::Rs256
            } else {
                lcr_protocol::token::SigningAlgorithm::Es256
            };
            let pem = std::fs::read(&private_key)
                .map_err(|e| c.invalid("auth.private_key", e.to_string()))?;
            lcr_protocol::token::Signer::from_private_key_pem(alg, &pem)
                .map_err(|e| c.invalid("auth.private_key", e.to_string()))?;
            if kind == "rs256" {
                TokenSource::Rs256 { private_key }
            } else {
                TokenSource::Es256 { private_key }
            }
        }
        "command" => TokenSource::Command {
            command: need(
                &a.command,
                "command",
                "a command printing a token for {user}",
            )?,
            dir: c.dir.to_owned(),
        },
        other => {
            return Err(c.invalid(
                "auth.kind",
                format!("{other:?} is not hs256, rs256, es256 or command"),
            ));
        }
    };
    let user_claims = a
        .user_claims
        .clone()
        .unwrap_or_else(|| vec!["userId".into(), "sub".into()]);
    if user_claims.is_empty() || user_claims.iter().any(|s| s.is_empty()) {
        return Err(c.invalid("auth.user_claims", "at least one non-empty claim name"));
    }
    let carriers = a
        .carriers
        .clone()
        .unwrap_or_else(|| vec!["auth".into(), "header".into()])
        .iter()
        .map(|s| match s.as_str() {
            "auth" => Ok(Carrier::Auth),
            "query" => Ok(Carrier::Query),
            "header" => Ok(Carrier::Header),
            other => Err(c.invalid(
                "auth.carriers",
                format!("{other:?} is not auth, query or header"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if carriers.is_empty() {
        return Err(c.invalid("auth.carriers", "at least one"));
    }
    for reserved in ["exp"]
        .into_iter()
        .chain(user_claims.iter().map(String::as_str))
    {
        if a.claims.contains_key(reserved) {
            return Err(c.invalid(
                "auth.claims",
                format!("{reserved} is set by the suite for each token"),
            ));
        }
    }
    Ok(Auth {
        source,
        user_claims,
        claims: a.claims.clone(),
        lifetime: Duration::from_secs(a.lifetime_secs.unwrap_or(3600).max(1)),
        carriers,
        auth_field: a.auth_field.clone().unwrap_or_else(|| "token".into()),
        query_param: a.query_param.clone().unwrap_or_else(|| "token".into()),
    })
}

fn request(c: &Checker, key: &str, r: &file::RequestFile) -> Result<RequestTemplate, ProfileError> {
    let method = r
        .method
        .clone()
        .unwrap_or_else(|| "POST".into())
        .to_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        return Err(c.invalid(
            &format!("{key}.method"),
            format!("{method} is not supported"),
        ));
    }
    if !r.path.starts_with('/') {
        return Err(c.invalid(&format!("{key}.path"), "a path starting with /"));
    }
    if let Some(id) = &r.id
        && !id.is_empty()
        && !id.starts_with('/')
    {
        return Err(c.invalid(
            &format!("{key}.id"),
            "a JSON pointer (\"/data/_id\"), starting with /",
        ));
    }
    let body = r
        .body
        .clone()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| c.invalid(&format!("{key}.body"), e.to_string()))?;
    Ok(RequestTemplate {
        method,
        path: r.path.clone(),
        headers: r.headers.clone(),
        body,
        status: r.status,
        id: r.id.clone(),
    })
}

fn fixtures(
    c: &Checker,
    f: &file::FixturesFile,
    target: &Target,
) -> Result<FixtureSpec, ProfileError> {
    let missing = |table: &str| c.invalid(&format!("fixtures.{table}"), "missing for this kind");
    Ok(match f.kind.as_str() {
        "control-api" => {
            let api = f.control_api.clone().unwrap_or_default();
            FixtureSpec::ControlApi {
                admin_token: api.admin_token.filter(|t| !t.is_empty()).ok_or_else(|| {
                    c.invalid(
                        "fixtures.control_api.admin_token",
                        "the /admin bearer token",
                    )
                })?,
                base_url: api
                    .base_url
                    .map(|u| c.url("fixtures.control_api.base_url", &u))
                    .transpose()?,
            }
        }
        "http" => {
            let h = f.http.as_ref().ok_or_else(|| missing("http"))?;
            FixtureSpec::Http(Box::new(HttpFixture {
                base_url: h
                    .base_url
                    .as_deref()
                    .map(|u| c.url("fixtures.http.base_url", u))
                    .transpose()?,
                headers: h.headers.clone(),
                create: request(c, "fixtures.http.create", &h.create)?,
                add_question: h
                    .add_question
                    .as_ref()
                    .map(|r| request(c, "fixtures.http.add_question", r))
                    .transpose()?,
                activate: h
                    .activate
                    .as_ref()
                    .map(|r| request(c, "fixtures.http.activate", r))
                    .transpose()?,
                end: h
                    .end
                    .as_ref()
                    .map(|r| request(c, "fixtures.http.end", r))
                    .transpose()?,
            }))
        }
        "command" => {
            let cmd = f.command.as_ref().ok_or_else(|| missing("command"))?;
            FixtureSpec::Command {
                create: cmd.create.clone(),
                activate: cmd.activate.clone(),
                end: cmd.end.clone(),
                dir: c.dir.to_owned(),
            }
        }
        "store" => {
            let s = f.store.clone().unwrap_or_default();
            FixtureSpec::Store {
                redis_url: s
                    .redis_url
                    .or_else(|| target.redis_url.clone())
                    .ok_or_else(|| {
                        c.invalid("fixtures.store.redis_url", "needed (or target.redis_url)")
                    })?,
                mongo_url: s
                    .mongo_url
                    .or_else(|| target.mongo_url.clone())
                    .ok_or_else(|| {
                        c.invalid("fixtures.store.mongo_url", "needed (or target.mongo_url)")
                    })?,
                mongo_db: s.mongo_db.unwrap_or_else(|| target.mongo_db.clone()),
            }
        }
        other => {
            return Err(c.invalid(
                "fixtures.kind",
                format!("{other:?} is not control-api, http, command or store"),
            ));
        }
    })
}

fn decision(c: &Checker, key: &str, id: &str) -> Result<u8, ProfileError> {
    Capabilities::decision_number(id).ok_or_else(|| {
        c.invalid(
            key,
            format!("{id:?} is not a decision (D1 to D{LAST_DECISION})"),
        )
    })
}

fn capabilities(
    c: &Checker,
    f: &file::CapabilitiesFile,
    profile: &Profile,
) -> Result<Capabilities, ProfileError> {
    let mut decisions: BTreeSet<u8> = match &f.decisions {
        None => (1..=LAST_DECISION).collect(),
        Some(Decisions::All(s)) if s == "all" => (1..=LAST_DECISION).collect(),
        Some(Decisions::All(s)) => {
            return Err(c.invalid(
                "capabilities.decisions",
                format!("{s:?}: \"all\" or a list of decision ids"),
            ));
        }
        Some(Decisions::Some(list)) => list
            .iter()
            .map(|id| decision(c, "capabilities.decisions", id))
            .collect::<Result<_, _>>()?,
    };
    for id in &f.exclude {
        decisions.remove(&decision(c, "capabilities.exclude", id)?);
    }
    let (parts, parts_implied) = match &f.parts {
        None => (profile.implied_parts(), true),
        Some(list) => (
            list.iter()
                .map(|p| {
                    Part::parse(p).ok_or_else(|| {
                        let all: Vec<&str> = Part::ALL.iter().map(|p| p.as_str()).collect();
                        c.invalid(
                            "capabilities.parts",
                            format!("{p:?} is not one of {}", all.join(", ")),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            false,
        ),
    };
    Ok(Capabilities {
        decisions,
        parts,
        parts_implied,
    })
}

impl Profile {
    /// Reads, checks and completes the profile at `path`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, is not a profile, or holds a value that cannot be used;
    /// the error names the file and the key.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Profile::parse(&text, path)
    }

    /// As [`Profile::load`], from the text of the file at `path` (relative paths resolve from
    /// its folder).
    ///
    /// # Errors
    ///
    /// As [`Profile::load`].
    pub fn parse(text: &str, path: &Path) -> Result<Profile, ProfileError> {
        let parse_error = |message: String| ProfileError::Parse {
            path: path.to_owned(),
            message,
        };
        let mut raw: toml::Value = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        interpolate::environment(&mut raw, "").map_err(|(key, reason)| ProfileError::Invalid {
            source_name: path.display().to_string(),
            key,
            reason,
        })?;
        let file: ProfileFile = raw.try_into().map_err(|e| parse_error(e.to_string()))?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        profile(file, path, &dir)
    }
}

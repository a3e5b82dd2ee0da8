//! Kubernetes manifests (`deploy/k8s/`): every document of every YAML file, the objects they
//! define, and what the kubelet makes of a container — its environment (literal values with
//! their `$(VAR)` references, ConfigMap and Secret keys, the completion index of an Indexed
//! Job) and its command line (`$(VAR)` expanded).
//!
//! ```
//! use lcr_deploy::k8s::expand;
//! let env = |name: &str| (name == "RUN").then(|| "r1".to_owned());
//! assert_eq!(expand("/data/$(RUN)/shard-$(INDEX)", env), "/data/r1/shard-$(INDEX)");
//! assert_eq!(expand("$$(RUN) costs $5", env), "$(RUN) costs $5");
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use serde_yaml::Value;

use crate::read;

/// The environment variable the Job controller adds to every container of an Indexed Job's
/// pods (appended to `env` unless the container declares it).
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// The pod annotation (and label) that holds the completion index.
pub const COMPLETION_INDEX_KEY: &str = "batch.kubernetes.io/job-completion-index";

/// The manifests checked: `$LCR_K8S_DIR`, else the workspace's `deploy/k8s`.
pub fn k8s_dir() -> PathBuf {
    std::env::var_os("LCR_K8S_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("deploy").join("k8s"))
}

/// One object: a document of a manifest file.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file it is in.
    pub file: PathBuf,
    /// The document.
    pub doc: Value,
}

impl Object {
    /// `kind`.
    pub fn kind(&self) -> &str {
        self.doc.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.doc
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Where it is, for messages: `deploy/k8s/30-shards-job.yaml, Job loadgen-shards`.
    pub fn at(&self) -> String {
        let root = crate::workspace_root();
        let file = self.file.strip_prefix(&root).unwrap_or(&self.file);
        format!("{}, {} `{}`", file.display(), self.kind(), self.name())
    }

    /// The value at a dotted path (`spec.template.spec`), if there is one.
    pub fn get(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.doc, |v, key| v.get(key))
    }

    /// The integer at a dotted path.
    pub fn int(&self, path: &str) -> Option<i64> {
        self.get(path).and_then(Value::as_i64)
    }

    /// The pod spec of a Job (`spec.template.spec`) or of a Pod (`spec`).
    pub fn pod_spec(&self) -> Option<&Value> {
        match self.kind() {
            "Pod" => self.get("spec"),
            _ => self.get("spec.template.spec"),
        }
    }

    /// The containers of its pod spec, init containers first, each with whether it is one.
    pub fn containers(&self) -> Vec<(bool, &Value)> {
        let Some(spec) = self.pod_spec() else {
            return Vec::new();
        };
        let list = |key: &str| {
            spec.get(key)
                .and_then(Value::as_sequence)
                .map(|s| s.iter().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let mut all: Vec<(bool, &Value)> = list("initContainers")
            .into_iter()
            .map(|c| (true, c))
            .collect();
        all.extend(list("containers").into_iter().map(|c| (false, c)));
        all
    }

    /// The container (or init container) called `name`.
    pub fn container(&self, name: &str) -> Option<&Value> {
        self.containers()
            .into_iter()
            .map(|(_, c)| c)
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Whether it is an Indexed Job (its pods get `JOB_COMPLETION_INDEX`).
    pub fn is_indexed_job(&self) -> bool {
        self.kind() == "Job"
            && self.get("spec.completionMode").and_then(Value::as_str) == Some("Indexed")
    }
}

/// The name of a container (`name:`).
pub fn container_name(container: &Value) -> &str {
    container.get("name").and_then(Value::as_str).unwrap_or("")
}

/// Every object of every `*.yaml` / `*.yml` file of a folder, files in name order.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The folder.
    pub dir: PathBuf,
    /// Its manifest files, in name order (the order `kubectl apply -f DIR` takes them in).
    pub files: Vec<PathBuf>,
    /// Their documents (empty ones left out).
    pub objects: Vec<Object>,
}

impl Manifests {
    /// The manifests of [`k8s_dir`].
    ///
    /// # Panics
    ///
    /// As [`Manifests::load_from`].
    pub fn load() -> Manifests {
        Manifests::load_from(&k8s_dir())
    }

    /// The manifests of `dir`.
    ///
    /// # Panics
    ///
    /// When the folder cannot be read, holds no manifest, or a file is not YAML (the panic names
    /// the file).
    pub fn load_from(dir: &Path) -> Manifests {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no *.yaml manifest", dir.display());
        let mut objects = Vec::new();
        for file in &files {
            let text = read(file);
            for (n, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
                let doc = Value::deserialize(document).unwrap_or_else(|e| {
                    panic!("{}: document {} is not YAML: {e}", file.display(), n + 1)
                });
                if !doc.is_null() {
                    objects.push(Object {
                        file: file.clone(),
                        doc,
                    });
                }
            }
        }
        Manifests {
            dir: dir.to_path_buf(),
            files,
            objects,
        }
    }

    /// The objects of one kind.
    pub fn of_kind<'a>(&'a self, kind: &str) -> impl Iterator<Item = &'a Object> + 'a {
        let kind = kind.to_owned();
        self.objects.iter().filter(move |o| o.kind() == kind)
    }

    /// The object of `kind` called `name`.
    pub fn get(&self, kind: &str, name: &str) -> Option<&Object> {
        self.of_kind(kind).find(|o| o.name() == name)
    }

    /// The object of `kind` called `name`, mutably (to change a value before resolving).
    pub fn get_mut(&mut self, kind: &str, name: &str) -> Option<&mut Object> {
        self.objects
            .iter_mut()
            .find(|o| o.kind() == kind && o.name() == name)
    }

    /// Every key of a ConfigMap's `data`, or of a Secret's `data` (base64-decoded) and
    /// `stringData` (which wins, as the API server merges it).
    ///
    /// # Errors
    ///
    /// When no manifest defines it, or a Secret value is not base64 of UTF-8 text.
    pub fn values(&self, kind: &str, name: &str) -> Result<BTreeMap<String, String>, String> {
        let object = self.get(kind, name).ok_or_else(|| {
            format!(
                "{kind} `{name}`: no manifest in {} defines it",
                self.dir.display()
            )
        })?;
        let entries = |key: &str| {
            object
                .doc
                .get(key)
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar_text(v)?)))
                .collect::<Vec<_>>()
        };
        let mut values = BTreeMap::new();
        if kind == "Secret" {
            for (k, v) in entries("data") {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|e| format!("{}, data.{k}: not base64: {e}", object.at()))?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| format!("{}, data.{k}: not UTF-8 text", object.at()))?;
                values.insert(k, text);
            }
            values.extend(entries("stringData"));
        } else {
            values.extend(entries("data"));
        }
        Ok(values)
    }

    /// One key of a ConfigMap or Secret (see [`Manifests::values`]).
    ///
    /// # Errors
    ///
    /// When the object or the key is missing.
    pub fn value(&self, kind: &str, name: &str, key: &str) -> Result<String, String> {
        self.values(kind, name)?
            .remove(key)
            .ok_or_else(|| format!("{kind} `{name}` has no key `{key}`"))
    }
}

/// A YAML scalar as the text Kubernetes would see (strings as they are, numbers and booleans
/// as written).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The kubelet's `$(VAR)` expansion (Kubernetes' `third_party/forked/golang/expansion`), as
/// applied to env values, `command` and `args`: `$(NAME)` becomes the value `vars` gives for
/// NAME and is left as it is when NAME is undefined; `$$` is one `$` (so `$$(NAME)` stays
/// `$(NAME)`); a `$` before anything else, or an unclosed `$(`, is kept.
///
/// ```
/// use lcr_deploy::k8s::expand;
/// let vars = |n: &str| match n {
///     "A" => Some("x".to_owned()),
///     "EMPTY" => Some(String::new()),
///     _ => None,
/// };
/// assert_eq!(expand("$(A)-$(EMPTY)-$(B)", vars), "x--$(B)");
/// assert_eq!(expand("$$(A) $$$(A) $$$$", vars), "$(A) $x $$");
/// assert_eq!(expand("$A $(A", vars), "$A $(A");
/// assert_eq!(expand("tail$", vars), "tail$");
/// ```
pub fn expand(input: &str, vars: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(next) = after.chars().next() else {
            // A `$` at the very end is kept.
            out.push('$');
            rest = after;
            break;
        };
        match next {
            '$' => {
                out.push('$');
                rest = &after[1..];
            }
            '(' => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match vars(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            other => {
                out.push('$');
                out.push(other);
                rest = &after[other.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the pod knows of itself that a container's environment can refer to.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// The completion index of an Indexed Job's pod: the Job controller appends
    /// `JOB_COMPLETION_INDEX` to each container's env (unless declared) and sets the annotation
    /// and label [`COMPLETION_INDEX_KEY`] that a `fieldRef` may read.
    pub completion_index: Option<usize>,
}

/// A container's environment as the kubelet builds it, in declaration order (a later entry of
/// the same name replaces the value of the earlier one, keeping its place):
///
/// 1. `envFrom`: every key of each ConfigMap / Secret (with its `prefix`), not expanded;
/// 2. `env`, in order: a `value` has its `$(VAR)` references to the variables before it
///    expanded; a `valueFrom` reads a ConfigMap or Secret key, or the completion index through
///    a `fieldRef` to its annotation or label;
/// 3. `JOB_COMPLETION_INDEX` when the pod has an index and `env` does not declare it.
///
/// `overrides` replaces the value of a variable where it is defined (whatever its source), so
/// later references see the new value. `at` prefixes every error (the file and the object).
///
/// # Errors
///
/// A ConfigMap, Secret or key that is missing and not `optional`, or a `valueFrom` that needs a
/// running cluster (other `fieldRef`s, `resourceFieldRef`): each message names the container
/// and the variable.
pub fn container_env(
    manifests: &Manifests,
    at: &str,
    container: &Value,
    pod: &PodFacts,
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    let cname = container_name(container);
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |env: &mut Vec<(String, String)>, name: String, value: String| {
        let value = overrides.get(&name).cloned().unwrap_or(value);
        match env.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => env.push((name, value)),
        }
    };
    for source in container
        .get("envFrom")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let prefix = source.get("prefix").and_then(Value::as_str).unwrap_or("");
        for (key, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
            let Some(r) = source.get(key) else { continue };
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let optional = r.get("optional").and_then(Value::as_bool) == Some(true);
            match manifests.values(kind, name) {
                Ok(values) => {
                    for (k, v) in values {
                        set(&mut env, format!("{prefix}{k}"), v);
                    }
                }
                Err(_) if optional => {}
                Err(e) => return Err(format!("{at}, container `{cname}`, envFrom.{key}: {e}")),
            }
        }
    }
    for entry in container
        .get("env")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}, container `{cname}`: an env entry has no name"))?
            .to_owned();
        let here = |what: &str| format!("{at}, container `{cname}`, env `{name}`: {what}");
        let value = entry.get("value").and_then(scalar_text).unwrap_or_default();
        let value = if !value.is_empty() {
            let defined = env.clone();
            expand(&value, |v| {
                defined
                    .iter()
                    .find(|(n, _)| n == v)
                    .map(|(_, value)| value.clone())
            })
        } else if let Some(from) = entry.get("valueFrom") {
            let key_ref = |key: &str, kind: &str| -> Result<Option<String>, String> {
                let Some(r) = from.get(key) else {
                    return Ok(None);
                };
                let (obj, k) = (
                    r.get("name").and_then(Value::as_str).unwrap_or(""),
                    r.get("key").and_then(Value::as_str).unwrap_or(""),
                );
                match manifests.value(kind, obj, k) {
                    Ok(v) => Ok(Some(v)),
                    Err(_) if r.get("optional").and_then(Value::as_bool) == Some(true) => {
                        Ok(Some(String::new()))
                    }
                    Err(e) => Err(here(&format!("{key}: {e}"))),
                }
            };
            if let Some(v) = key_ref("configMapKeyRef", "ConfigMap")? {
                v
            } else if let Some(v) = key_ref("secretKeyRef", "Secret")? {
                v
            } else if let Some(path) = from
                .get("fieldRef")
                .and_then(|f| f.get("fieldPath"))
                .and_then(Value::as_str)
            {
                let index_paths = [
                    format!("metadata.annotations['{COMPLETION_INDEX_KEY}']"),
                    format!("metadata.labels['{COMPLETION_INDEX_KEY}']"),
                ];
                match pod.completion_index {
                    Some(i) if index_paths.iter().any(|p| p == path) => i.to_string(),
                    _ => {
                        return Err(here(&format!(
                            "fieldRef {path} is only known in a running pod"
                        )));
                    }
                }
            } else {
                return Err(here(
                    "valueFrom names no ConfigMap or Secret key the manifests define (resourceFieldRef and the like are not known here)",
                ));
            }
        } else {
            String::new()
        };
        set(&mut env, name, value);
    }
    if let Some(i) = pod.completion_index
        && !env.iter().any(|(n, _)| n == COMPLETION_INDEX_ENV)
    {
        set(&mut env, COMPLETION_INDEX_ENV.to_owned(), i.to_string());
    }
    Ok(env)
}

/// A container's `command` followed by its `args`, each with `$(VAR)` expanded from `env` (the
/// container's whole environment, as the kubelet does). Empty when it has neither (the image's
/// entrypoint would run).
pub fn command_line(container: &Value, env: &[(String, String)]) -> Vec<String> {
    let list = |key: &str| {
        container
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(scalar_text)
            .collect::<Vec<_>>()
    };
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    list("command")
        .into_iter()
        .chain(list("args"))
        .map(|a| expand(&a, lookup))
        .collect()
}

/// How a container runs loadgen: `loadgen ARGS…` directly, or a `sh -c SCRIPT NAME ARGS…`
/// whose script ends by running loadgen with the args (`exec loadgen "$@"`, or
/// `exec loadgen merge "$@"` after it put the shard folders first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadgenCall {
    /// `Some(script)` when a shell runs it.
    pub script: Option<String>,
    /// Whether it is `loadgen merge`.
    pub merge: bool,
    /// loadgen's own arguments as the manifest gives them (not expanded): after `merge`, and
    /// without the shard folders a merge script adds.
    pub args: Vec<String>,
}

/// Which way `container` runs loadgen (see [`LoadgenCall`]), `None` when it does not.
pub fn loadgen_call(container: &Value) -> Option<LoadgenCall> {
    let list = |key: &str| {
        container
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(scalar_text)
            .collect::<Vec<_>>()
    };
    let command = list("command");
    let args = list("args");
    let is_loadgen = |p: &str| p == "loadgen" || p.ends_with("/loadgen");
    match command.first().map(String::as_str) {
        Some(p) if is_loadgen(p) => {
            let mut all: Vec<String> = command[1..].iter().cloned().chain(args).collect();
            let merge = all.first().map(String::as_str) == Some("merge");
            if merge {
                all.remove(0);
            }
            Some(LoadgenCall {
                script: None,
                merge,
                args: all,
            })
        }
        Some("/bin/sh" | "sh" | "/bin/bash" | "bash")
            if command.get(1).map(String::as_str) == Some("-c") && command.len() == 4 =>
        {
            let script = command[2].clone();
            let last = script
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty() && !l.starts_with('#'))?;
            let merge = match last {
                "exec loadgen \"$@\"" => false,
                "exec loadgen merge \"$@\"" => true,
                _ => return None,
            };
            Some(LoadgenCall {
                script: Some(script),
                merge,
                args,
            })
        }
        _ => None,
    }
}

/// The repository part of an image reference (no tag, no digest): `reg:5000/a/b:1` → `reg:5000/a/b`.
///
/// ```
/// use lcr_deploy::k8s::image_repository;
/// assert_eq!(image_repository("reg.example:5000/team/livepoll-loadgen:v1"), "reg.example:5000/team/livepoll-loadgen");
/// assert_eq!(image_repository("livepoll-loadgen@sha256:ab"), "livepoll-loadgen");
/// assert_eq!(image_repository("livepoll-loadgen"), "livepoll-loadgen");
/// ```
pub fn image_repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// The Jobs that run loadgen: the Indexed Job whose container runs loadgen (one pod per shard)
/// and the Job whose container runs `loadgen merge`, with its init container (the wait).
#[derive(Debug, Clone, Copy)]
pub struct LoadgenJobs<'a> {
    /// The shard Job.
    pub shards: &'a Object,
    /// Its container that runs loadgen.
    pub shard: &'a Value,
    /// The merge Job.
    pub merge_job: &'a Object,
    /// Its container that runs `loadgen merge`.
    pub merge: &'a Value,
    /// Its first init container, if it has one: the wait for the shards.
    pub wait: Option<&'a Value>,
}

impl Manifests {
    /// The shard Job and the merge Job (see [`LoadgenJobs`]).
    ///
    /// # Errors
    ///
    /// When there is not exactly one of each, or the shard Job is not Indexed.
    pub fn loadgen_jobs<'a>(&'a self) -> Result<LoadgenJobs<'a>, String> {
        let runs = |merge: bool| {
            self.of_kind("Job")
                .filter_map(|job| {
                    job.containers().into_iter().find_map(|(init, c)| {
                        (!init && loadgen_call(c).is_some_and(|call| call.merge == merge))
                            .then_some((job, c))
                    })
                })
                .collect::<Vec<_>>()
        };
        let one = |found: Vec<(&'a Object, &'a Value)>, what: &str| match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!(
                "{}: no Job whose container runs {what} (`loadgen …`, or `sh -c` ending in `exec loadgen{} \"$@\"`)",
                self.dir.display(),
                if what.contains("merge") { " merge" } else { "" }
            )),
            many => Err(format!(
                "{}: {} Jobs run {what}: {}",
                self.dir.display(),
                many.len(),
                many.iter()
                    .map(|(j, _)| j.at())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        };
        let (shards, shard) = one(runs(false), "loadgen shards")?;
        let (merge_job, merge) = one(runs(true), "loadgen merge")?;
        if !shards.is_indexed_job() {
            return Err(format!(
                "{}, spec.completionMode: must be Indexed (each pod gets its shard from JOB_COMPLETION_INDEX)",
                shards.at()
            ));
        }
        let wait = merge_job
            .containers()
            .into_iter()
            .find_map(|(init, c)| init.then_some(c));
        Ok(LoadgenJobs {
            shards,
            shard,
            merge_job,
            merge,
            wait,
        })
    }
}

/// `text` with the volume mounted at `mount_path` mounted at `local` instead: every
/// `mount_path` that starts a path (at the start or after a character that cannot be part of a
/// path name, and followed by `/`, the end, or such a character) names `local`.
///
/// ```
/// use lcr_deploy::k8s::relocate;
/// let local = std::path::Path::new("/tmp/x");
/// assert_eq!(relocate("/data/$(RUN)/shard-0", "/data", local), "/tmp/x/$(RUN)/shard-0");
/// assert_eq!(relocate("run=\"/data/$RUN\" /data", "/data", local), "run=\"/tmp/x/$RUN\" /tmp/x");
/// assert_eq!(relocate("/database /srv/data/ http://h/data", "/data", local), "/database /srv/data/ http://h/data");
/// ```
pub fn relocate(text: &str, mount_path: &str, local: &Path) -> String {
    let mount_path = mount_path.trim_end_matches('/');
    if mount_path.is_empty() {
        return text.to_owned();
    }
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(mount_path) {
        let prev = rest[..at].chars().next_back().or(before);
        let after = rest[at + mount_path.len()..].chars().next();
        out.push_str(&rest[..at]);
        let starts = prev.is_none_or(|c| !name_char(c));
        let ends = after.is_none_or(|c| c == '/' || !name_char(c));
        if starts && ends {
            out.push_str(&local.to_string_lossy());
        } else {
            out.push_str(mount_path);
        }
        before = mount_path.chars().next_back();
        rest = &rest[at + mount_path.len()..];
    }
    out.push_str(rest);
    out
}

/// The `mountPath` at which a container mounts a pod's persistent volume claim, with the claim's
/// name: `(mount path, claim name)` for each such mount.
pub fn claim_mounts(pod_spec: &Value, container: &Value) -> Vec<(String, String)> {
    let claims: BTreeMap<&str, &str> = pod_spec
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some((
                v.get("name")?.as_str()?,
                v.get("persistentVolumeClaim")?.get("claimName")?.as_str()?,
            ))
        })
        .collect();
    container
        .get("volumeMounts")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let claim = claims.get(m.get("name")?.as_str()?)?;
            Some((
                m.get("mountPath")?.as_str()?.to_owned(),
                (*claim).to_owned(),
            ))
        })
        .collect()
}

//! A Dockerfile's stages, and `.dockerignore` as Docker applies it to the build context.
//!
//! ```
//! use lcr_deploy::dockerfile::{DockerIgnore, dockerfile_stages};
//! let stages = dockerfile_stages("FROM rust AS builder\nCOPY . .\nFROM debian AS server\n");
//! assert_eq!(stages["builder"], ["FROM rust AS builder", "COPY . ."]);
//! let ignore = DockerIgnore::parse("target/\ndeploy/*\n!deploy/Cargo.toml\n!deploy/src/\n");
//! assert!(ignore.excludes("deploy/nginx.conf"));
//! assert!(!ignore.excludes("deploy/Cargo.toml") && !ignore.excludes("deploy/src/lib.rs"));
//! assert!(ignore.excludes("target/debug/loadgen"));
//! ```

use std::collections::BTreeMap;
use std::path::Path;

/// Stage name → the stage's instructions (comments dropped, continuation lines joined).
/// Instructions before the first `FROM` (global `ARG`s) are the stage `(global)`; a `FROM`
/// without `AS name` is the stage `#N`.
pub fn dockerfile_stages(text: &str) -> BTreeMap<String, Vec<String>> {
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
pub fn features_copy(stage: &[String]) -> Option<String> {
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

/// A `.dockerignore`, applied as Docker does (moby's pattern matcher): rules in order, the last
/// that matches a path or one of its parent folders decides; `!` re-includes; `*` and `?` stay
/// within one name, `**` spans any number of folders; patterns are relative to the context root
/// (a leading `/` and a trailing `/` change nothing).
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    /// `!pattern`: re-includes.
    exception: bool,
    /// The cleaned pattern, by path segment.
    segments: Vec<String>,
    /// The line as written.
    line: String,
}

impl DockerIgnore {
    /// The rules of a `.dockerignore` text (`#` comments and blank lines skipped).
    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (exception, pattern) = match line.strip_prefix('!') {
                    Some(p) => (true, p.trim()),
                    None => (false, line),
                };
                let segments = clean(pattern);
                (!segments.is_empty()).then(|| Rule {
                    exception,
                    segments,
                    line: line.to_owned(),
                })
            })
            .collect();
        DockerIgnore { rules }
    }

    /// The `.dockerignore` of the build context `context` (no rules when there is none).
    pub fn of_context(context: &Path) -> DockerIgnore {
        std::fs::read_to_string(context.join(".dockerignore"))
            .map(|t| DockerIgnore::parse(&t))
            .unwrap_or_default()
    }

    /// Whether `path` (relative to the context root, `/`-separated) stays out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        self.excluded_by(path).is_some()
    }

    /// The line that keeps `path` out of the context, if one does.
    pub fn excluded_by(&self, path: &str) -> Option<&str> {
        let segments = clean(path);
        let mut excluded: Option<&str> = None;
        for rule in &self.rules {
            // As moby: an exclusion only matters while included, an exception while excluded.
            if rule.exception != excluded.is_some() {
                continue;
            }
            // The path itself, or one of its parent folders.
            let matches = (1..=segments.len()).any(|n| glob_path(&rule.segments, &segments[..n]));
            if matches {
                excluded = (!rule.exception).then_some(rule.line.as_str());
            }
        }
        excluded
    }
}

/// A path or pattern as its segments: `.` and empty segments dropped, `..` resolved.
fn clean(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s.to_owned()),
        }
    }
    out
}

/// Whether the pattern's segments match the path's (`**` stands for zero or more segments).
fn glob_path(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| glob_path(rest, &path[skip..]))
        }
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(p, path_rest)| glob_name(first, p) && glob_path(rest, path_rest)),
    }
}

/// Whether one name matches one pattern segment (`*`, `?`, `[...]` classes, `\` escapes).
fn glob_name(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|k| go(rest, &n[k..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('[', rest)) => {
                let Some(close) = rest.iter().position(|&c| c == ']') else {
                    return n.first() == Some(&'[') && go(rest, &n[1..]);
                };
                let Some(&c) = n.first() else {
                    return false;
                };
                let (negated, class) = match rest[..close].split_first() {
                    Some(('^' | '!', class)) => (true, class),
                    _ => (false, &rest[..close]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negated && go(&rest[close + 1..], &n[1..])
            }
            Some(('\\', rest)) if !rest.is_empty() => {
                n.first() == Some(&rest[0]) && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules_as_docker_applies_them() {
        let ignore = DockerIgnore::parse(
            "# comment\ntarget/\n**/target/\n**/node_modules/\nreports/*\n*.jsonl\n/Dockerfile\n\
             deploy/*\n!deploy/Cargo.toml\n!deploy/src/\ndocs/\n",
        );
        for gone in [
            "target/debug/x",
            "loadgen/target/x",
            "a/b/node_modules/c",
            "reports/run/summary.json",
            "x.jsonl",
            "Dockerfile",
            "deploy/nginx.conf",
            "deploy/tests/compose.rs",
            "docs/docker.md",
        ] {
            assert!(ignore.excludes(gone), "{gone} must be excluded");
        }
        for kept in [
            "Cargo.toml",
            "reports",
            "loadgen/x.jsonl",
            "deploy/Cargo.toml",
            "deploy/src/lib.rs",
            "./features/a.feature",
            "vendor/x/Cargo.toml",
        ] {
            assert!(!ignore.excludes(kept), "{kept} must stay");
        }
        assert_eq!(ignore.excluded_by("deploy/nginx.conf"), Some("deploy/*"));
        assert_eq!(ignore.excluded_by("loadgen/target/x"), Some("**/target/"));
        assert!(glob_name("[a-c]?.r[!x]", "b1.rs"));
        assert!(!glob_name("[a-c]?.r[!x]", "d1.rs"));
    }
}

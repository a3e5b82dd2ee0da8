//! Text substitution: `${VAR}` (or `${VAR:-default}`) from the environment when a profile is
//! read, and `{name}` placeholders filled per request or command when a fixture runs.

use std::collections::BTreeMap;

use serde_json::Value;

/// Replaces `${VAR}` and `${VAR:-default}` in every string of `value` (a parsed profile) with
/// the environment's values. `$${` stands for a literal `${`. Errors name the key and the
/// variable.
///
/// ```
/// let mut v: toml::Value = toml::from_str(r#"a = "x-${LCR_DOC_UNSET:-dflt}-$${y}""#).unwrap();
/// lcr_profile::interpolate::environment(&mut v, "").unwrap();
/// assert_eq!(v["a"].as_str(), Some("x-dflt-${y}"));
/// ```
pub fn environment(value: &mut toml::Value, key: &str) -> Result<(), (String, String)> {
    match value {
        toml::Value::String(s) => {
            *s = env_in(s).map_err(|reason| (key.to_owned(), reason))?;
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                environment(item, &format!("{key}[{i}]"))?;
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let path = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                environment(v, &path)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn env_in(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
        let inner = &rest[i + 2..i + end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name), default) {
            (Ok(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            _ => return Err(format!("${{{name}}} is not set in the environment")),
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Values for `{name}` placeholders: text, or JSON for placeholders that stand for a whole
/// value (`{options}`, `{questions}`).
#[derive(Debug, Clone, Default)]
pub struct Placeholders(BTreeMap<String, Value>);

impl Placeholders {
    /// No placeholders.
    pub fn new() -> Self {
        Placeholders::default()
    }

    /// Sets `{name}`.
    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// The value of `{name}`, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// `text` with every `{name}` replaced by its value (strings as they are, other values as
    /// JSON text). An unknown `{name}` is an error naming it.
    ///
    /// ```
    /// use lcr_profile::interpolate::Placeholders;
    /// let mut p = Placeholders::new();
    /// p.set("conferenceId", "c1").set("n", 3);
    /// assert_eq!(p.text("/api/{conferenceId}/x{n}").unwrap(), "/api/c1/x3");
    /// assert!(p.text("{nope}").unwrap_err().contains("{nope}"));
    /// ```
    pub fn text(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let Some(end) = rest[i..].find('}') else {
                out.push_str(&rest[i..]);
                return Ok(out);
            };
            let name = &rest[i + 1..i + end];
            match self.0.get(name) {
                Some(Value::String(s)) => out.push_str(s),
                Some(v) => out.push_str(&v.to_string()),
                None if name.is_empty() || name.contains(['"', ' ', ':', ',']) => {
                    out.push_str(&rest[i..=i + end]);
                }
                None => return Err(format!("unknown placeholder {{{name}}}")),
            }
            rest = &rest[i + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `template` (a JSON body) with placeholders filled: a string that is exactly `{name}`
    /// becomes that value (JSON arrays and objects included), any other string is filled as
    /// text.
    ///
    /// ```
    /// use lcr_profile::interpolate::Placeholders;
    /// let mut p = Placeholders::new();
    /// p.set("options", serde_json::json!([{"key": "A"}])).set("id", "q1");
    /// let body = serde_json::json!({"options": "{options}", "label": "Q {id}"});
    /// assert_eq!(p.json(&body).unwrap(), serde_json::json!({"options": [{"key": "A"}], "label": "Q q1"}));
    /// ```
    pub fn json(&self, template: &Value) -> Result<Value, String> {
        Ok(match template {
            Value::String(s) => {
                let whole = s
                    .strip_prefix('{')
                    .and_then(|r| r.strip_suffix('}'))
                    .and_then(|name| self.0.get(name));
                match whole {
                    Some(v) => v.clone(),
                    None => Value::String(self.text(s)?),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.json(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((self.text(k)?, self.json(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

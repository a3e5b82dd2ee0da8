//! The feature files' small language for naming actors and payload fields:
//! `"alex", "bo" and "cy"` (a list of actors), `questionId "q1", totalVotes 2 and
//! optionCounts.A 1` (fields with JSON values, dotted paths into nested objects), and the
//! matching rules a step applies to what an actor received.

use serde_json::Value;

/// `"alex", "bo" and "cy"` → the names, in order.
///
/// ```
/// assert_eq!(conformance::fields::names(r#""alex", "bo" and "cy""#), ["alex", "bo", "cy"]);
/// ```
pub fn names(list: &str) -> Vec<String> {
    list.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, n)| n.to_owned())
        .collect()
}

/// The value at a dotted path (`optionCounts.A`, `context.event`, `liveQuestion`).
///
/// ```
/// let v = serde_json::json!({"context": {"event": "vote:submit"}});
/// assert_eq!(conformance::fields::lookup(&v, "context.event"), Some(&serde_json::json!("vote:submit")));
/// assert_eq!(conformance::fields::lookup(&v, "context.nope"), None);
/// ```
pub fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |v, key| v.get(key))
}

/// Whether an observed value equals the expected one: numbers by value (`1` equals `1.0`),
/// objects as subsets (extra fields never fail a server), `null` also for a missing field.
///
/// ```
/// use serde_json::json;
/// use conformance::fields::matches;
/// assert!(matches(Some(&json!({"A": 1, "B": 0, "extra": true})), &json!({"A": 1.0})));
/// assert!(matches(None, &json!(null)));
/// assert!(!matches(Some(&json!([1, 2])), &json!([1])));
/// ```
pub fn matches(got: Option<&Value>, want: &Value) -> bool {
    match (got, want) {
        (None, Value::Null) => true,
        (None, _) => false,
        (Some(g), Value::Object(w)) => w.iter().all(|(k, v)| matches(g.get(k), v)),
        (Some(Value::Number(g)), Value::Number(w)) => {
            (g.as_f64().unwrap_or(f64::NAN) - w.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9
        }
        (Some(g), w) => g == w,
    }
}

/// ` with a = 1, b = "x"` for a failure message (empty without fields).
pub fn describe(fields: &[(String, Value)]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!(" with {}", parts.join(", "))
    }
}

/// Parses `field value, field value and field value`; values are JSON (`"B"`, `1`, `true`,
/// `{"A":1}`) or a bare word taken as a string.
///
/// ```
/// let f = conformance::fields::parse_fields(r#"isCorrect true and selectedOption "B", optionCounts.A 2"#).unwrap();
/// assert_eq!(f.len(), 3);
/// assert_eq!(f[1], ("selectedOption".to_string(), serde_json::json!("B")));
/// ```
pub fn parse_fields(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (field, after) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("no value for {rest:?}"))?;
        let after = after.trim_start();
        let (raw, tail) = split_value(after);
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        out.push((field.to_owned(), value));
        rest = tail.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        rest = rest.strip_prefix("and ").unwrap_or(rest).trim_start();
    }
    Ok(out)
}

fn split_value(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    let end = match bytes.first() {
        Some(b'"') => s[1..].find('"').map_or(s.len(), |i| i + 2),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0i32;
            let mut end = s.len();
            for (i, c) in s.char_indices() {
                match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        }
        _ => s.find([' ', ',']).unwrap_or(s.len()),
    };
    s.split_at(end)
}

/// `"x"*65` in a payload stands for a string of 65 x's.
///
/// ```
/// assert_eq!(conformance::fields::expand_repeats(r#"{"id": "ab"*3}"#), r#"{"id": "ababab"}"#);
/// ```
pub fn expand_repeats(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(star) = out.find("\"*") {
        let open = out[..star].rfind('"').unwrap_or(0);
        let digits: String = out[star + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(n) = digits.parse::<usize>() else {
            break;
        };
        let unit = out[open + 1..star].to_owned();
        out.replace_range(
            open..star + 2 + digits.len(),
            &format!("\"{}\"", unit.repeat(n)),
        );
    }
    out
}

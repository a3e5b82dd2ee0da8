//! The nemesis: faults the run injects on a schedule, with the user's own commands (`docker
//! compose kill redis`, `kill -STOP …`, a `tc` call), so it works for any deployment.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `[[faults]]`: at a moment of the run, run a command; optionally undo it a while later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A name for the report (default: the command).
    #[serde(default)]
    pub name: Option<String>,
    /// When: `"q2+10s"` is 10 s after question 2 of the first conference went live; `"10s"`
    /// is 10 s after its first question did.
    pub at: FaultTime,
    /// The command (`sh -c`), run from the folder loadgen was started in.
    pub run: String,
    /// The command that undoes it, if any.
    #[serde(default)]
    pub undo: Option<String>,
    /// Seconds after `run` started that `undo` runs (required with `undo`).
    #[serde(default)]
    pub undo_after_s: Option<f64>,
    /// Seconds a command may take before it is killed (default 30).
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

impl Fault {
    /// The name shown in the report.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.run.clone())
    }

    /// Parses one `--fault` value: the same keys as a `[[faults]]` entry, as a TOML inline
    /// table.
    ///
    /// ```
    /// use loadgen::workload::Fault;
    /// let f = Fault::parse_flag(r#"{ at = "q1+5s", run = "kill -STOP 42", undo = "kill -CONT 42", undo_after_s = 3 }"#).unwrap();
    /// assert_eq!((f.at.question, f.at.after_ms, f.undo_after_s), (0, 5000, Some(3.0)));
    /// assert!(Fault::parse_flag("{ at = \"q1\", run = \"x\" }").unwrap_err().contains("q1"));
    /// ```
    pub fn parse_flag(text: &str) -> Result<Fault, String> {
        #[derive(Deserialize)]
        struct One {
            fault: Fault,
        }
        let one: One = toml::from_str(&format!("fault = {text}"))
            .map_err(|e| format!("--fault {text}: {e}"))?;
        one.fault
            .check()
            .map_err(|e| format!("--fault {text}: {e}"))?;
        Ok(one.fault)
    }

    /// Whether the entry makes sense; the reason if not.
    pub fn check(&self) -> Result<(), String> {
        if self.run.trim().is_empty() {
            return Err("run: an empty command".into());
        }
        match (&self.undo, self.undo_after_s) {
            (Some(_), None) => return Err("undo needs undo_after_s".into()),
            (None, Some(_)) => return Err("undo_after_s without undo".into()),
            (_, Some(s)) if !(0.0..=3600.0).contains(&s) => {
                return Err(format!("undo_after_s = {s}: 0 to 3600 s"));
            }
            _ => {}
        }
        if let Some(t) = self.timeout_s
            && !(t > 0.0 && t <= 3600.0)
        {
            return Err(format!("timeout_s = {t}: more than 0, at most 3600 s"));
        }
        Ok(())
    }
}

/// A moment of the run: `after_ms` after question `question` (0-based) of the first conference
/// went live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultTime {
    /// The question, 0-based.
    pub question: usize,
    /// Milliseconds after it went live.
    pub after_ms: u64,
}

impl FromStr for FaultTime {
    type Err = String;

    /// `q<k>+<seconds>s` or `<seconds>s` (after question 1).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?}: expected q<question>+<seconds>s (\"q2+10s\") or <seconds>s (\"10s\", after question 1)"
            )
        };
        let t = s.trim();
        let (question, rest) = match t.strip_prefix('q') {
            Some(r) => {
                let (k, rest) = r.split_once('+').ok_or_else(bad)?;
                let k: usize = k.trim().parse().map_err(|_| bad())?;
                if k == 0 {
                    return Err(format!("{s:?}: questions count from 1"));
                }
                (k - 1, rest)
            }
            None => (0, t),
        };
        let secs: f64 = rest
            .trim()
            .strip_suffix('s')
            .ok_or_else(bad)?
            .trim()
            .parse()
            .map_err(|_| bad())?;
        if !(0.0..=86_400.0).contains(&secs) {
            return Err(bad());
        }
        Ok(FaultTime {
            question,
            after_ms: (secs * 1000.0).round() as u64,
        })
    }
}

impl fmt::Display for FaultTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "q{}+{}s",
            self.question + 1,
            self.after_ms as f64 / 1000.0
        )
    }
}

impl Serialize for FaultTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FaultTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_both_ways() {
        assert_eq!(
            "q2+10s".parse(),
            Ok(FaultTime {
                question: 1,
                after_ms: 10_000
            })
        );
        assert_eq!(
            "2.5s".parse(),
            Ok(FaultTime {
                question: 0,
                after_ms: 2_500
            })
        );
        assert!("q0+1s".parse::<FaultTime>().unwrap_err().contains("from 1"));
        assert!("q2+10".parse::<FaultTime>().is_err());
        assert_eq!(
            FaultTime {
                question: 1,
                after_ms: 2_500
            }
            .to_string(),
            "q2+2.5s"
        );
    }

    #[test]
    fn an_undo_needs_its_delay() {
        let e = Fault::parse_flag(r#"{ at = "1s", run = "a", undo = "b" }"#).unwrap_err();
        assert!(e.contains("undo needs undo_after_s"), "{e}");
        let e = Fault::parse_flag(r#"{ at = "1s", run = "a", when = 3 }"#).unwrap_err();
        assert!(e.contains("unknown field `when`"), "{e}");
    }
}

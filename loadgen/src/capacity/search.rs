//! The search as a whole: its settings, its steps so far, the stop rule, the knee, the verdict
//! and the exit code; `capacity.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::step::{Outcome, Step};
use super::{CapacityError, DEFAULT_SLOS, steps, thousands};

/// Where the server under test runs, which decides what a step can say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ServerPlacement {
    /// The reference server inside each step's generator process: a clean server per step,
    /// but its CPU and memory are the generator's, and a busy process cannot tell whose.
    InProcess,
    /// Processes a profile's `[[server]]` starts for each step: a clean server per step, its
    /// CPU and memory measured apart.
    Started {
        /// Server processes per step.
        processes: usize,
    },
    /// A server already running (`--target`, or a profile's nodes): the same server for every
    /// step, measured only with `--server-pid`.
    External,
}

impl ServerPlacement {
    /// In a few words.
    pub fn describe(&self) -> String {
        match self {
            ServerPlacement::InProcess => {
                "the reference server inside each step's generator process (a clean one per step)"
                    .into()
            }
            ServerPlacement::Started { processes } => format!(
                "{processes} server process(es) started by the profile for each step (a clean server per step, measured apart)"
            ),
            ServerPlacement::External => "a server already running, the same for every step".into(),
        }
    }
}

/// What the search was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Names the search; step N's run is `<run id>-N`.
    pub run_id: String,
    /// `--from`.
    pub from: usize,
    /// `--to`.
    pub to: usize,
    /// `--factor`.
    pub factor: f64,
    /// The steps planned ([`steps`]).
    pub planned: Vec<usize>,
    /// The SLOs every step is judged by.
    pub slos: Vec<String>,
    /// No `--slo` was given: `slos` are [`DEFAULT_SLOS`].
    pub default_slos: bool,
    /// The knee must be at least this for the search to pass (`--require`, else `--from`).
    pub require: usize,
    /// Whether `--require` was given.
    pub require_given: bool,
    /// The run options passed to every step.
    pub run_options: Vec<String>,
    /// Where the server runs.
    pub server: ServerPlacement,
    /// The workload's shape at the first step, in one line.
    pub workload: String,
}

impl Settings {
    /// Settings from the command line's figures: the steps planned, the SLOs (the defaults
    /// when none), the requirement (`--from` when none).
    ///
    /// # Errors
    ///
    /// As [`steps`], and `--require` above `--to`.
    pub fn new(
        run_id: String,
        (from, to, factor): (usize, usize, f64),
        slos: &[String],
        require: Option<usize>,
        run_options: Vec<String>,
        server: ServerPlacement,
        workload: String,
    ) -> Result<Settings, CapacityError> {
        let planned = steps(from, to, factor)?;
        if let Some(r) = require.filter(|r| *r > to) {
            return Err(CapacityError::RequireAboveTo { require: r, to });
        }
        for s in slos {
            crate::report::parse_slo(s).map_err(CapacityError::Slo)?;
        }
        let default_slos = slos.is_empty();
        Ok(Settings {
            run_id,
            from,
            to,
            factor,
            planned,
            slos: if default_slos {
                DEFAULT_SLOS.iter().map(|s| (*s).to_owned()).collect()
            } else {
                slos.to_vec()
            },
            default_slos,
            require: require.unwrap_or(from),
            require_given: require.is_some(),
            run_options,
            server,
            workload,
        })
    }
}

/// The first step that did not pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Its voters.
    pub voters: usize,
    /// Failed (an SLO or an invariant) or an error.
    pub outcome: Outcome,
    /// Why.
    pub why: String,
    /// Whether the generator may have limited it.
    pub generator_limited: bool,
}

/// What the search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Steps are still to run (the report is written after each one).
    Running,
    /// Every planned step passed: the knee is `--to` or above.
    HeldToTop,
    /// The first failing step broke an SLO or an invariant with the generator within its
    /// limits: the server's knee is the step below.
    ServerKnee,
    /// The generator may have limited the first failing step: the step below is a lower bound
    /// of the server's knee, not the knee.
    GeneratorLimited,
    /// A step could not be run or judged.
    StepError,
}

/// `capacity.json`: the settings, every step run, and what they add up to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReport {
    /// What was asked.
    pub settings: Settings,
    /// The steps run, in order.
    pub steps: Vec<Step>,
    /// The largest step that passed.
    pub knee: Option<usize>,
    /// The first step that did not pass.
    pub first_failure: Option<Failure>,
    /// What the search found.
    pub verdict: Verdict,
    /// The verdict in words.
    pub conclusion: String,
    /// 0: the knee is at least the requirement; 1: it is not, and the server is why; 2: a step
    /// could not be run, or the generator may be why the requirement was not shown.
    pub exit_code: u8,
    /// What may make the search's figures mean less than they seem (machine limits).
    pub warnings: Vec<String>,
}

impl CapacityReport {
    /// A search about to start.
    pub fn new(settings: Settings, warnings: Vec<String>) -> CapacityReport {
        let mut r = CapacityReport {
            settings,
            steps: Vec::new(),
            knee: None,
            first_failure: None,
            verdict: Verdict::Running,
            conclusion: String::new(),
            exit_code: 2,
            warnings,
        };
        r.conclude();
        r
    }

    /// The voters of the next step to run, or none: the search stops at the first step that
    /// does not pass (a broken SLO or invariant, or an error), or after the last one planned.
    pub fn next_step(&self) -> Option<usize> {
        if self.steps.iter().any(|s| s.outcome != Outcome::Pass) {
            return None;
        }
        self.settings.planned.get(self.steps.len()).copied()
    }

    /// Takes a step's result (with a remark when the generator's send lag grew since the step
    /// before) and concludes again.
    pub fn record(&mut self, mut step: Step) {
        if let Some(note) = self.steps.last().and_then(|before| step.lag_growth(before)) {
            step.notes.push(note);
        }
        self.steps.push(step);
        self.conclude();
    }

    /// The knee, the first failure, the verdict, its words and the exit code, from the steps.
    fn conclude(&mut self) {
        let s = &self.settings;
        self.knee = self
            .steps
            .iter()
            .filter(|s| s.outcome == Outcome::Pass)
            .map(|s| s.voters)
            .max();
        self.first_failure = self
            .steps
            .iter()
            .find(|s| s.outcome != Outcome::Pass)
            .map(|f| Failure {
                voters: f.voters,
                outcome: f.outcome,
                why: f.why.clone().unwrap_or_default(),
                generator_limited: f.generator_limited(),
            });
        self.verdict = match &self.first_failure {
            None if self.next_step().is_some() => Verdict::Running,
            None => Verdict::HeldToTop,
            Some(f) if f.outcome == Outcome::Error => Verdict::StepError,
            Some(f) if f.generator_limited => Verdict::GeneratorLimited,
            Some(_) => Verdict::ServerKnee,
        };
        let met = self.knee.is_some_and(|k| k >= s.require);
        self.exit_code = match self.verdict {
            Verdict::Running | Verdict::StepError => 2,
            _ if met => 0,
            Verdict::GeneratorLimited => 2,
            _ => 1,
        };
        self.conclusion = self.words(met);
    }

    fn words(&self, met: bool) -> String {
        let s = &self.settings;
        let n = |v: usize| thousands(v as u64);
        let knee = match self.knee {
            Some(k) => format!("{} voters", n(k)),
            None => "none".into(),
        };
        let mut out = match (&self.verdict, &self.first_failure) {
            (Verdict::Running, _) => format!(
                "Running: {} of {} steps done, the largest passing so far: {knee}.",
                self.steps.len(),
                s.planned.len()
            ),
            (Verdict::HeldToTop, _) => format!(
                "Every step passed up to --to {} voters: the knee is there or above (raise --to to find it).",
                n(s.to)
            ),
            (Verdict::ServerKnee, Some(f)) => match self.knee {
                Some(k) => format!(
                    "The knee: {} voters, the largest step that held every SLO and invariant. At {} voters the server did not: {}",
                    n(k),
                    n(f.voters),
                    f.why
                ),
                None => format!(
                    "No knee: the first step, {} voters, already failed: {}",
                    n(f.voters),
                    f.why
                ),
            },
            (Verdict::GeneratorLimited, Some(f)) => {
                let bottleneck = self
                    .steps
                    .iter()
                    .find(|st| st.voters == f.voters)
                    .and_then(|st| st.figures.as_ref()?.generator_bottleneck.clone())
                    .unwrap_or_default();
                format!(
                    "The generator, not the server, limited this step: add workers or machines. At {} voters {bottleneck}{}; the step failed: {}. {}",
                    n(f.voters),
                    if s.server == ServerPlacement::InProcess {
                        " (the server ran inside the generator's process: run it apart with a profile's [[server]] to tell the two apart)"
                    } else {
                        ""
                    },
                    f.why,
                    match self.knee {
                        Some(k) => format!(
                            "The server held {} voters: a lower bound of its knee, not the knee.",
                            n(k)
                        ),
                        None => "No step passed, so nothing is known of the server's knee.".into(),
                    }
                )
            }
            (Verdict::StepError, Some(f)) => format!(
                "Stopped: the step of {} voters could not be run: {}. The largest passing step before it: {knee}.",
                n(f.voters),
                f.why
            ),
            _ => String::new(),
        };
        if self.verdict != Verdict::Running && (s.require_given || !met) {
            let required = format!("{} voters", n(s.require));
            out.push_str(&match (met, s.require_given) {
                (true, _) => format!(" Required: {required}: met."),
                (false, true) => format!(" Required: {required}: not shown."),
                (false, false) => format!(" Not even the first step ({required}) passed."),
            });
        }
        out
    }

    /// Writes `capacity.json` into `dir`, whole or not at all.
    ///
    /// # Errors
    ///
    /// When it cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), CapacityError> {
        let path = dir.join("capacity.json");
        let io = |source| CapacityError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|source| CapacityError::Json {
            path: path.clone(),
            source,
        })?;
        let tmp = dir.join("capacity.json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Reads `capacity.json` from `dir`.
    ///
    /// # Errors
    ///
    /// When it cannot be read or is not a search's report.
    pub fn read(dir: &Path) -> Result<CapacityReport, CapacityError> {
        let path = dir.join("capacity.json");
        let text = std::fs::read_to_string(&path).map_err(|source| CapacityError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| CapacityError::Json { path, source })
    }
}

//! Every value of a workload checked before a run starts, each failure naming its key.

use super::{Close, Durations, Sizes, Workload, WorkloadError};

impl Workload {
    /// Checks every value; `file` names the source in errors.
    pub fn check(&self, file: &str) -> Result<(), WorkloadError> {
        let bad = |key: &str, reason: String| {
            Err(WorkloadError::Invalid {
                file: file.to_owned(),
                key: key.to_owned(),
                reason,
            })
        };
        let share = |key: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                bad(key, format!("{v} is not a share between 0 and 1"))
            }
        };
        let c = &self.conferences;
        if c.count == 0 {
            return bad("conferences.count", "must be at least 1".into());
        }
        if let Sizes::List(list) = &c.sizes {
            if list.len() != c.count {
                return bad(
                    "conferences.sizes",
                    format!(
                        "{} sizes for {} conferences (conferences.count)",
                        list.len(),
                        c.count
                    ),
                );
            }
            if let Some(n) = c.voters.filter(|n| *n != list.iter().sum::<usize>()) {
                return bad(
                    "conferences.voters",
                    format!(
                        "{n}, but the sizes add up to {} (leave voters out to use their sum)",
                        list.iter().sum::<usize>()
                    ),
                );
            }
        }
        if let Sizes::PowerLaw { power_law } = c.sizes
            && !(0.0..=5.0).contains(&power_law)
        {
            return bad(
                "conferences.sizes.power_law",
                format!("{power_law}: the exponent must be between 0 and 5"),
            );
        }
        if self.voters() < c.count {
            return bad(
                "conferences.voters",
                format!(
                    "{} voters for {} conferences: each needs one",
                    self.voters(),
                    c.count
                ),
            );
        }
        let q = &self.questions;
        if q.count == 0 {
            return bad("questions.count", "must be at least 1".into());
        }
        let durations: Vec<u32> = match &q.duration_s {
            Durations::One(d) => vec![*d],
            Durations::Each(list) if list.is_empty() => {
                return bad("questions.duration_s", "an empty list".into());
            }
            Durations::Each(list) => list.clone(),
        };
        if let Some(d) = durations.iter().find(|d| !(2..=3600).contains(*d)) {
            return bad(
                "questions.duration_s",
                format!("{d}: a question is live 2 to 3600 s"),
            );
        }
        if let Close::Manual { after_s } = q.close
            && !(after_s >= 1.0 && durations.iter().all(|d| after_s < f64::from(*d)))
        {
            return bad(
                "questions.close.after_s",
                format!("{after_s}: at least 1 s and shorter than every question's duration"),
            );
        }
        if !(0.0..=600.0).contains(&q.gap_s) {
            return bad("questions.gap_s", format!("{}: 0 to 600 s", q.gap_s));
        }
        share("votes.share", self.votes.share)?;
        share("votes.retry_share", self.votes.retry_share)?;
        if let Err(reason) = self.votes.timing.check() {
            return bad("votes.timing", reason);
        }
        let ch = &self.churn;
        share("churn.late_share", ch.late_share)?;
        for (key, v) in [
            ("churn.join_per_s", ch.join_per_s),
            ("churn.leave_per_s", ch.leave_per_s),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(key, format!("{v}: a rate is 0 or more per second"));
            }
        }
        if let Some(w) = ch.late_within_s
            && !(w > 0.0 && w * 1000.0 < self.open_ms(0) as f64)
        {
            return bad(
                "churn.late_within_s",
                format!(
                    "{w}: more than 0 and shorter than the first question ({} s open)",
                    self.open_ms(0) / 1000
                ),
            );
        }
        let arriving = ch.late_share + self.join_shares().iter().sum::<f64>();
        if arriving > 0.9 {
            return bad(
                "churn",
                format!(
                    "late_share + join_per_s × the questions' open time = {:.0} % of the voters would arrive late; at most 90 %",
                    arriving * 100.0
                ),
            );
        }
        if let Some(s) = &ch.storm {
            share("churn.storm.share", s.share)?;
            if !(1..=q.count).contains(&s.question) {
                return bad(
                    "churn.storm.question",
                    format!("{}: questions are 1 to {}", s.question, q.count),
                );
            }
            let open = self.open_ms(s.question - 1) as f64 / 1000.0;
            if !(s.at_s >= 0.0 && s.at_s < open) {
                return bad(
                    "churn.storm.at_s",
                    format!("{}: within the question's {open} s", s.at_s),
                );
            }
            if !(s.back_within_s >= 0.0 && s.back_within_s <= 600.0) {
                return bad(
                    "churn.storm.back_within_s",
                    format!("{}: 0 to 600 s", s.back_within_s),
                );
            }
        }
        if let Some(s) = &ch.slow_readers {
            share("churn.slow_readers.share", s.share)?;
            if !(1..=q.count).contains(&s.question) {
                return bad(
                    "churn.slow_readers.question",
                    format!("{}: questions are 1 to {}", s.question, q.count),
                );
            }
            let open = self.open_ms(s.question - 1) as f64 / 1000.0;
            if !(s.at_s >= 0.0 && s.at_s < open) {
                return bad(
                    "churn.slow_readers.at_s",
                    format!("{}: within the question's {open} s", s.at_s),
                );
            }
            if let Some(b) = s.recv_buffer.filter(|b| *b < 1024) {
                return bad(
                    "churn.slow_readers.recv_buffer",
                    format!("{b}: at least 1024 bytes"),
                );
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            if let Err(reason) = f.check() {
                return bad(&format!("faults[{i}]"), reason);
            }
            if f.at.question >= q.count {
                return bad(
                    &format!("faults[{i}].at"),
                    format!("{}: questions are 1 to {}", f.at, q.count),
                );
            }
        }
        Ok(())
    }
}

//! The sample conference: what the server's tests, the feature suite (`conformance`), the load
//! generator and the footprint example create through the Control API (D8), built once.
//!
//! A standard question has the options A–D with the texts "Answer A" … "Answer D" (the feature
//! files and the server's tests check these texts) and one correct option; its question text is
//! the caller's ([`question_text`] gives the usual "Question q1?").
//!
//! ```
//! use lcr_testkit::conference;
//! let spec = conference::spec(
//!     "hana",
//!     None,
//!     conference::QUESTIONS
//!         .iter()
//!         .map(|(q, correct)| conference::question(*q, conference::question_text(q), *correct))
//!         .collect(),
//! );
//! assert!(spec.validate().is_ok());
//! assert_eq!(spec.questions[0].question_text, "Question q1?");
//! assert_eq!(spec.questions[1].options[3].text, "Answer D");
//! assert_eq!(spec.questions[2].correct_option, "C");
//! ```

use lcr_protocol::ConferenceStatus;
use lcr_protocol::admin::{ConferenceSpec, QuestionSpec};
use lcr_protocol::server::QuestionOption;

/// The option keys of a standard question.
pub const OPTION_KEYS: [&str; 4] = ["A", "B", "C", "D"];

/// The standard questions of a conference: (logical question id, correct option) — q1 (A
/// right), q2 (B), q3 (C).
pub const QUESTIONS: [(&str, &str); 3] = [("q1", "A"), ("q2", "B"), ("q3", "C")];

/// The options of a standard question: A–D, with the texts "Answer A" … "Answer D".
pub fn options() -> Vec<QuestionOption> {
    OPTION_KEYS
        .iter()
        .map(|k| QuestionOption {
            key: (*k).to_owned(),
            text: format!("Answer {k}"),
        })
        .collect()
}

/// The text of question `label` in the tests and the feature files: "Question {label}?".
pub fn question_text(label: &str) -> String {
    format!("Question {label}?")
}

/// A standard question: `id`, `text`, the options of [`options`], `correct` right.
pub fn question(
    id: impl Into<String>,
    text: impl Into<String>,
    correct: impl Into<String>,
) -> QuestionSpec {
    QuestionSpec {
        question_id: id.into(),
        question_text: text.into(),
        options: options(),
        correct_option: correct.into(),
    }
}

/// The body of `PUT /admin/conferences/{id}`: hosted by `host`, in `status` (DRAFT when
/// `None`), with `questions`.
pub fn spec(
    host: impl Into<String>,
    status: Option<ConferenceStatus>,
    questions: Vec<QuestionSpec>,
) -> ConferenceSpec {
    ConferenceSpec {
        host_user_id: host.into(),
        status,
        questions,
    }
}

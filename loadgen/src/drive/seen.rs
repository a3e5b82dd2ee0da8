//! The fields a voter reads of any event, decoded straight from the frame, borrowing its
//! strings: a voter handles about a message a second for the whole run, so no `Value` tree.
//! Lenient: fields a server leaves out are `None`, fields it adds are skipped.

use std::borrow::Cow;

use lcr_client::EventFrame;
use serde::Deserialize;

/// The union of the fields of the events a voter handles.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Seen<'a> {
    #[serde(borrow)]
    pub question_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub live_question: Option<SeenLive<'a>>,
    pub started_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub time_remaining: Option<i64>,
    pub timestamp: Option<i64>,
    pub closed_at: Option<i64>,
    #[serde(borrow)]
    pub selected_option: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    /// Left undecoded: only a final result's counts are read, and `vote:result`, the most
    /// frequent message, carries them too.
    #[serde(borrow)]
    pub option_counts: Option<&'a serde_json::value::RawValue>,
    pub total_votes: Option<u64>,
    #[serde(borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub context: Option<SeenContext<'a>>,
}

/// `conference:joined.liveQuestion` (D13): the question live when the voter joined.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SeenLive<'a> {
    #[serde(borrow)]
    pub question_id: Option<Cow<'a, str>>,
    pub started_at: Option<i64>,
}

/// `error.context`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SeenContext<'a> {
    #[serde(borrow)]
    pub event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub question_id: Option<Cow<'a, str>>,
}

/// Decodes a frame for a voter; `None` for a frame it cannot read (counted as a delivery and
/// reported as an `error` of code `UNREADABLE`: a server bug the run must show).
pub(crate) fn seen(frame: &EventFrame) -> Option<(Cow<'_, str>, Seen<'_>)> {
    frame
        .parse::<Seen>()
        .map(|(name, data)| (name, data.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conference_joined_tells_the_live_question_d13() {
        let joined: Seen = serde_json::from_str(
            r#"{"conferenceId":"c","conferenceStatus":"ACTIVE","audienceCount":3,"liveQuestion":
                {"conferenceId":"c","questionId":"run-q1","questionText":"?","options":[],
                 "duration":45,"startedAt":1700,"expiresAt":46700}}"#,
        )
        .unwrap();
        let live = joined.live_question.expect("liveQuestion");
        assert_eq!(
            (live.question_id.as_deref(), live.started_at),
            (Some("run-q1"), Some(1700))
        );
        let none: Seen =
            serde_json::from_str(r#"{"conferenceId":"c","liveQuestion":null}"#).unwrap();
        assert!(none.live_question.is_none());
    }
}

//! The single-server report: a self-contained page with the verdict and counts, then per
//! feature every scenario with its outcome; each opens to its steps (the failing one with what
//! was expected and what was observed) and to what each actor received.

use std::fmt::Write as _;

use super::{Outcome, Report, ScenarioReport, anchor, escape};

/// The colours and layout shared by the report and the matrix.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\
h1 span{padding:.1em .5em;border-radius:4px;color:#fff}.PASS{background:#2a7d2a}.FAIL{background:#b22}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .5em;\
vertical-align:top;text-align:left}th{background:#f3f3f3}.passed{background:#e7f6e7}\
.failed{background:#fde8e8}.not-claimed{background:#eef0f5;color:#555}.not-applicable{background:#fff6dd}\
details{border:1px solid #ddd;border-radius:4px;margin:.3em 0;padding:.2em .6em}\
details summary{cursor:pointer}pre{white-space:pre-wrap;margin:0;font-size:.85em}\
.tag{font-size:.8em;color:#555;margin-left:.4em}.badge{display:inline-block;min-width:7.5em;\
padding:0 .4em;border-radius:3px;font-size:.85em}.muted{color:#777;font-size:.85em}";

fn badge(o: Outcome) -> String {
    let class = o.as_str().replace(' ', "-");
    format!("<span class=\"badge {class}\">{}</span>", o.as_str())
}

fn scenario(feature: &str, s: &ScenarioReport, out: &mut String) {
    let tags: String = s
        .tags
        .iter()
        .map(|t| format!("<span class=\"tag\">{}</span>", escape(t)))
        .collect();
    let open = if s.outcome == Outcome::Failed {
        " open"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<details id=\"{}\" class=\"{}\"{open}><summary>{} {}{tags} <span class=\"muted\">{:.0} ms, line {}</span></summary>",
        anchor(feature, s.line),
        s.outcome.as_str().replace(' ', "-"),
        badge(s.outcome),
        escape(&s.name),
        s.duration_ms,
        s.line
    );
    if let Some(reason) = &s.reason {
        let _ = write!(out, "<p><b>Why it did not run:</b> {}</p>", escape(reason));
    }
    out.push_str("<table><tr><th>step</th><th>status</th><th>ms</th></tr>");
    for step in &s.steps {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}{}</td><td>{}</td><td>{:.0}</td></tr>",
            match step.status.as_str() {
                "passed" => "passed",
                "failed" | "skipped" | "undefined" => "failed",
                _ => "not-claimed",
            },
            escape(&step.text),
            step.error
                .as_ref()
                .map(|e| format!("<pre>{}</pre>", escape(e)))
                .unwrap_or_default(),
            escape(&step.status),
            step.duration_ms
        );
    }
    out.push_str("</table>");
    for a in &s.actors {
        let _ = write!(
            out,
            "<details><summary><b>{}</b> <span class=\"muted\">({}) received {} message(s)</span></summary>",
            escape(&a.name),
            escape(&a.user_id),
            a.received.len()
        );
        if let Some(e) = &a.connect_error {
            let _ = write!(
                out,
                "<p>connect_error: <code>{}</code></p>",
                escape(&e.to_string())
            );
        }
        out.push_str("<table><tr><th>+ms</th><th>event</th><th>payload</th></tr>");
        for m in &a.received {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                m.at_ms,
                escape(&m.event),
                escape(&m.data.to_string())
            );
        }
        out.push_str("</table></details>");
    }
    out.push_str("</details>\n");
}

/// The report as a self-contained HTML page.
pub fn page(r: &Report) -> String {
    let verdict = if r.summary.failed == 0 {
        "PASS"
    } else {
        "FAIL"
    };
    let s = &r.summary;
    let mut out = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Conformance: {verdict} — {}</title>\
<style>{STYLE}</style></head><body>\n<h1>Conformance <span class=\"{verdict}\">{verdict}</span></h1>\n\
<p>Profile <b>{}</b>, target <code>{}</code></p>\n<p>{} {} &nbsp; {} {} &nbsp; {} {} &nbsp; {} {} \
<span class=\"muted\">(only failed fails the run)</span></p>\n",
        escape(&r.profile),
        escape(&r.profile),
        escape(&r.target),
        badge(Outcome::Passed),
        s.passed,
        badge(Outcome::Failed),
        s.failed,
        badge(Outcome::NotClaimed),
        s.not_claimed,
        badge(Outcome::NotApplicable),
        s.not_applicable,
    );
    if !r.node_logs.is_empty() {
        let links: Vec<String> = r
            .node_logs
            .iter()
            .map(|l| format!("<a href=\"{0}\">{0}</a>", escape(l)))
            .collect();
        let _ = writeln!(out, "<p>Node logs: {}</p>", links.join(", "));
    }
    out.push_str("<table><tr><th>feature</th><th>sections</th><th>passed</th><th>failed</th><th>not claimed</th><th>not applicable</th></tr>\n");
    for f in &r.features {
        let n = |o: Outcome| f.scenarios.iter().filter(|s| s.outcome == o).count();
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#f-{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            anchor(&f.name, 0),
            escape(&f.name),
            f.sections.join(" "),
            n(Outcome::Passed),
            n(Outcome::Failed),
            n(Outcome::NotClaimed),
            n(Outcome::NotApplicable)
        );
    }
    out.push_str("</table>\n");
    for f in &r.features {
        let _ = writeln!(
            out,
            "<h2 id=\"f-{}\">{}</h2><p class=\"muted\"><code>{}</code> {}</p>",
            anchor(&f.name, 0),
            escape(&f.name),
            escape(&f.uri),
            f.sections.join(" ")
        );
        for s in &f.scenarios {
            scenario(&f.name, s, &mut out);
        }
    }
    out.push_str("</body></html>\n");
    out
}

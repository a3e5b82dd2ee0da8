//! Several servers side by side, the way Autobahn's testsuite compares WebSocket
//! implementations: one row per scenario, grouped by protocol section (feature), one column per
//! implementation, each cell its graded outcome linking to that server's own report; totals per
//! section and implementation; and `index.json` for machines.
//!
//! ```
//! use conformance::report::matrix::{Column, Matrix};
//! use conformance::report::Report;
//! let json = serde_json::json!([{"uri": "features/v.feature", "name": "Voting", "elements": [
//!     {"name": "A vote", "line": 3, "steps": [{"keyword": "When ", "name": "x", "result": {"status": "passed"}}]}]}]);
//! let a = Report::build(&json, &[], "server A", "http://a");
//! let m = Matrix::new(vec![Column { name: "server A".into(), report_dir: "a".into(), report: a }]);
//! assert_eq!(m.rows.len(), 1);
//! assert!(m.html().contains("server A") && m.html().contains("a/index.html#voting-3"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::html::STYLE;
use super::{Outcome, Report, Summary, anchor, escape, protocol_order};

/// One implementation's run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Column {
    /// Its profile's name.
    pub name: String,
    /// Its report folder, relative to the matrix's.
    pub report_dir: String,
    /// Its report.
    #[serde(skip)]
    pub report: Report,
}

/// One scenario across the implementations.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Its feature.
    pub feature: String,
    /// Its name.
    pub scenario: String,
    /// Its line.
    pub line: usize,
    /// The outcome per implementation, in column order (`None`: it was not in that run, e.g.
    /// left out by `--tags`).
    pub outcomes: Vec<Option<Outcome>>,
    /// Why, per implementation, when it did not run.
    pub reasons: Vec<Option<String>>,
}

/// The matrix.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrix {
    /// The implementations.
    pub columns: Vec<Column>,
    /// Their summaries, in column order.
    pub summaries: Vec<Summary>,
    /// Features with their sections, in protocol order.
    pub sections: Vec<(String, Vec<String>)>,
    /// The scenarios.
    pub rows: Vec<Row>,
}

impl Matrix {
    /// The matrix of `columns`, rows in the order of the features and lines.
    pub fn new(columns: Vec<Column>) -> Matrix {
        let mut sections: Vec<(String, Vec<String>)> = Vec::new();
        let mut rows: BTreeMap<(usize, usize, String), Row> = BTreeMap::new();
        let n = columns.len();
        for (c, col) in columns.iter().enumerate() {
            for f in &col.report.features {
                let fi = match sections.iter().position(|(name, _)| name == &f.name) {
                    Some(i) => i,
                    None => {
                        sections.push((f.name.clone(), f.sections.clone()));
                        sections.len() - 1
                    }
                };
                for s in &f.scenarios {
                    let row = rows
                        .entry((fi, s.line, s.name.clone()))
                        .or_insert_with(|| Row {
                            feature: f.name.clone(),
                            scenario: s.name.clone(),
                            line: s.line,
                            outcomes: vec![None; n],
                            reasons: vec![None; n],
                        });
                    row.outcomes[c] = Some(s.outcome);
                    row.reasons[c] = s.reason.clone().or_else(|| s.failed_step.clone());
                }
            }
        }
        // Protocol order: by the first section a feature covers; features without one last.
        let mut ordered: Vec<usize> = (0..sections.len()).collect();
        ordered.sort_by_key(|&i| protocol_order(&sections[i].1));
        let rank = |fi: usize| ordered.iter().position(|&i| i == fi).unwrap_or(fi);
        let rows: BTreeMap<(usize, usize, String), Row> = rows
            .into_iter()
            .map(|((fi, line, name), row)| ((rank(fi), line, name), row))
            .collect();
        let sections = ordered.iter().map(|&i| sections[i].clone()).collect();
        Matrix {
            summaries: columns.iter().map(|c| c.report.summary.clone()).collect(),
            columns,
            sections,
            rows: rows.into_values().collect(),
        }
    }

    /// `index.json`.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// `index.html`.
    pub fn html(&self) -> String {
        let mut out = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Conformance matrix</title>\
<style>{STYLE} td.cell{{text-align:center;white-space:nowrap}} td.cell a{{color:inherit}} \
.n{{display:inline-block;min-width:2.4em;margin:0 .1em;padding:0 .2em;border-radius:3px;font-size:.85em}}</style></head><body>\n\
<h1>Conformance matrix</h1>\n<p>{} implementation(s), {} scenarios. Each cell links to that \
server's own report; only <i>failed</i> is a failure: <i>not claimed</i> rests on a decision or \
part the server's profile does not claim, <i>not applicable</i> is beyond what its profile's \
fixture or auth can drive.</p>\n",
            self.columns.len(),
            self.rows.len()
        );
        let header: String = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "<th><a href=\"{}/index.html\">{}</a></th>",
                    escape(&c.report_dir),
                    escape(&c.name)
                )
            })
            .collect();
        out.push_str("<h2>Totals</h2><table><tr><th>section</th>");
        out.push_str(&header);
        out.push_str("</tr>\n");
        let totals = |rows: &mut dyn Iterator<Item = &Row>| -> Vec<[usize; 4]> {
            let mut t = vec![[0usize; 4]; self.columns.len()];
            for r in rows {
                for (c, o) in r.outcomes.iter().enumerate() {
                    if let Some(o) = o {
                        t[c][*o as usize] += 1;
                    }
                }
            }
            t
        };
        let cell = |t: [usize; 4]| {
            format!(
                "<td class=\"cell\"><span class=\"n passed\">{}</span><span class=\"n failed\">{}</span><span class=\"n not-claimed\">{}</span><span class=\"n not-applicable\">{}</span></td>",
                t[0], t[1], t[2], t[3]
            )
        };
        for (feature, sections) in &self.sections {
            let t = totals(&mut self.rows.iter().filter(|r| &r.feature == feature));
            let _ = write!(
                out,
                "<tr><td><a href=\"#{}\">{}</a> <span class=\"muted\">{}</span></td>",
                anchor(feature, 0),
                escape(feature),
                sections.join(" ")
            );
            for c in t {
                out.push_str(&cell(c));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("<tr><th>all</th>");
        for c in totals(&mut self.rows.iter()) {
            out.push_str(&cell(c));
        }
        out.push_str(
            "</tr></table><p class=\"muted\">Each cell: passed, failed, not claimed, not applicable.</p>\n",
        );
        for (feature, sections) in &self.sections {
            let _ = writeln!(
                out,
                "<h2 id=\"{}\">{} <span class=\"muted\">{}</span></h2><table><tr><th>scenario</th>{header}</tr>",
                anchor(feature, 0),
                escape(feature),
                sections.join(" ")
            );
            for r in self.rows.iter().filter(|r| &r.feature == feature) {
                let _ = write!(out, "<tr><td>{}</td>", escape(&r.scenario));
                for (c, col) in self.columns.iter().enumerate() {
                    match r.outcomes[c] {
                        Some(o) => {
                            let _ = write!(
                                out,
                                "<td class=\"cell {}\" title=\"{}\"><a href=\"{}/index.html#{}\">{}</a></td>",
                                o.as_str().replace(' ', "-"),
                                escape(r.reasons[c].as_deref().unwrap_or("")),
                                escape(&col.report_dir),
                                anchor(&r.feature, r.line),
                                o.as_str()
                            );
                        }
                        None => out.push_str("<td class=\"cell muted\">—</td>"),
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}

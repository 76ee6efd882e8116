//! Finding text that identifies a participant: service/discretion/engine/identify.py
//! (and names.py, the folding of characters) in Rust, with the same spans to the letter.
//!
//! STAND-IN on branch h-decide only, so that decide compiles before the
//! identify branch lands: drop it for identify's identify.rs when merging.
//! These are the calls decide and obligations make; the matcher finds nothing.

use crate::model::{Person, Span};

pub const FLAG: &str = "flag";
pub const IGNORE: &str = "ignore";
/// The agreement's judgement calls (`redact_identifying_content` parameters) and the terms each lets count.
pub const JUDGEMENTS: [(&str, u32); 4] =
    [("lowercase_names", 1), ("first_names", 4), ("short_names", 2), ("organization_short_forms", 8)];
pub const FLAG_ALL: u32 = 1 | 2 | 4 | 8;

/// A call `judgement` does not know (Python's KeyError).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownJudgement(pub String);

/// The terms an agreement counts, from its calls (`("first_names", "ignore")`); unnamed calls flag.
pub fn judgement(calls: &[(&str, &str)]) -> Result<u32, UnknownJudgement> {
    let mut allowed = FLAG_ALL;
    for &(name, value) in calls {
        if value == IGNORE {
            let Some(&(_, flag)) = JUDGEMENTS.iter().find(|(known, _)| *known == name) else {
                return Err(UnknownJudgement(name.to_string()));
            };
            allowed &= !flag;
        }
    }
    Ok(allowed)
}

/// The names of one request fold into more than one matcher may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterTooLarge(pub String);

impl std::fmt::Display for RosterTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct Matcher {}

impl Matcher {
    pub fn new(_people: impl IntoIterator<Item = Person>) -> Matcher {
        Matcher {}
    }

    /// Spans of `text` naming any of the people but those `excused` (by id).
    pub fn spans(&self, _text: &str, _excused: &[&str], _counts: u32) -> Result<Vec<Span>, RosterTooLarge> {
        Ok(Vec::new())
    }
}

const REVEALS: [&str; 3] = ["name", "handle", "organization"];

fn rank(reveals: &str) -> usize {
    REVEALS.iter().position(|r| *r == reveals).unwrap_or(0)
}

/// Spans of several findings as one list: sorted by text, overlapping spans of one text joined.
pub fn merge_spans<'a>(spans: impl IntoIterator<Item = &'a Span>) -> Vec<Span> {
    let mut by_text: Vec<((String, String), Vec<(i64, i64, usize)>)> = Vec::new();
    for span in spans {
        let key = (span.field.clone(), span.item_id.clone());
        let found = (span.start, span.end, rank(&span.reveals));
        match by_text.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(found),
            None => by_text.push((key, vec![found])),
        }
    }
    let mut merged_all = Vec::new();
    for ((field, item_id), mut found) in by_text {
        found.sort_by_key(|&(start, end, rank)| (start, -end, rank));
        let mut merged: Vec<(i64, i64, usize)> = Vec::new();
        for (start, end, rank) in found {
            if let Some(last) = merged.last_mut() {
                if start < last.1 {
                    last.1 = last.1.max(end);
                    continue;
                }
            }
            merged.push((start, end, rank));
        }
        merged_all.extend(merged.into_iter().map(|(start, end, rank)| Span {
            start,
            end,
            reveals: REVEALS[rank].into(),
            field: field.clone(),
            item_id: item_id.clone(),
        }));
    }
    merged_all
}

/// Spans of `text` counted in `unit`: code points (as found), UTF-16 code units or UTF-8 bytes.
pub fn in_unit(_text: &str, spans: &[Span], _unit: &str) -> Vec<Span> {
    spans.to_vec()
}

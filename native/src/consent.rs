//! Whether a person's consent holds at the time of the request: service/discretion/engine/consent.py in Rust.
//!
//! TODO(decide): to be written. What is here is the conditions branch's stand-in, so that conditions
//! compile and its tests run: consent.py's logic, with names.fold for ASCII only.

use crate::compiled::Scope;
use crate::model::{Consent, Destination, Instant};

const UNBOUNDED: [&str; 3] = ["public", "ai_tool", "third_party_service"];

fn loose(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// An event's rank: (when, a withdrawal?, names recipients?); `None` for "since ever".
type Rank = (Option<Instant>, bool, bool);

/// The person's last event for `kind` at or before `now`: (record, withdrawn?).
fn latest<'c>(consents: &'c [Consent], person_id: &str, kind: &str, now: Instant) -> Option<(&'c Consent, bool)> {
    if person_id.is_empty() {
        return None;
    }
    let (loose_person, loose_kind) = (loose(person_id), loose(kind));
    let mut best: Option<(Rank, &Consent)> = None;
    for consent in consents {
        let exact = consent.by == person_id && consent.scope == kind;
        // A withdrawal counts however its person and scope are spelled; a grant only when spelled exactly.
        let loosely = consent.withdrawn_at.is_some()
            && loose(&consent.by) == loose_person
            && loose(&consent.scope) == loose_kind;
        if !(exact || loosely) {
            continue;
        }
        let (granted, withdrawn) = (consent.granted_at, consent.withdrawn_at);
        let odd = matches!((withdrawn, granted), (Some(w), Some(g)) if w < g);
        if exact && !odd {
            let rank = (granted, false, !consent.recipients.is_empty());
            if granted.is_none_or(|g| g <= now) && best.as_ref().is_none_or(|(b, _)| rank >= *b) {
                best = Some((rank, consent));
            }
        }
        if let Some(w) = withdrawn.filter(|w| *w <= now) {
            let rank = (Some(w), true, true);
            if best.as_ref().is_none_or(|(b, _)| rank >= *b) {
                best = Some((rank, consent));
            }
        }
    }
    best.map(|((_, withdrawn, _), consent)| (consent, withdrawn))
}

pub fn holds(scope: &Scope<'_>, person_id: &str, kind: &str) -> bool {
    match latest(&scope.item.consents, person_id, kind, scope.requested_at) {
        Some((consent, false)) => consent.recipients.is_empty() || covers(consent, &scope.request.destination),
        _ => false,
    }
}

fn covers(consent: &Consent, destination: &Destination) -> bool {
    if UNBOUNDED.contains(&destination.kind.as_str())
        || destination.publicly_accessible
        || destination.recipients.is_empty()
    {
        return false;
    }
    destination
        .recipients
        .iter()
        .all(|r| !r.id.is_empty() && consent.recipients.iter().any(|n| !n.is_empty() && *n == r.id))
}

pub fn withdrawn(scope: &Scope<'_>, person_id: &str, kind: &str) -> bool {
    matches!(latest(&scope.item.consents, person_id, kind, scope.requested_at), Some((_, true)))
}

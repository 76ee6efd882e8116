//! Whether a person's consent holds at the time of the request: service/discretion/engine/consent.py in Rust.
//!
//! A person's consents to one scope form a history of events: each record is a
//! grant at `granted_at` (unknown: since ever) and, if it has `withdrawn_at`, a
//! withdrawal then. The latest event at or before `requested_at` is the person's
//! answer; a withdrawal and a grant at the same instant read as the withdrawal.
//! So a withdrawal ends every earlier grant, not only its own record, and a
//! later grant restores consent (withdrawal works forward, GDPR Art. 7(3)).
//!
//! A blank person id never matches: an author without an id has given no consent.
//!
//! A grant that names recipients holds only for a destination that lists
//! recipients, all of them named in the grant. An audience without listed
//! recipients (the public, an AI tool, a service, a publicly accessible place)
//! never satisfies it: nobody can say who would read it.

use crate::compiled::Scope;
use crate::model::{Consent, Destination, Instant};
use crate::names::fold;
use crate::terms::Moment;

const UNBOUNDED: [&str; 3] = ["public", "ai_tool", "third_party_service"];

/// The person's last event for `kind` at or before `now`: (record, withdrawn?), or None.
pub fn latest<'c>(consents: &'c [Consent], person_id: &str, kind: &str, now: Instant) -> Option<(&'c Consent, bool)> {
    if person_id.is_empty() {
        return None;
    }
    let (loose_person, loose_kind) = (loose(person_id), loose(kind));
    // Python compares (instant, withdrawn?, names recipients?) tuples; `-inf` is Moment::SinceEver.
    let mut best: Option<((Moment, bool, bool), &Consent)> = None;
    for consent in consents {
        let exact = consent.by == person_id && consent.scope == kind;
        // A withdrawal counts however its person and scope are spelled (names::fold); a grant only when
        // spelled exactly.
        if !exact
            && !(consent.withdrawn_at.is_some() && loose(&consent.by) == loose_person && loose(&consent.scope) == loose_kind)
        {
            continue;
        }
        let (granted, withdrawn) = (consent.granted_at, consent.withdrawn_at);
        // A record withdrawn before it was granted is a withdrawal; its grant never stood.
        let odd = matches!((withdrawn, granted), (Some(w), Some(g)) if w < g);
        if exact && !odd {
            let at = Moment::from_option(granted);
            // At one instant a withdrawal beats a grant, and a grant naming recipients one that names none.
            let rank = (at, false, !consent.recipients.is_empty());
            if at <= Moment::At(now) && best.map_or(true, |(held, _)| rank >= held) {
                best = Some((rank, consent));
            }
        }
        if let Some(withdrawn) = withdrawn {
            if withdrawn <= now {
                let rank = (Moment::At(withdrawn), true, true);
                if best.map_or(true, |(held, _)| rank >= held) {
                    best = Some((rank, consent));
                }
            }
        }
    }
    best.map(|((_, withdrawn, _), consent)| (consent, withdrawn))
}

fn loose(text: &str) -> String {
    fold(text)
}

pub fn holds(scope: &Scope<'_>, person_id: &str, kind: &str) -> bool {
    match latest(&scope.item.consents, person_id, kind, scope.requested_at) {
        None | Some((_, true)) => false,
        Some((consent, false)) => consent.recipients.is_empty() || covers(consent, &scope.request.destination),
    }
}

fn covers(consent: &Consent, destination: &Destination) -> bool {
    if UNBOUNDED.contains(&destination.kind.as_str()) || destination.publicly_accessible || destination.recipients.is_empty() {
        return false;
    }
    let named: Vec<&str> = consent.recipients.iter().map(String::as_str).filter(|r| !r.is_empty()).collect();
    destination.recipients.iter().all(|r| !r.id.is_empty() && named.contains(&r.id.as_str()))
}

pub fn withdrawn(scope: &Scope<'_>, person_id: &str, kind: &str) -> bool {
    matches!(latest(&scope.item.consents, person_id, kind, scope.requested_at), Some((_, true)))
}

/// Whether the person's last event is a grant dated at or after `since` (a grant of unknown date is not)
/// that covers the destination.
pub fn granted_since(consents: &[Consent], person_id: &str, kind: &str, since: Moment, now: Instant,
                     destination: &Destination) -> bool {
    match latest(consents, person_id, kind, now) {
        None | Some((_, true)) => false,
        Some((consent, false)) => {
            consent.granted_at.is_some_and(|granted| Moment::At(granted) >= since)
                && (consent.recipients.is_empty() || covers(consent, destination))
        }
    }
}

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
            && !(consent.withdrawn_at.is_some()
                && loose(&consent.by) == loose_person
                && loose(&consent.scope) == loose_kind)
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
            if at <= Moment::At(now) && best.is_none_or(|(held, _)| rank >= held) {
                best = Some((rank, consent));
            }
        }
        if let Some(withdrawn) = withdrawn {
            if withdrawn <= now {
                let rank = (Moment::At(withdrawn), true, true);
                if best.is_none_or(|(held, _)| rank >= held) {
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
    if UNBOUNDED.contains(&destination.kind.as_str())
        || destination.publicly_accessible
        || destination.recipients.is_empty()
    {
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
pub fn granted_since(
    consents: &[Consent],
    person_id: &str,
    kind: &str,
    since: Moment,
    now: Instant,
    destination: &Destination,
) -> bool {
    match latest(consents, person_id, kind, now) {
        None | Some((_, true)) => false,
        Some((consent, false)) => {
            consent.granted_at.is_some_and(|granted| Moment::At(granted) >= since)
                && (consent.recipients.is_empty() || covers(consent, destination))
        }
    }
}

#[cfg(test)]
mod tests {
    //! consent.py's reading of a history of consents.
    use super::*;
    use crate::model::Recipient;

    fn consent(by: &str, scope: &str, granted: Option<Instant>, withdrawn: Option<Instant>) -> Consent {
        Consent {
            by: by.into(),
            scope: scope.into(),
            granted_at: granted,
            withdrawn_at: withdrawn,
            ..Consent::default()
        }
    }

    fn answer(consents: &[Consent], now: Instant) -> Option<(usize, bool)> {
        latest(consents, "u1", "quote", now)
            .map(|(c, withdrawn)| (consents.iter().position(|x| std::ptr::eq(x, c)).unwrap_or(99), withdrawn))
    }

    #[test]
    fn the_latest_event_answers_and_a_withdrawal_ends_every_earlier_grant() {
        let history = [consent("u1", "quote", Some(10), None), consent("u1", "quote", Some(5), Some(20))];
        assert_eq!(answer(&history, 15), Some((0, false)));
        assert_eq!(answer(&history, 25), Some((1, true)));
        assert_eq!(answer(&history, 4), None);
        // A later grant restores consent.
        let restored = [consent("u1", "quote", Some(5), Some(20)), consent("u1", "quote", Some(30), None)];
        assert_eq!(answer(&restored, 30), Some((1, false)));
    }

    #[test]
    fn at_one_instant_a_withdrawal_beats_a_grant() {
        let history = [consent("u1", "quote", Some(10), None), consent("u1", "quote", Some(1), Some(10))];
        assert_eq!(answer(&history, 10), Some((1, true)));
    }

    #[test]
    fn a_grant_of_unknown_date_stands_since_ever_but_is_no_grant_since_a_change() {
        let history = [consent("u1", "quote", None, None)];
        assert_eq!(answer(&history, Instant::MIN), Some((0, false)));
        assert!(!granted_since(&history, "u1", "quote", Moment::SinceEver, 5, &Destination::default()));
        let dated = [consent("u1", "quote", Some(3), None)];
        assert!(granted_since(&dated, "u1", "quote", Moment::At(3), 5, &Destination::default()));
        assert!(!granted_since(&dated, "u1", "quote", Moment::At(4), 5, &Destination::default()));
    }

    #[test]
    fn a_withdrawal_counts_however_it_is_spelled_a_grant_only_exactly() {
        let loose = [consent("U1", "Quote", Some(1), Some(2))];
        assert_eq!(answer(&loose, 5), Some((0, true)));
        let grant = [consent("U1", "quote", Some(1), None)];
        assert_eq!(answer(&grant, 5), None);
    }

    #[test]
    fn a_record_withdrawn_before_it_was_granted_is_only_a_withdrawal() {
        let odd = [consent("u1", "quote", Some(10), Some(5))];
        assert_eq!(answer(&odd, 20), Some((0, true)));
        assert_eq!(answer(&odd, 4), None);
    }

    #[test]
    fn a_blank_person_has_given_nothing() {
        assert!(latest(&[consent("", "quote", None, None)], "", "quote", 5).is_none());
    }

    #[test]
    fn a_grant_naming_recipients_covers_only_a_destination_listing_them_all() {
        let mut grant = consent("u1", "quote", Some(1), None);
        grant.recipients = vec!["r0".into(), "".into()];
        let to = |ids: &[&str], kind: &str, public: bool| Destination {
            kind: kind.into(),
            publicly_accessible: public,
            recipients: ids.iter().map(|id| Recipient { id: id.to_string(), organization: String::new() }).collect(),
            ..Destination::default()
        };
        let covered =
            |d: &Destination| granted_since(std::slice::from_ref(&grant), "u1", "quote", Moment::SinceEver, 5, d);
        assert!(covered(&to(&["r0"], "external_individual", false)));
        assert!(!covered(&to(&["r0", "r1"], "external_individual", false)));
        assert!(!covered(&to(&[""], "external_individual", false)));
        assert!(!covered(&to(&[], "external_individual", false)));
        assert!(!covered(&to(&["r0"], "ai_tool", false)));
        assert!(!covered(&to(&["r0"], "external_individual", true)));
    }
}

//! Labels in the sharing communities' own forms, read as the engines' schemes before any rule reads a label.
//!
//! The twin of engine/community.py (read there for why): a MISP machine tag (`tlp:amber+strict`, `tlp:ex:chr`,
//! `PAP:RED`) or a STIX 2.1 marking id is read as the label of the scheme an agreement defines, as the source's;
//! an unknown `tlp:` value and `tlp:unclear` read as RED; a tag of another namespace or a marking that is not TLP
//! stays as received and its item is denied. A Python test holds these tables equal to the reference's.

use std::collections::BTreeMap;

use crate::decide::SOURCE_SETTERS;
use crate::model::{Instant, Label, SECOND};
use crate::names::{lower, scheme_key, strip};

pub const MISP: &str = "misp";
pub const STIX: &str = "stix";
pub const FORMS: [&str; 2] = [MISP, STIX];

/// `tlp:ex:chr`: the source must not be disclosed; the Chatham House Rule defines the scheme.
pub const WITHHELD: (&str, &str) = ("attribution", "withheld");

/// STIX 2.1's TLP marking definitions: TLP 1.0's (predefined), then TLP 2.0's (the OASIS extension).
pub const STIX_TLP: [(&str, &str); 9] = [
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "clear"),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"),
    ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
    ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
    ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
    ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"),
    ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
];

/// The MISP namespaces read as sharing labels, and the scheme each reads as.
pub const MISP_SCHEMES: [(&str, &str); 2] = [("tlp", "tlp"), ("pap", "pap")];

/// FIRST's IEP 2.0 (community.py): each field read on its own, the policy held to its dates, the fields that only
/// describe a policy set aside.
pub const IEP: &str = "iep2-policy";
pub const IEP_SCHEMES: [(&str, &str); 4] = [
    ("permitted_actions", "iep_permitted_actions"),
    ("unmodified_resale", "iep_unmodified_resale"),
    ("affected_party_notifications", "iep_affected_party_notifications"),
    ("encrypt_in_transit", "iep_encrypt_in_transit"),
];
/// `attribution="must"`: the provider must be credited (`iep2`'s `attribution-must`).
pub const ATTRIBUTION_MUST: (&str, &str) = ("iep_attribution", "must");
pub const IEP_DATES: [&str; 2] = ["start_date", "end_date"];
/// MISP's taxonomy: "`null` is used when the IEP policy never expires".
const NEVER: &str = "null";

/// The IEP field a scheme reads, to state a label back as the tag it came as.
fn iep_field_of(scheme: &str) -> Option<&'static str> {
    match scheme {
        "tlp" => Some("tlp"),
        "iep_attribution" => Some("attribution"),
        _ => IEP_SCHEMES.iter().find(|(_, name)| *name == scheme).map(|(field, _)| *field),
    }
}
pub const IEP_DESCRIPTIVE: [&str; 4] = ["id", "name", "description", "iep_version"];
/// The `tlp:` tags that name a colour; any other but `ex:chr` and `unclear` reads as RED and as withholding the source.
const TLP_COLOURS: [&str; 6] = ["red", "amber", "amber+strict", "green", "clear", "white"];

/// An IEP tag's field and value: `tlp="amber"` is (`tlp`, `amber`).
fn iep(predicate: &str) -> (&str, &str) {
    let (field, said) = predicate.split_once('=').unwrap_or((predicate, ""));
    (strip(field), strip(strip(said).trim_matches('"')))
}

/// A tag that only describes an IEP policy (its id, name, version…), or says attribution `may` be given.
pub fn sets_no_terms(label: &Label) -> bool {
    if form_of(label) != MISP {
        return false;
    }
    let value = text(label);
    let (namespace, predicate) = value.split_once(':').unwrap_or((&value, ""));
    let (field, said) = iep(predicate);
    namespace == IEP && (IEP_DESCRIPTIVE.contains(&field) || (field, said) == ("attribution", "may"))
}

/// A tag or marking as it is matched: trimmed, without case.
fn text(label: &Label) -> String {
    lower(strip(&label.value))
}

/// `misp` or `stix` when the label is in a community's form, else "".
pub fn form_of(label: &Label) -> &'static str {
    let scheme = scheme_key(&label.scheme);
    FORMS.into_iter().find(|form| *form == scheme).unwrap_or("")
}

/// The tag as a label of `scheme`, set by whoever set the tag, when they did.
fn as_scheme(label: &Label, scheme: &str, value: &str) -> Label {
    Label {
        scheme: scheme.into(),
        value: value.into(),
        set_by: label.set_by.clone(),
        set_at: label.set_at,
        params: Vec::new(),
    }
}

/// Whether the tag or marking is the very spelling of `scheme: value` (in any case), not a reading of it.
fn spells(label: &Label, form: &str, scheme: &str, value: &str) -> bool {
    let text = text(label);
    if !label.value.is_ascii() {
        return false; // a look-alike is never stated as spelled
    }
    if form == STIX {
        return scheme == "tlp" && STIX_TLP.iter().any(|(id, tlp)| *id == text && *tlp == value);
    }
    if let Some((IEP, predicate)) = text.split_once(':') {
        return iep_field_of(scheme).is_some_and(|field| iep(predicate) == (field, value));
    }
    text == format!("{scheme}:{value}") && MISP_SCHEMES.iter().any(|(name, _)| *name == scheme)
}

/// The label as the schemes read it; None when it is in no community form or is no sharing label (left as it is).
pub fn read(label: &Label) -> Option<Label> {
    let form = form_of(label);
    if form.is_empty() {
        return None;
    }
    let value = text(label);
    if form == STIX {
        // ASCII only: lowercase folds a Kelvin sign into `k`, and `marKing-definition--…` is no TLP marking.
        if !label.value.is_ascii() {
            return None;
        }
        return STIX_TLP.iter().find(|(id, _)| *id == value).map(|(_, tlp)| as_scheme(label, "tlp", tlp));
    }
    let (namespace, predicate) = value.split_once(':').unwrap_or((&value, ""));
    if namespace == IEP {
        let (field, said) = iep(predicate);
        if field == "tlp" {
            return Some(as_scheme(label, "tlp", said));
        }
        if field == "attribution" {
            let (scheme, value) = if said == "must" { ATTRIBUTION_MUST } else { WITHHELD };
            return Some(as_scheme(label, scheme, value));
        }
        return IEP_SCHEMES.iter().find(|(name, _)| *name == field).map(|(_, scheme)| as_scheme(label, scheme, said));
    }
    if namespace == "tlp" && predicate == "ex:chr" {
        return Some(as_scheme(label, WITHHELD.0, WITHHELD.1));
    }
    if namespace == "tlp" && predicate == "unclear" {
        return Some(as_scheme(label, "tlp", "red"));
    }
    MISP_SCHEMES.iter().find(|(name, _)| *name == namespace).map(|(_, scheme)| as_scheme(label, scheme, predicate))
}

/// Each label as the schemes read it at `requested_at`, the tags that set no terms set aside, and so every tag of
/// an IEP policy that does not hold then; the labels themselves when none is in a community form.
pub fn read_labels(labels: &[Label], requested_at: Instant) -> Option<Vec<Label>> {
    if !labels.iter().any(|label| !form_of(label).is_empty()) {
        return None;
    }
    let holds = iep_policies_holding(labels, requested_at);
    let set_aside = |label: &Label| match (iep_field(label), holds.get(&policy(label))) {
        (Some(field), Some(Some(holding))) => IEP_DATES.contains(&field.as_str()) || !holding,
        _ => false,
    };
    Some(
        labels
            .iter()
            .filter(|label| !sets_no_terms(label) && !set_aside(label))
            .flat_map(|label| {
                let read_as = read(label).unwrap_or_else(|| label.clone());
                let withheld = unknown_tlp(label).then(|| as_scheme(label, WITHHELD.0, WITHHELD.1));
                std::iter::once(read_as).chain(withheld)
            })
            .collect(),
    )
}

/// Per policy, whether it holds at `requested_at`: Some(true), Some(false) outside its dates, None when its dates
/// cannot be read (community.py `_iep_policies_holding`): then the date tags deny the item.
fn iep_policies_holding(labels: &[Label], requested_at: Instant) -> BTreeMap<(String, String), Option<bool>> {
    let mut bounds: BTreeMap<(String, String), [Vec<Option<Instant>>; 2]> = BTreeMap::new();
    for label in labels {
        let Some(field) = iep_field(label) else {
            continue;
        };
        let dates = bounds.entry(policy(label)).or_default();
        let value = text(label);
        let said = iep(value.split_once(':').map_or("", |(_, predicate)| predicate)).1;
        if let Some(index) = IEP_DATES.iter().position(|name| *name == field) {
            // A null end is after every instant, so beside a dated end it is a second end (community.py).
            let said = if field == "end_date" && said == NEVER { Some(Instant::MAX) } else { rfc3339(said) };
            if !dates[index].contains(&said) {
                dates[index].push(said);
            }
        }
    }
    bounds
        .into_iter()
        .map(|(policy, dates)| {
            if dates.iter().any(|said| said.len() > 1 || said.contains(&None)) {
                return (policy, None);
            }
            let [start, end] = dates.map(|said| said.first().copied().flatten());
            if let (Some(start), Some(end)) = (start, end) {
                if end <= start {
                    return (policy, None);
                }
            }
            let holds = start.is_none_or(|start| start <= requested_at) && end.is_none_or(|end| requested_at < end);
            (policy, Some(holds))
        })
        .collect()
}

/// Which policy an IEP tag is part of: its setter's (the source's, whichever way it is written, or another's), and
/// of those the one its `policy` parameter names, when tags of several reach one item.
fn policy(label: &Label) -> (String, String) {
    let setter = lower(strip(&label.set_by));
    let setter = if SOURCE_SETTERS.contains(&setter.as_str()) { String::new() } else { setter };
    let named = label.params.iter().find(|(key, _)| key == "policy").map_or("", |(_, value)| strip(value));
    (setter, named.to_string())
}

/// The field an IEP tag sets (`tlp`, `start_date`, …), None for a label that is no IEP tag.
fn iep_field(label: &Label) -> Option<String> {
    if form_of(label) != MISP {
        return None;
    }
    let value = text(label);
    let (namespace, predicate) = value.split_once(':').unwrap_or((&value, ""));
    (namespace == IEP).then(|| iep(predicate).0.to_string())
}

/// The instant an RFC 3339 date-time (matched lowercased) names, in nanoseconds since the epoch (community.py
/// `rfc3339`): a zone required, no leap second, no day, hour or offset that does not exist.
pub fn rfc3339(text: &str) -> Option<Instant> {
    let bytes = text.as_bytes();
    let digits = |from: usize, to: usize| -> Option<i128> {
        let part = bytes.get(from..to)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, d| n * 10 + i128::from(d - b'0')))
    };
    let at = |index: usize, byte: u8| bytes.get(index) == Some(&byte);
    if !(at(4, b'-') && at(7, b'-') && at(10, b't') && at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let mut rest = 19;
    let mut fraction = 0;
    if at(rest, b'.') {
        let count = bytes[rest + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&count) {
            return None;
        }
        fraction = digits(rest + 1, rest + 1 + count)? * 10_i128.pow(9 - count as u32);
        rest += 1 + count;
    }
    let offset = match &bytes[rest..] {
        [b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (digits(rest + 1, rest + 3)?, digits(rest + 4, rest + 6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            (hours * 60 + minutes) * if *sign == b'+' { 1 } else { -1 }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if year < 1 || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    const DAYS_IN_MONTH: [i128; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day < 1 || day > DAYS_IN_MONTH[month as usize - 1] + i128::from(month == 2 && leap) {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + (minute - offset) * 60 + second;
    Some(seconds * SECOND + fraction)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's algorithm).
fn days_from_civil(year: i128, month: i128, day: i128) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A `tlp:` tag that names no colour and is not `ex:chr` or `unclear`: a misspelt `tlp:ex:chr` among them.
fn unknown_tlp(label: &Label) -> bool {
    let value = text(label);
    let (namespace, predicate) = value.split_once(':').unwrap_or((&value, ""));
    form_of(label) == MISP
        && namespace == "tlp"
        && (!label.value.is_ascii()
            || !(TLP_COLOURS.contains(&predicate) || predicate == "ex:chr" || predicate == "unclear"))
}

/// How the item's own labels write `scheme: value` when it came in a community form (community.py `received_form`).
pub fn received_form(
    labels: &[Label],
    scheme: &str,
    value: &str,
    normalize: impl Fn(&str) -> String,
) -> Option<String> {
    let mut written = None;
    for label in labels {
        let form = form_of(label);
        let reading = read(label);
        let read_as = reading.as_ref().unwrap_or(label);
        if scheme_key(&read_as.scheme) != scheme {
            continue;
        }
        if form.is_empty() {
            if normalize(&read_as.value) == value {
                return None;
            }
            continue;
        }
        if normalize(&read_as.value) == value && spells(label, form, scheme, value) {
            return Some(label.value.clone());
        }
        if written.is_none() {
            written = write(form, scheme, value);
        }
    }
    written
}

fn write(form: &str, scheme: &str, value: &str) -> Option<String> {
    if form == STIX {
        return if scheme == "tlp" {
            STIX_TLP[4..].iter().find(|(_, tlp)| *tlp == value).map(|(id, _)| id.to_string())
        } else {
            None
        };
    }
    match scheme {
        "tlp" => Some(format!("tlp:{value}")),
        "pap" => Some(format!("PAP:{}", value.to_uppercase())),
        _ => iep_field_of(scheme).map(|field| format!("{IEP}:{field}=\"{value}\"")),
    }
}

/// Why a label in a community form is no sharing label, for the finding that denies its item.
pub fn refused(label: &Label) -> String {
    if form_of(label) == STIX {
        return format!("the STIX marking `{}`, which is not one of TLP's", label.value);
    }
    match iep_field(label) {
        Some(field) if IEP_DATES.contains(&field.as_str()) => {
            return format!(
                "the MISP tag `{}`, an IEP 2.0 policy's date that cannot be read (an RFC 3339 date-time with its \
                 zone, e.g. `2026-01-01T00:00:00Z`) or that another of the policy's dates contradicts",
                label.value
            )
        }
        Some(_) => {
            return format!(
                "the MISP tag `{}` of an IEP 2.0 policy, whose field no loaded agreement reads",
                label.value
            )
        }
        None => {}
    }
    format!("the MISP tag `{}`, of a namespace that sets no sharing terms (only `tlp:` and `PAP:` do)", label.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(scheme: &str, value: &str) -> Label {
        Label { scheme: scheme.into(), value: value.into(), ..Label::default() }
    }

    #[test]
    fn misp_tags_read_as_their_schemes_and_unknown_values_as_red() {
        let read_as = |value: &str| read(&label("MISP", value)).map(|l| (l.scheme, l.value));
        assert_eq!(read_as("TLP:AMBER+STRICT"), Some(("tlp".into(), "amber+strict".into())));
        assert_eq!(read_as("tlp:ex:chr"), Some(("attribution".into(), "withheld".into())));
        assert_eq!(read_as("tlp:unclear"), Some(("tlp".into(), "red".into())));
        assert_eq!(read_as("PAP:GREEN"), Some(("pap".into(), "green".into())));
        assert_eq!(read_as("workflow:state=\"draft\""), None);
    }

    #[test]
    fn an_rfc3339_date_time_names_its_instant_and_nothing_else_does() {
        assert_eq!(rfc3339("2026-01-01t00:00:00z"), Some(1_767_225_600 * SECOND));
        assert_eq!(rfc3339("2026-01-01t01:30:00.5+01:30"), Some(1_767_225_600 * SECOND + 500_000_000));
        assert_eq!(rfc3339("0001-01-01t00:00:00z"), Some(-62_135_596_800 * SECOND));
        assert_eq!(rfc3339("2024-02-29t00:00:00z"), Some(1_709_164_800 * SECOND));
        for unread in [
            "2026-01-01",
            "2026-01-01t00:00:00",
            "2023-02-29t00:00:00z",
            "2026-01-01t00:00:60z",
            "2026-01-01t00:00:00+24:00",
            "2026-01-01t00:00:00.z",
            "2026-01-01t00:00:00.1234567890z",
            "0000-01-01t00:00:00z",
            "2026-01-01t00:00:00zz",
            "２０２６-01-01t00:00:00z",
        ] {
            assert_eq!(rfc3339(unread), None, "{unread}");
        }
    }

    #[test]
    fn a_policy_holds_between_its_dates_and_only_its_setters_dates_bound_it() {
        let tags = |setter: &str, dates: &[&str]| -> Vec<Label> {
            let mut labels = vec![Label { set_by: String::new(), ..label("misp", "iep2-policy:tlp=\"white\"") }];
            labels.extend(dates.iter().map(|d| Label { set_by: setter.into(), ..label("misp", d) }));
            labels
        };
        let read_at = |labels: &[Label], at: Instant| -> Vec<String> {
            read_labels(labels, at).unwrap().into_iter().map(|l| format!("{}:{}", l.scheme, l.value)).collect()
        };
        let april = ["iep2-policy:start_date=\"2026-04-01T00:00:00Z\""];
        let start = rfc3339("2026-04-01t00:00:00z").unwrap();
        assert_eq!(read_at(&tags("", &april), start), ["tlp:white"]);
        assert!(read_at(&tags("author", &april), start - 1).is_empty());
        // Another setter's date bounds only their own tags, and stays as received otherwise unread.
        assert_eq!(read_at(&tags("u-me", &april), start - 1), ["tlp:white"]);
        let undated = ["iep2-policy:start_date=\"2026-04-01\""];
        assert_eq!(read_at(&tags("", &undated), start), ["tlp:white", "misp:iep2-policy:start_date=\"2026-04-01\""]);
    }

    #[test]
    fn a_value_is_written_back_in_the_form_it_came_in() {
        let labels = [label("stix", STIX_TLP[2].0)];
        let same = |v: &str| v.to_string();
        assert_eq!(received_form(&labels, "tlp", "amber", same), Some(STIX_TLP[2].0.to_string()));
        assert_eq!(received_form(&labels, "tlp", "red", same), Some(STIX_TLP[8].0.to_string()));
        assert_eq!(received_form(&[label("tlp", "amber")], "tlp", "amber", same), None);
    }
}

//! Labels in the sharing communities' own forms, read as the engines' schemes before any rule reads a label.
//!
//! The twin of engine/community.py (read there for why): a MISP machine tag (`tlp:amber+strict`, `tlp:ex:chr`,
//! `PAP:RED`) or a STIX 2.1 marking id is read as the label of the scheme an agreement defines, as the source's;
//! an unknown `tlp:` value and `tlp:unclear` read as RED; a tag of another namespace or a marking that is not TLP
//! stays as received and its item is denied. A Python test holds these tables equal to the reference's.

use crate::model::Label;
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

/// FIRST's IEP 2.0 (community.py): `tlp` and `attribution` read; the fields that only describe a policy set aside.
pub const IEP: &str = "iep2-policy";
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
        if field == "attribution" && said != "may" && said != "must" {
            return Some(as_scheme(label, WITHHELD.0, WITHHELD.1));
        }
        return None;
    }
    if namespace == "tlp" && predicate == "ex:chr" {
        return Some(as_scheme(label, WITHHELD.0, WITHHELD.1));
    }
    if namespace == "tlp" && predicate == "unclear" {
        return Some(as_scheme(label, "tlp", "red"));
    }
    MISP_SCHEMES.iter().find(|(name, _)| *name == namespace).map(|(_, scheme)| as_scheme(label, scheme, predicate))
}

/// Each label as the schemes read it; the labels themselves when none is in a community form.
pub fn read_labels(labels: &[Label]) -> Option<Vec<Label>> {
    if !labels.iter().any(|label| !form_of(label).is_empty()) {
        return None;
    }
    Some(
        labels
            .iter()
            .filter(|label| !sets_no_terms(label))
            .flat_map(|label| {
                let read_as = read(label).unwrap_or_else(|| label.clone());
                let withheld = unknown_tlp(label).then(|| as_scheme(label, WITHHELD.0, WITHHELD.1));
                std::iter::once(read_as).chain(withheld)
            })
            .collect(),
    )
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
        _ => None,
    }
}

/// Why a label in a community form is no sharing label, for the finding that denies its item.
pub fn refused(label: &Label) -> String {
    if form_of(label) == STIX {
        return format!("the STIX marking `{}`, which is not one of TLP's", label.value);
    }
    let value = text(label);
    let namespace = value.split_once(':').map_or(value.as_str(), |(namespace, _)| namespace);
    if namespace == IEP {
        return format!(
            "the MISP tag `{}` of an IEP 2.0 policy, whose field no loaded agreement reads yet",
            label.value
        );
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
    fn a_value_is_written_back_in_the_form_it_came_in() {
        let labels = [label("stix", STIX_TLP[2].0)];
        let same = |v: &str| v.to_string();
        assert_eq!(received_form(&labels, "tlp", "amber", same), Some(STIX_TLP[2].0.to_string()));
        assert_eq!(received_form(&labels, "tlp", "red", same), Some(STIX_TLP[8].0.to_string()));
        assert_eq!(received_form(&[label("tlp", "amber")], "tlp", "amber", same), None);
    }
}

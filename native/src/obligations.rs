//! The obligation vocabulary (domain notes §7.4): one small builder per type, in one table.
//! service/discretion/engine/obligations.py in Rust.
//!
//! A builder turns a rule's obligation into a concrete Obligation for one item,
//! or returns None when the request would not do what the obligation guards
//! against: "an obligation is owed only for what the request would actually do"
//! (no identity named → no `redact_author_identity`). Parameters are read from
//! the scope when the obligation is built (`Param`).
//!
//! An `Err(Failure)` is Python's exception out of a builder: `UnreadableFact`'s
//! message, or `Type: message` for any other; the rule fails closed.
//!
//! What every item of a decision shares is worked out once per decision and
//! request as asked (scope.py `once_per_request`): the roster, its matchers,
//! and each text's spans (`Memo`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::compiled::{CompiledObligation, Failure, Param, Scope};
use crate::conditions::Value;
use crate::consent::holds;
use crate::identify::{in_unit, judgement, Matcher, FLAG, IGNORE, JUDGEMENTS};
use crate::model::{Instant, Obligation, Person, Span};
use crate::roster::Roster;

/// Obligations no request can meet together: one names the author, the other
/// forbids it. When rules of the agreements in force demand both for one item
/// the item is denied, naming both rules (README: "Obligations that conflict").
pub const CONFLICTS: [(&str, &str); 4] = [
    ("add_attribution", "redact_author_identity"),
    ("add_attribution", "use_agreed_descriptor"),
    ("add_attribution", "redact_descriptor"),
    ("use_agreed_descriptor", "redact_descriptor"),
];

type Builder = fn(&Scope<'_>, &CompiledObligation, &Memo) -> Result<Option<Obligation>, Failure>;

/// What the items of one decision share, for each request it judges (as asked, and as a
/// publication): decide.py's `memo`, read by scope.py `once_per_request`. Keyed by the
/// request's address, which stays the request's for the decision's life.
#[derive(Default)]
pub struct Memo {
    /// Whose kept name matchers the decision uses (identify::AUTOMATA); None builds its own.
    caller: Option<String>,
    people: RefCell<HashMap<usize, Whom>>,
    matchers: RefCell<HashMap<(usize, &'static str), Rc<Matcher>>>,
    spans: RefCell<HashMap<SpansKey, Vec<Span>>>,
}

/// (request, field, whose text (the item's address; none for the request's own fields), people mode,
/// excused, counts): a text's spans are the same for every reading and item that asks.
type SpansKey = (usize, &'static str, Option<usize>, String, Vec<String>, u32);

fn address<T>(value: &T) -> usize {
    std::ptr::from_ref(value) as usize
}

impl Memo {
    /// For a decision as `caller` (identify::AUTOMATA), or building its own matchers.
    pub fn new(caller: Option<&str>) -> Memo {
        Memo { caller: caller.map(str::to_string), ..Memo::default() }
    }

    fn people(&self, scope: &Scope<'_>) -> Whom {
        let key = address(scope.request);
        if let Some(found) = self.people.borrow().get(&key) {
            return found.clone();
        }
        let people = people_in_scope(scope);
        self.people.borrow_mut().insert(key, people.clone());
        people
    }

    fn matcher(&self, scope: &Scope<'_>, whom: &'static str, people: impl FnOnce() -> Whom) -> Rc<Matcher> {
        let key = (address(scope.request), whom);
        if let Some(found) = self.matchers.borrow().get(&key) {
            return found.clone();
        }
        let caller = self.caller.as_deref();
        let matcher = Rc::new(match people() {
            Whom::Roster(roster) => Matcher::of_roster(roster, caller),
            Whom::Gathered(people) => Matcher::shared(people, caller),
        });
        self.matchers.borrow_mut().insert(key, matcher.clone());
        matcher
    }
}

pub struct ObligationType {
    pub name: &'static str,
    build: Builder,
    /// Parameter name -> "text" | "instant" | "consent_scope"; the first is the
    /// one a scalar sets (`add_notice: chatham_house_rule`).
    pub params: &'static [(&'static str, &'static str)],
    pub required: &'static [&'static str],
    /// Values the compiler gives parameters a rule leaves out.
    pub defaults: &'static [(&'static str, &'static str)],
    /// Parameters that take one of a few literal values, and those values.
    pub choices: &'static [(&'static str, &'static [&'static str])],
    /// Consent scopes the builder reads by itself, beside those its parameters name.
    pub consent_scopes: &'static [&'static str],
    /// True when fulfilling it changes what is published (the item is "redacted").
    pub redacts: bool,
}

const fn kind(name: &'static str, build: Builder) -> ObligationType {
    ObligationType {
        name,
        build,
        params: &[],
        required: &[],
        defaults: &[],
        choices: &[],
        consent_scopes: &[],
        redacts: false,
    }
}

// `people: minors` limits a redaction to the children among the people, whom
// no consent recorded here releases (a child's consent needs a parent's, §4.5).
// `people: author` to the item's author, for who must not learn who wrote it
// (a service acting for the group, §4.1): no consent to be named releases it.
pub const PEOPLE: [&str; 3] = ["everyone", "minors", "author"];
const JUDGED: [&str; 2] = [FLAG, IGNORE];

// A speaker who consented to attribution may be named in what is quoted.
const NAMED: &str = "attribution";

pub const OBLIGATION_TYPES: [ObligationType; 14] = [
    ObligationType { redacts: true, ..kind("redact_author_identity", redact_identity) },
    ObligationType { redacts: true, ..kind("redact_author_affiliation", redact_affiliation) },
    ObligationType { redacts: true, ..kind("redact_descriptor", redact_descriptor) },
    ObligationType {
        params: &[("descriptor", "text")],
        required: &["descriptor"],
        redacts: true,
        ..kind("use_agreed_descriptor", use_agreed_descriptor)
    },
    ObligationType {
        params: &[
            ("people", "text"),
            ("lowercase_names", "text"),
            ("first_names", "text"),
            ("short_names", "text"),
            ("organization_short_forms", "text"),
        ],
        choices: &[
            ("people", &PEOPLE),
            ("lowercase_names", &JUDGED),
            ("first_names", &JUDGED),
            ("short_names", &JUDGED),
            ("organization_short_forms", &JUDGED),
        ],
        redacts: true,
        consent_scopes: &[NAMED],
        ..kind("redact_identifying_content", redact_identifying_content)
    },
    ObligationType {
        params: &[("scope", "consent_scope"), ("people", "text")],
        defaults: &[("scope", "listing")],
        choices: &[("people", &PEOPLE)],
        redacts: true,
        ..kind("redact_participant_identities", redact_participant_identities)
    },
    kind("exclude_items", exclude_items),
    kind("encrypt_in_transit", encrypt_in_transit),
    ObligationType {
        params: &[("scope", "consent_scope")],
        required: &["scope"],
        ..kind("require_author_consent", require_author_consent)
    },
    ObligationType { params: &[("until", "instant")], required: &["until"], ..kind("hold_until", hold_until) },
    ObligationType { params: &[("scheme", "text")], required: &["scheme"], ..kind("preserve_label", preserve_label) },
    ObligationType {
        params: &[("notice", "text"), ("until", "instant")],
        required: &["notice"],
        ..kind("add_notice", add_notice)
    },
    kind("add_attribution", add_attribution),
    kind("notify_affected_members", notify_affected_members),
];

pub fn obligation_type(name: &str) -> Option<&'static ObligationType> {
    OBLIGATION_TYPES.iter().find(|t| t.name == name)
}

/// Whether fulfilling an obligation of this type changes what is published.
pub fn redacts(name: &str) -> bool {
    obligation_type(name).is_some_and(|t| t.redacts)
}

/// The obligation a rule's `obligation` owes for the item in `scope`, or None when the request owes nothing.
pub fn build(scope: &Scope<'_>, obligation: &CompiledObligation, memo: &Memo) -> Result<Option<Obligation>, Failure> {
    match obligation_type(&obligation.r#type) {
        Some(t) => (t.build)(scope, obligation, memo),
        // The build refuses an obligation of no known type; were one here, it could not be met.
        None => Err(Failure(format!("ValueError: an obligation of no known type: `{}`", obligation.r#type))),
    }
}

// ---- parameters, read as obligations.py reads them ------------------------------

fn param<'o>(obligation: &'o CompiledObligation, name: &str) -> Result<&'o Param, Failure> {
    // A missing parameter is Python's KeyError, worded as decide._fail_closed words it.
    obligation.params.get(name).ok_or_else(|| Failure(format!("the fact `{name}` is missing from the request")))
}

/// Python's `not value` for the values a fact reads: None, "", and a false, zero or empty
/// value of any other type, told by the `repr` `python_str` gives every value but a text.
fn falsy(value: &Value<'_>) -> bool {
    if value.is_none() {
        return true;
    }
    if let Some(text) = value.as_text() {
        return text.is_empty();
    }
    matches!(value.python_str().as_str(), "False" | "0" | "0.0" | "-0.0" | "[]" | "{}" | "()")
}

/// `str(params[name](scope))`.
pub fn text(scope: &Scope<'_>, p: &Param) -> Result<String, Failure> {
    Ok(match p {
        Param::Text(text) => text.clone(),
        Param::Instant(instant) => instant.to_string(),
        Param::Fact(getter) => getter.read(scope)?.python_str(),
        Param::InstantFromText(_) => instant(scope, p)?.map_or("None".into(), |i| i.to_string()),
    })
}

/// `str(params[name](scope) or "")`.
pub fn text_or_empty(scope: &Scope<'_>, p: &Param) -> Result<String, Failure> {
    if let Param::Fact(getter) = p {
        let value = getter.read(scope)?;
        return Ok(if falsy(&value) { String::new() } else { value.python_str() });
    }
    text(scope, p)
}

/// A parameter of kind `instant`: None when a fact read nothing.
pub fn instant(scope: &Scope<'_>, p: &Param) -> Result<Option<Instant>, Failure> {
    match p {
        Param::Instant(instant) => Ok(Some(*instant)),
        Param::Fact(getter) => {
            let value = getter.read(scope)?;
            if value.is_none() {
                return Ok(None);
            }
            value
                .as_instant()
                .map(Some)
                .ok_or_else(|| Failure("TypeError: '<=' not supported between instances of a fact and 'int'".into()))
        }
        // Label parameters arrive as text (`until: 2026-03-01T00:00:00Z`): build.py `_instant_from_text`.
        Param::InstantFromText(getter) => {
            let value = getter.read(scope)?;
            if falsy(&value) {
                return Ok(None);
            }
            parse_iso(&value.python_str()).map(Some)
        }
        // The build gives an instant parameter no literal text.
        Param::Text(_) => Err(Failure("TypeError: '<=' not supported between instances of 'str' and 'int'".into())),
    }
}

// ---- the builders ------------------------------------------------------------------

fn exports_authorship(scope: &Scope<'_>) -> bool {
    // An export carries who said what, and so does what a service acting for
    // the group is handed (the posts with their metadata); a person's share or
    // quote carries what the request's attribution says it will.
    scope.request.action == "export" || scope.request.actor.kind == "service"
}

fn for_item(scope: &Scope<'_>, name: &str) -> Obligation {
    Obligation { r#type: name.into(), item_ids: vec![scope.item.id.clone()], ..Obligation::default() }
}

fn author(scope: &Scope<'_>) -> Vec<String> {
    let author = &scope.item.author.id;
    if author.is_empty() {
        Vec::new()
    } else {
        vec![author.clone()]
    }
}

fn redact_identity(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    if exports_authorship(scope) || scope.request.attribution.author_identity {
        return Ok(Some(Obligation { person_ids: author(scope), ..for_item(scope, "redact_author_identity") }));
    }
    Ok(None)
}

fn redact_affiliation(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    if exports_authorship(scope) || scope.request.attribution.affiliation {
        return Ok(Some(Obligation { person_ids: author(scope), ..for_item(scope, "redact_author_affiliation") }));
    }
    Ok(None)
}

fn redact_descriptor(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    if !scope.request.attribution.descriptor.is_empty() {
        return Ok(Some(Obligation { person_ids: author(scope), ..for_item(scope, "redact_descriptor") }));
    }
    Ok(None)
}

fn use_agreed_descriptor(scope: &Scope<'_>, ob: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    let descriptor = text_or_empty(scope, param(ob, "descriptor")?)?;
    let attribution = &scope.request.attribution;
    if !attribution.author_identity && (attribution.descriptor.is_empty() || attribution.descriptor == descriptor) {
        return Ok(None); // no name, and no descriptor other than the agreed one
    }
    Ok(Some(Obligation { descriptor, ..for_item(scope, "use_agreed_descriptor") }))
}

/// Everyone the request knows by name: the roster, and every item's author and listed people.
#[derive(Clone)]
enum Whom {
    /// The roster alone, when every author and listed person is one of its records as written: the
    /// same names found for the same ids, with what the roster keeps built (`roster::Roster`).
    Roster(Arc<Roster>),
    /// The roster's people and the others, gathered for this decision.
    Gathered(Rc<Vec<Person>>),
}

impl Whom {
    /// The minors among them.
    fn minors(&self) -> Whom {
        match self {
            Whom::Roster(roster) => Whom::Roster(roster.minors()),
            Whom::Gathered(people) => Whom::Gathered(Rc::new(people.iter().filter(|p| p.is_minor).cloned().collect())),
        }
    }
}

/// Everyone the request knows by name: the roster, and every item's author and listed people.
///
/// Every item's, not only this one's: a text shared or exported beside
/// another item may name that item's author, or a child on another's list.
fn people_in_scope(scope: &Scope<'_>) -> Whom {
    let request = scope.request;
    let roster = &request.group.participants;
    let others = || request.items.iter().flat_map(|item| std::iter::once(&item.author).chain(&item.listed_people));
    if others().all(|person| roster.has_record(person)) {
        return Whom::Roster(roster.clone());
    }
    let mut people = roster.people().to_vec();
    people.extend(others().cloned());
    Whom::Gathered(Rc::new(people))
}

fn people_mode(scope: &Scope<'_>, ob: &CompiledObligation) -> Result<String, Failure> {
    match ob.params.get("people") {
        Some(p) => text(scope, p),
        None => Ok("everyone".into()),
    }
}

/// Whether `person` is the one acting, who may give their own name; a blank id is nobody's.
fn is_actor(scope: &Scope<'_>, person: &Person) -> bool {
    !person.id.is_empty() && person.id == scope.acting_person
}

/// (field, item id, text) of each field whose words reach the destination (see the proto's Span).
///
/// The request's `quoted_text` is the text as published. A share or an export
/// sends the item itself; a quote sends `quoted_text`, or, when the caller did
/// not give it, possibly any of the item, so the item's text is read instead.
/// The descriptor the attribution uses is published beside the words.
fn words<'a>(scope: &Scope<'a>) -> Vec<(&'static str, &'a str, &'a str)> {
    let request = scope.request;
    let mut found = Vec::new();
    let quoted = request.quoted_text.as_str();
    if !quoted.is_empty() {
        found.push(("quoted_text", "", quoted));
    }
    if !scope.item.text.is_empty() && (quoted.is_empty() || request.action != "quote") {
        found.push(("items.text", scope.item.id.as_str(), scope.item.text.as_str()));
    }
    let descriptor = request.attribution.descriptor.as_str();
    if !descriptor.is_empty() {
        found.push(("attribution.descriptor", "", descriptor));
    }
    found
}

fn counts(scope: &Scope<'_>, ob: &CompiledObligation) -> Result<u32, Failure> {
    let mut calls: Vec<(&str, String)> = Vec::new();
    for (name, _) in JUDGEMENTS {
        if let Some(p) = ob.params.get(name) {
            calls.push((name, text(scope, p)?));
        }
    }
    let calls: Vec<(&str, &str)> = calls.iter().map(|(name, value)| (*name, value.as_str())).collect();
    // A call judgement does not know is Python's KeyError, worded as decide._fail_closed words it.
    judgement(&calls).map_err(|unknown| Failure(format!("the fact `{}` is missing from the request", unknown.0)))
}

fn redact_identifying_content(
    scope: &Scope<'_>,
    ob: &CompiledObligation,
    memo: &Memo,
) -> Result<Option<Obligation>, Failure> {
    let people = memo.people(scope);
    let actor = scope.acting_person;
    let mode = people_mode(scope, ob)?;
    let mut excused: Vec<&str> = if actor.is_empty() { Vec::new() } else { vec![actor] };
    let matcher = match mode.as_str() {
        "minors" => {
            // Not even a child may name a child, themselves included: it is not theirs to waive.
            excused.clear();
            memo.matcher(scope, "minors", || people.minors())
        }
        "author" => Rc::new(Matcher::shared(Rc::new(vec![scope.item.author.clone()]), memo.caller.as_deref())),
        _ => {
            // A speaker who consented to attribution may be named.
            let author = scope.item.author.id.as_str();
            if !author.is_empty() && author != scope.acting_person && holds(scope, author, NAMED) {
                excused.push(author);
            }
            memo.matcher(scope, "everyone's matcher", || people.clone())
        }
    };
    let counts = counts(scope, ob)?;
    let unit = scope.request.span_unit.as_str();
    let mut spans: Vec<Span> = Vec::new();
    for (field, item_id, text) in words(scope) {
        // The actor may name themselves, and a consenting author be named.
        if mode == "author" {
            spans.extend(placed(&matcher, text, field, item_id, &excused, counts, unit)?);
            continue;
        }
        // Once per decision for each text, not for each item (a quote) nor each reading of an
        // item's labels and audiences (its own text).
        let whose = (field == "items.text").then(|| address(scope.item));
        let key: SpansKey = (
            address(scope.request),
            field,
            whose,
            mode.clone(),
            excused.iter().map(|e| e.to_string()).collect(),
            counts,
        );
        if let Some(found) = memo.spans.borrow().get(&key) {
            spans.extend(found.iter().cloned());
            continue;
        }
        let found = placed(&matcher, text, field, item_id, &excused, counts, unit)?;
        spans.extend(found.iter().cloned());
        memo.spans.borrow_mut().insert(key, found);
    }
    if spans.is_empty() {
        return Ok(None);
    }
    Ok(Some(Obligation { spans, ..for_item(scope, "redact_identifying_content") }))
}

const MOST_SPANS: usize = 256;

/// The spans of `text` naming someone, in the field they were found in and the caller's unit.
///
/// Past `MOST_SPANS` (and one for every 50 characters) the whole text is
/// one span, the restrictive reading: a text naming people that often is
/// not made safe by cutting it into thousands of pieces.
fn placed(
    matcher: &Matcher,
    text: &str,
    field: &str,
    item_id: &str,
    excused: &[&str],
    counts: u32,
    unit: &str,
) -> Result<Vec<Span>, Failure> {
    // Python raises RosterTooLarge, which decide._fail_closed words by its type.
    let mut found =
        matcher.spans(text, excused, counts).map_err(|error| Failure(format!("RosterTooLarge: {error}")))?;
    if found.is_empty() {
        return Ok(found);
    }
    // Python's len(): code points.
    let length = text.chars().count();
    if found.len() > MOST_SPANS + length / 50 {
        let reveals = found[0].reveals.clone();
        found = vec![Span { start: 0, end: length as i64, reveals, field: String::new(), item_id: String::new() }];
    }
    let placed: Vec<Span> =
        found.into_iter().map(|s| Span { field: field.into(), item_id: item_id.into(), ..s }).collect();
    Ok(in_unit(text, &placed, unit))
}

fn redact_participant_identities(
    scope: &Scope<'_>,
    ob: &CompiledObligation,
    _: &Memo,
) -> Result<Option<Obligation>, Failure> {
    let kind = text(scope, param(ob, "scope")?)?;
    let listed = &scope.item.listed_people;
    let hidden: Vec<&Person> = if people_mode(scope, ob)? == "minors" {
        listed.iter().filter(|p| p.is_minor).collect()
    } else {
        listed.iter().filter(|p| !is_actor(scope, p) && !holds(scope, &p.id, &kind)).collect()
    };
    if hidden.is_empty() {
        return Ok(None);
    }
    Ok(Some(Obligation {
        person_ids: hidden.iter().map(|p| p.id.clone()).collect(),
        names: hidden.iter().map(|p| p.display_name.clone()).collect(),
        ..for_item(scope, "redact_participant_identities")
    }))
}

fn exclude_items(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    Ok(Some(for_item(scope, "exclude_items")))
}

/// Owed on every copy: no request says how its copy will travel.
fn encrypt_in_transit(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    Ok(Some(for_item(scope, "encrypt_in_transit")))
}

fn require_author_consent(scope: &Scope<'_>, ob: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    if scope.item.author.id.is_empty() {
        return Err(Failure("the item's author has no id, so nobody can be asked for consent".into()));
    }
    let consent_scope = text(scope, param(ob, "scope")?)?;
    Ok(Some(Obligation {
        person_ids: author(scope),
        scope: consent_scope,
        ..for_item(scope, "require_author_consent")
    }))
}

/// The instant a rule names (an embargo's end). Named but not given reads as never lifting: fail closed.
fn until(scope: &Scope<'_>, ob: &CompiledObligation) -> Result<Instant, Failure> {
    instant(scope, param(ob, "until")?)?
        .ok_or_else(|| Failure("the time `until` is missing or empty, so it cannot be known to have passed".into()))
}

fn hold_until(scope: &Scope<'_>, ob: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    let until = until(scope, ob)?;
    if until <= scope.requested_at {
        return Ok(None); // the embargo has lifted
    }
    Ok(Some(Obligation { until: Some(until), ..for_item(scope, "hold_until") }))
}

fn preserve_label(scope: &Scope<'_>, ob: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    let scheme = text(scope, param(ob, "scheme")?)?;
    match scope.label.get(&scheme) {
        Some(value) if !value.is_empty() => Ok(Some(Obligation {
            label: format!("{scheme}:{value}").to_uppercase(),
            ..for_item(scope, "preserve_label")
        })),
        _ => Ok(None),
    }
}

fn add_notice(scope: &Scope<'_>, ob: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    let until = if ob.params.contains_key("until") { Some(until(scope, ob)?) } else { None };
    if until.is_some_and(|until| until <= scope.requested_at) {
        return Ok(None); // a notice of an embargo that has lifted says nothing
    }
    let notice = text(scope, param(ob, "notice")?)?;
    Ok(Some(Obligation { notice, until, ..for_item(scope, "add_notice") }))
}

fn add_attribution(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    let attribution = &scope.request.attribution;
    if attribution.author_identity && attribution.link {
        return Ok(None); // the request already attributes, with the link
    }
    Ok(Some(Obligation {
        person_ids: author(scope),
        link: scope.item.link.clone(),
        ..for_item(scope, "add_attribution")
    }))
}

fn notify_affected_members(scope: &Scope<'_>, _: &CompiledObligation, _: &Memo) -> Result<Option<Obligation>, Failure> {
    if scope.request.purpose.notification_prohibited {
        return Ok(None);
    }
    Ok(Some(Obligation { person_ids: author(scope), ..for_item(scope, "notify_affected_members") }))
}

// ---- instants.py parse_iso, as far as label parameters need it ----------------------

/// The nanoseconds since the epoch of an ISO 8601 time with a zone (instants.py `parse_iso`),
/// errors worded as decide._fail_closed words Python's.
///
/// Reads `YYYY-MM-DD` `T` or ` ` `HH[:MM[:SS]]` with a fraction and `Z` or
/// `±HH:MM[:SS]`: the extended form. Other forms `datetime.fromisoformat`
/// accepts (basic form, week dates, any separator) fail closed here.
pub fn parse_iso(text: &str) -> Result<Instant, Failure> {
    use std::sync::OnceLock;
    static FRACTION: OnceLock<regex::Regex> = OnceLock::new();
    static WHOLE: OnceLock<regex::Regex> = OnceLock::new();
    let fraction_re =
        FRACTION.get_or_init(|| regex::Regex::new(r"([T ]\d\d(?::?\d\d){0,2})[.,](\d+)").expect("a fixed pattern"));
    let whole_re = WHOLE.get_or_init(|| {
        // As Python 3.11's `datetime.fromisoformat` reads it: any one character between the date and
        // the time (`2026-03-05-02:00` is 02:00 of no zone), and a zone only after a time of day
        // (`2026-03-05Z` is no time): read as one, an embargo's end would lift it.
        regex::Regex::new(r"(?s)^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:.([0-9]{2})(?::([0-9]{2})(?::([0-9]{2}))?)?(Z|[+-][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?)?$")
            .expect("a fixed pattern")
    });
    let invalid = || Failure(format!("ValueError: Invalid isoformat string: '{text}'"));
    let (mut whole, mut fraction) = (text.to_string(), String::new());
    if let Some(found) = fraction_re.captures(text) {
        let digits = &found[2];
        if digits.chars().count() > 9 {
            return Err(Failure(format!("ValueError: `{text}` is more precise than a nanosecond")));
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        fraction = digits.to_string();
        let all = found.get(0).ok_or_else(invalid)?;
        whole = format!("{}{}{}", &text[..all.start()], &found[1], &text[all.end()..]);
    }
    let parts = whole_re.captures(&whole).ok_or_else(invalid)?;
    let number = |i: usize| -> i64 { parts.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0) };
    let (year, month, day) = (number(1), number(2), number(3));
    let (hour, minute, second) = (number(4), number(5), number(6));
    if year == 0 {
        return Err(Failure("ValueError: year 0 is out of range".into()));
    }
    if !(1..=12).contains(&month) {
        return Err(Failure("ValueError: month must be in 1..12".into()));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(Failure("ValueError: day is out of range for month".into()));
    }
    for (value, name, most) in [(hour, "hour", 23), (minute, "minute", 59), (second, "second", 59)] {
        if value > most {
            return Err(Failure(format!("ValueError: {name} must be in 0..{most}")));
        }
    }
    let Some(zone) = parts.get(7).map(|m| m.as_str()) else {
        return Err(Failure(format!("NoTimeZone: `{text}` has no time zone")));
    };
    // The offset, in microseconds: `datetime` reads one to the microsecond (`+02:00:30.5`).
    let offset: i128 = if zone == "Z" {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (clock, micros) = zone[1..].split_once('.').unwrap_or((&zone[1..], ""));
        let pieces: Vec<i128> = clock.split(':').map(|p| p.parse().unwrap_or(0)).collect();
        let (h, m, s) = (
            pieces.first().copied().unwrap_or(0),
            pieces.get(1).copied().unwrap_or(0),
            pieces.get(2).copied().unwrap_or(0),
        );
        if h > 23 || m > 59 || s > 59 {
            return Err(invalid());
        }
        let micros: i128 = format!("{micros:0<6}").parse().unwrap_or(0);
        sign * ((h * 3600 + m * 60 + s) * 1_000_000 + micros)
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let nanos: i128 = format!("{fraction:0<9}").parse().unwrap_or(0);
    Ok(seconds as i128 * crate::model::SECOND - offset * 1000 + nanos)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    //! Each builder on literal parameters, against what obligations.py builds for the same scope.
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Actor, Attribution, Consent, Destination, Group, Item, Recipient, Request};

    fn person(id: &str, name: &str, minor: bool) -> Person {
        Person { id: id.into(), display_name: name.into(), is_minor: minor, ..Person::default() }
    }

    fn request() -> Request {
        let item = Item {
            id: "m".into(),
            author: person("u-au", "", false),
            link: "L".into(),
            listed_people: vec![
                person("u-au", "Me", false),
                person("x", "X", false),
                person("y", "Y", true),
                person("", "Nobody", false),
            ],
            consents: vec![Consent {
                by: "x".into(),
                scope: "listing".into(),
                recipients: vec!["r0".into()],
                granted_at: Some(1),
                withdrawn_at: None,
                id: String::new(),
            }],
            ..Item::default()
        };
        Request {
            action: "share".into(),
            actor: Actor { id: "u-au".into(), ..Actor::default() },
            group: Group { id: "g".into(), ..Group::default() },
            items: vec![item],
            destination: Destination {
                kind: "external_individual".into(),
                recipients: vec![Recipient { id: "r0".into(), organization: String::new() }],
                ..Destination::default()
            },
            attribution: Attribution { author_identity: true, descriptor: "a banker".into(), ..Attribution::default() },
            requested_at: Some(10),
            ..Request::default()
        }
    }

    /// The obligation built for the request's one item, with `params` as literals.
    fn built(kind: &str, params: &[(&str, Param)]) -> Result<Option<Obligation>, Failure> {
        let request = request();
        let label = BTreeMap::from([("tlp".to_string(), "amber".to_string())]);
        let label_param = BTreeMap::new();
        let scope = Scope {
            request: &request,
            item: &request.items[0],
            requested_at: 10,
            label: &label,
            label_param: &label_param,
            vars: Vec::new(),
            acting_person: "u-au",
            actor_is_author: true,
        };
        let obligation = CompiledObligation {
            r#type: kind.into(),
            params: params.iter().map(|(name, p)| (name.to_string(), p.clone())).collect(),
        };
        build(&scope, &obligation, &Memo::default())
    }

    fn text(value: &str) -> Param {
        Param::Text(value.into())
    }

    fn owed(kind: &str, fill: impl FnOnce(&mut Obligation)) -> Option<Obligation> {
        let mut o = Obligation { r#type: kind.into(), item_ids: vec!["m".into()], ..Obligation::default() };
        fill(&mut o);
        Some(o)
    }

    fn author(o: &mut Obligation) {
        o.person_ids = vec!["u-au".into()];
    }

    #[test]
    fn what_the_request_would_do_is_owed_and_nothing_else() {
        assert_eq!(built("redact_author_identity", &[]), Ok(owed("redact_author_identity", author)));
        assert_eq!(built("redact_author_affiliation", &[]), Ok(None));
        assert_eq!(built("redact_descriptor", &[]), Ok(owed("redact_descriptor", author)));
        assert_eq!(
            built("use_agreed_descriptor", &[("descriptor", text("an official"))]),
            Ok(owed("use_agreed_descriptor", |o| o.descriptor = "an official".into()))
        );
        assert_eq!(
            built("use_agreed_descriptor", &[("descriptor", text("a banker"))]),
            Ok(owed("use_agreed_descriptor", |o| o.descriptor = "a banker".into()))
        );
        assert_eq!(built("exclude_items", &[]), Ok(owed("exclude_items", |_| {})));
        assert_eq!(
            built("require_author_consent", &[("scope", text("quote"))]),
            Ok(owed("require_author_consent", |o| {
                author(o);
                o.scope = "quote".into();
            }))
        );
        assert_eq!(
            built("add_attribution", &[]),
            Ok(owed("add_attribution", |o| {
                author(o);
                o.link = "L".into();
            }))
        );
        assert_eq!(built("notify_affected_members", &[]), Ok(owed("notify_affected_members", author)));
    }

    #[test]
    fn listed_people_are_hidden_unless_acting_or_consenting() {
        assert_eq!(
            built("redact_participant_identities", &[("scope", text("listing"))]),
            Ok(owed("redact_participant_identities", |o| {
                o.person_ids = vec!["y".into(), "".into()];
                o.names = vec!["Y".into(), "Nobody".into()];
            }))
        );
        assert_eq!(
            built("redact_participant_identities", &[("scope", text("listing")), ("people", text("minors"))]),
            Ok(owed("redact_participant_identities", |o| {
                o.person_ids = vec!["y".into()];
                o.names = vec!["Y".into()];
            }))
        );
    }

    #[test]
    fn times_and_labels_are_owed_while_they_hold() {
        assert_eq!(
            built("hold_until", &[("until", Param::Instant(11))]),
            Ok(owed("hold_until", |o| o.until = Some(11)))
        );
        assert_eq!(built("hold_until", &[("until", Param::Instant(10))]), Ok(None));
        assert_eq!(
            built("preserve_label", &[("scheme", text("tlp"))]),
            Ok(owed("preserve_label", |o| o.label = "TLP:AMBER".into()))
        );
        assert_eq!(built("preserve_label", &[("scheme", text("press"))]), Ok(None));
        assert_eq!(
            built("add_notice", &[("notice", text("n")), ("until", Param::Instant(11))]),
            Ok(owed("add_notice", |o| {
                o.notice = "n".into();
                o.until = Some(11);
            }))
        );
        assert_eq!(built("add_notice", &[("notice", text("n")), ("until", Param::Instant(9))]), Ok(None));
        assert_eq!(built("add_notice", &[("notice", text("n"))]), Ok(owed("add_notice", |o| o.notice = "n".into())));
    }

    #[test]
    fn times_are_read_as_instants_py_reads_them() {
        let cases = [
            ("2027-01-01T00:00:00Z", Ok(1798761600000000000)),
            ("2027-01-01T00:00:00.5+02:00", Ok(1798754400500000000)),
            ("2024-02-29 23:59:59,123456789-00:30", Ok(1709252999123456789)),
            ("2027-01-01T10Z", Ok(1798797600000000000)),
            ("2027-01-01T10:30Z", Ok(1798799400000000000)),
            ("0001-01-01T00:00:00Z", Ok(-62135596800000000000)),
            ("2027-01-01T00:00:00+02:00:30.5", Ok(1798754369500000000)),
            ("2026-02-29T00:00:00Z", Err("ValueError: day is out of range for month")),
            ("2027-13-01T00:00:00Z", Err("ValueError: month must be in 1..12")),
            ("2027-01-01", Err("NoTimeZone: `2027-01-01` has no time zone")),
            (
                "2027-01-01T00:00:00.1234567891Z",
                Err("ValueError: `2027-01-01T00:00:00.1234567891Z` is more precise than a nanosecond"),
            ),
            ("nonsense", Err("ValueError: Invalid isoformat string: 'nonsense'")),
            ("2027-01-01T24:00:00Z", Err("ValueError: hour must be in 0..23")),
            ("0000-01-01T00:00:00Z", Err("ValueError: year 0 is out of range")),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_iso(text), expected.map_err(|e: &str| Failure(e.into())), "{text}");
        }
    }
}

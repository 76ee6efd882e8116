//! decide(): one request, one decision: service/discretion/engine/decide.py in Rust.
//! Pure: the clock is a parameter.
//!
//! The order (domain notes §9): check the request (unknown action, destination or
//! group → deny); for each item resolve the governing versions (when posted and
//! now — the stricter wins, §6); compute its effective labels; let the author
//! release their own item (§7.2); evaluate the rules indexed for the action and
//! destination; fail closed on any error; then combine — atomically for share
//! and quote, item by item for export (§7.1).
//!
//! No tracer (explanations stay with the Python reference) and no deadline:
//! the server passes the native engine none yet (decide.py's `abandoned`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use crate::community;
use crate::compiled::{
    CompiledObligation, CompiledPolicy, CompiledRule, CompiledVersion, Effect, Failure, LabelScheme, Scope,
};
use crate::conditions::render_message;
use crate::consent;
use crate::identify::merge_spans;
use crate::model::{
    rule_key, Decision, Destination, Finding, Instant, Item, ItemResult, Obligation, Person, Request, ACTIONS,
    AUTHORED_KINDS, DESTINATION_KINDS, NEW_TERMS_CONSENT,
};
use crate::names::{lower, scheme_key, strip};
use crate::obligations::{self, Memo, CONFLICTS};
use crate::terms::{segment_key, terms_for, Governing, Moment, Terms};

const DENY: &str = "deny";
const ALLOW: &str = "allow";
const OBLIGE: &str = "allow_with_obligations";
const REQUIRE: &str = "require";

/// Setters whose label is the source's own (model.py SOURCE_SETTERS).
pub const SOURCE_SETTERS: [&str; 2] = ["", "author"];

/// An item is judged under each set of terms and each reading of its labels
/// that may apply; past this many the request is refused rather than slow.
pub const MAX_READINGS: usize = 64;

/// What the rules of one version set said about one item.
#[derive(Default)]
struct Outcome {
    denied: bool,
    obligations: Vec<Obligation>,
    findings: Vec<Finding>,
    /// (rule, obligation type, value) for every obligation a firing rule
    /// demands, owed by this request or not: conflicts are between demands
    /// (§7.4). The value is the descriptor of `use_agreed_descriptor`.
    demands: Vec<(Arc<CompiledRule>, String, String)>,
}

/// The item's labels of one reading: scheme -> value, in the order decide.py's dict has them
/// (it orders the agreements a label carries, and so the findings).
type Labels = Vec<(String, String)>;
/// scheme -> the parameters of the label that set its value.
type LabelParams = BTreeMap<String, BTreeMap<String, String>>;

/// The decision on `request` at `now`.
pub fn decide(policy: &CompiledPolicy, request: &Request, now: Instant) -> Decision {
    decide_as(policy, request, now, None)
}

/// The decision on `request` at `now` for `caller` (a tenant; "" without tenants), whose
/// recent rosters' name matchers are kept between decisions (identify::AUTOMATA); None keeps none.
pub fn decide_as(policy: &CompiledPolicy, request: &Request, now: Instant, caller: Option<&str>) -> Decision {
    let requested_at = request.requested_at.unwrap_or(now);
    if let Some((code, field, message)) = check_request(policy, request) {
        return refuse(policy, request, code, field, &message);
    }
    // The group's central binding is the floor; the request's adoptions stack on it.
    let bound = policy.bindings.get(&request.group.id).map(Vec::as_slice).unwrap_or(&[]);
    let terms = match terms_for(policy, bound, &request.group.adoptions) {
        Ok(terms) => terms,
        Err(refused) => return refuse(policy, request, &refused.code, &refused.field, &refused.message),
    };
    let received = &request.items;
    let request = minors_everywhere(undated_when_later(
        service_as_itself(community_labels(Cow::Borrowed(request), requested_at)),
        requested_at,
    ));
    let public = as_publication(&request);
    let audiences: Vec<&Request> = std::iter::once(&*request).chain(public.as_ref()).collect();
    let mut results: Vec<(&Item, Outcome, Vec<String>)> = Vec::new();
    // What every item of this decision shares (scope.once_per_request).
    let memo = Memo::new(caller);
    for (item, as_received) in request.items.iter().zip(received) {
        if crate::deadline::passed() {
            // Dropped by deadline::watching, and denied all the same should it ever be read.
            return refuse(
                policy,
                &request,
                "abandoned",
                "",
                "the caller stopped waiting before this request was decided",
            );
        }
        let mut outcome = Outcome::default();
        let governed_by = decide_item(policy, &terms, &audiences, item, requested_at, &mut outcome, &memo);
        state_labels_as_received(policy, as_received, &mut outcome);
        results.push((item, outcome, governed_by));
    }
    if request.action == "export" {
        combine_export(policy, results)
    } else {
        combine_atomic(policy, results)
    }
}

/// The request as a publication, when the public can reach its destination (decide.py `_audiences`).
///
/// A destination anyone can read (a community portal, a shared drive, a
/// group that is public) is the public, whatever else it is: the item is
/// judged both ways and the stricter holds, so no kind lets the public in
/// by another name.
fn as_publication(request: &Request) -> Option<Request> {
    let destination = &request.destination;
    if destination.publicly_accessible && destination.kind != "public" {
        let mut public = request.clone();
        public.destination.kind = "public".into();
        return Some(public);
    }
    None
}

/// A service acting for the group holds no role and no organization of its own (§4.1).
///
/// Whatever it was given: a bot claiming an owner's role would export what
/// the owner in person may not, and one claiming a peer's organization would
/// carry TLP:AMBER+STRICT to that peer.
/// Labels in a sharing community's form (MISP tags, STIX markings) as the schemes read them (community.rs).
fn community_labels(request: Cow<'_, Request>, requested_at: Instant) -> Cow<'_, Request> {
    if !request.items.iter().any(|item| item.labels.iter().any(|label| !community::form_of(label).is_empty())) {
        return request;
    }
    let mut request = request.into_owned();
    for item in &mut request.items {
        if let Some(labels) = community::read_labels(&item.labels, requested_at) {
            item.labels = labels;
        }
    }
    Cow::Owned(request)
}

/// An obligation to state an item's label states it in the form the item's label came in (decide.py).
fn state_labels_as_received(policy: &CompiledPolicy, item: &Item, outcome: &mut Outcome) {
    for obligation in outcome.obligations.iter_mut().filter(|o| o.r#type == "preserve_label") {
        let label = lower(&obligation.label);
        let (name, value) = label.split_once(':').unwrap_or((&label, ""));
        let Some(scheme) = policy.label_schemes.get(name) else {
            continue;
        };
        if let Some(written) = community::received_form(&item.labels, name, value, |v| scheme.normalize(v)) {
            obligation.label = written;
        }
    }
}

fn service_as_itself(request: Cow<'_, Request>) -> Cow<'_, Request> {
    let actor = &request.actor;
    if actor.kind != "service" || (actor.role == "member" && actor.organization.is_empty()) {
        return request;
    }
    let mut request = request.into_owned();
    request.actor.role = "member".into();
    request.actor.organization = String::new();
    Cow::Owned(request)
}

/// An item said to be posted after the request is of unknown date, for the terms and every rule alike.
fn undated_when_later(request: Cow<'_, Request>, requested_at: Instant) -> Cow<'_, Request> {
    let later = |item: &Item| item.posted_at.is_some_and(|posted| posted > requested_at);
    if !request.items.iter().any(later) {
        return request;
    }
    let mut request = request.into_owned();
    for item in request.items.iter_mut().filter(|item| later(item)) {
        item.posted_at = None;
    }
    Cow::Owned(request)
}

/// A person any record of the request marks as a minor is a minor in every record of them.
///
/// The author, a participant and a listed person are separate records of one
/// person; when they disagree the stricter holds (§4.5).
fn minors_everywhere(request: Cow<'_, Request>) -> Cow<'_, Request> {
    // The roster's own minors are read once for every request that shares it (`roster::Roster`).
    let roster = request.group.participants.clone();
    let children: Vec<Person> = request
        .items
        .iter()
        .flat_map(|item| std::iter::once(&item.author).chain(&item.listed_people))
        .filter(|p| p.is_minor)
        .cloned()
        .collect();
    let named: BTreeSet<String> = children.iter().filter(|p| !p.id.is_empty()).map(|p| p.id.clone()).collect();
    if roster.minor_ids().is_empty() && children.is_empty() {
        return request;
    }
    let minor = |id: &str| roster.minor_ids().contains(id) || named.contains(id);
    let mut request = request.into_owned();
    let person = |p: &mut Person| {
        if !p.is_minor && minor(&p.id) {
            p.is_minor = true;
        }
    };
    for item in &mut request.items {
        person(&mut item.author);
        item.listed_people.iter_mut().for_each(person);
    }
    // The roster holds every child the request names, so that a child who
    // wrote one item, or is on one item's list, is protected in every other
    // item's words too (`platform-baseline`'s minors-not-named reads it).
    let mut rostered: BTreeSet<String> = BTreeSet::new();
    let mut added: Vec<Person> = Vec::new();
    for child in children {
        if (!child.id.is_empty() && (roster.has_id(&child.id) || rostered.contains(&child.id)))
            || added.contains(&child)
        {
            continue;
        }
        rostered.insert(child.id.clone());
        added.push(child);
    }
    // A shared roster is copied only when one of its records changes.
    let unmarked = roster.minor_ids().iter().chain(&named).any(|id| roster.has_unmarked(id));
    if unmarked || !added.is_empty() {
        let people = Arc::make_mut(&mut request.group.participants).people_mut();
        people.iter_mut().for_each(person);
        people.extend(added);
    }
    Cow::Owned(request)
}

/// Evaluate one item under every set of terms, labelling and audience that may apply; the stricter holds.
fn decide_item(
    policy: &CompiledPolicy,
    terms: &Terms<'_>,
    audiences: &[&Request],
    item: &Item,
    requested_at: Instant,
    outcome: &mut Outcome,
    memo: &Memo,
) -> Vec<String> {
    // A release by consent is read for the widest audience: one naming recipients never reaches the public.
    let widest = audiences[audiences.len() - 1];
    let sets = governing_sets(terms, item, requested_at, &widest.destination);
    let mut governed_by: Vec<String> = Vec::new();
    for key in sets.iter().flat_map(|(governing, _)| &governing.keys) {
        if !governed_by.contains(key) {
            governed_by.push(key.clone());
        }
    }
    let schemes = &policy.label_schemes;
    let readings: Vec<(&Rc<Governing>, bool, Vec<(Labels, LabelParams)>)> =
        sets.iter().map(|(governing, released)| (governing, *released, labellings(governing, schemes, item))).collect();
    let count = readings.iter().map(|(_, _, labellings)| labellings.len()).sum::<usize>() * audiences.len();
    if count > MAX_READINGS {
        refuse_too_many_readings(item, count, outcome);
        return governed_by;
    }
    for (governing, released, labellings) in &readings {
        for (labels, params) in labellings {
            for asked in audiences {
                evaluate(policy, governing, labels, params, asked, item, requested_at, *released, outcome, memo);
            }
        }
    }
    refuse_uninterpreted_labels(schemes, item, outcome);
    settle(outcome, schemes);
    refuse_conflicts(item, outcome);
    governed_by
}

fn refuse_too_many_readings(item: &Item, count: usize, outcome: &mut Outcome) {
    deny_item(
        item,
        outcome,
        "too_many_readings",
        format!(
            "item `{}` could be read {count} ways (sets of terms times readings of its labels), more \
                       than the {MAX_READINGS} that are judged; it stays in the group",
            item.id
        ),
        None,
    );
}

/// Deny the item with a finding the engine itself (or `rule`) reports.
fn deny_item(item: &Item, outcome: &mut Outcome, code: &str, message: String, rule: Option<&CompiledRule>) {
    outcome.denied = true;
    let (agreement, version, id) = match rule {
        Some(rule) => (rule.agreement.clone(), rule.version, rule.id.clone()),
        None => (String::new(), 0, String::new()),
    };
    outcome.findings.push(Finding {
        agreement,
        version,
        rule: id,
        item_id: item.id.clone(),
        effect: DENY.into(),
        reason_code: code.into(),
        message,
    });
}

/// Labels to state that several readings owe: the strictest of each scheme.
///
/// A caller stating TLP:AMBER where TLP:RED also applies would invite passing
/// it on. (Two different agreed descriptors are a conflict: refuse_conflicts.)
fn settle(outcome: &mut Outcome, schemes: &BTreeMap<String, LabelScheme>) {
    let stated: Vec<usize> =
        (0..outcome.obligations.len()).filter(|&i| outcome.obligations[i].r#type == "preserve_label").collect();
    if stated.len() <= 1 {
        return;
    }
    // scheme -> (the obligation kept, its value), in the order first seen
    let mut strictest: Vec<(String, (usize, String))> = Vec::new();
    for index in stated {
        let label = lower(&outcome.obligations[index].label);
        let (name, value) = label.split_once(':').unwrap_or((label.as_str(), ""));
        let scheme = schemes.get(name);
        match strictest.iter_mut().find(|(held_name, _)| held_name == name) {
            None => strictest.push((name.to_string(), (index, value.to_string()))),
            Some((_, held)) => {
                let stricter = scheme.is_some_and(|scheme| {
                    scheme.order.iter().any(|v| v == value)
                        && scheme.order.contains(&held.1)
                        && scheme.stricter(value, &held.1) != held.1
                });
                if stricter {
                    *held = (index, value.to_string());
                }
            }
        }
    }
    let keep: BTreeSet<usize> = strictest.iter().map(|(_, (index, _))| *index).collect();
    let mut index = 0;
    outcome.obligations.retain(|o| {
        let kept = o.r#type != "preserve_label" || keep.contains(&index);
        index += 1;
        kept
    });
}

// ---- the request ------------------------------------------------------------

/// (reason code, field, message) when the policy cannot know what is asked; deny, never guess.
fn check_request(policy: &CompiledPolicy, request: &Request) -> Option<(&'static str, &'static str, String)> {
    if !ACTIONS.contains(&request.action.as_str()) {
        let action = if request.action.is_empty() { "unspecified" } else { &request.action };
        return Some(("unknown_action", "action", format!("the action `{action}` is not one the policy knows")));
    }
    if !DESTINATION_KINDS.contains(&request.destination.kind.as_str()) {
        let kind = if request.destination.kind.is_empty() { "unspecified" } else { &request.destination.kind };
        return Some((
            "unknown_destination",
            "destination.kind",
            format!("the destination kind `{kind}` is not one the policy knows"),
        ));
    }
    if request.group.adoptions.is_empty() && !policy.bindings.contains_key(&request.group.id) {
        return Some((
            "unknown_group",
            "group.adoptions",
            format!(
                "group `{}` carries no adoptions and has no binding, so its agreement is unknown",
                request.group.id
            ),
        ));
    }
    None // the adoptions themselves are checked with the terms they resolve to (terms_for)
}

fn refuse(policy: &CompiledPolicy, request: &Request, code: &str, field: &str, message: &str) -> Decision {
    let reason = format!("denied: {message} (field `{field}`)");
    let finding = Finding {
        agreement: String::new(),
        version: 0,
        rule: String::new(),
        item_id: String::new(),
        effect: DENY.into(),
        reason_code: code.into(),
        message: reason.clone(),
    };
    let items = request.items.iter().map(|item| excluded(item, Vec::new())).collect();
    Decision {
        decision: DENY.into(),
        obligations: Vec::new(),
        items,
        findings: vec![finding],
        reason,
        policy_revision: policy.revision.clone(),
    }
}

/// The terms in force when the item was posted and now; the stricter outcome wins (§6.2).
///
/// Each set comes with whether the author released it: an author who consented
/// to the new terms after they changed lets them govern an older item, but
/// only as far as the author may waive; what the old terms owe other people
/// (participants named, children, lists) still holds.
fn governing_sets(
    terms: &Terms<'_>,
    item: &Item,
    requested_at: Instant,
    destination: &Destination,
) -> Vec<(Rc<Governing>, bool)> {
    let segment = segment_key(&item.session.segment);
    // A meeting segment not given may be any: each segment's terms, and those of none.
    let segments: Vec<String> = if !segment.is_empty() || terms.segments.is_empty() {
        vec![segment]
    } else {
        std::iter::once(String::new()).chain(terms.segments.iter().cloned()).collect()
    };
    let mut sets: Vec<(Rc<Governing>, Option<bool>)> = Vec::new();
    for name in &segments {
        let current = terms.at(Moment::At(requested_at), name);
        // Unknown date: every set of terms the group ever had, the first included (§6.2.4).
        let posted = match item.posted_at {
            None => terms.ever(name),
            Some(posted_at) => vec![terms.at(Moment::At(posted_at), name)],
        };
        sets.push((current.clone(), Some(false)));
        sets.extend(posted.into_iter().filter(|g| !g.same_terms(&current)).map(|g| (g, None)));
    }
    if sets.len() == segments.len() {
        // The same terms then and now: nothing for a consent to release.
        return sets.into_iter().map(|(g, _)| (g, false)).collect();
    }
    let released = released(terms, item, requested_at, destination);
    sets.into_iter().map(|(g, flag)| (g, flag.unwrap_or(released))).collect()
}

/// Whether the author consented to the new terms after they changed, for this destination.
fn released(terms: &Terms<'_>, item: &Item, requested_at: Instant, destination: &Destination) -> bool {
    let changed = terms.last_change(Moment::from_option(item.posted_at), requested_at);
    AUTHORED_KINDS.contains(&item.kind.as_str())
        && changed.is_some_and(|changed| {
            consent::granted_since(
                &item.consents,
                &item.author.id,
                NEW_TERMS_CONSENT,
                changed,
                requested_at,
                destination,
            )
        })
}

// ---- one item under one set of versions ---------------------------------------

/// Every reading of the item's labels, each as the label per scheme and the parameters of the label that set it.
///
/// The first is the source's labelling (§7.1): per scheme the most
/// restrictive of the source's labels (and those of setters the scheme names
/// in `relabel_by`); a scheme the source left unlabelled takes the governing
/// default; floors raise it. Then one reading per other label the item
/// carries — another value, or the same value with other parameters (a later
/// embargo, another descriptor), from any setter — in place of the chosen one.
/// The item is judged under each and the stricter outcome holds, so a label
/// adds restrictions and lifts none, whoever set it, and no order of a scheme
/// is trusted to say which of two readings is the stricter one (TLP:RED lets
/// the original exchange hear what AMBER keeps to the organization). Under an
/// agreement whose authors may not restrict after speaking, the source's later
/// labels of that agreement's own schemes are ignored (press, §3.1).
fn labellings(
    governing: &Governing,
    schemes: &BTreeMap<String, LabelScheme>,
    item: &Item,
) -> Vec<(Labels, LabelParams)> {
    if item.labels.is_empty() && governing.default_labels.is_empty() && governing.label_floors.is_empty() {
        return vec![(Vec::new(), BTreeMap::new())];
    }
    let mut source: Vec<(String, (String, BTreeMap<String, String>))> = Vec::new();
    let mut readings: Vec<(String, String, BTreeMap<String, String>)> = Vec::new();
    for label in &item.labels {
        let name = scheme_key(&label.scheme);
        let Some(scheme) = schemes.get(&name) else {
            continue; // no order to read it by: refused outside the group (refuse_uninterpreted_labels)
        };
        let setter = lower(strip(&label.set_by));
        let by_source = SOURCE_SETTERS.contains(&setter.as_str());
        if by_source && governing.frozen.contains(&name) && set_after_posting(label.set_at, item.posted_at) {
            continue;
        }
        let value = scheme.normalize(&label.value);
        let params: BTreeMap<String, String> = label.params.iter().cloned().collect();
        readings.push((name.clone(), value.clone(), params.clone()));
        if by_source || scheme.relabel_by.contains(&setter) {
            match source.iter_mut().find(|(held, _)| *held == name) {
                None => source.push((name, (value, params))),
                Some((_, held)) => {
                    if scheme.stricter(&value, &held.0) != held.0 {
                        *held = (value, params);
                    }
                }
            }
        }
    }
    let mut labels: Labels = governing
        .default_labels
        .iter()
        .filter(|(name, _)| !source.iter().any(|(held, _)| held == name))
        .cloned()
        .collect();
    let mut params: LabelParams = BTreeMap::new();
    for (name, (value, label_params)) in source {
        set(&mut labels, &name, value);
        params.insert(name, label_params);
    }
    let floors = &governing.label_floors;
    for (name, floor) in floors {
        let raise = match get(&labels, name) {
            None => true,
            Some(value) => schemes.get(name).is_some_and(|scheme| scheme.stricter(floor, value) != value),
        };
        if raise {
            set(&mut labels, name, floor.clone());
            params.insert(name.clone(), BTreeMap::new());
        }
    }
    let mut seen: BTreeSet<(String, String, BTreeMap<String, String>)> = labels
        .iter()
        .map(|(name, value)| (name.clone(), value.clone(), params.get(name).cloned().unwrap_or_default()))
        .collect();
    let mut result = vec![(labels.clone(), params.clone())];
    for (name, mut value, mut label_params) in readings {
        if let (Some(floor), Some(scheme)) = (get(floors, &name), schemes.get(&name)) {
            if scheme.stricter(floor, &value) != value {
                value = floor.to_string();
                label_params = BTreeMap::new();
            }
        }
        let key = (name.clone(), value.clone(), label_params.clone());
        if !seen.insert(key) {
            continue;
        }
        let mut reading_labels = labels.clone();
        set(&mut reading_labels, &name, value);
        let mut reading_params = params.clone();
        reading_params.insert(name, label_params);
        result.push((reading_labels, reading_params));
    }
    result
}

fn get<'l>(labels: &'l [(String, String)], name: &str) -> Option<&'l str> {
    labels.iter().find(|(held, _)| held == name).map(|(_, value)| value.as_str())
}

/// Python's `labels[name] = value`: in place if present, else last.
fn set(labels: &mut Labels, name: &str, value: String) {
    match labels.iter_mut().find(|(held, _)| held == name) {
        Some((_, held)) => *held = value,
        None => labels.push((name.to_string(), value)),
    }
}

fn set_after_posting(set_at: Option<Instant>, posted_at: Option<Instant>) -> bool {
    matches!((set_at, posted_at), (Some(set_at), Some(posted_at)) if set_at > posted_at)
}

/// The versions that judge labels of schemes no governing agreement defines: a label carries its terms.
///
/// Every version of the defining agreement published by the time of the
/// request, since no adoption says which one the group follows.
fn interpreters(
    policy: &CompiledPolicy,
    governing: &Governing,
    labels: &Labels,
    requested_at: Instant,
) -> Vec<(Arc<CompiledVersion>, BTreeSet<String>)> {
    let adopted: BTreeSet<&str> = governing.versions.iter().map(|v| v.agreement.as_str()).collect();
    let mut carried: Vec<(&str, BTreeSet<String>)> = Vec::new();
    for (name, _) in labels {
        // Every label of a reading is of a defined scheme (labellings and terms skip the others).
        let Some(scheme) = policy.label_schemes.get(name) else { continue };
        let agreement = scheme.agreement.as_str();
        if adopted.contains(agreement) {
            continue;
        }
        match carried.iter_mut().find(|(held, _)| *held == agreement) {
            Some((_, names)) => {
                names.insert(name.clone());
            }
            None => carried.push((agreement, BTreeSet::from([name.clone()]))),
        }
    }
    let mut result = Vec::new();
    for (agreement, names) in carried {
        let Some(versions) = policy.versions.get(agreement) else { continue };
        for version in versions.values() {
            if version.published_at.is_none_or(|published| published <= requested_at) {
                result.push((version.clone(), names.clone()));
            }
        }
    }
    result
}

#[allow(clippy::too_many_arguments)] // decide.py's `_evaluate`, argument for argument
fn evaluate(
    policy: &CompiledPolicy,
    governing: &Governing,
    labels: &Labels,
    label_params: &LabelParams,
    request: &Request,
    item: &Item,
    requested_at: Instant,
    released: bool,
    outcome: &mut Outcome,
    memo: &Memo,
) {
    let label: BTreeMap<String, String> = labels.iter().cloned().collect();
    let acting_person = if request.actor.kind == "service" { "" } else { request.actor.id.as_str() };
    let mut scope = Scope {
        request,
        item,
        requested_at,
        label: &label,
        label_param: label_params,
        vars: Vec::new(),
        acting_person,
        actor_is_author: !item.author.id.is_empty() && item.author.id == acting_person,
    };
    let key = (request.action.clone(), request.destination.kind.clone());
    // The author may release their own item (§7.2), if its words are theirs alone.
    let waiver = released || (scope.actor_is_author && AUTHORED_KINDS.contains(&item.kind.as_str()));
    let mut permitted = waiver;
    let mut versions: Vec<(Arc<CompiledVersion>, Option<BTreeSet<String>>)> =
        governing.versions.iter().map(|v| (v.clone(), None)).collect();
    if !labels.is_empty() {
        versions.extend(interpreters(policy, governing, labels, requested_at).into_iter().map(|(v, c)| (v, Some(c))));
    }
    for (version, carried) in &versions {
        let mut permitted_here = false;
        let Some(rules) = version.index.get(&key) else { continue };
        for rule in rules {
            // fallback rules come last
            if carried.as_ref().is_some_and(|carried| rule.schemes.is_disjoint(carried)) {
                continue;
            }
            if waiver && rule.waivable_by_author {
                continue;
            }
            if permitted_here && rule.effect == Effect::DenyUnlessAllowed {
                continue; // this agreement allowed the item: its "otherwise deny" does not apply
            }
            match rule.condition.holds(&mut scope) {
                Err(failure) => {
                    fail_closed(rule, &scope, outcome, failure);
                    continue;
                }
                Ok(false) => continue,
                Ok(true) => {}
            }
            let effect = fire(rule, &scope, outcome, memo);
            if effect == ALLOW || effect == OBLIGE {
                permitted_here = true;
                if carried.is_none() {
                    permitted = true;
                }
            }
        }
    }
    if !permitted && !outcome.denied {
        deny_item(
            item,
            outcome,
            "not_permitted",
            format!(
                "no agreement in force permits a {} of item `{}` to `{}`; what is said in the group stays \
                           in the group unless an agreement says otherwise",
                request.action, item.id, request.destination.kind
            ),
            None,
        );
    }
}

/// A label of a scheme no loaded agreement defines: what it allows cannot be known, even inside the group.
///
/// Inside the group too: a misspelt `tlp` (a look-alike letter) would
/// otherwise carry a TLP:RED item past the recipients its label allows.
fn refuse_uninterpreted_labels(schemes: &BTreeMap<String, LabelScheme>, item: &Item, outcome: &mut Outcome) {
    if item.labels.is_empty() {
        return;
    }
    if let Some(unread) = item.labels.iter().find(|label| !community::form_of(label).is_empty()) {
        // Read as no scheme (community.rs): a tag of no sharing namespace, a STIX marking not of TLP.
        let message = format!(
            "item `{}` carries {}, so what it allows cannot be known and it is not passed on",
            item.id,
            community::refused(unread)
        );
        deny_item(item, outcome, "not_a_sharing_label", message, None);
        return;
    }
    let unknown: BTreeSet<String> =
        item.labels.iter().map(|label| scheme_key(&label.scheme)).filter(|name| !schemes.contains_key(name)).collect();
    if unknown.is_empty() {
        return;
    }
    let names = unknown
        .iter()
        .map(|name| format!("`{}`", if name.is_empty() { "(blank)" } else { name }))
        .collect::<Vec<_>>()
        .join(", ");
    deny_item(
        item,
        outcome,
        "uninterpreted_label",
        format!(
            "item `{}` carries a {names} label that no loaded agreement defines, so what it allows cannot \
                       be known and it is not passed on",
            item.id
        ),
        None,
    );
}

/// Obligations no request can meet together deny the item, naming the rules that demand them (§7.4).
fn refuse_conflicts(item: &Item, outcome: &mut Outcome) {
    if outcome.demands.is_empty() {
        return;
    }
    let mut first: Vec<(&str, Arc<CompiledRule>)> = Vec::new();
    let mut descriptors: BTreeMap<String, Arc<CompiledRule>> = BTreeMap::new();
    for (rule, kind, value) in &outcome.demands {
        if !first.iter().any(|(held, _)| held == kind) {
            first.push((kind, rule.clone()));
        }
        if kind == "use_agreed_descriptor" {
            descriptors.entry(value.clone()).or_insert_with(|| rule.clone());
        }
    }
    let what = if descriptors.len() > 1 {
        // Two readings agree different descriptors: complying with one breaks the other.
        let mut sorted = descriptors.iter();
        let (Some((a_text, a)), Some((b_text, b))) = (sorted.next(), sorted.next()) else { return };
        Some((
            b.clone(),
            format!(
                "`{}` requires the descriptor `{a_text}` and `{}` requires `{b_text}` for item `{}`",
                where_(a),
                where_(b),
                item.id
            ),
        ))
    } else {
        let rule_of = |kind: &str| first.iter().find(|(held, _)| *held == kind).map(|(_, rule)| rule.clone());
        CONFLICTS.iter().find_map(|(one, other)| {
            let (a, b) = (rule_of(one)?, rule_of(other)?);
            Some((
                b.clone(),
                format!(
                    "`{}` requires `{one}` and `{}` requires `{other}` for item `{}`",
                    where_(&a),
                    where_(&b),
                    item.id
                ),
            ))
        })
    };
    if let Some((rule, what)) = what {
        deny_item(
            item,
            outcome,
            "conflicting_obligations",
            format!("{what}; no request can meet both, so it is refused"),
            Some(&rule),
        );
    }
}

fn where_(rule: &CompiledRule) -> String {
    rule_key(&rule.agreement, rule.version, &rule.id)
}

/// Record what a rule whose condition holds does. Any error denies the item (fail closed).
fn fire(rule: &Arc<CompiledRule>, scope: &Scope<'_>, outcome: &mut Outcome, memo: &Memo) -> &'static str {
    let mut effect = if rule.effect == Effect::DenyUnlessAllowed { DENY } else { rule.effect.word() };
    let fired = (|| -> Result<_, Failure> {
        let mut obligations = Vec::new();
        for ob in &rule.obligations {
            if let Some(o) = obligations::build(scope, ob, memo)? {
                obligations.push(o);
            }
        }
        let message = render_message(&rule.message, scope)?;
        let mut demands = Vec::new();
        if effect == OBLIGE || effect == REQUIRE {
            for ob in &rule.obligations {
                demands.push((rule.clone(), ob.r#type.clone(), demanded_value(ob, scope)?));
            }
        }
        Ok((obligations, message, demands))
    })();
    let (obligations, message, demands) = match fired {
        Ok(fired) => fired,
        Err(failure) => return fail_closed(rule, scope, outcome, failure),
    };
    outcome.demands.extend(demands);
    if effect == OBLIGE && obligations.is_empty() {
        effect = ALLOW; // nothing the request does needs fixing (§7.4)
    }
    if effect == DENY {
        outcome.denied = true;
    }
    let owes = !obligations.is_empty();
    outcome.obligations.extend(obligations);
    if effect != REQUIRE || owes {
        // A `require` rule that owes nothing did nothing: no finding to report.
        let reported = if effect == REQUIRE { OBLIGE } else { effect };
        outcome.findings.push(Finding {
            agreement: rule.agreement.clone(),
            version: rule.version,
            rule: rule.id.clone(),
            item_id: scope.item.id.clone(),
            effect: reported.into(),
            reason_code: rule.reason_code.clone(),
            message,
        });
    }
    effect
}

fn demanded_value(obligation: &CompiledObligation, scope: &Scope<'_>) -> Result<String, Failure> {
    if obligation.r#type != "use_agreed_descriptor" {
        return Ok(String::new());
    }
    match obligation.params.get("descriptor") {
        Some(p) => obligations::text_or_empty(scope, p),
        None => Err(Failure("the fact `descriptor` is missing from the request".into())),
    }
}

fn fail_closed(rule: &CompiledRule, scope: &Scope<'_>, outcome: &mut Outcome, failure: Failure) -> &'static str {
    outcome.denied = true;
    outcome.findings.push(Finding {
        agreement: rule.agreement.clone(),
        version: rule.version,
        rule: rule.id.clone(),
        item_id: scope.item.id.clone(),
        effect: DENY.into(),
        reason_code: "rule_evaluation_failed".into(),
        message: format!("rule `{}` could not be evaluated ({}), so the item is denied", rule.id, failure.0),
    });
    DENY
}

// ---- combining items --------------------------------------------------------------

type Results<'r> = Vec<(&'r Item, Outcome, Vec<String>)>;

fn all_findings(results: &mut Results<'_>) -> Vec<Finding> {
    results.iter_mut().flat_map(|(_, outcome, _)| std::mem::take(&mut outcome.findings)).collect()
}

/// Share and quote: the most restrictive item governs; obligations are the union.
fn combine_atomic(policy: &CompiledPolicy, mut results: Results<'_>) -> Decision {
    let findings = all_findings(&mut results);
    if results.iter().any(|(_, outcome, _)| outcome.denied) {
        // Each item still reports its own verdict: the request is refused as a
        // whole, but an item that was allowed owed what it owed.
        let items = results
            .into_iter()
            .map(|(item, o, g)| if o.denied { excluded(item, g) } else { item_result(item, &o, g) })
            .collect();
        let reason = reason(DENY, &findings);
        return decision(policy, DENY, Vec::new(), items, findings, reason);
    }
    let obligations =
        merge_obligations(results.iter().flat_map(|(_, outcome, _)| outcome.obligations.iter().cloned()).collect());
    let items = results.into_iter().map(|(item, outcome, governed)| item_result(item, &outcome, governed)).collect();
    let verdict = if obligations.is_empty() { ALLOW } else { OBLIGE };
    let reason = reason(verdict, &findings);
    decision(policy, verdict, obligations, items, findings, reason)
}

/// Export: exclude what cannot go, keep the rest (§4.3); deny only when nothing may go.
fn combine_export(policy: &CompiledPolicy, mut results: Results<'_>) -> Decision {
    let findings = all_findings(&mut results);
    let excluded_ids: Vec<String> = results
        .iter()
        .filter(|(_, outcome, _)| outcome.denied || excludes(outcome))
        .map(|(item, _, _)| item.id.clone())
        .collect();
    if excluded_ids.len() == results.len() {
        let items = results.into_iter().map(|(item, _, g)| excluded(item, g)).collect();
        let reason = reason(DENY, &findings);
        return decision(policy, DENY, Vec::new(), items, findings, reason);
    }
    let gone: BTreeSet<&str> = excluded_ids.iter().map(String::as_str).collect();
    let mut kept: Vec<Obligation> = results
        .iter()
        .filter(|(item, _, _)| !gone.contains(item.id.as_str()))
        .flat_map(|(_, outcome, _)| outcome.obligations.iter().cloned())
        .collect();
    if !excluded_ids.is_empty() {
        kept.insert(
            0,
            Obligation { r#type: "exclude_items".into(), item_ids: excluded_ids.clone(), ..Obligation::default() },
        );
    }
    let obligations = merge_obligations(kept);
    let items = results
        .into_iter()
        .map(|(item, outcome, governed)| {
            if gone.contains(item.id.as_str()) {
                excluded(item, governed)
            } else {
                item_result(item, &outcome, governed)
            }
        })
        .collect();
    let verdict = if obligations.is_empty() { ALLOW } else { OBLIGE };
    let reason = reason(verdict, &findings);
    decision(policy, verdict, obligations, items, findings, reason)
}

fn decision(
    policy: &CompiledPolicy,
    verdict: &str,
    obligations: Vec<Obligation>,
    items: Vec<ItemResult>,
    findings: Vec<Finding>,
    reason: String,
) -> Decision {
    Decision {
        decision: verdict.into(),
        obligations,
        items,
        findings,
        reason,
        policy_revision: policy.revision.clone(),
    }
}

fn excludes(outcome: &Outcome) -> bool {
    outcome.obligations.iter().any(|o| o.r#type == "exclude_items")
}

fn excluded(item: &Item, governed_by: Vec<String>) -> ItemResult {
    ItemResult { item_id: item.id.clone(), outcome: "excluded".into(), decision: DENY.into(), governed_by }
}

fn item_result(item: &Item, outcome: &Outcome, governed_by: Vec<String>) -> ItemResult {
    let redacted = outcome.obligations.iter().any(|o| obligations::redacts(&o.r#type));
    let verdict = if outcome.obligations.is_empty() { ALLOW } else { OBLIGE };
    ItemResult {
        item_id: item.id.clone(),
        outcome: if redacted { "redacted" } else { "kept" }.into(),
        decision: verdict.into(),
        governed_by,
    }
}

/// One obligation per kind and parameters, with the items, people and spans it covers joined.
pub fn merge_obligations(obligations: Vec<Obligation>) -> Vec<Obligation> {
    type Key = (String, String, Option<Instant>, String, String, String, String);
    let key = |o: &Obligation| -> Key {
        (
            o.r#type.clone(),
            o.scope.clone(),
            o.until,
            o.label.clone(),
            o.notice.clone(),
            o.descriptor.clone(),
            o.link.clone(),
        )
    };
    let mut groups: Vec<(Key, Vec<Obligation>)> = Vec::new();
    for o in obligations {
        let k = key(&o);
        match groups.iter_mut().find(|(held, _)| *held == k) {
            Some((_, group)) => group.push(o),
            None => groups.push((k, vec![o])),
        }
    }
    groups.into_iter().map(|(_, mut group)| if group.len() == 1 { group.remove(0) } else { joined(group) }).collect()
}

fn joined(group: Vec<Obligation>) -> Obligation {
    fn unique<'o>(values: impl Iterator<Item = &'o String>) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for value in values {
            if !seen.contains(value) {
                seen.push(value.clone());
            }
        }
        seen
    }
    let item_ids = unique(group.iter().flat_map(|o| &o.item_ids));
    let person_ids = unique(group.iter().flat_map(|o| &o.person_ids).filter(|p| !p.is_empty()));
    let names = unique(group.iter().flat_map(|o| &o.names));
    let spans = merge_spans(group.iter().flat_map(|o| &o.spans));
    let first = group.into_iter().next().unwrap_or_default();
    Obligation { item_ids, person_ids, spans, names, ..first }
}

fn reason(verdict: &str, findings: &[Finding]) -> String {
    fn unique<'f>(messages: impl Iterator<Item = &'f String>) -> Vec<&'f str> {
        let mut seen: Vec<&str> = Vec::new();
        for message in messages {
            if !seen.contains(&message.as_str()) {
                seen.push(message);
            }
        }
        seen
    }
    let with = |effect: &'static str| findings.iter().filter(move |f| f.effect == effect).map(|f| &f.message);
    if verdict == DENY {
        return match findings.iter().find(|f| f.effect == DENY) {
            Some(first) => format!("denied: {}", first.message),
            None => "denied".into(),
        };
    }
    if verdict == OBLIGE {
        let mut messages: Vec<String> = unique(with(OBLIGE)).into_iter().map(String::from).collect();
        let left_out = unique(with(DENY));
        if !left_out.is_empty() {
            // An export that keeps some items: say why the others stay behind.
            messages.push(format!("items are left out because {}", left_out.join("; ")));
        }
        return format!("allowed once the obligations are met: {}", messages.join("; "));
    }
    let messages = unique(with(ALLOW));
    format!("allowed: {}", messages.first().copied().unwrap_or("the author may share their own words"))
}

#[cfg(test)]
mod tests {
    //! decide.py's answers where no rule is evaluated (rules need conditions, tested
    //! with them): refusals, members only, the author's waiver, labels, combining.
    //! The expected values are the Python evaluator's on the same policy and requests.
    use std::collections::HashMap;

    use super::*;
    use crate::model::{Actor, Adoption, Group, Label};

    fn version(agreement: &str, defaults: &[(&str, &str)]) -> Arc<CompiledVersion> {
        Arc::new(CompiledVersion {
            agreement: agreement.into(),
            version: 1,
            effective_from: None,
            disclosed_at: None,
            index: HashMap::new(),
            default_labels: defaults.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            authors_may_restrict_later: true,
            label_floors: BTreeMap::new(),
            published_at: None,
            frozen_schemes: BTreeSet::new(),
        })
    }

    fn tlp() -> LabelScheme {
        LabelScheme {
            name: "tlp".into(),
            order: ["clear", "green", "amber", "red"].map(String::from).to_vec(),
            aliases: BTreeMap::from([("white".to_string(), "clear".to_string())]),
            agreement: "tlp".into(),
            relabel_by: BTreeSet::from(["admin".to_string()]),
        }
    }

    fn policy() -> CompiledPolicy {
        let mut versions = BTreeMap::new();
        versions.insert("baseline".to_string(), BTreeMap::from([(1, version("baseline", &[]))]));
        versions.insert("club".to_string(), BTreeMap::from([(1, version("club", &[("tlp", "green")]))]));
        versions.insert("tlp".to_string(), BTreeMap::from([(1, version("tlp", &[]))]));
        CompiledPolicy {
            revision: "rev".into(),
            agreements: Vec::new(),
            versions,
            platform_wide: vec!["baseline".into()],
            bindings: HashMap::from([(
                "bound".to_string(),
                vec![Adoption { agreement: "club".into(), ..Adoption::default() }],
            )]),
            label_schemes: BTreeMap::from([("tlp".to_string(), tlp())]),
            consent_scopes_read: BTreeSet::new(),
        }
    }

    fn item(labels: Vec<Label>) -> Item {
        Item {
            id: "m".into(),
            author: Person { id: "u-au".into(), ..Person::default() },
            posted_at: Some(5),
            labels,
            ..Item::default()
        }
    }

    fn request() -> Request {
        Request {
            action: "share".into(),
            actor: Actor { id: "u-me".into(), ..Actor::default() },
            group: Group {
                id: "g".into(),
                adoptions: vec![Adoption { agreement: "club".into(), ..Adoption::default() }],
                ..Group::default()
            },
            items: vec![item(Vec::new())],
            destination: Destination { kind: "public".into(), ..Destination::default() },
            requested_at: Some(10),
            ..Request::default()
        }
    }

    fn label(scheme: &str, value: &str) -> Label {
        Label { scheme: scheme.into(), value: value.into(), ..Label::default() }
    }

    fn codes(d: &Decision) -> Vec<&str> {
        d.findings.iter().map(|f| f.reason_code.as_str()).collect()
    }

    #[test]
    fn what_the_policy_cannot_know_is_refused_naming_the_field() {
        let d = decide(&policy(), &Request { action: String::new(), ..request() }, 10);
        assert_eq!(d.decision, "deny");
        assert_eq!(d.reason, "denied: the action `unspecified` is not one the policy knows (field `action`)");
        assert_eq!(d.findings[0].message, d.reason);
        assert_eq!(d.items[0].outcome, "excluded");
        assert!(d.items[0].governed_by.is_empty());
        let d = decide(&policy(), &Request { group: Group { id: "x".into(), ..Group::default() }, ..request() }, 10);
        assert_eq!(
            d.reason,
            "denied: group `x` carries no adoptions and has no binding, so its agreement is unknown \
                              (field `group.adoptions`)"
        );
    }

    #[test]
    fn what_no_rule_permits_stays_in_the_group() {
        let d = decide(&policy(), &request(), 10);
        assert_eq!(d.decision, "deny");
        assert_eq!(codes(&d), ["not_permitted"]);
        assert_eq!(
            d.reason,
            "denied: no agreement in force permits a share of item `m` to `public`; what is said in \
                              the group stays in the group unless an agreement says otherwise"
        );
        assert_eq!(d.items[0].governed_by, ["club@1", "baseline@1"]);
        // Judged as asked first: a publicly accessible place is named by its own kind.
        let public_place =
            Destination { kind: "same_group".into(), publicly_accessible: true, ..Destination::default() };
        let bound = Group { id: "bound".into(), ..Group::default() };
        let d = decide(&policy(), &Request { destination: public_place, group: bound, ..request() }, 10);
        assert!(d.findings[0].message.contains("to `same_group`"), "{}", d.findings[0].message);
    }

    #[test]
    fn the_author_may_share_their_own_words() {
        let actor = Actor { id: "u-au".into(), ..Actor::default() };
        let d = decide(&policy(), &Request { actor, ..request() }, 10);
        assert_eq!(
            (d.decision.as_str(), d.reason.as_str()),
            ("allow", "allowed: the author may share their own words")
        );
        assert_eq!((d.items[0].outcome.as_str(), d.items[0].decision.as_str()), ("kept", "allow"));
    }

    #[test]
    fn no_items_is_an_allowed_share_and_a_denied_export() {
        let d = decide(&policy(), &Request { items: Vec::new(), ..request() }, 10);
        assert_eq!(
            (d.decision.as_str(), d.reason.as_str()),
            ("allow", "allowed: the author may share their own words")
        );
        let d = decide(&policy(), &Request { items: Vec::new(), action: "export".into(), ..request() }, 10);
        assert_eq!((d.decision.as_str(), d.reason.as_str()), ("deny", "denied"));
    }

    #[test]
    fn a_label_no_agreement_defines_denies_the_item() {
        let actor = Actor { id: "u-au".into(), ..Actor::default() };
        let labelled = Item { posted_at: None, ..item(vec![label("tlр", "red"), label("", "x")]) };
        let d = decide(&policy(), &Request { actor, items: vec![labelled], ..request() }, 10);
        assert_eq!(codes(&d), ["uninterpreted_label"]);
        assert_eq!(
            d.findings[0].message,
            "item `m` carries a `(blank)`, `tlр` label that no loaded agreement defines, \
                                           so what it allows cannot be known and it is not passed on"
        );
    }

    #[test]
    fn an_item_read_too_many_ways_stays_in_the_group() {
        let many =
            (0..40).map(|i| Label { params: vec![("n".into(), i.to_string())], ..label("tlp", "red") }).collect();
        let public_place =
            Destination { kind: "same_group".into(), publicly_accessible: true, ..Destination::default() };
        let d = decide(&policy(), &Request { items: vec![item(many)], destination: public_place, ..request() }, 10);
        assert_eq!(
            d.findings[0].message,
            "item `m` could be read 80 ways (sets of terms times readings of its labels), \
                                           more than the 64 that are judged; it stays in the group"
        );
    }

    #[test]
    fn each_label_is_a_reading_beside_the_sources_labelling() {
        let press = LabelScheme {
            name: "press".into(),
            order: ["on_record", "background", "off_record"].map(String::from).to_vec(),
            aliases: BTreeMap::new(),
            agreement: "press".into(),
            relabel_by: BTreeSet::new(),
        };
        let schemes = BTreeMap::from([("tlp".to_string(), tlp()), ("press".to_string(), press)]);
        let frozen = CompiledVersion {
            frozen_schemes: BTreeSet::from(["press".to_string()]),
            authors_may_restrict_later: false,
            ..Arc::into_inner(version("press", &[])).expect("one owner")
        };
        let pairs = |list: &[(&str, &str)]| list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let governing = Governing::new(
            vec![Arc::new(frozen)],
            pairs(&[("press", "on_record"), ("tlp", "green")]),
            pairs(&[("tlp", "amber")]),
        );
        let l = |scheme: &str, value: &str, by: &str, at: Option<Instant>, params: &[(&str, &str)]| Label {
            scheme: scheme.into(),
            value: value.into(),
            set_by: by.into(),
            set_at: at,
            params: pairs(params),
        };
        let show = |item: &Item| -> Vec<(Labels, Vec<(String, Vec<(String, String)>)>)> {
            labellings(&governing, &schemes, item)
                .into_iter()
                .map(|(labels, params)| {
                    (labels, params.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect())
                })
                .collect()
        };
        let a = Item {
            posted_at: Some(5),
            labels: vec![
                l("TLP", "white", "", None, &[]),
                l("tlp", "red", "admin", None, &[]),
                l("press", "off_record", "author", Some(9), &[]),
                l("press", "background", "", Some(3), &[("until", "x")]),
                l("tlp", "red", "u1", None, &[]),
                l("tlp", "red", "u1", None, &[("n", "1")]),
                l("zz", "x", "", None, &[]),
            ],
            ..Item::default()
        };
        let until = vec![("until".to_string(), "x".to_string())];
        assert_eq!(
            show(&a),
            vec![
                (
                    pairs(&[("tlp", "red"), ("press", "background")]),
                    vec![("press".into(), until.clone()), ("tlp".into(), vec![])]
                ),
                (
                    pairs(&[("tlp", "amber"), ("press", "background")]),
                    vec![("press".into(), until.clone()), ("tlp".into(), vec![])]
                ),
                (
                    pairs(&[("tlp", "red"), ("press", "background")]),
                    vec![("press".into(), until), ("tlp".into(), vec![("n".into(), "1".into())])]
                ),
            ]
        );
        let b = Item { labels: vec![l("press", "off_record", "author", Some(9), &[])], ..Item::default() };
        assert_eq!(
            show(&b),
            vec![(
                pairs(&[("tlp", "amber"), ("press", "off_record")]),
                vec![("press".into(), vec![]), ("tlp".into(), vec![])]
            )]
        );
        let c = Item { posted_at: Some(5), ..Item::default() };
        assert_eq!(show(&c), vec![(pairs(&[("press", "on_record"), ("tlp", "amber")]), vec![("tlp".into(), vec![])])]);
    }

    fn span(start: i64, end: i64, reveals: &str, field: &str, item_id: &str) -> crate::model::Span {
        crate::model::Span { start, end, reveals: reveals.into(), field: field.into(), item_id: item_id.into() }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn obligations_of_one_kind_and_parameters_are_joined() {
        let o = |kind: &str, items: &[&str], people: &[&str]| Obligation {
            r#type: kind.into(),
            item_ids: strings(items),
            person_ids: strings(people),
            ..Obligation::default()
        };
        let merged = merge_obligations(vec![
            Obligation {
                spans: vec![span(5, 9, "name", "items.text", "a"), span(0, 3, "handle", "quoted_text", "")],
                names: strings(&["N"]),
                ..o("redact_identifying_content", &["a"], &["p1", ""])
            },
            o("exclude_items", &["b"], &[]),
            Obligation {
                spans: vec![span(1, 4, "organization", "quoted_text", ""), span(7, 12, "handle", "items.text", "a")],
                names: strings(&["M", "N"]),
                ..o("redact_identifying_content", &["b", "a"], &["", "p2"])
            },
            Obligation { until: Some(5), ..o("hold_until", &["a"], &[]) },
            Obligation { until: Some(6), ..o("hold_until", &["a"], &[]) },
            Obligation { notice: "x".into(), ..o("add_notice", &["c"], &[""]) },
        ]);
        assert_eq!(
            merged,
            vec![
                Obligation {
                    spans: vec![span(5, 12, "name", "items.text", "a"), span(0, 4, "handle", "quoted_text", "")],
                    names: strings(&["N", "M"]),
                    ..o("redact_identifying_content", &["a", "b"], &["p1", "p2"])
                },
                o("exclude_items", &["b"], &[]),
                Obligation { until: Some(5), ..o("hold_until", &["a"], &[]) },
                Obligation { until: Some(6), ..o("hold_until", &["a"], &[]) },
                // Alone, an obligation is kept as it is, blank person and all.
                Obligation { notice: "x".into(), ..o("add_notice", &["c"], &[""]) },
            ]
        );
    }

    #[test]
    fn the_reason_says_why_in_the_findings_words() {
        let f = |effect: &str, message: &str| Finding {
            agreement: "a".into(),
            version: 1,
            rule: "r".into(),
            item_id: "i".into(),
            effect: effect.into(),
            reason_code: "c".into(),
            message: message.into(),
        };
        let findings =
            [f("allow", "A1"), f(OBLIGE, "O1"), f("deny", "D1"), f(OBLIGE, "O1"), f("deny", "D2"), f("allow", "A2")];
        assert_eq!(reason(DENY, &findings), "denied: D1");
        assert_eq!(
            reason(OBLIGE, &findings),
            "allowed once the obligations are met: O1; items are left out because D1; D2"
        );
        assert_eq!(reason(ALLOW, &findings), "allowed: A1");
        assert_eq!(reason(OBLIGE, &[]), "allowed once the obligations are met: ");
    }

    #[test]
    fn a_minor_in_any_record_is_a_minor_in_every_record_and_on_the_roster() {
        let person = |id: &str, name: &str, minor: bool| Person {
            id: id.into(),
            display_name: name.into(),
            is_minor: minor,
            ..Person::default()
        };
        let (kid, anon) = (person("k", "", true), person("", "anon", true));
        let request = Request {
            group: Group {
                participants: Arc::new(crate::roster::Roster::new(vec![
                    person("k", "K", false),
                    person("p", "", false),
                ])),
                ..Group::default()
            },
            items: vec![
                Item {
                    id: "a".into(),
                    author: person("p", "", false),
                    listed_people: vec![kid, anon.clone(), anon],
                    ..Item::default()
                },
                Item { id: "b".into(), author: person("k", "again", false), ..Item::default() },
            ],
            ..request()
        };
        let read = minors_everywhere(Cow::Borrowed(&request));
        let roster: Vec<(&str, &str, bool)> = read
            .group
            .participants
            .people()
            .iter()
            .map(|p| (p.id.as_str(), p.display_name.as_str(), p.is_minor))
            .collect();
        assert_eq!(roster, [("k", "K", true), ("p", "", false), ("", "anon", true)]);
        let authors: Vec<(&str, bool)> = read.items.iter().map(|i| (i.author.id.as_str(), i.author.is_minor)).collect();
        assert_eq!(authors, [("p", false), ("k", true)]);
    }

    #[test]
    fn of_the_labels_to_state_the_strictest_of_each_scheme_is_kept() {
        let stated = |label: &str| Obligation {
            r#type: if label.is_empty() { "exclude_items" } else { "preserve_label" }.into(),
            label: label.into(),
            ..Obligation::default()
        };
        let mut outcome = Outcome {
            obligations: ["TLP:AMBER", "", "TLP:RED", "TLP:GREEN", "X:Y", "TLP:ODD"].map(stated).to_vec(),
            ..Outcome::default()
        };
        settle(&mut outcome, &BTreeMap::from([("tlp".to_string(), tlp())]));
        let left: Vec<&str> = outcome.obligations.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(left, ["", "TLP:RED", "X:Y"]);
    }
}

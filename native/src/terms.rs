//! Which agreement versions govern an item: the terms in force when it was said (§6).
//! service/discretion/engine/terms.py in Rust.
//!
//! A version governs from the moment it is both effective and disclosed to
//! members. An adoption that replaces another agreement ends it only from the
//! moment the replacement governs, so terms announced late leave no gap. Several
//! adoptions of one agreement from the same instant all govern (the stricter
//! outcome wins). An adoption of "the latest version" (0) follows, at each
//! instant, the latest version published by then, never one published later. An
//! adoption limited to meeting segments governs only items from them ("or part
//! thereof"); an item whose segment is not given may be from any of them, so it
//! is judged under each segment's terms (decide.rs). The platform-wide agreements
//! date their own versions and are always in force.
//!
//! A group's central binding (rules/bindings.yaml) is the floor of its terms: a
//! request's own adoptions stack on it and can neither replace nor end it.
//!
//! Unlike terms.py, resolved terms are not kept across requests (terms.py's
//! per-policy `terms_cache`): that is an optimisation, and changes no answer.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use crate::compiled::{CompiledPolicy, CompiledVersion};
use crate::model::{Adoption, Instant};
use crate::names::{fold, scheme_key};

/// An instant, or "in force since ever" (terms.py's `-math.inf`), which comes before every instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Moment {
    SinceEver,
    At(Instant),
}

impl Moment {
    /// An instant given or not: not given is since ever.
    pub fn from_option(instant: Option<Instant>) -> Moment {
        instant.map_or(Moment::SinceEver, Moment::At)
    }
}

fn start(effective_from: Option<Instant>, disclosed_at: Option<Instant>) -> Moment {
    let effective = Moment::from_option(effective_from);
    let disclosed = disclosed_at.map_or(effective, Moment::At);
    effective.max(disclosed)
}

/// Segment names compare as people read them (names::fold).
pub fn segment_key(segment: &str) -> String {
    fold(segment)
}

// ---- adoptions that cannot be read ------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct AdoptionProblem {
    /// Of the adoption at fault.
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// Adoptions whose `replaces` cannot mean anything but "no terms at all": refused, never guessed.
///
/// An adoption that replaces its own agreement would end itself the moment it
/// starts; adoptions that replace each other from the same instant would end
/// each other. Replacements at different instants are a history, not a cycle.
pub fn adoption_problems(adoptions: &[Adoption]) -> Vec<AdoptionProblem> {
    let mut problems: Vec<AdoptionProblem> = adoptions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.replaces.contains(&a.agreement))
        .map(|(index, a)| AdoptionProblem {
            index,
            code: "adoption_replaces_itself".into(),
            message: format!(
                "the adoption of `{}` replaces `{}` itself, which would end it as it starts",
                a.agreement, a.agreement
            ),
        })
        .collect();
    // Python's dict of starts, in the order first seen.
    let mut by_start: Vec<(Moment, Vec<usize>)> = Vec::new();
    for (index, a) in adoptions.iter().enumerate() {
        let at = start(a.effective_from, a.disclosed_at);
        match by_start.iter_mut().find(|(s, _)| *s == at) {
            Some((_, indexes)) => indexes.push(index),
            None => by_start.push((at, vec![index])),
        }
    }
    for (_, indexes) in &by_start {
        let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for &index in indexes {
            let adoption = &adoptions[index];
            let to = edges.entry(adoption.agreement.as_str()).or_default();
            to.extend(adoption.replaces.iter().map(String::as_str).filter(|r| *r != adoption.agreement));
        }
        let cycle = find_cycle(&edges);
        if cycle.is_empty() {
            continue;
        }
        let Some(&first) = indexes.iter().find(|&&i| cycle.contains(&adoptions[i].agreement.as_str())) else {
            continue; // every agreement of a cycle has an edge, so one of these adoptions: never reached
        };
        let names = cycle.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
        problems.push(AdoptionProblem {
            index: first,
            code: "adoptions_replace_each_other".into(),
            message: format!(
                "the adoptions of {names} replace each other from the same instant, which would end them all; \
                 say which one ends the other"
            ),
        });
    }
    problems
}

/// The agreements of one replacement cycle, or [] (depth-first search; at most
/// as deep as a request has adoptions, which the server bounds).
fn find_cycle<'e>(edges: &BTreeMap<&'e str, BTreeSet<&'e str>>) -> Vec<&'e str> {
    #[derive(PartialEq)]
    enum State {
        OnPath,
        Done,
    }
    fn visit<'e>(
        node: &'e str,
        path: &mut Vec<&'e str>,
        state: &mut HashMap<&'e str, State>,
        edges: &BTreeMap<&'e str, BTreeSet<&'e str>>,
    ) -> Vec<&'e str> {
        state.insert(node, State::OnPath);
        path.push(node);
        if let Some(next) = edges.get(node) {
            for &nxt in next {
                match state.get(nxt) {
                    Some(State::OnPath) => {
                        let at = path.iter().position(|p| *p == nxt).unwrap_or(0);
                        return path[at..].to_vec();
                    }
                    Some(State::Done) => {}
                    None => {
                        let found = visit(nxt, path, state, edges);
                        if !found.is_empty() {
                            return found;
                        }
                    }
                }
            }
        }
        path.pop();
        state.insert(node, State::Done);
        Vec::new()
    }
    let mut state = HashMap::new();
    for &node in edges.keys() {
        if !state.contains_key(node) {
            let found = visit(node, &mut Vec::new(), &mut state, edges);
            if !found.is_empty() {
                return found;
            }
        }
    }
    Vec::new()
}

// ---- the terms at an instant -------------------------------------------------

/// The versions governing an item at one instant, and the labels they set.
#[derive(Debug)]
pub struct Governing {
    pub versions: Vec<Arc<CompiledVersion>>,
    /// scheme -> value, in Python's dict order (it orders the labels an item is judged by).
    pub default_labels: Vec<(String, String)>,
    pub label_floors: Vec<(String, String)>,
    /// Schemes whose labels the source may not tighten after speaking.
    pub frozen: BTreeSet<String>,
    pub keys: Vec<String>,
}

impl Governing {
    pub(crate) fn new(
        versions: Vec<Arc<CompiledVersion>>,
        default_labels: Vec<(String, String)>,
        label_floors: Vec<(String, String)>,
    ) -> Governing {
        let frozen = versions.iter().flat_map(|v| v.frozen_schemes.iter().cloned()).collect();
        let keys = versions.iter().map(|v| v.key()).collect();
        Governing { versions, default_labels, label_floors, frozen, keys }
    }

    pub fn same_terms(&self, other: &Governing) -> bool {
        std::ptr::eq(self, other)
            || (self.versions.len() == other.versions.len()
                && self.versions.iter().zip(&other.versions).all(|(a, b)| Arc::ptr_eq(a, b))
                && same_dict(&self.default_labels, &other.default_labels)
                && same_dict(&self.label_floors, &other.label_floors))
    }
}

/// Python's `==` of two dicts: the same pairs, in any order.
fn same_dict(a: &[(String, String)], b: &[(String, String)]) -> bool {
    a.len() == b.len() && a.iter().all(|pair| b.contains(pair))
}

/// Adoptions the policy cannot read: denied with a finding naming the field, never guessed.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub code: String,
    pub field: String,
    pub message: String,
}

fn refusal(code: &str, field: String, message: String) -> Refusal {
    Refusal { code: code.into(), field, message }
}

/// The resolved history of a group: `bound` is the group's central binding
/// (checked when it compiled), `requested` the request's own adoptions, checked here.
pub fn terms_for<'p>(
    policy: &'p CompiledPolicy,
    bound: &'p [Adoption],
    requested: &'p [Adoption],
) -> Result<Terms<'p>, Refusal> {
    match check_adoptions(policy, requested) {
        Some(refused) => Err(refused),
        None => Ok(Terms::new(policy, bound, requested)),
    }
}

/// terms.py `_refusal`.
fn check_adoptions(policy: &CompiledPolicy, adoptions: &[Adoption]) -> Option<Refusal> {
    for (index, adoption) in adoptions.iter().enumerate() {
        let Some(versions) = policy.versions.get(&adoption.agreement) else {
            return Some(refusal(
                "unknown_agreement",
                format!("group.adoptions[{index}].agreement"),
                format!("the agreement `{}` is not loaded", adoption.agreement),
            ));
        };
        if policy.platform_wide.contains(&adoption.agreement) {
            let given = [
                ("label_floors", !adoption.label_floors.is_empty()),
                ("default_labels", !adoption.default_labels.is_empty()),
                ("segments", !adoption.segments.is_empty()),
                ("replaces", !adoption.replaces.is_empty()),
            ];
            if let Some((name, _)) = given.iter().find(|(_, given)| *given) {
                return Some(refusal(
                    "terms_on_platform_agreement",
                    format!("group.adoptions[{index}].{name}"),
                    format!(
                        "`{}` is in force on its own dates for every group, so an adoption of it cannot carry \
                             `{name}`; put them on the group's own adoption",
                        adoption.agreement
                    ),
                ));
            }
        }
        if adoption.version != 0 && !versions.contains_key(&adoption.version) {
            return Some(refusal(
                "unknown_agreement_version",
                format!("group.adoptions[{index}].version"),
                format!("`{}` has no version {}", adoption.agreement, adoption.version),
            ));
        }
        for (kind, labels) in [("default_labels", &adoption.default_labels), ("label_floors", &adoption.label_floors)] {
            for (scheme, _) in labels {
                if !policy.label_schemes.contains_key(&scheme_key(scheme)) {
                    return Some(refusal(
                        "unknown_label_scheme",
                        format!("group.adoptions[{index}].{kind}"),
                        format!(
                            "the label scheme `{scheme}` is defined by no loaded agreement, so its labels \
                                 cannot be read"
                        ),
                    ));
                }
            }
        }
        if adoption.segments.iter().any(|s| segment_key(s).is_empty()) {
            return Some(refusal(
                "blank_segment",
                format!("group.adoptions[{index}].segments"),
                "a blank segment name governs no item anyone can name; list the segments by name".into(),
            ));
        }
    }
    adoption_problems(adoptions)
        .into_iter()
        .next()
        .map(|problem| refusal(&problem.code, format!("group.adoptions[{}].replaces", problem.index), problem.message))
}

struct Adopted<'p> {
    start: Moment,
    adoption: &'p Adoption,
    /// Normalized; empty: every segment.
    segments: BTreeSet<String>,
}

/// The agreement history of one group, resolved against one policy.
pub struct Terms<'p> {
    policy: &'p CompiledPolicy,
    pools: [Vec<Adopted<'p>>; 2],
    cache: RefCell<HashMap<(usize, String), Rc<Governing>>>,
    /// The instants at which the terms change, sorted.
    changes: Vec<Moment>,
    /// Every segment an adoption names, normalized, sorted.
    pub segments: Vec<String>,
}

impl<'p> Terms<'p> {
    pub fn new(policy: &'p CompiledPolicy, bound: &'p [Adoption], requested: &'p [Adoption]) -> Terms<'p> {
        // Adopting a platform-wide agreement adds nothing: it is in force
        // anyway, on its own dates. Such an adoption only says "the group is
        // known and has no terms of its own". The binding and the request are
        // resolved apart, so that nothing the request says ends the binding.
        let pool = |adoptions: &'p [Adoption]| -> Vec<Adopted<'p>> {
            adoptions
                .iter()
                .filter(|a| !policy.platform_wide.contains(&a.agreement))
                .map(|a| Adopted {
                    start: start(a.effective_from, a.disclosed_at),
                    adoption: a,
                    segments: a.segments.iter().map(|s| segment_key(s)).collect(),
                })
                .collect()
        };
        let pools = [pool(bound), pool(requested)];
        // Between two changes every instant has the same terms, so results are kept per interval.
        let mut changes = BTreeSet::from([Moment::SinceEver]);
        for adopted in pools.iter().flatten() {
            changes.insert(adopted.start);
            if let Some(versions) = policy.versions.get(&adopted.adoption.agreement) {
                changes.extend(versions.values().filter_map(|v| v.published_at).map(Moment::At));
            }
        }
        for agreement in &policy.platform_wide {
            if let Some(versions) = policy.versions.get(agreement) {
                changes.extend(versions.values().map(|v| start(v.effective_from, v.disclosed_at)));
            }
        }
        let segments: BTreeSet<String> = pools.iter().flatten().flat_map(|a| a.segments.iter().cloned()).collect();
        Terms {
            policy,
            pools,
            cache: RefCell::new(HashMap::new()),
            changes: changes.into_iter().collect(),
            segments: segments.into_iter().collect(),
        }
    }

    /// The version an adoption means at `instant`. None only for a binding naming
    /// a version the policy lacks, which the build refuses.
    fn version(&self, adoption: &Adoption, instant: Moment) -> Option<Arc<CompiledVersion>> {
        let versions = self.policy.versions.get(&adoption.agreement)?;
        if adoption.version != 0 {
            return versions.get(&adoption.version).cloned();
        }
        // "The latest" is the latest published at the instant the terms
        // govern: a version published later never reaches back.
        let published = versions.values().rev().find(|v| Moment::from_option(v.published_at) <= instant);
        published.or_else(|| versions.values().next()).cloned()
    }

    /// The terms governing at `instant` an item from meeting `segment` ("": from none an adoption names).
    pub fn at(&self, instant: Moment, segment: &str) -> Rc<Governing> {
        let mut segment = segment_key(segment);
        if !self.segments.contains(&segment) {
            // A segment no adoption names has the terms of none: one entry for all of them.
            segment = String::new();
        }
        let key = (self.changes.partition_point(|c| *c <= instant), segment);
        if let Some(cached) = self.cache.borrow().get(&key) {
            return cached.clone();
        }
        let chosen: Vec<(&Adoption, Arc<CompiledVersion>)> =
            self.pools.iter().flat_map(|pool| self.in_force(pool, instant, &key.1)).collect();
        let mut versions: Vec<Arc<CompiledVersion>> = Vec::new();
        for (_, version) in &chosen {
            if !versions.iter().any(|v| Arc::ptr_eq(v, version)) {
                versions.push(version.clone());
            }
        }
        versions.extend(self.policy.platform_wide.iter().filter_map(|a| self.platform_version(a, instant)));
        let adoptions: Vec<&Adoption> = chosen.iter().map(|(a, _)| *a).collect();
        let defaults = self.labels(&versions, &adoptions, LabelKind::Defaults);
        let floors = self.labels(&versions, &adoptions, LabelKind::Floors);
        let result = Rc::new(Governing::new(versions, defaults, floors));
        self.cache.borrow_mut().insert(key, result.clone());
        result
    }

    fn in_force(
        &self,
        pool: &[Adopted<'p>],
        instant: Moment,
        segment: &str,
    ) -> Vec<(&'p Adoption, Arc<CompiledVersion>)> {
        let applicable: Vec<&Adopted<'p>> = pool
            .iter()
            .filter(|a| a.start <= instant && (a.segments.is_empty() || a.segments.contains(segment)))
            .collect();
        let mut latest: HashMap<&str, Moment> = HashMap::new();
        for adopted in &applicable {
            let held = latest.entry(adopted.adoption.agreement.as_str()).or_insert(Moment::SinceEver);
            *held = (*held).max(adopted.start);
        }
        // Every adoption of an agreement from its latest start governs: two
        // versions adopted at one instant both hold, and the stricter wins.
        let current: Vec<&Adopted<'p>> =
            applicable.into_iter().filter(|a| latest.get(a.adoption.agreement.as_str()) == Some(&a.start)).collect();
        let ended: BTreeSet<&str> = current
            .iter()
            .flat_map(|adopted| {
                adopted.adoption.replaces.iter().map(String::as_str).filter(|replaced| {
                    // Only what started before: an agreement adopted and replaced at
                    // one instant is odd, and both govern (the stricter wins).
                    latest.get(replaced).is_some_and(|started| *started < adopted.start)
                })
            })
            .collect();
        current
            .iter()
            .filter(|a| !ended.contains(a.adoption.agreement.as_str()))
            .filter_map(|a| Some((a.adoption, self.version(a.adoption, instant)?)))
            .collect()
    }

    /// Per scheme, the most restrictive of the values (defaults or floors) of the versions and adoptions in force.
    fn labels(
        &self,
        versions: &[Arc<CompiledVersion>],
        adoptions: &[&Adoption],
        kind: LabelKind,
    ) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for v in versions {
            let own = match kind {
                LabelKind::Defaults => &v.default_labels,
                LabelKind::Floors => &v.label_floors,
            };
            pairs.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for a in adoptions {
            let own = match kind {
                LabelKind::Defaults => &a.default_labels,
                LabelKind::Floors => &a.label_floors,
            };
            pairs.extend(own.iter().map(|(name, value)| (scheme_key(name), value.clone())));
        }
        let mut result: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            let Some(scheme) = self.policy.label_schemes.get(&name) else {
                continue; // a request naming a scheme nobody defines is refused before this
            };
            let value = scheme.normalize(&value);
            match result.iter_mut().find(|(held, _)| *held == name) {
                Some((_, held)) => *held = scheme.stricter(&value, held).to_string(),
                None => result.push((name, value)),
            }
        }
        result
    }

    fn platform_version(&self, agreement: &str, instant: Moment) -> Option<Arc<CompiledVersion>> {
        let versions = self.policy.versions.get(agreement)?;
        let in_force = versions.values().rev().find(|v| start(v.effective_from, v.disclosed_at) <= instant);
        // Before its first version the platform's rules are the earliest ones:
        // there is no time without a baseline.
        in_force.or_else(|| versions.values().next()).cloned()
    }

    /// Every set of terms that has governed the group, from its first adoption on: for items of unknown date (§6.2.4).
    ///
    /// The first terms count even when they carry no start date; the time
    /// before a group adopted anything is not terms it had.
    pub fn ever(&self, segment: &str) -> Vec<Rc<Governing>> {
        let first = self.pools.iter().flatten().map(|a| a.start).min().unwrap_or(Moment::SinceEver);
        let mut unique: Vec<Rc<Governing>> = Vec::new();
        for &instant in &self.changes {
            if instant < first {
                continue;
            }
            let governing = self.at(instant, segment);
            if !unique.iter().any(|u| governing.same_terms(u)) {
                unique.push(governing);
            }
        }
        unique
    }

    /// The latest instant in (after, until] at which the terms may have changed, or None.
    pub fn last_change(&self, after: Moment, until: Instant) -> Option<Moment> {
        let index = self.changes.partition_point(|c| *c <= Moment::At(until));
        let last = *self.changes.get(index.checked_sub(1)?)?;
        (last > after).then_some(last)
    }
}

#[derive(Clone, Copy)]
enum LabelKind {
    Defaults,
    Floors,
}

#[cfg(test)]
mod tests {
    //! terms.py's behaviour (tests/test_terms_over_time.py and the domain notes §6), on policies made by hand.
    use super::*;
    use crate::compiled::LabelScheme;
    use crate::model::SECOND;

    fn version(agreement: &str, number: u32, published_at: Option<Instant>) -> Arc<CompiledVersion> {
        Arc::new(CompiledVersion {
            agreement: agreement.into(),
            version: number,
            effective_from: published_at,
            disclosed_at: None,
            index: HashMap::new(),
            default_labels: BTreeMap::new(),
            authors_may_restrict_later: true,
            label_floors: BTreeMap::new(),
            published_at,
            frozen_schemes: BTreeSet::new(),
        })
    }

    const DAY: Instant = 86_400 * SECOND;

    /// baseline (platform-wide, one version), club (v1 since ever, v2 published on day 100), press, tlp.
    fn policy() -> CompiledPolicy {
        let mut versions = BTreeMap::new();
        versions.insert("baseline".to_string(), BTreeMap::from([(1, version("baseline", 1, None))]));
        versions.insert(
            "club".to_string(),
            BTreeMap::from([(1, version("club", 1, None)), (2, version("club", 2, Some(100 * DAY)))]),
        );
        versions.insert("press".to_string(), BTreeMap::from([(1, version("press", 1, None))]));
        versions.insert("tlp".to_string(), BTreeMap::from([(1, version("tlp", 1, None))]));
        let tlp = LabelScheme {
            name: "tlp".into(),
            order: ["clear", "green", "amber", "red"].map(String::from).to_vec(),
            aliases: BTreeMap::from([("white".to_string(), "clear".to_string())]),
            agreement: "tlp".into(),
            relabel_by: BTreeSet::new(),
        };
        CompiledPolicy {
            revision: "r".into(),
            agreements: Vec::new(),
            versions,
            platform_wide: vec!["baseline".into()],
            bindings: HashMap::new(),
            label_schemes: BTreeMap::from([("tlp".to_string(), tlp)]),
            consent_scopes_read: BTreeSet::new(),
        }
    }

    fn adoption(agreement: &str, version: u32, from: Option<Instant>) -> Adoption {
        Adoption { agreement: agreement.into(), version, effective_from: from, ..Adoption::default() }
    }

    fn keys(g: &Governing) -> Vec<&str> {
        g.keys.iter().map(String::as_str).collect()
    }

    #[test]
    fn the_latest_version_is_the_one_published_at_the_instant() {
        let policy = policy();
        let adoptions = [adoption("club", 0, Some(DAY))];
        let terms = terms_for(&policy, &[], &adoptions).expect("readable");
        assert_eq!(keys(&terms.at(Moment::At(50 * DAY), "")), ["club@1", "baseline@1"]);
        assert_eq!(keys(&terms.at(Moment::At(150 * DAY), "")), ["club@2", "baseline@1"]);
        // Before the adoption: only the platform's terms.
        assert_eq!(keys(&terms.at(Moment::SinceEver, "")), ["baseline@1"]);
        assert_eq!(terms.last_change(Moment::At(50 * DAY), 150 * DAY), Some(Moment::At(100 * DAY)));
        assert_eq!(terms.last_change(Moment::At(100 * DAY), 150 * DAY), None);
        assert_eq!(terms.last_change(Moment::SinceEver, 0), None);
    }

    #[test]
    fn every_set_of_terms_ever_counts_from_the_first_adoption_on() {
        let policy = policy();
        let adoptions = [adoption("club", 0, Some(DAY))];
        let terms = terms_for(&policy, &[], &adoptions).expect("readable");
        let ever: Vec<Vec<String>> = terms.ever("").iter().map(|g| g.keys.clone()).collect();
        assert_eq!(ever, [vec!["club@1".to_string(), "baseline@1".into()], vec!["club@2".into(), "baseline@1".into()]]);
    }

    #[test]
    fn a_replacement_ends_what_it_replaces_only_from_its_start() {
        let policy = policy();
        let mut press = adoption("press", 1, Some(10 * DAY));
        press.replaces = vec!["club".into()];
        let adoptions = [adoption("club", 1, Some(DAY)), press];
        let terms = terms_for(&policy, &[], &adoptions).expect("readable");
        assert_eq!(keys(&terms.at(Moment::At(5 * DAY), "")), ["club@1", "baseline@1"]);
        assert_eq!(keys(&terms.at(Moment::At(10 * DAY), "")), ["press@1", "baseline@1"]);
    }

    #[test]
    fn nothing_a_request_says_ends_the_binding() {
        let policy = policy();
        let bound = [adoption("club", 1, None)];
        let mut press = adoption("press", 1, Some(10 * DAY));
        press.replaces = vec!["club".into()];
        let requested = [press];
        let terms = terms_for(&policy, &bound, &requested).expect("readable");
        assert_eq!(keys(&terms.at(Moment::At(20 * DAY), "")), ["club@1", "press@1", "baseline@1"]);
    }

    #[test]
    fn an_adoption_limited_to_segments_governs_only_their_items() {
        let policy = policy();
        let mut press = adoption("press", 1, None);
        press.segments = vec!["Open Discussion".into()];
        let adoptions = [adoption("club", 1, None), press];
        let terms = terms_for(&policy, &[], &adoptions).expect("readable");
        assert_eq!(terms.segments, ["opendiscussion"]);
        assert_eq!(keys(&terms.at(Moment::At(DAY), "open  discussion")), ["club@1", "press@1", "baseline@1"]);
        assert_eq!(keys(&terms.at(Moment::At(DAY), "q&a")), ["club@1", "baseline@1"]);
    }

    #[test]
    fn labels_of_adoptions_are_read_by_their_scheme_the_strictest_winning() {
        let policy = policy();
        let mut club = adoption("club", 1, None);
        club.default_labels = vec![(" TLP".into(), "white".into())];
        club.label_floors = vec![("tlp".into(), "nonsense".into())];
        let adoptions = [club];
        let terms = terms_for(&policy, &[], &adoptions).expect("readable");
        let g = terms.at(Moment::At(DAY), "");
        assert_eq!(g.default_labels, [("tlp".to_string(), "clear".to_string())]);
        // An unknown value reads as the most restrictive.
        assert_eq!(g.label_floors, [("tlp".to_string(), "red".to_string())]);
    }

    #[test]
    fn adoptions_that_cannot_be_read_are_refused_naming_the_field() {
        let policy = policy();
        let refused = |adoptions: &[Adoption]| terms_for(&policy, &[], adoptions).err().map(|r| (r.code, r.field));
        assert_eq!(
            refused(&[adoption("nope", 0, None)]),
            Some(("unknown_agreement".into(), "group.adoptions[0].agreement".into()))
        );
        assert_eq!(
            refused(&[adoption("club", 0, None), adoption("club", 7, None)]),
            Some(("unknown_agreement_version".into(), "group.adoptions[1].version".into()))
        );
        let mut platform = adoption("baseline", 0, None);
        platform.segments = vec!["x".into()];
        assert_eq!(
            refused(&[platform]),
            Some(("terms_on_platform_agreement".into(), "group.adoptions[0].segments".into()))
        );
        let mut labelled = adoption("club", 0, None);
        labelled.label_floors = vec![("tlр".into(), "red".into())]; // a Cyrillic р
        assert_eq!(
            refused(&[labelled]),
            Some(("unknown_label_scheme".into(), "group.adoptions[0].label_floors".into()))
        );
        let mut blank = adoption("club", 0, None);
        blank.segments = vec![" \u{200b}".into()];
        assert_eq!(refused(&[blank]), Some(("blank_segment".into(), "group.adoptions[0].segments".into())));
        let mut itself = adoption("club", 0, None);
        itself.replaces = vec!["club".into()];
        assert_eq!(refused(&[itself]), Some(("adoption_replaces_itself".into(), "group.adoptions[0].replaces".into())));
    }

    #[test]
    fn adoptions_replacing_each_other_from_one_instant_are_a_cycle_named_in_order() {
        let mut a = adoption("club", 0, Some(DAY));
        a.replaces = vec!["press".into()];
        let mut b = adoption("press", 0, Some(DAY));
        b.replaces = vec!["club".into()];
        let later = adoption("tlp", 0, Some(2 * DAY));
        let problems = adoption_problems(&[later, b, a]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].index, 1);
        assert_eq!(
            problems[0].message,
            "the adoptions of `club`, `press` replace each other from the same instant, which would end them \
                    all; say which one ends the other"
        );
    }
}

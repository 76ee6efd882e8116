//! The evaluator a compiled policy (discretion.ir.v1.Policy) is built into:
//! service/discretion/engine/compiled.py and scope.py in Rust.
//!
//! `build::build_policy` reads the compiled form and refuses anything a
//! compiler never writes; `decide::decide` reads what is here. Rules are
//! indexed by (action, destination kind), so a decision looks only at the
//! rules that can apply to it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::conditions::{Condition, Getter, MessagePiece};
use crate::model::{Adoption, Instant, Item, Request};

#[derive(Clone, Debug, PartialEq)]
pub struct VersionInfo {
    pub version: u32,
    pub effective_from: Option<Instant>,
    pub disclosed_at: Option<Instant>,
}

/// What a group member can read about an agreement (ListAgreements).
#[derive(Clone, Debug, PartialEq)]
pub struct AgreementInfo {
    pub id: String,
    /// The latest.
    pub version: u32,
    pub title: String,
    pub summary: String,
    pub source: String,
    pub platform_wide: bool,
    pub versions: Vec<VersionInfo>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    AllowWithObligations,
    Deny,
    /// Denies unless a rule of the same version allowed the item.
    DenyUnlessAllowed,
    /// Adds obligations to an allow; on its own allows nothing.
    Require,
}

impl Effect {
    /// The word the Python model uses (compiled.py CompiledRule.effect).
    pub fn word(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::AllowWithObligations => "allow_with_obligations",
            Effect::Deny => "deny",
            Effect::DenyUnlessAllowed => "deny_unless_allowed",
            Effect::Require => "require",
        }
    }
}

/// A parameter of an obligation, as built from `ir.Parameter`: a literal, or
/// a fact read from the request (`Instant` parameters given as text facts
/// are parsed as ISO 8601 when read; an unreadable one fails the rule closed).
#[derive(Clone, Debug)]
pub enum Param {
    Text(String),
    Instant(Instant),
    Fact(Getter),
    /// A text fact read where a time is due.
    InstantFromText(Getter),
}

#[derive(Clone, Debug)]
pub struct CompiledObligation {
    /// One of the obligation types (engine/obligations.py OBLIGATION_TYPES).
    pub r#type: String,
    /// Every parameter, defaults filled in, ordered by name.
    pub params: BTreeMap<String, Param>,
}

#[derive(Debug)]
pub struct CompiledRule {
    pub agreement: String,
    pub version: u32,
    pub id: String,
    pub effect: Effect,
    /// The rule protects the item's author, who may waive it for their own item (§7.2).
    pub waivable_by_author: bool,
    pub condition: Condition,
    pub obligations: Vec<CompiledObligation>,
    pub reason_code: String,
    pub message: Vec<MessagePiece>,
    pub actions: Vec<String>,
    pub destinations: Vec<String>,
    /// The label schemes the rule reads: a label carries such rules with it.
    pub schemes: BTreeSet<String>,
    /// The consent scopes its condition and obligations read.
    pub consent_scopes: BTreeSet<String>,
}

/// Compared by identity (`Arc::ptr_eq`): a version is one object for the life of a policy.
#[derive(Debug)]
pub struct CompiledVersion {
    pub agreement: String,
    pub version: u32,
    pub effective_from: Option<Instant>,
    pub disclosed_at: Option<Instant>,
    /// (action, destination kind) -> the rules that can apply, in file order,
    /// `DenyUnlessAllowed` rules last.
    pub index: HashMap<(String, String), Vec<Arc<CompiledRule>>>,
    /// label scheme -> value for an item its source did not label in that scheme
    pub default_labels: BTreeMap<String, String>,
    pub authors_may_restrict_later: bool,
    /// label scheme -> the minimum value of every item the version governs
    pub label_floors: BTreeMap<String, String>,
    /// When this version was published; None: since ever (a first version).
    pub published_at: Option<Instant>,
    pub frozen_schemes: BTreeSet<String>,
}

impl CompiledVersion {
    pub fn key(&self) -> String {
        format!("{}@{}", self.agreement, self.version)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabelScheme {
    pub name: String,
    /// Least to most restrictive.
    pub order: Vec<String>,
    pub aliases: BTreeMap<String, String>,
    /// The agreement that defines the scheme: its rules judge the label in any group.
    pub agreement: String,
    pub relabel_by: BTreeSet<String>,
}

#[derive(Debug)]
pub struct CompiledPolicy {
    pub revision: String,
    pub agreements: Vec<AgreementInfo>,
    /// agreement id -> version number -> compiled version
    pub versions: BTreeMap<String, BTreeMap<u32, Arc<CompiledVersion>>>,
    /// The platform-wide agreements, always in force.
    pub platform_wide: Vec<String>,
    /// group id -> adoptions, for requests that carry none (rules/bindings.yaml)
    pub bindings: HashMap<String, Vec<Adoption>>,
    /// Every label scheme the agreements define, by name.
    pub label_schemes: BTreeMap<String, LabelScheme>,
    /// Every consent scope a decision may read: the rules' and `new_terms`.
    pub consent_scopes_read: BTreeSet<String>,
}

/// What a rule sees while it is evaluated: the request's facts, for one item (scope.py).
pub struct Scope<'a> {
    pub request: &'a Request,
    pub item: &'a Item,
    pub requested_at: Instant,
    /// The item's effective label per scheme (most restrictive wins).
    pub label: &'a BTreeMap<String, String>,
    /// The parameters of the label that set each effective value.
    pub label_param: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Elements bound by quantifiers (`some: {of: …, as: it}`): conditions.rs owns their shape.
    pub vars: Vec<(String, crate::conditions::Value<'a>)>,
    /// The person acting; a service acting for the group is nobody's self.
    pub acting_person: &'a str,
    pub actor_is_author: bool,
}

/// Why a rule could not be evaluated: the detail of its `rule_evaluation_failed`
/// finding, worded as decide._fail_closed words it (`the fact `x` is missing
/// from the request`, an unreadable fact's own message, `TypeError: …`).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure(pub String);

impl LabelScheme {
    /// The canonical value; an unknown value reads as the most restrictive (§7.3).
    pub fn normalize(&self, value: &str) -> String {
        let value = crate::names::lower(crate::names::strip(value));
        let value = self.aliases.get(&value).cloned().unwrap_or(value);
        if self.order.contains(&value) {
            value
        } else {
            // A scheme the compiler built always has an order; an empty one has no
            // most restrictive value, and the empty text names none.
            self.order.last().cloned().unwrap_or_default()
        }
    }

    /// The more restrictive of two values of the scheme (`a` on a tie).
    /// Callers pass values of the order (normalized ones), as Python's
    /// `order.index` requires; one outside it ranks below every value.
    pub fn stricter<'v>(&self, a: &'v str, b: &'v str) -> &'v str {
        if self.rank(a) >= self.rank(b) {
            a
        } else {
            b
        }
    }

    fn rank(&self, value: &str) -> Option<usize> {
        self.order.iter().position(|v| v == value)
    }
}

impl CompiledPolicy {
    /// The policy as one caller may use it, everything else as if it were not loaded (compiled.py
    /// `restricted`): the agreements it is given, the platform-wide ones, those its own groups are bound
    /// to, and those any of these read labels of; bindings of the groups it owns only.
    pub fn restricted(&self, agreements: &[String], owns_group: impl Fn(&str) -> bool) -> CompiledPolicy {
        let bindings: HashMap<String, Vec<Adoption>> =
            self.bindings.iter().filter(|(group, _)| owns_group(group)).map(|(g, a)| (g.clone(), a.clone())).collect();
        let mut reach: BTreeSet<String> = agreements
            .iter()
            .chain(&self.platform_wide)
            .chain(bindings.values().flatten().map(|a| &a.agreement))
            .filter(|a| self.versions.contains_key(*a))
            .cloned()
            .collect();
        let mut pending: Vec<String> = reach.iter().cloned().collect();
        // The agreements whose labels the reached ones read, and theirs in turn.
        while let Some(agreement) = pending.pop() {
            for version in self.versions[&agreement].values() {
                for name in schemes_read(version) {
                    if let Some(scheme) = self.label_schemes.get(&name) {
                        if !reach.contains(&scheme.agreement) && self.versions.contains_key(&scheme.agreement) {
                            reach.insert(scheme.agreement.clone());
                            pending.push(scheme.agreement.clone());
                        }
                    }
                }
            }
        }
        let versions: BTreeMap<String, BTreeMap<u32, Arc<CompiledVersion>>> =
            self.versions.iter().filter(|(a, _)| reach.contains(*a)).map(|(a, v)| (a.clone(), v.clone())).collect();
        let consent_scopes_read = consent_scopes_read(&versions);
        CompiledPolicy {
            revision: self.revision.clone(),
            agreements: self.agreements.iter().filter(|a| reach.contains(&a.id)).cloned().collect(),
            versions,
            platform_wide: self.platform_wide.iter().filter(|a| reach.contains(*a)).cloned().collect(),
            bindings,
            label_schemes: self
                .label_schemes
                .iter()
                .filter(|(_, s)| reach.contains(&s.agreement))
                .map(|(n, s)| (n.clone(), s.clone()))
                .collect(),
            consent_scopes_read,
        }
    }
}

/// The label schemes a version's rules, defaults, floors and freezes name.
fn schemes_read(version: &CompiledVersion) -> BTreeSet<String> {
    let mut names: BTreeSet<String> =
        version.index.values().flatten().flat_map(|rule| rule.schemes.iter().cloned()).collect();
    names.extend(version.default_labels.keys().cloned());
    names.extend(version.label_floors.keys().cloned());
    names.extend(version.frozen_schemes.iter().cloned());
    names
}

/// The scopes the compiled rules and their obligations read, and the one the engine reads itself.
pub fn consent_scopes_read(versions: &BTreeMap<String, BTreeMap<u32, Arc<CompiledVersion>>>) -> BTreeSet<String> {
    let mut read: BTreeSet<String> = BTreeSet::from([crate::model::NEW_TERMS_CONSENT.to_string()]);
    for version in versions.values().flat_map(|v| v.values()) {
        for rule in version.index.values().flatten() {
            read.extend(rule.consent_scopes.iter().cloned());
        }
    }
    read
}

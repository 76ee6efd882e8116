//! The compiled form (discretion.ir.v1.Policy bytes) -> CompiledPolicy:
//! service/discretion/engine/build.py in Rust. Refuses anything a compiler
//! never writes (an unknown IR version, an unspecified enum, a rule indexed
//! under nothing, an obligation of no known type, …) rather than skip it.
//!
//! The refusals are worded as build.py words them (its `ValueError`s), so a
//! refused policy reads the same whichever evaluator refused it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use prost::Message;
use regex::Regex;

use crate::compiled::{
    AgreementInfo, CompiledObligation, CompiledPolicy, CompiledRule, CompiledVersion, Effect, LabelScheme, Param,
    VersionInfo,
};
use crate::conditions::{
    compile_pattern, resolve, str_repr, Condition, Expr, FactType, Getter, Kind, MessagePiece, Operator, Order,
    Quantifier, Value,
};
use crate::model::{Adoption, Instant, ACTIONS, DESTINATION_KINDS, NEW_TERMS_CONSENT};
use crate::pb::ir;

/// discretion/ir/__init__.py IR_VERSION.
pub const IR_VERSION: u32 = 1;

/// engine/model.py CONSENT_SCOPES: the built-in scopes a consent may have.
pub const CONSENT_SCOPES: [&str; 8] = [
    "attribution",
    "share_outside",
    "share_beyond_label",
    "listing",
    NEW_TERMS_CONSENT,
    "export",
    "ai_processing",
    "service_access",
];

const NANOS: i128 = 1_000_000_000;

/// The evaluator of the compiled policy `ir` (build.build_policy).
pub fn build_policy(ir: &[u8]) -> Result<CompiledPolicy, String> {
    let policy = ir::Policy::decode(ir).map_err(|error| format!("the compiled policy cannot be read: {error}"))?;
    check_version(&policy)?;
    let schemes = label_schemes(&policy)?;
    let mut builder = Builder::new(consent_scopes(&policy)?);
    let mut versions: BTreeMap<String, BTreeMap<u32, Arc<CompiledVersion>>> = BTreeMap::new();
    let mut infos = Vec::new();
    for agreement in &policy.agreements {
        if versions.contains_key(&agreement.id) {
            return Err(format!("agreement `{}` twice", agreement.id));
        }
        // In file order, as the Python dict keeps them.
        let mut by_number: Vec<(u32, Arc<CompiledVersion>)> = Vec::new();
        for v in &agreement.versions {
            if by_number.iter().any(|(n, _)| *n == v.number) {
                return Err(format!("version {} of `{}` twice", v.number, agreement.id));
            }
            by_number.push((v.number, Arc::new(builder.version(agreement, v, &schemes)?)));
        }
        infos.push(AgreementInfo {
            id: agreement.id.clone(),
            version: by_number.iter().map(|(n, _)| *n).max().unwrap_or(0),
            title: agreement.title.clone(),
            summary: agreement.summary.clone(),
            source: agreement.source.clone(),
            platform_wide: agreement.platform_wide,
            versions: by_number
                .iter()
                .map(|(_, v)| VersionInfo {
                    version: v.version,
                    effective_from: v.effective_from,
                    disclosed_at: v.disclosed_at,
                })
                .collect(),
        });
        versions.insert(agreement.id.clone(), by_number.into_iter().collect());
    }
    let bindings = bindings(&policy, &versions)?;
    let consent_scopes_read = crate::compiled::consent_scopes_read(&versions);
    Ok(CompiledPolicy {
        revision: policy.revision.clone(),
        agreements: infos,
        versions,
        platform_wide: policy.agreements.iter().filter(|a| a.platform_wide).map(|a| a.id.clone()).collect(),
        bindings,
        label_schemes: schemes,
        consent_scopes_read,
    })
}

/// ir.check_version
fn check_version(policy: &ir::Policy) -> Result<(), String> {
    if policy.ir_version != IR_VERSION {
        return Err(format!("compiled policy version {}; this evaluator reads {IR_VERSION}", policy.ir_version));
    }
    Ok(())
}

/// ir.nanoseconds: refuses nanoseconds outside a second.
fn nanoseconds(value: &ir::Instant) -> Result<Instant, String> {
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err(format!("an instant with {} nanoseconds", value.nanos));
    }
    Ok(value.seconds as i128 * NANOS + value.nanos as i128)
}

fn instant(value: &Option<ir::Instant>) -> Result<Option<Instant>, String> {
    value.as_ref().map(nanoseconds).transpose()
}

/// ir.enum_name: refuses a number the enum does not define and its UNSPECIFIED zero.
fn enum_name(enum_: &str, number: i32, names: &[&'static str]) -> Result<&'static str, String> {
    match usize::try_from(number).ok().filter(|n| *n >= 1).and_then(|n| names.get(n - 1)) {
        Some(name) => Ok(name),
        None => Err(format!("{enum_} {number} is not a value a compiled policy may hold")),
    }
}

const EFFECTS: [&str; 5] = ["allow", "allow_with_obligations", "deny", "deny_unless_allowed", "require"];
const OPERATORS: [&str; 9] = ["eq", "ne", "in", "not_in", "contains", "lt", "le", "gt", "ge"];
const QUANTIFIERS: [&str; 3] = ["some", "every", "none"];

/// Python's repr of a list of texts: `['a', 'b']`.
fn texts_repr<S: AsRef<str>>(texts: &[S]) -> String {
    let parts: Vec<String> = texts.iter().map(|t| str_repr(t.as_ref())).collect();
    format!("[{}]", parts.join(", "))
}

fn label_schemes(policy: &ir::Policy) -> Result<BTreeMap<String, LabelScheme>, String> {
    let defined: HashSet<&str> = policy.agreements.iter().map(|a| a.id.as_str()).collect();
    let mut schemes = BTreeMap::new();
    for s in &policy.label_schemes {
        if schemes.contains_key(&s.name) || s.order.is_empty() || !defined.contains(s.agreement.as_str()) {
            return Err(format!("label scheme `{}`: defined twice, with no values or by no agreement", s.name));
        }
        if !s.aliases.values().all(|v| s.order.contains(v)) {
            return Err(format!("label scheme `{}` has an alias for no value of it", s.name));
        }
        schemes.insert(
            s.name.clone(),
            LabelScheme {
                name: s.name.clone(),
                order: s.order.clone(),
                aliases: s.aliases.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                agreement: s.agreement.clone(),
                relabel_by: s.relabel_by.iter().cloned().collect(),
            },
        );
    }
    Ok(schemes)
}

fn consent_scopes(policy: &ir::Policy) -> Result<BTreeSet<String>, String> {
    let defined: HashSet<&str> = policy.agreements.iter().map(|a| a.id.as_str()).collect();
    let added: Vec<&str> = policy.consent_scopes.iter().map(|s| s.name.as_str()).collect();
    let distinct: HashSet<&str> = added.iter().copied().collect();
    if distinct.len() != added.len()
        || added.iter().any(|a| CONSENT_SCOPES.contains(a))
        || policy.consent_scopes.iter().any(|s| !defined.contains(s.agreement.as_str()) || s.name.is_empty())
    {
        return Err("a consent scope added twice, over a built-in one, unnamed or by no agreement".into());
    }
    Ok(CONSENT_SCOPES.iter().map(|s| s.to_string()).chain(added.iter().map(|s| s.to_string())).collect())
}

/// Default labels or label floors: each a canonical value of a defined scheme.
fn labels(
    values: &HashMap<String, String>,
    schemes: &BTreeMap<String, LabelScheme>,
) -> Result<BTreeMap<String, String>, String> {
    // In key order: the first refused is the same whichever order the map was read in.
    let sorted: BTreeMap<String, String> = values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (scheme, value) in &sorted {
        if !schemes.get(scheme).is_some_and(|s| s.order.contains(value)) {
            return Err(format!("label `{scheme}: {value}` of no defined scheme or value"));
        }
    }
    Ok(sorted)
}

fn bindings(
    policy: &ir::Policy,
    versions: &BTreeMap<String, BTreeMap<u32, Arc<CompiledVersion>>>,
) -> Result<HashMap<String, Vec<Adoption>>, String> {
    let mut bindings = HashMap::new();
    for b in &policy.bindings {
        if bindings.contains_key(&b.group) {
            return Err(format!("group `{}` bound twice", b.group));
        }
        for a in &b.adoptions {
            let known = versions.get(&a.agreement);
            let loaded = known.is_some_and(|k| a.version == 0 || k.contains_key(&a.version));
            if !loaded || !a.replaces.iter().all(|r| versions.contains_key(r)) {
                return Err(format!(
                    "group `{}` adopts `{}` version {}, which is not loaded",
                    b.group, a.agreement, a.version
                ));
            }
        }
        let adoptions = b.adoptions.iter().map(adoption).collect::<Result<Vec<_>, _>>()?;
        bindings.insert(b.group.clone(), adoptions);
    }
    Ok(bindings)
}

fn adoption(a: &ir::Adoption) -> Result<Adoption, String> {
    // The maps in key order: the compiled form's maps have none of their own.
    let sorted = |m: &HashMap<String, String>| {
        let ordered: BTreeMap<&String, &String> = m.iter().collect();
        ordered.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    Ok(Adoption {
        agreement: a.agreement.clone(),
        version: a.version,
        effective_from: instant(&a.effective_from)?,
        disclosed_at: instant(&a.disclosed_at)?,
        replaces: a.replaces.clone(),
        segments: a.segments.clone(),
        default_labels: sorted(&a.default_labels),
        label_floors: sorted(&a.label_floors),
    })
}

// ---- the builder ------------------------------------------------------------------------

/// What a test reading the item's consents or author records (no variable can be named so).
const THE_ITEM: &str = "item()";

fn path(fact: &Option<ir::Fact>) -> &str {
    fact.as_ref().map_or("", |f| f.path.as_str())
}

struct Builder {
    /// The consent scopes a rule may read: the built-in ones and those the policy's agreements add.
    known_scopes: BTreeSet<String>,
    /// Of the rule being built: fact paths and consent scopes.
    paths_read: BTreeSet<String>,
    scopes_read: BTreeSet<String>,
    /// Each distinct pattern compiled once.
    patterns: HashMap<String, Arc<Regex>>,
}

type Variables = Vec<(String, FactType)>;

impl Builder {
    fn new(known_scopes: BTreeSet<String>) -> Builder {
        Builder { known_scopes, paths_read: BTreeSet::new(), scopes_read: BTreeSet::new(), patterns: HashMap::new() }
    }

    fn version(
        &mut self,
        agreement: &ir::Agreement,
        v: &ir::Version,
        schemes: &BTreeMap<String, LabelScheme>,
    ) -> Result<CompiledVersion, String> {
        let rules = v.rules.iter().map(|r| self.rule(&agreement.id, v.number, r)).collect::<Result<Vec<_>, _>>()?;
        let effective_from = instant(&v.effective_from)?;
        let disclosed_at = instant(&v.disclosed_at)?;
        let index = index(rules);
        let default_labels = labels(&v.default_labels, schemes)?;
        let label_floors = labels(&v.label_floors, schemes)?;
        Ok(CompiledVersion {
            agreement: agreement.id.clone(),
            version: v.number,
            effective_from,
            disclosed_at,
            index,
            default_labels,
            authors_may_restrict_later: v.authors_may_restrict_later,
            label_floors,
            published_at: instant(&v.published_at)?,
            frozen_schemes: v.frozen_schemes.iter().cloned().collect(),
        })
    }

    fn rule(&mut self, agreement: &str, version: u32, r: &ir::Rule) -> Result<CompiledRule, String> {
        // A rule indexed under nothing would never apply: a deny lost without a word.
        if r.actions.is_empty() || !r.actions.iter().all(|a| ACTIONS.contains(&a.as_str())) {
            return Err(format!("rule `{}` applies to actions {}", r.id, texts_repr(&r.actions)));
        }
        if r.destinations.is_empty() || !r.destinations.iter().all(|d| DESTINATION_KINDS.contains(&d.as_str())) {
            return Err(format!("rule `{}` applies to destination kinds {}", r.id, texts_repr(&r.destinations)));
        }
        self.paths_read.clear();
        self.scopes_read.clear();
        let entries = r.when.as_ref().map_or(&[][..], |w| &w.entries[..]);
        let condition = Condition {
            entries: entries.iter().map(|e| self.expr(e, &vec![], &mut HashSet::new())).collect::<Result<_, _>>()?,
        };
        let obligations = r.obligations.iter().map(|o| self.obligation(o)).collect::<Result<Vec<_>, _>>()?;
        let message = self.message(&r.message)?;
        // What the rule reads is worked out here as well as read from the compiled form: a label
        // carries the rules that read it, and a field left empty must not let an item's label out.
        let mut schemes: BTreeSet<String> = r.schemes_read.iter().cloned().collect();
        schemes.extend(self.paths_read.iter().filter_map(|p| label_fact_scheme(p)));
        let effect = match enum_name("Effect", r.effect, &EFFECTS)? {
            "allow" => Effect::Allow,
            "allow_with_obligations" => Effect::AllowWithObligations,
            "deny" => Effect::Deny,
            "deny_unless_allowed" => Effect::DenyUnlessAllowed,
            _ => Effect::Require,
        };
        let mut consent_scopes: BTreeSet<String> = r.consent_scopes_read.iter().cloned().collect();
        consent_scopes.extend(self.scopes_read.iter().cloned());
        Ok(CompiledRule {
            agreement: agreement.to_string(),
            version,
            id: r.id.clone(),
            effect,
            waivable_by_author: r.waivable_by_author,
            condition,
            obligations,
            reason_code: r.reason_code.clone(),
            message,
            actions: r.actions.clone(),
            destinations: r.destinations.clone(),
            schemes,
            consent_scopes,
        })
    }

    fn obligation(&mut self, o: &ir::Obligation) -> Result<CompiledObligation, String> {
        let Some(kind) = crate::obligations::obligation_type(&o.r#type) else {
            return Err(format!("an obligation of no known type: `{}`", o.r#type));
        };
        let given: BTreeMap<&String, &ir::Parameter> = o.parameters.iter().collect();
        let mut declared: Vec<&str> = kind.params.iter().map(|(n, _)| *n).collect();
        declared.sort();
        if !given.keys().all(|name| declared.contains(&name.as_str())) {
            let names: Vec<&String> = given.keys().copied().collect();
            return Err(format!("`{}` has parameters {}, not {}", o.r#type, texts_repr(&names), texts_repr(&declared)));
        }
        let mut missing: Vec<&str> = kind.required.iter().copied().filter(|r| !o.parameters.contains_key(*r)).collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(format!("`{}` without {}", o.r#type, texts_repr(&missing)));
        }
        let mut params = BTreeMap::new();
        for (name, p) in given {
            if let Some((_, choices)) = kind.choices.iter().find(|(n, _)| *n == name.as_str()) {
                let fits = matches!(&p.kind, Some(ir::parameter::Kind::Text(t)) if choices.contains(&t.as_str()));
                if !fits {
                    return Err(format!("`{}` has `{name}` outside {}", o.r#type, texts_repr(choices)));
                }
            }
            let declared_kind = kind.params.iter().find(|(n, _)| *n == name.as_str()).map_or("text", |(_, k)| *k);
            params.insert(name.clone(), self.parameter(p, declared_kind)?);
        }
        self.scopes_read.extend(kind.consent_scopes.iter().map(|s| s.to_string()));
        Ok(CompiledObligation { r#type: o.r#type.clone(), params })
    }

    fn parameter(&mut self, p: &ir::Parameter, kind: &str) -> Result<Param, String> {
        use ir::parameter::Kind as P;
        match (&p.kind, kind) {
            (Some(P::Fact(fact)), _) => {
                if kind == "consent_scope" {
                    // The compiler must know every scope read.
                    return Err("a consent scope read from a fact".into());
                }
                let (getter, fact_type) = self.fact(&Some(fact.clone()), &vec![])?;
                if kind == "instant" && !matches!(fact_type.kind, Kind::Instant | Kind::Text | Kind::Any) {
                    return Err(format!("`{}` is not a time", fact.path));
                }
                Ok(if kind == "instant" && fact_type.kind != Kind::Instant {
                    Param::InstantFromText(getter)
                } else {
                    Param::Fact(getter)
                })
            }
            (Some(P::Instant(i)), "instant") => Ok(Param::Instant(nanoseconds(i)?)),
            (Some(P::Text(text)), _) if kind != "instant" => {
                if kind == "consent_scope" {
                    self.scope(text)?;
                    self.scopes_read.insert(text.clone());
                }
                Ok(Param::Text(text.clone()))
            }
            (which, _) => {
                let which = match which {
                    Some(P::Text(_)) => "text",
                    Some(P::Instant(_)) => "instant",
                    Some(P::Fact(_)) => "fact",
                    None => "None",
                };
                Err(format!("a parameter of kind `{kind}` given as {which}"))
            }
        }
    }

    fn message(&mut self, pieces: &[ir::MessagePiece]) -> Result<Vec<MessagePiece>, String> {
        use ir::message_piece::Kind as M;
        let mut parts = Vec::new();
        for p in pieces {
            parts.push(match &p.kind {
                None => return Err("a message piece with nothing in it".into()),
                Some(M::Text(text)) => MessagePiece::Text(text.clone()),
                Some(M::Fact(fact)) => MessagePiece::Fact(self.fact(&Some(fact.clone()), &vec![])?.0),
            });
        }
        Ok(parts)
    }

    /// The getter and type of a fact the rule reads, noted as read.
    fn fact(&mut self, fact: &Option<ir::Fact>, variables: &Variables) -> Result<(Getter, FactType), String> {
        let path = path(fact);
        self.paths_read.insert(path.to_string());
        resolve(path, variables).map_err(|error| format!("the compiled policy reads {}", error.0))
    }

    fn scope(&self, name: &str) -> Result<(), String> {
        if !self.known_scopes.contains(name) {
            return Err(format!("`{name}` is not a consent scope"));
        }
        Ok(())
    }

    // ---- conditions and expressions ------------------------------------------------

    fn condition(
        &mut self,
        c: &ir::Condition,
        variables: &Variables,
        reads: &mut HashSet<String>,
    ) -> Result<Condition, String> {
        Ok(Condition { entries: c.entries.iter().map(|e| self.expr(e, variables, reads)).collect::<Result<_, _>>()? })
    }

    fn expr(&mut self, e: &ir::Expr, variables: &Variables, reads: &mut HashSet<String>) -> Result<Expr, String> {
        use ir::expr::Kind as E;
        match &e.kind {
            Some(E::All(nested)) | Some(E::Any(nested)) => {
                let word = if matches!(e.kind, Some(E::All(_))) { "all" } else { "any" };
                // Only a rule's own condition may be empty (no `when`: always); an empty one
                // nested would hold or fail by accident of the format.
                if nested.conditions.is_empty() || nested.conditions.iter().any(|c| c.entries.is_empty()) {
                    return Err(format!("`{word}` of an empty condition"));
                }
                let parts =
                    nested.conditions.iter().map(|c| self.condition(c, variables, reads)).collect::<Result<_, _>>()?;
                Ok(if word == "all" { Expr::All(parts) } else { Expr::Any(parts) })
            }
            Some(E::Not(inner)) => {
                if inner.entries.is_empty() {
                    return Err("`not` of an empty condition".into());
                }
                Ok(Expr::Not(self.condition(inner, variables, reads)?))
            }
            Some(E::Tests(tests)) => {
                if tests.exprs.is_empty() {
                    return Err("tests of a fact with no test".into());
                }
                Ok(Expr::Tests(tests.exprs.iter().map(|x| self.expr(x, variables, reads)).collect::<Result<_, _>>()?))
            }
            Some(E::Quantified(q)) => self.quantified(q, variables, reads),
            Some(E::Compare(c)) => self.compare(c, variables, reads),
            Some(E::Exists(x)) => {
                let (fact, fact_type) = self.fact_reading(&x.fact, variables, reads)?;
                let lenient = matches!(fact_type.kind, Kind::Map | Kind::Any);
                Ok(Expr::Exists { fact, lenient, present: x.present })
            }
            Some(E::Matches(m)) => self.matches(m, variables, reads),
            Some(E::Consent(c)) => self.consent(c, variables, reads),
            Some(E::ActorIsAuthor(value)) => {
                reads.insert(THE_ITEM.into());
                Ok(Expr::ActorIsAuthor(*value))
            }
            None => Err("an expression of no known kind: None".into()),
        }
    }

    /// `fact`, its first word noted in `reads` (build._fact).
    fn fact_reading(
        &mut self,
        fact: &Option<ir::Fact>,
        variables: &Variables,
        reads: &mut HashSet<String>,
    ) -> Result<(Getter, FactType), String> {
        reads.insert(path(fact).split('.').next().unwrap_or("").to_string());
        self.fact(fact, variables)
    }

    fn quantified(
        &mut self,
        q: &ir::Quantified,
        variables: &Variables,
        reads: &mut HashSet<String>,
    ) -> Result<Expr, String> {
        let (of, fact_type) = self.fact_reading(&q.of, variables, reads)?;
        if fact_type.kind != Kind::List {
            return Err(format!("a quantifier over `{}`, which is not a list", path(&q.of)));
        }
        let entries = q.r#where.as_ref().map_or(&[][..], |w| &w.entries[..]);
        if entries.is_empty() {
            return Err(format!("a quantifier over `{}` with no condition", path(&q.of)));
        }
        let mut inner = variables.clone();
        inner.push((q.r#as.clone(), fact_type.element.as_deref().cloned().unwrap_or(FactType::of(Kind::Any))));
        let mut inner_reads = HashSet::new();
        let condition = Condition {
            entries: entries.iter().map(|e| self.expr(e, &inner, &mut inner_reads)).collect::<Result<_, _>>()?,
        };
        reads.extend(inner_reads);
        let quantifier = match enum_name("Quantifier", q.quantifier, &QUANTIFIERS)? {
            "some" => Quantifier::Some,
            "every" => Quantifier::Every,
            _ => Quantifier::None,
        };
        Ok(crate::conditions::quantifier(quantifier, of, q.r#as.clone(), condition))
    }

    fn compare(&mut self, c: &ir::Compare, variables: &Variables, reads: &mut HashSet<String>) -> Result<Expr, String> {
        use ir::compare::Operand;
        let (fact, fact_type) = self.fact_reading(&c.fact, variables, reads)?;
        let name = enum_name("Operator", c.op, &OPERATORS)?;
        let fact_path = path(&c.fact).to_string();
        let op = match name {
            "eq" => Operator::Eq,
            "ne" => Operator::Ne,
            "in" => Operator::In,
            "not_in" => Operator::NotIn,
            "contains" => Operator::Contains,
            "lt" => Operator::Order(Order::Lt),
            "le" => Operator::Order(Order::Le),
            "gt" => Operator::Order(Order::Gt),
            _ => Operator::Order(Order::Ge),
        };
        if op == Operator::Contains && fact_type.kind != Kind::List {
            return Err(format!("`contains` on `{fact_path}`, which is not a list"));
        }
        if matches!(op, Operator::Order(_)) && !matches!(fact_type.kind, Kind::Int | Kind::Instant | Kind::Any) {
            return Err(format!("`{name}` on `{fact_path}`, which is not ordered"));
        }
        if let Some(Operand::Other(other)) = &c.operand {
            let other_fact = Some(other.clone());
            let (other_getter, other_type) = self.fact_reading(&other_fact, variables, reads)?;
            if matches!(op, Operator::In | Operator::NotIn) && other_type.kind != Kind::List {
                return Err(format!("`{name}` a fact that is not a list: `{}`", other.path));
            }
            return Ok(Expr::WithFact { op, fact, other: other_getter });
        }
        // A literal of another type than its fact's would make a test that never holds.
        let checked = if op == Operator::Contains {
            fact_type.element.as_deref().cloned().unwrap_or(FactType::of(Kind::Bool))
        } else {
            fact_type
        };
        if let Some(Operand::Values(values)) = &c.operand {
            let mut typed: Vec<Value<'static>> = Vec::new();
            for v in &values.values {
                let value = literal(v, &checked, &fact_path)?;
                // frozenset(…) hashes each value as it is added.
                if matches!(value, Value::List(_)) {
                    return Err("unhashable type: 'list'".into());
                }
                typed.push(value);
            }
            return match op {
                Operator::In => Ok(Expr::InValues { negated: false, fact, values: typed }),
                Operator::NotIn => Ok(Expr::InValues { negated: true, fact, values: typed }),
                _ => Err(format!("a list of values for {name}")),
            };
        }
        let Some(Operand::Value(value)) = &c.operand else {
            return Err(format!("{name} without an operand it takes"));
        };
        if matches!(op, Operator::In | Operator::NotIn) {
            return Err(format!("{name} without an operand it takes"));
        }
        Ok(Expr::WithValue { op, fact, value: literal(value, &checked, &fact_path)? })
    }

    fn matches(&mut self, m: &ir::Matches, variables: &Variables, reads: &mut HashSet<String>) -> Result<Expr, String> {
        let (fact, fact_type) = self.fact_reading(&m.fact, variables, reads)?;
        if !matches!(fact_type.kind, Kind::Text | Kind::Any) {
            return Err(format!("`matches` on `{}`, which is not text", path(&m.fact)));
        }
        let text = &m.pattern;
        let pattern = match self.patterns.get(text) {
            Some(p) => p.clone(),
            None => {
                let compiled =
                    Arc::new(compile_pattern(text).map_err(|error| format!("the pattern `{text}`: {error}"))?);
                self.patterns.insert(text.clone(), compiled.clone());
                compiled
            }
        };
        Ok(Expr::Matches { fact, pattern })
    }

    fn consent(&mut self, c: &ir::Consent, variables: &Variables, reads: &mut HashSet<String>) -> Result<Expr, String> {
        reads.insert(THE_ITEM.into());
        self.scope(&c.scope)?;
        self.scopes_read.insert(c.scope.clone());
        let kind = c.scope.clone();
        match c.test {
            1 => Ok(Expr::AuthorConsented(kind)),
            2 => Ok(Expr::AuthorWithdrew(kind)),
            3 => {
                let (by, by_type) = self.fact_reading(&c.by, variables, reads)?;
                if by_type.kind != Kind::Text {
                    return Err(format!("`consented` by `{}`, which is no person id", path(&c.by)));
                }
                Ok(Expr::Consented { by, scope: kind })
            }
            other => Err(format!("a consent test of no known kind: {other}")),
        }
    }
}

/// The label scheme a fact path reads, lowercased (build._LABEL_FACT).
fn label_fact_scheme(path: &str) -> Option<String> {
    static LABEL_FACT: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let pattern = LABEL_FACT.get_or_init(|| Regex::new(r"^item\.label(?:_param)?\.([A-Za-z0-9_+-]+)(?:\..*)?$").ok());
    let found = pattern.as_ref()?.captures(path)?;
    Some(found.get(1)?.as_str().to_ascii_lowercase())
}

/// A literal as Python holds it (build._value).
fn value(v: &ir::Value) -> Result<Value<'static>, String> {
    use ir::value::Kind as V;
    Ok(match &v.kind {
        Some(V::Null(_)) => Value::None,
        Some(V::List(list)) => Value::List(list.values.iter().map(value).collect::<Result<_, _>>()?),
        None => return Err("a value with nothing in it".into()),
        Some(V::Instant(i)) => Value::Int(nanoseconds(i)?),
        Some(V::Text(t)) => Value::Text(t.clone().into()),
        Some(V::Integer(i)) => Value::Int(*i as i128),
        Some(V::Boolean(b)) => Value::Bool(*b),
        Some(V::Number(n)) => Value::Float(*n),
    })
}

/// A literal, refused unless it is of its fact's type and in its fact's vocabulary (build._typed).
fn literal(v: &ir::Value, fact_type: &FactType, fact: &str) -> Result<Value<'static>, String> {
    use ir::value::Kind as V;
    let kind = match &v.kind {
        Some(V::Text(_)) => "text",
        Some(V::Integer(_)) => "integer",
        Some(V::Boolean(_)) => "boolean",
        Some(V::Number(_)) => "number",
        Some(V::Instant(_)) => "instant",
        Some(V::Null(_)) => "null",
        Some(V::List(_)) => "list",
        None => "None",
    };
    let fits = match fact_type.kind {
        Kind::Text => kind == "text",
        Kind::Bool => kind == "boolean",
        Kind::Int => kind == "integer",
        Kind::Instant => kind == "instant" || kind == "null",
        Kind::Any | Kind::Map => true,
        Kind::List | Kind::Record => false,
    };
    if !fits {
        return Err(format!("`{fact}` is compared with a {kind} literal"));
    }
    let typed = value(v)?;
    if fact_type.kind == Kind::Text && !fact_type.vocabulary.is_empty() {
        if let Some(text) = typed.as_text() {
            if !fact_type.vocabulary.contains(&text) {
                return Err(format!("`{text}` is no value of `{fact}`"));
            }
        }
    }
    Ok(typed)
}

/// (action, destination kind) -> rules in file order, "otherwise deny" rules after every other rule of
/// the version, once it is known whether the version allowed the item.
fn index(rules: Vec<CompiledRule>) -> HashMap<(String, String), Vec<Arc<CompiledRule>>> {
    let mut index: HashMap<(String, String), Vec<Arc<CompiledRule>>> = HashMap::new();
    for rule in rules.into_iter().map(Arc::new) {
        for action in &rule.actions {
            for destination in &rule.destinations {
                index.entry((action.clone(), destination.clone())).or_default().push(rule.clone());
            }
        }
    }
    for rules in index.values_mut() {
        rules.sort_by_key(|r| r.effect == Effect::DenyUnlessAllowed);
    }
    index
}

//! The Python module `discretion_native`: a thin adapter over the engine.
//!
//! `Engine` is what the server uses; the functions below it are hooks the
//! differential tests (tests/native/) call to hold one module of this engine
//! to its Python twin. Each module's hooks sit in its own section.
use std::collections::BTreeMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use std::sync::Arc;

use crate::compiled::CompiledPolicy;
use crate::model::{
    Actor, Adoption, Any, Attribution, Consent, Decision, Destination, Group, Instant, Item, Label, Obligation,
    Person, Purpose, Recipient, Request, Service, Session,
};

#[pymodule]
fn discretion_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // ---- engine (python.rs) ----
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(echo_request, m)?)?;
    // ---- wire ----
    // ---- identify ----
    // ---- conditions ----
    m.add_class::<ConditionsPolicy>()?;
    m.add_function(wrap_pyfunction!(conditions_build_error, m)?)?;
    m.add_function(wrap_pyfunction!(conditions_pattern_matches, m)?)?;
    // ---- decide ----
    Ok(())
}

// ---- engine (python.rs) ---------------------------------------------------------

/// A compiled policy built into the native evaluator. Immutable, so every
/// thread of a worker may decide with it at once.
#[pyclass(frozen, module = "discretion_native")]
pub struct Engine {
    policy: Arc<CompiledPolicy>,
}

#[pymethods]
impl Engine {
    /// The engine for the compiled form `ir` (discretion.ir.v1.Policy bytes);
    /// ValueError, saying why, for one it cannot read in full.
    #[new]
    fn new(ir: &[u8]) -> PyResult<Self> {
        let policy = crate::build::build_policy(ir).map_err(PyValueError::new_err)?;
        Ok(Engine { policy: Arc::new(policy) })
    }

    /// The revision of the rules it was compiled from.
    #[getter]
    fn revision(&self) -> &str {
        &self.policy.revision
    }

    /// The decision on a Python `engine.model.Request` at `now` (nanoseconds),
    /// as `dataclasses.asdict` of the reference's Decision gives it, without
    /// the explanation and the trace: what the differential tests compare.
    fn decide_model(&self, py: Python<'_>, request: &Bound<'_, PyAny>, now: Instant) -> PyResult<Py<PyAny>> {
        let request = request_from_python(request)?;
        let decision = py.detach(|| crate::decide::decide(&self.policy, &request, now));
        decision_to_python(py, &decision)
    }
}

fn decision_to_python(py: Python<'_>, d: &Decision) -> PyResult<Py<PyAny>> {
    let out = PyDict::new(py);
    out.set_item("decision", &d.decision)?;
    let obligations = PyList::empty(py);
    for o in &d.obligations {
        obligations.append(obligation_to_python(py, o)?)?;
    }
    out.set_item("obligations", PyTuple::new(py, obligations)?)?;
    let items = PyList::empty(py);
    for i in &d.items {
        let item = PyDict::new(py);
        item.set_item("item_id", &i.item_id)?;
        item.set_item("outcome", &i.outcome)?;
        item.set_item("decision", &i.decision)?;
        item.set_item("governed_by", PyTuple::new(py, &i.governed_by)?)?;
        items.append(item)?;
    }
    out.set_item("items", PyTuple::new(py, items)?)?;
    let findings = PyList::empty(py);
    for f in &d.findings {
        let finding = PyDict::new(py);
        finding.set_item("agreement", &f.agreement)?;
        finding.set_item("version", f.version)?;
        finding.set_item("rule", &f.rule)?;
        finding.set_item("item_id", &f.item_id)?;
        finding.set_item("effect", &f.effect)?;
        finding.set_item("reason_code", &f.reason_code)?;
        finding.set_item("message", &f.message)?;
        findings.append(finding)?;
    }
    out.set_item("findings", PyTuple::new(py, findings)?)?;
    out.set_item("reason", &d.reason)?;
    out.set_item("policy_revision", &d.policy_revision)?;
    Ok(out.into_any().unbind())
}

fn obligation_to_python<'py>(py: Python<'py>, o: &Obligation) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("type", &o.r#type)?;
    out.set_item("item_ids", PyTuple::new(py, &o.item_ids)?)?;
    out.set_item("person_ids", PyTuple::new(py, &o.person_ids)?)?;
    let spans = PyList::empty(py);
    for s in &o.spans {
        let span = PyDict::new(py);
        span.set_item("start", s.start)?;
        span.set_item("end", s.end)?;
        span.set_item("reveals", &s.reveals)?;
        span.set_item("field", &s.field)?;
        span.set_item("item_id", &s.item_id)?;
        spans.append(span)?;
    }
    out.set_item("spans", PyTuple::new(py, spans)?)?;
    out.set_item("names", PyTuple::new(py, &o.names)?)?;
    out.set_item("scope", &o.scope)?;
    out.set_item("until", o.until)?;
    out.set_item("label", &o.label)?;
    out.set_item("notice", &o.notice)?;
    out.set_item("descriptor", &o.descriptor)?;
    out.set_item("link", &o.link)?;
    Ok(out)
}

/// The request read from Python and given back: what the tests check
/// `request_from_python` by (it must be the identity on every request).
#[pyfunction]
fn echo_request(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let read = request_from_python(request)?;
    Ok(format!("{read:?}").into_pyobject(py)?.into_any().unbind())
}

/// A Python `engine.model.Request` read field by field into the Rust model:
/// how the differential tests hand the two engines the same facts without
/// the wire in between.
pub(crate) fn request_from_python(r: &Bound<'_, PyAny>) -> PyResult<Request> {
    Ok(Request {
        action: text(r, "action")?,
        actor: actor(&r.getattr("actor")?)?,
        group: group(&r.getattr("group")?)?,
        items: list(r, "items", item)?,
        destination: destination(&r.getattr("destination")?)?,
        requested_at: instant(r, "requested_at")?,
        attribution: attribution(&r.getattr("attribution")?)?,
        format: text(r, "format")?,
        derived: text(r, "derived")?,
        quoted_text: text(r, "quoted_text")?,
        purpose: purpose(&r.getattr("purpose")?)?,
        attributes: map_of_any(&r.getattr("attributes")?)?,
        span_unit: text(r, "span_unit")?,
    })
}

fn text(o: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    o.getattr(name)?.extract()
}

fn flag(o: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    o.getattr(name)?.extract()
}

fn instant(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<Instant>> {
    let value = o.getattr(name)?;
    if value.is_none() {
        return Ok(None);
    }
    Ok(Some(value.extract::<i128>()?))
}

fn texts(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<String>> {
    o.getattr(name)?.try_iter()?.map(|v| v?.extract()).collect()
}

fn list<T>(o: &Bound<'_, PyAny>, name: &str, read: fn(&Bound<'_, PyAny>) -> PyResult<T>) -> PyResult<Vec<T>> {
    o.getattr(name)?.try_iter()?.map(|v| read(&v?)).collect()
}

fn pairs(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<(String, String)>> {
    let dict = o.getattr(name)?;
    let dict = dict.cast::<PyDict>()?;
    dict.iter().map(|(k, v)| Ok((k.extract()?, v.extract()?))).collect()
}

fn person(p: &Bound<'_, PyAny>) -> PyResult<Person> {
    Ok(Person {
        id: text(p, "id")?,
        display_name: text(p, "display_name")?,
        organization: text(p, "organization")?,
        handles: texts(p, "handles")?,
        is_minor: flag(p, "is_minor")?,
        aliases: texts(p, "aliases")?,
        organization_aliases: texts(p, "organization_aliases")?,
    })
}

fn actor(a: &Bound<'_, PyAny>) -> PyResult<Actor> {
    Ok(Actor {
        id: text(a, "id")?,
        display_name: text(a, "display_name")?,
        organization: text(a, "organization")?,
        role: text(a, "role")?,
        member: flag(a, "member")?,
        joined_at: instant(a, "joined_at")?,
        kind: text(a, "kind")?,
        installed_by: text(a, "installed_by")?,
    })
}

fn adoption(a: &Bound<'_, PyAny>) -> PyResult<Adoption> {
    Ok(Adoption {
        agreement: text(a, "agreement")?,
        version: a.getattr("version")?.extract()?,
        effective_from: instant(a, "effective_from")?,
        disclosed_at: instant(a, "disclosed_at")?,
        replaces: texts(a, "replaces")?,
        segments: texts(a, "segments")?,
        default_labels: pairs(a, "default_labels")?,
        label_floors: pairs(a, "label_floors")?,
    })
}

fn group(g: &Bound<'_, PyAny>) -> PyResult<Group> {
    Ok(Group {
        id: text(g, "id")?,
        privacy: text(g, "privacy")?,
        visibility: text(g, "visibility")?,
        adoptions: list(g, "adoptions", adoption)?,
        participants: list(g, "participants", person)?,
        community: texts(g, "community")?,
        converted_at: instant(g, "converted_at")?,
    })
}

fn label(l: &Bound<'_, PyAny>) -> PyResult<Label> {
    Ok(Label {
        scheme: text(l, "scheme")?,
        value: text(l, "value")?,
        set_by: text(l, "set_by")?,
        set_at: instant(l, "set_at")?,
        params: pairs(l, "params")?,
    })
}

fn consent(c: &Bound<'_, PyAny>) -> PyResult<Consent> {
    Ok(Consent {
        by: text(c, "by")?,
        scope: text(c, "scope")?,
        recipients: texts(c, "recipients")?,
        granted_at: instant(c, "granted_at")?,
        withdrawn_at: instant(c, "withdrawn_at")?,
    })
}

fn item(i: &Bound<'_, PyAny>) -> PyResult<Item> {
    let session = i.getattr("session")?;
    Ok(Item {
        id: text(i, "id")?,
        author: person(&i.getattr("author")?)?,
        posted_at: instant(i, "posted_at")?,
        retracted_at: instant(i, "retracted_at")?,
        labels: list(i, "labels", label)?,
        consents: list(i, "consents", consent)?,
        text: text(i, "text")?,
        kind: text(i, "kind")?,
        listed_people: list(i, "listed_people", person)?,
        session: Session {
            id: text(&session, "id")?,
            segment: text(&session, "segment")?,
            speaker_count: session.getattr("speaker_count")?.extract()?,
        },
        exchange_participants: texts(i, "exchange_participants")?,
        conversation: text(i, "conversation")?,
        link: text(i, "link")?,
    })
}

fn recipient(r: &Bound<'_, PyAny>) -> PyResult<Recipient> {
    Ok(Recipient { id: text(r, "id")?, organization: text(r, "organization")? })
}

fn maybe_flag(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<bool>> {
    let value = o.getattr(name)?;
    if value.is_none() {
        Ok(None)
    } else {
        Ok(Some(value.extract()?))
    }
}

fn destination(d: &Bound<'_, PyAny>) -> PyResult<Destination> {
    let service = d.getattr("service")?;
    Ok(Destination {
        kind: text(d, "kind")?,
        channel: text(d, "channel")?,
        recipients: list(d, "recipients", recipient)?,
        group_id: text(d, "group_id")?,
        publicly_accessible: flag(d, "publicly_accessible")?,
        service: Service {
            name: text(&service, "name")?,
            organization: text(&service, "organization")?,
            new_controller: maybe_flag(&service, "new_controller")?,
            may_train: maybe_flag(&service, "may_train")?,
            retains: maybe_flag(&service, "retains")?,
        },
    })
}

fn attribution(a: &Bound<'_, PyAny>) -> PyResult<Attribution> {
    Ok(Attribution {
        author_identity: flag(a, "author_identity")?,
        affiliation: flag(a, "affiliation")?,
        descriptor: text(a, "descriptor")?,
        link: flag(a, "link")?,
    })
}

fn purpose(p: &Bound<'_, PyAny>) -> PyResult<Purpose> {
    Ok(Purpose {
        need_to_know: flag(p, "need_to_know")?,
        legal_basis: text(p, "legal_basis")?,
        notification_prohibited: flag(p, "notification_prohibited")?,
    })
}

fn map_of_any(o: &Bound<'_, PyAny>) -> PyResult<BTreeMap<String, Any>> {
    let dict = o.cast::<PyDict>()?;
    dict.iter().map(|(k, v)| Ok((k.extract()?, any(&v)?))).collect()
}

/// A custom attribute's value; a Python int beyond 64 bits cannot come from
/// the wire (numbers are doubles there), so it is refused here.
fn any(v: &Bound<'_, PyAny>) -> PyResult<Any> {
    if v.is_none() {
        Ok(Any::Null)
    } else if v.is_instance_of::<PyBool>() {
        Ok(Any::Bool(v.extract()?))
    } else if v.is_instance_of::<PyInt>() {
        Ok(Any::Int(v.extract()?))
    } else if v.is_instance_of::<PyFloat>() {
        Ok(Any::Number(v.extract()?))
    } else if v.is_instance_of::<PyString>() {
        Ok(Any::Text(v.extract()?))
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        Ok(Any::List(v.try_iter()?.map(|e| any(&e?)).collect::<PyResult<_>>()?))
    } else if v.is_instance_of::<PyDict>() {
        Ok(Any::Map(map_of_any(v)?))
    } else {
        Err(PyValueError::new_err(format!("an attribute of no JSON type: {}", v.get_type().name()?)))
    }
}

// ---- conditions -------------------------------------------------------------------

/// Why `build::build_policy` refuses the compiled form, or None when it builds it.
#[pyfunction]
fn conditions_build_error(ir: &[u8]) -> Option<String> {
    crate::build::build_policy(ir).err()
}

/// Whether the pattern, as the native engine compiles it, is found in `text`; the refusal as a ValueError.
#[pyfunction]
fn conditions_pattern_matches(pattern: &str, text: &str) -> PyResult<bool> {
    let compiled = crate::conditions::compile_pattern(pattern).map_err(PyValueError::new_err)?;
    Ok(compiled.is_match(text))
}

/// A compiled policy built here, whose rules' conditions and messages the tests evaluate one by one.
#[pyclass(frozen)]
struct ConditionsPolicy {
    policy: crate::compiled::CompiledPolicy,
}

#[pymethods]
impl ConditionsPolicy {
    #[new]
    fn new(ir: &[u8]) -> PyResult<Self> {
        Ok(ConditionsPolicy { policy: crate::build::build_policy(ir).map_err(PyValueError::new_err)? })
    }

    /// What the policy holds besides conditions, in plain data: what `shape` in test_conditions.py reads
    /// from the reference's CompiledPolicy.
    fn shape(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        use crate::compiled::Param;
        let p = &self.policy;
        let sorted = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
        let pairs = |m: &Vec<(String, String)>| {
            let mut v = m.clone();
            v.sort();
            v
        };
        let agreements: Vec<_> = p
            .agreements
            .iter()
            .map(|a| {
                let versions: Vec<_> =
                    a.versions.iter().map(|v| (v.version, v.effective_from, v.disclosed_at)).collect();
                (
                    a.id.clone(),
                    a.version,
                    a.title.clone(),
                    a.summary.clone(),
                    a.source.clone(),
                    a.platform_wide,
                    versions,
                )
            })
            .collect();
        let bindings: BTreeMap<_, Vec<_>> = p
            .bindings
            .iter()
            .map(|(g, adoptions)| {
                let adoptions = adoptions
                    .iter()
                    .map(|a| {
                        (
                            (a.agreement.clone(), a.version, a.effective_from, a.disclosed_at),
                            (a.replaces.clone(), a.segments.clone(), pairs(&a.default_labels), pairs(&a.label_floors)),
                        )
                    })
                    .collect();
                (g.clone(), adoptions)
            })
            .collect();
        let schemes: BTreeMap<_, _> = p
            .label_schemes
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    (
                        s.order.clone(),
                        sorted(&s.aliases),
                        s.agreement.clone(),
                        s.relabel_by.iter().cloned().collect::<Vec<_>>(),
                    ),
                )
            })
            .collect();
        let mut versions = BTreeMap::new();
        let mut rules = BTreeMap::new();
        for by_number in p.versions.values() {
            for v in by_number.values() {
                let index: BTreeMap<String, Vec<String>> = v
                    .index
                    .iter()
                    .map(|((a, d), rs)| {
                        (
                            format!("{a}/{d}"),
                            rs.iter().map(|r| crate::model::rule_key(&r.agreement, r.version, &r.id)).collect(),
                        )
                    })
                    .collect();
                for r in v.index.values().flatten() {
                    let obligations: Vec<(String, Vec<(String, String)>)> = r
                        .obligations
                        .iter()
                        .map(|o| {
                            let params = o
                                .params
                                .iter()
                                .map(|(n, p)| {
                                    let shown = match p {
                                        Param::Text(t) => t.clone(),
                                        Param::Instant(i) => i.to_string(),
                                        Param::Fact(_) | Param::InstantFromText(_) => "fact".into(),
                                    };
                                    (n.clone(), shown)
                                })
                                .collect();
                            (o.r#type.clone(), params)
                        })
                        .collect();
                    let described = (
                        (
                            r.effect.word(),
                            r.waivable_by_author,
                            r.reason_code.clone(),
                            r.actions.clone(),
                            r.destinations.clone(),
                        ),
                        (
                            r.schemes.iter().cloned().collect::<Vec<_>>(),
                            r.consent_scopes.iter().cloned().collect::<Vec<_>>(),
                            obligations,
                        ),
                    );
                    rules.insert(crate::model::rule_key(&r.agreement, r.version, &r.id), described);
                }
                let described = (
                    (v.effective_from, v.disclosed_at, v.published_at, v.authors_may_restrict_later),
                    (
                        sorted(&v.default_labels),
                        sorted(&v.label_floors),
                        v.frozen_schemes.iter().cloned().collect::<Vec<_>>(),
                        index,
                    ),
                );
                versions.insert(v.key(), described);
            }
        }
        let shape = (
            (p.revision.clone(), agreements, p.platform_wide.clone(), bindings),
            (schemes, p.consent_scopes_read.iter().cloned().collect::<Vec<_>>(), versions, rules),
        );
        Ok(shape.into_pyobject(py)?.into_any().unbind())
    }

    /// Every rule's key (`agreement@version/rule`) -> for each item of `request`: (held, why it failed,
    /// message, why the message failed), each item with its effective labels and their parameters.
    fn evaluate(
        &self,
        request: &Bound<'_, PyAny>,
        labels: Vec<BTreeMap<String, String>>,
        label_params: Vec<BTreeMap<String, BTreeMap<String, String>>>,
        requested_at: Instant,
    ) -> PyResult<BTreeMap<String, Vec<(Option<bool>, Option<String>, Option<String>, Option<String>)>>> {
        let request = request_from_python(request)?;
        let mut results = BTreeMap::new();
        for (agreement, versions) in &self.policy.versions {
            for (number, version) in versions {
                let mut seen: Vec<*const crate::compiled::CompiledRule> = Vec::new();
                for rule in version.index.values().flatten() {
                    let address = std::sync::Arc::as_ptr(rule);
                    if seen.contains(&address) {
                        continue;
                    }
                    seen.push(address);
                    let mut outcomes = Vec::new();
                    for (i, item) in request.items.iter().enumerate() {
                        let (Some(label), Some(label_param)) = (labels.get(i), label_params.get(i)) else {
                            return Err(PyValueError::new_err("a label and its parameters for each item"));
                        };
                        let acting_person =
                            if request.actor.kind == "service" { "" } else { request.actor.id.as_str() };
                        let mut scope = crate::compiled::Scope {
                            request: &request,
                            item,
                            requested_at,
                            label,
                            label_param,
                            vars: Vec::new(),
                            acting_person,
                            actor_is_author: !item.author.id.is_empty() && item.author.id == acting_person,
                        };
                        let (held, failure) = match rule.condition.holds(&mut scope) {
                            Ok(held) => (Some(held), None),
                            Err(failure) => (None, Some(failure.0)),
                        };
                        let (message, message_failure) = match crate::conditions::render_message(&rule.message, &scope)
                        {
                            Ok(message) => (Some(message), None),
                            Err(failure) => (None, Some(failure.0)),
                        };
                        outcomes.push((held, failure, message, message_failure));
                    }
                    results.insert(crate::model::rule_key(agreement, *number, &rule.id), outcomes);
                }
            }
        }
        Ok(results)
    }
}

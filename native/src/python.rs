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
    // ---- decide ----
    m.add_function(wrap_pyfunction!(consent_latest, m)?)?;
    m.add_function(wrap_pyfunction!(consent_granted_since, m)?)?;
    m.add_function(wrap_pyfunction!(parse_iso, m)?)?;
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

// ---- decide ---------------------------------------------------------------------

/// consent.latest over a Python list of `engine.model.Consent`: (index of the record, withdrawn?) or None.
#[pyfunction]
fn consent_latest(consents: Vec<Bound<'_, PyAny>>, person_id: &str, kind: &str, now: Instant)
                  -> PyResult<Option<(usize, bool)>> {
    let consents = consents.iter().map(consent).collect::<PyResult<Vec<_>>>()?;
    Ok(crate::consent::latest(&consents, person_id, kind, now)
        .map(|(found, withdrawn)| (consents.iter().position(|c| std::ptr::eq(c, found)).unwrap_or(usize::MAX), withdrawn)))
}

/// consent.granted_since; `since` None is since ever (Python's `-math.inf`).
#[pyfunction]
fn consent_granted_since(consents: Vec<Bound<'_, PyAny>>, person_id: &str, kind: &str, since: Option<Instant>,
                         now: Instant, destination: &Bound<'_, PyAny>) -> PyResult<bool> {
    let consents = consents.iter().map(consent).collect::<PyResult<Vec<_>>>()?;
    let since = crate::terms::Moment::from_option(since);
    Ok(crate::consent::granted_since(&consents, person_id, kind, since, now, &self::destination(destination)?))
}

/// instants.parse_iso as a label parameter's time is read: the instant, or ValueError with
/// the words a rule's failure gives it (`Type: message`).
#[pyfunction]
fn parse_iso(text: &str) -> PyResult<Instant> {
    crate::obligations::parse_iso(text).map_err(|failure| PyValueError::new_err(failure.0))
}


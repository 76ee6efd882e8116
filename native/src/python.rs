//! The Python module `discretion_native`: a thin adapter over the engine.
//!
//! `Engine` is what the server uses; the functions below it are hooks the
//! differential tests (tests/native/) call to hold one module of this engine
//! to its Python twin. Each module's hooks sit in its own section.
use pyo3::prelude::*;

#[pymodule]
fn discretion_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // ---- engine (python.rs) ----
    // ---- wire ----
    m.add_function(wrap_pyfunction!(read_check, m)?)?;
    m.add_function(wrap_pyfunction!(read_batch, m)?)?;
    m.add_function(wrap_pyfunction!(write_response, m)?)?;
    m.add_function(wrap_pyfunction!(write_batch_response, m)?)?;
    // ---- identify ----
    // ---- conditions ----
    // ---- decide ----
    let _ = m;
    Ok(())
}

// ---- wire ----
// Hooks for tests/native/test_wire.py: a request read from bytes comes back
// as `dataclasses.asdict` of the Python Request would give it (lists for
// tuples), a refusal as its violations; a decision goes in as its asdict.

use pyo3::exceptions::PyValueError;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::model;
use crate::wire;

fn limits_from(settings: &Bound<'_, PyDict>) -> PyResult<wire::Limits> {
    let mut limits = wire::Limits::default();
    for (key, value) in settings.iter() {
        let key: String = key.extract()?;
        let value: usize = value.extract()?;
        let slot = match key.as_str() {
            "max_items" => &mut limits.max_items,
            "max_participants" => &mut limits.max_participants,
            "max_listed_people" => &mut limits.max_listed_people,
            "max_text" => &mut limits.max_text,
            "max_labels" => &mut limits.max_labels,
            "max_struct_depth" => &mut limits.max_struct_depth,
            "max_adoptions" => &mut limits.max_adoptions,
            "max_id" => &mut limits.max_id,
            "max_name" => &mut limits.max_name,
            "max_names_per_person" => &mut limits.max_names_per_person,
            "max_names_total" => &mut limits.max_names_total,
            other => return Err(PyValueError::new_err(format!("no limit `{other}`"))),
        };
        *slot = value;
    }
    Ok(limits)
}

/// (False, [(field, description), …]) for a refusal.
fn refusal_to_py<'py>(py: Python<'py>, refusal: wire::Refusal) -> PyResult<Bound<'py, PyAny>> {
    match refusal {
        wire::Refusal::Invalid(violations) => {
            let pairs: Vec<(String, String)> = violations.into_iter().map(|v| (v.field, v.description)).collect();
            Ok((false, pairs).into_pyobject(py)?.into_any())
        }
        wire::Refusal::Internal(fault) => Err(PyValueError::new_err(fault)),
    }
}

/// `read_check(data, now_ns, max_skew_ns | None, limits) -> (True, request_asdict) | (False, violations)`
#[pyfunction]
fn read_check<'py>(
    py: Python<'py>,
    data: &[u8],
    now: i128,
    max_skew: Option<i128>,
    limits: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let clock = wire::Clock { now, max_skew };
    match wire::read_check(data, &clock, &limits_from(limits)?) {
        Ok((request, _)) => Ok((true, request_to_py(py, &request)?).into_pyobject(py)?.into_any()),
        Err(refusal) => refusal_to_py(py, refusal),
    }
}

/// `read_batch(data, now_ns, max_skew_ns | None, limits, max_batch) -> (True, [request_asdict]) | (False, violations)`
#[pyfunction]
fn read_batch<'py>(
    py: Python<'py>,
    data: &[u8],
    now: i128,
    max_skew: Option<i128>,
    limits: &Bound<'py, PyDict>,
    max_batch: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let clock = wire::Clock { now, max_skew };
    match wire::read_batch(data, &clock, &limits_from(limits)?, max_batch) {
        Ok(batch) => {
            let list = PyList::empty(py);
            for (request, _) in &batch {
                list.append(request_to_py(py, request)?)?;
            }
            Ok((true, list).into_pyobject(py)?.into_any())
        }
        Err(refusal) => refusal_to_py(py, refusal),
    }
}

/// `write_response(decision_asdict) -> bytes` (a CheckResponse without explanation).
#[pyfunction]
fn write_response<'py>(py: Python<'py>, decision: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = wire::write_response(&decision_from(decision)?).map_err(|r| PyValueError::new_err(r.message()))?;
    Ok(PyBytes::new(py, &bytes))
}

/// `write_batch_response([decision_asdict]) -> bytes`.
#[pyfunction]
fn write_batch_response<'py>(py: Python<'py>, decisions: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyBytes>> {
    let decisions = decisions
        .iter()
        .map(|d| decision_from(d.cast::<PyDict>()?))
        .collect::<PyResult<Vec<_>>>()?;
    let bytes = wire::write_batch_response(&decisions).map_err(|r| PyValueError::new_err(r.message()))?;
    Ok(PyBytes::new(py, &bytes))
}

fn get<'py, T: for<'a> FromPyObject<'a, 'py, Error = PyErr>>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match dict.get_item(key)? {
        Some(value) => value.extract(),
        None => Err(PyValueError::new_err(format!("no `{key}`"))),
    }
}

fn dicts<'py>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let list = dict
        .get_item(key)?
        .ok_or_else(|| PyValueError::new_err(format!("no `{key}`")))?;
    list.try_iter()?.map(|d| Ok(d?.cast_into::<PyDict>()?)).collect()
}

fn decision_from(d: &Bound<'_, PyDict>) -> PyResult<model::Decision> {
    let obligations = dicts(d, "obligations")?
        .iter()
        .map(|o| {
            let spans = dicts(o, "spans")?
                .iter()
                .map(|s| {
                    Ok(model::Span {
                        start: get(s, "start")?,
                        end: get(s, "end")?,
                        reveals: get(s, "reveals")?,
                        field: get(s, "field")?,
                        item_id: get(s, "item_id")?,
                    })
                })
                .collect::<PyResult<_>>()?;
            Ok(model::Obligation {
                r#type: get(o, "type")?,
                item_ids: get(o, "item_ids")?,
                person_ids: get(o, "person_ids")?,
                spans,
                names: get(o, "names")?,
                scope: get(o, "scope")?,
                until: get(o, "until")?,
                label: get(o, "label")?,
                notice: get(o, "notice")?,
                descriptor: get(o, "descriptor")?,
                link: get(o, "link")?,
            })
        })
        .collect::<PyResult<_>>()?;
    let items = dicts(d, "items")?
        .iter()
        .map(|i| {
            Ok(model::ItemResult {
                item_id: get(i, "item_id")?,
                outcome: get(i, "outcome")?,
                decision: get(i, "decision")?,
                governed_by: get(i, "governed_by")?,
            })
        })
        .collect::<PyResult<_>>()?;
    let findings = dicts(d, "findings")?
        .iter()
        .map(|f| {
            Ok(model::Finding {
                agreement: get(f, "agreement")?,
                version: get(f, "version")?,
                rule: get(f, "rule")?,
                item_id: get(f, "item_id")?,
                effect: get(f, "effect")?,
                reason_code: get(f, "reason_code")?,
                message: get(f, "message")?,
            })
        })
        .collect::<PyResult<_>>()?;
    Ok(model::Decision {
        decision: get(d, "decision")?,
        obligations,
        items,
        findings,
        reason: get(d, "reason")?,
        policy_revision: get(d, "policy_revision")?,
    })
}

fn any_to_py<'py>(py: Python<'py>, value: &model::Any) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        model::Any::Null => py.None().into_bound(py),
        model::Any::Bool(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
        model::Any::Int(number) => number.into_pyobject(py)?.into_any(),
        model::Any::Number(number) => number.into_pyobject(py)?.into_any(),
        model::Any::Text(text) => text.into_pyobject(py)?.into_any(),
        model::Any::List(values) => {
            let list = PyList::empty(py);
            for v in values {
                list.append(any_to_py(py, v)?)?;
            }
            list.into_any()
        }
        model::Any::Map(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, any_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

fn pairs_to_py<'py>(py: Python<'py>, pairs: &[(String, String)]) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in pairs {
        dict.set_item(k, v)?;
    }
    Ok(dict)
}

fn person_to_py<'py>(py: Python<'py>, p: &model::Person) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &p.id)?;
    d.set_item("display_name", &p.display_name)?;
    d.set_item("organization", &p.organization)?;
    d.set_item("handles", &p.handles)?;
    d.set_item("is_minor", p.is_minor)?;
    d.set_item("aliases", &p.aliases)?;
    d.set_item("organization_aliases", &p.organization_aliases)?;
    Ok(d)
}

fn people_to_py<'py>(py: Python<'py>, people: &[model::Person]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for p in people {
        list.append(person_to_py(py, p)?)?;
    }
    Ok(list)
}

fn request_to_py<'py>(py: Python<'py>, r: &model::Request) -> PyResult<Bound<'py, PyDict>> {
    let actor = PyDict::new(py);
    let a = &r.actor;
    actor.set_item("id", &a.id)?;
    actor.set_item("display_name", &a.display_name)?;
    actor.set_item("organization", &a.organization)?;
    actor.set_item("role", &a.role)?;
    actor.set_item("member", a.member)?;
    actor.set_item("joined_at", a.joined_at)?;
    actor.set_item("kind", &a.kind)?;
    actor.set_item("installed_by", &a.installed_by)?;

    let g = &r.group;
    let adoptions = PyList::empty(py);
    for a in &g.adoptions {
        let d = PyDict::new(py);
        d.set_item("agreement", &a.agreement)?;
        d.set_item("version", a.version)?;
        d.set_item("effective_from", a.effective_from)?;
        d.set_item("disclosed_at", a.disclosed_at)?;
        d.set_item("replaces", &a.replaces)?;
        d.set_item("segments", &a.segments)?;
        d.set_item("default_labels", pairs_to_py(py, &a.default_labels)?)?;
        d.set_item("label_floors", pairs_to_py(py, &a.label_floors)?)?;
        adoptions.append(d)?;
    }
    let group = PyDict::new(py);
    group.set_item("id", &g.id)?;
    group.set_item("privacy", &g.privacy)?;
    group.set_item("visibility", &g.visibility)?;
    group.set_item("adoptions", adoptions)?;
    group.set_item("participants", people_to_py(py, &g.participants)?)?;
    group.set_item("community", &g.community)?;
    group.set_item("converted_at", g.converted_at)?;

    let items = PyList::empty(py);
    for i in &r.items {
        let labels = PyList::empty(py);
        for l in &i.labels {
            let d = PyDict::new(py);
            d.set_item("scheme", &l.scheme)?;
            d.set_item("value", &l.value)?;
            d.set_item("set_by", &l.set_by)?;
            d.set_item("set_at", l.set_at)?;
            d.set_item("params", pairs_to_py(py, &l.params)?)?;
            labels.append(d)?;
        }
        let consents = PyList::empty(py);
        for c in &i.consents {
            let d = PyDict::new(py);
            d.set_item("by", &c.by)?;
            d.set_item("scope", &c.scope)?;
            d.set_item("recipients", &c.recipients)?;
            d.set_item("granted_at", c.granted_at)?;
            d.set_item("withdrawn_at", c.withdrawn_at)?;
            consents.append(d)?;
        }
        let session = PyDict::new(py);
        session.set_item("id", &i.session.id)?;
        session.set_item("segment", &i.session.segment)?;
        session.set_item("speaker_count", i.session.speaker_count)?;
        let d = PyDict::new(py);
        d.set_item("id", &i.id)?;
        d.set_item("author", person_to_py(py, &i.author)?)?;
        d.set_item("posted_at", i.posted_at)?;
        d.set_item("retracted_at", i.retracted_at)?;
        d.set_item("labels", labels)?;
        d.set_item("consents", consents)?;
        d.set_item("text", &i.text)?;
        d.set_item("kind", &i.kind)?;
        d.set_item("listed_people", people_to_py(py, &i.listed_people)?)?;
        d.set_item("session", session)?;
        d.set_item("exchange_participants", &i.exchange_participants)?;
        d.set_item("conversation", &i.conversation)?;
        d.set_item("link", &i.link)?;
        items.append(d)?;
    }

    let dst = &r.destination;
    let recipients = PyList::empty(py);
    for rc in &dst.recipients {
        let d = PyDict::new(py);
        d.set_item("id", &rc.id)?;
        d.set_item("organization", &rc.organization)?;
        recipients.append(d)?;
    }
    let service = PyDict::new(py);
    service.set_item("name", &dst.service.name)?;
    service.set_item("organization", &dst.service.organization)?;
    service.set_item("new_controller", dst.service.new_controller)?;
    service.set_item("may_train", dst.service.may_train)?;
    service.set_item("retains", dst.service.retains)?;
    let destination = PyDict::new(py);
    destination.set_item("kind", &dst.kind)?;
    destination.set_item("channel", &dst.channel)?;
    destination.set_item("recipients", recipients)?;
    destination.set_item("group_id", &dst.group_id)?;
    destination.set_item("publicly_accessible", dst.publicly_accessible)?;
    destination.set_item("service", service)?;

    let attribution = PyDict::new(py);
    attribution.set_item("author_identity", r.attribution.author_identity)?;
    attribution.set_item("affiliation", r.attribution.affiliation)?;
    attribution.set_item("descriptor", &r.attribution.descriptor)?;
    attribution.set_item("link", r.attribution.link)?;
    let purpose = PyDict::new(py);
    purpose.set_item("need_to_know", r.purpose.need_to_know)?;
    purpose.set_item("legal_basis", &r.purpose.legal_basis)?;
    purpose.set_item("notification_prohibited", r.purpose.notification_prohibited)?;
    let attributes = PyDict::new(py);
    for (k, v) in &r.attributes {
        attributes.set_item(k, any_to_py(py, v)?)?;
    }

    let d = PyDict::new(py);
    d.set_item("action", &r.action)?;
    d.set_item("actor", actor)?;
    d.set_item("group", group)?;
    d.set_item("items", items)?;
    d.set_item("destination", destination)?;
    d.set_item("requested_at", r.requested_at)?;
    d.set_item("attribution", attribution)?;
    d.set_item("format", &r.format)?;
    d.set_item("derived", &r.derived)?;
    d.set_item("quoted_text", &r.quoted_text)?;
    d.set_item("purpose", purpose)?;
    d.set_item("attributes", attributes)?;
    d.set_item("span_unit", &r.span_unit)?;
    Ok(d)
}

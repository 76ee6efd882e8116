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
    // ---- identify ----
    // ---- conditions ----
    // ---- decide ----
    let _ = m;
    Ok(())
}

//! The native engine of Discretion: decides `discretion.v1.CheckRequest` wire
//! bytes under a compiled policy (`discretion.ir.v1.Policy`) and writes the
//! `CheckResponse` bytes.
//!
//! Each module is the Rust twin of a Python module of the reference evaluator
//! (service/discretion/engine, server/convert.py), named the same, and the
//! differential tests (tests/native/) hold the two to the same answers.

pub mod pb {
    //! The wire contract, generated from proto/ (build.rs).
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/discretion.v1.rs"));
    }
    pub mod ir {
        include!(concat!(env!("OUT_DIR"), "/discretion.ir.v1.rs"));
    }
}

pub mod build;
pub mod community;
pub mod compiled;
pub mod conditions;
pub mod consent;
pub mod deadline;
pub mod decide;
pub mod identify;
pub mod model;
pub mod names;
pub mod obligations;
pub mod roster;
pub mod terms;
pub mod wire;

#[cfg(feature = "python")]
mod python;

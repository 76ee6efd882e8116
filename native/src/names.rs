//! Folding names as people read them: service/discretion/engine/names.py in Rust.
//!
//! TODO(identify): to be written.

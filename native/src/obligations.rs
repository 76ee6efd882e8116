//! The obligation vocabulary: service/discretion/engine/obligations.py in Rust.
//!
//! TODO(decide): to be written.

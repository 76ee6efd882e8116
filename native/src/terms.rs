//! Which agreement versions govern an item: service/discretion/engine/terms.py in Rust.
//!
//! TODO(decide): to be written.

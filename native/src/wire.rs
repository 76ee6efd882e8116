//! Wire bytes <-> the engine's values: service/discretion/server/convert.py,
//! limits.py and engine/validate.py in Rust. A request is understood whole or
//! refused whole, every violation named by its field path, in the words and
//! order the Python server uses.
//!
//! TODO(wire): to be written.

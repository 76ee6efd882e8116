//! The Rust types of the wire contract (discretion.v1) and of the compiled form
//! (discretion.ir.v1), from the descriptor set `proto/generate.py` writes: the
//! build needs no protoc, and a test keeps the set in step with proto/.
use std::io::Result;

fn main() -> Result<()> {
    let path = "proto/discretion.binpb";
    println!("cargo:rerun-if-changed={path}");
    let bytes = std::fs::read(path)?;
    let set = <prost_types::FileDescriptorSet as prost::Message>::decode(bytes.as_slice())?;
    prost_build::Config::new().compile_fds(set)
}

//! The native engine's stages for one request, timed in Rust alone: what a call costs before
//! Python and gRPC add theirs. `benchmarks/engine_bench.py` writes the two files and runs it:
//!
//!     cargo run --release --example stages -- POLICY.binpb CHECK_REQUEST.binpb [CALLS]
//!
//! Prints, per stage, the median over 7 rounds of the mean ns per call in a round.

use std::hint::black_box;
use std::time::Instant;

use discretion_native::{build, decide, wire};

fn median_ns(calls: u32, mut work: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                work();
            }
            start.elapsed().as_nanos() as f64 / f64::from(calls)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[3]
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, policy, request, rest @ ..] = &args[..] else {
        return Err("usage: stages POLICY.binpb CHECK_REQUEST.binpb [CALLS]".into());
    };
    let calls: u32 = rest.first().map_or(Ok(20_000), |n| n.parse()).map_err(|e| format!("{e}"))?;
    let policy = build::build_policy(&std::fs::read(policy).map_err(|e| e.to_string())?)?;
    let bytes = std::fs::read(request).map_err(|e| e.to_string())?;
    let message = wire::decode_check(&bytes).map_err(|e| e.message())?;
    let (clock, limits) = (wire::Clock { now: 1_800_000_000_000_000_000, max_skew: None }, wire::Limits::default());
    let (read, _) = message.read(&clock, &limits, None).map_err(|e| e.message())?;
    let decision = decide::decide_as(&policy, &read, clock.now, Some(""));
    let stages: [(&str, Box<dyn FnMut()>); 5] = [
        ("decode the bytes", Box::new(|| drop(black_box(wire::decode_check(black_box(&bytes)))))),
        ("read: limits, conversion, strings", Box::new(|| drop(black_box(message.read(&clock, &limits, None))))),
        (
            "decide, the roster's matcher kept",
            Box::new(|| drop(black_box(decide::decide_as(&policy, &read, clock.now, Some(""))))),
        ),
        ("decide, the matcher built anew", Box::new(|| drop(black_box(decide::decide(&policy, &read, clock.now))))),
        (
            "write the answer's bytes",
            Box::new(|| drop(black_box(wire::write_response(&decision, "0123456789abcdef0123456789abcdef")))),
        ),
    ];
    for (name, mut work) in stages {
        println!("{name:40} {:10.0} ns", median_ns(calls, &mut work));
    }
    Ok(())
}

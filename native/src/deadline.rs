//! A caller that stopped waiting: work on its answer stops (engine/deadline.py).
//!
//! The server says how long its caller still waits (`watching`); the engine looks at
//! the clock between a batch's checks, between a check's items, and every few thousand
//! terms or matches while it builds or runs a search for names (`passed`). Where it
//! stops, what it has is read the restrictive way (a text names someone throughout, a
//! roster is too large to search) and nothing built is kept; the call then answers
//! that it was abandoned, and the server neither answers, counts nor logs it.
//!
//! Python's engine unwinds with `deadline.Abandoned`; here the decision runs to its
//! end on what it has, quickly, and `watching` says it was abandoned.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// The deadline of the call this thread decides, if its caller set one.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Whether it passed: once seen, every later look says so without the clock.
    static PASSED: Cell<bool> = const { Cell::new(false) };
}

/// `work` run with a deadline `within` from now (None: the caller waits as long as it takes),
/// and whether the deadline passed while it ran, in which case its result is to be dropped.
pub fn watching<T>(within: Option<Duration>, work: impl FnOnce() -> T) -> (T, bool) {
    let outer = (DEADLINE.get(), PASSED.get());
    DEADLINE.set(within.map(|within| Instant::now().checked_add(within).unwrap_or_else(far_future)));
    PASSED.set(false);
    let done = work();
    let passed = PASSED.get() || DEADLINE.get().is_some_and(|deadline| Instant::now() >= deadline);
    DEADLINE.set(outer.0);
    PASSED.set(outer.1);
    (done, passed)
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// Whether the deadline of the call being decided has passed (never, outside `watching`).
pub fn passed() -> bool {
    if PASSED.get() {
        return true;
    }
    let passed = DEADLINE.get().is_some_and(|deadline| Instant::now() >= deadline);
    PASSED.set(passed);
    passed
}

/// Whether `passed` has already said so, without reading the clock: for what must not keep
/// work that stopped half way.
pub fn seen_passed() -> bool {
    PASSED.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_seen_only_within_its_watch_and_stays_passed() {
        assert!(!passed());
        let ((), late) = watching(Some(Duration::ZERO), || {
            assert!(passed());
            assert!(seen_passed());
        });
        assert!(late);
        assert!(!passed() && !seen_passed());
        let (seen, late) = watching(Some(Duration::from_secs(60)), passed);
        assert!(!seen && !late);
        let (seen, late) = watching(None, passed);
        assert!(!seen && !late);
        // Passed after the work's last look: still said.
        let ((), late) = watching(Some(Duration::from_millis(5)), || std::thread::sleep(Duration::from_millis(10)));
        assert!(late);
    }
}

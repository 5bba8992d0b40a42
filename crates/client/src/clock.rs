//! Time, injectable so tests can age an offline record by days or set the clock wrong.
//!
//! Two readings (issue 21, clocks): the device's wall clock ([`Clock::now`]), which a
//! person or the network time service may set forward or back, and a clock that only
//! runs ([`Clock::elapsed`]), which nobody can set. Nothing the app compares with a
//! time of the server's uses the wall clock: the server gives lifetimes in seconds
//! (`expires_in`), and the app counts them from when the answer came.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch, as the device's clock says.
    fn now(&self) -> u64;
    /// Seconds since an arbitrary start, on a clock that setting the wall clock does not
    /// move (the process's monotonic clock).
    fn elapsed(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn elapsed(&self) -> u64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs()
    }
}

/// A clock that starts at the system time and moves only when told to: [`advance`]
/// is time passing (both readings), [`set`] is a person setting the wall clock.
///
/// [`advance`]: ManualClock::advance
/// [`set`]: ManualClock::set
#[derive(Debug, Clone)]
pub struct ManualClock {
    wall: Arc<AtomicU64>,
    elapsed: Arc<AtomicU64>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            wall: Arc::new(AtomicU64::new(SystemClock.now())),
            elapsed: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl ManualClock {
    /// Time passes.
    pub fn advance(&self, seconds: u64) {
        self.wall.fetch_add(seconds, Ordering::Relaxed);
        self.elapsed.fetch_add(seconds, Ordering::Relaxed);
    }

    /// The wall clock is set to `unix_seconds` (no time passes).
    pub fn set(&self, unix_seconds: u64) {
        self.wall.store(unix_seconds, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.wall.load(Ordering::Relaxed)
    }

    fn elapsed(&self) -> u64 {
        self.elapsed.load(Ordering::Relaxed)
    }
}

/// When a lifetime the server gave in seconds (an access token's `expires_in`) ends,
/// on both readings of a [`Clock`]. It is near when either says so: the running clock
/// is what a wall clock set back (or forward) cannot fool; the wall clock is what still
/// moves while the computer sleeps, when a monotonic clock may stop (Linux's and
/// macOS's do). A clock set forward only makes the app refresh early.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deadline {
    wall: u64,
    elapsed: u64,
}

impl Deadline {
    /// `seconds` from now.
    pub fn after(clock: &dyn Clock, seconds: u64) -> Self {
        Self {
            wall: clock.now().saturating_add(seconds),
            elapsed: clock.elapsed().saturating_add(seconds),
        }
    }

    /// Whether less than `margin` seconds are left, by either reading.
    pub fn is_within(&self, clock: &dyn Clock, margin: u64) -> bool {
        self.wall <= clock.now().saturating_add(margin)
            || self.elapsed <= clock.elapsed().saturating_add(margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_follows_the_time_that_passed_not_the_wall_clock() {
        let clock = ManualClock::default();
        let deadline = Deadline::after(&clock, 900);
        assert!(!deadline.is_within(&clock, 30));
        // The wall clock set back 10 minutes, then 15 minutes pass: expired.
        clock.set(clock.now() - 600);
        clock.advance(900);
        assert!(deadline.is_within(&clock, 30));
        // The wall clock set forward 10 minutes: near already (an early refresh).
        let clock = ManualClock::default();
        let deadline = Deadline::after(&clock, 900);
        clock.set(clock.now() + 600);
        clock.advance(300);
        assert!(deadline.is_within(&clock, 30));
        // Neither: 10 minutes passed of 15.
        let clock = ManualClock::default();
        let deadline = Deadline::after(&clock, 900);
        clock.advance(600);
        assert!(!deadline.is_within(&clock, 30));
    }
}

//! What a wake-up costs on this machine: `cargo bench -p latchkey-server --bench wake`.
//!
//! A program that prints figures, not a test, and measures the machine rather than the
//! server: what a wake-up costs, which a server pays per request at partial load and
//! per batch at its maximum (docs/benchmarks.md, session 16).
//! Two threads pinned to one CPU hand a number to and fro over channels, the way a
//! request goes from the server's tokio worker to the SQLite connection's thread and
//! back: back to back, and then paced (the first thread sleeps until its next due
//! time, so that the CPU goes idle in between, as it does between requests at partial
//! load). It prints the CPU time both threads used per hand-off, read from
//! `/proc/self/task/*/schedstat` (Linux only).

use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROUNDS: u64 = 20_000;

fn main() {
    if !pinned_to_cpu0() {
        println!("note: not pinned (needs taskset and 2 CPUs); figures include migrations");
    }
    println!("CPU per round trip (both threads), {ROUNDS} rounds each:");
    for (rate, hops) in [(0.0, 1), (0.0, 3), (3_000.0, 1), (3_000.0, 3), (8_000.0, 1)] {
        match round_trips(rate, hops) {
            Some(us) => {
                let pace = if rate > 0.0 {
                    format!("{rate:.0} rounds/s, idle in between")
                } else {
                    "back to back".to_owned()
                };
                println!(
                    "  {pace}, {hops} round trip(s) a round: {:.1} µs a round, {:.1} µs a round trip",
                    us,
                    us / hops as f64
                );
            }
            None => println!("  cannot read /proc/self/task/*/schedstat: Linux only"),
        }
    }
}

/// CPU µs per round of `hops` round trips, rounds paced at `rate` a second (0: back to
/// back).
fn round_trips(rate: f64, hops: usize) -> Option<f64> {
    let (to_b, from_a) = mpsc::channel::<u64>();
    let (to_a, from_b) = mpsc::channel::<u64>();
    let echo = std::thread::spawn(move || {
        for x in from_a {
            if to_a.send(x + 1).is_err() {
                break;
            }
        }
    });
    let before = cpu_ns()?;
    let start = Instant::now();
    for i in 0..ROUNDS {
        if rate > 0.0 {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        for _ in 0..hops {
            to_b.send(i).ok()?;
            from_b.recv().ok()?;
        }
    }
    let used = cpu_ns()? - before;
    drop(to_b);
    let _ = echo.join();
    Some(used as f64 / ROUNDS as f64 / 1_000.0)
}

/// CPU ns used so far by all threads of this process.
fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        let stat = std::fs::read_to_string(path).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Pins this process (and the threads it makes later) to CPU 0, as the load bench pins
/// the server.
fn pinned_to_cpu0() -> bool {
    std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
        && std::process::Command::new("taskset")
            .args(["-p", "-c", "0", &std::process::id().to_string()])
            .output()
            .is_ok_and(|o| o.status.success())
}

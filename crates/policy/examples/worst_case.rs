//! How long `evaluate` takes: typical passwords (the per-keystroke cost) and the most
//! expensive 128-character inputs we know how to build, plus a random search for worse.
//!
//! Run in release: `cargo run --release -p latchkey-policy --example worst_case`.

use std::time::{Duration, Instant};

use latchkey_policy::{evaluate, UserContext};
use latchkey_proto::PasswordPolicy;

/// Characters zxcvbn reads as letters ("l33t"); each one multiplies its work.
const L33T: &str = "4@8([{<3691!|70$5+7%2";

fn time(policy: &PasswordPolicy, ctx: &UserContext, password: &str) -> Duration {
    // Best of a few runs: we want the cost of the input, not of the scheduler.
    (0..3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(evaluate(policy, password, ctx));
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn cycle(pattern: &str, len: usize) -> String {
    pattern.chars().cycle().take(len).collect()
}

fn main() {
    let policy = PasswordPolicy::default();
    let ctx = UserContext {
        identifier: Some("zhang.xiaohua@example.com".into()),
        name: Some("张小华 Zhang Xiaohua".into()),
        email: None,
        phone: Some("+86 139 1234 5678".into()),
        organisation: Some("Lanting Ink Works".into()),
    };
    // Warm up the lazily built dictionaries.
    evaluate(&policy, "warm up", &ctx);

    println!("typical input (per keystroke):");
    for pw in [
        "c",
        "correct hor",
        "k9#Tq2$vLm8z",
        "correct horse battery staple",
        "woaini1314Beijing",
        "ZhangWei19900815",
        &cycle("zhang1wei9|7", 64),
        "月亮 bicycle 苹果 thunder",
        &cycle("Velvet kites argue over 7 brass lanterns; ", 64),
    ] {
        println!("  {:>9.3?}  {pw}", time(&policy, &ctx, pw));
    }

    println!("constructed 128-character inputs:");
    let constructed = [
        ("all l33t characters, cycled", cycle(L33T, 128)),
        (
            "l33t characters and letters",
            cycle("4a@b8c(d[e{f<g3h6i9j1k!l|m7n0o$p5q+r7s%t2u", 128),
        ),
        ("ambiguous l33t only", cycle("1|7!+([{<@4$5", 128)),
        (
            "l33t blocklist words",
            cycle("w0@1n1|314p@$$w0rdqw3r7y5201314b31j1n9", 128),
        ),
        ("p@$$w0rd repeated", cycle("p@$$w0rd", 128)),
        ("dates", cycle("1990-12-31/", 128)),
        ("one character", "a".repeat(128)),
        ("CJK", cycle("我爱你一生一世中国北京", 128)),
        ("emoji", cycle("😀👨‍👩‍👧‍👦", 128)),
    ];
    let mut worst = (Duration::ZERO, String::new());
    for (label, pw) in &constructed {
        let t = time(&policy, &ctx, pw);
        println!("  {t:>9.3?}  {label}");
        if t > worst.0 {
            worst = (t, pw.clone());
        }
    }

    // Random search over the alphabet that makes zxcvbn slow: mutate the worst input
    // so far and keep changes that make it slower.
    let alphabet: Vec<char> = format!("{L33T}abcegilostxz").chars().collect();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut current: Vec<char> = worst.1.chars().collect();
    for _ in 0..300 {
        let mut candidate = current.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % 128) as usize;
            candidate[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        let pw: String = candidate.iter().collect();
        let t = time(&policy, &ctx, &pw);
        if t > worst.0 {
            worst = (t, pw);
            current = candidate;
        }
    }
    println!("worst 128-character input found: {:.3?}", worst.0);
    println!("  {}", worst.1);
}

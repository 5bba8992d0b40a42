//! Refresh chains from a seeded database's sessions (`LATCHKEY_RUSH_SEEDED_CHAINS=1`):
//! what a Monday morning rotates. Each of many users refreshes their own session once
//! per access-token lifetime, so a rotation finds a session, a refresh token and an
//! account that no other request has just touched — where the default chains, a few
//! dozen signed in by the bench, rotate the same hot rows hundreds of times a second
//! (on PostgreSQL every such rotation leaves a dead row version behind on a hot page).
//!
//! The seeding tool stores only the hashes of its sessions' refresh tokens, so the bench
//! gives `n` seeded sessions, drawn at random, one more refresh token each, which it
//! makes as the server does (`tokens::stamped_token`, stamped some hours ago as a token
//! issued yesterday is) and writes into the database before the load starts.

use anyhow::{bail, Context, Result};
use latchkey_proto::Secret;
use rand::{Rng, RngCore};
use sqlx::any::AnyPoolOptions;
use sqlx::Row;

/// Rows per `INSERT` (three values each).
const CHUNK: usize = 300;

/// `n` refresh tokens of distinct live sessions of the seeded accounts, in random order.
pub(crate) async fn seeded_chains(url: &str, n: usize) -> Result<Vec<Secret>> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let limit = i64::try_from(n)?;
    let ids: Vec<String> = sqlx::query(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE u.email LIKE 'user%@seed.example' AND s.revoked_at IS NULL \
         AND (s.absolute_expires_at = 0 OR s.absolute_expires_at > $1) \
         ORDER BY random() LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&pool)
    .await?
    .iter()
    .map(|row| row.try_get::<String, _>(0))
    .collect::<Result<_, _>>()?;
    if ids.len() < n {
        bail!(
            "the database has {} live seeded sessions, {n} wanted: seed it with --bench seed",
            ids.len()
        );
    }
    let mut rng = rand::thread_rng();
    let expires = now + 30 * 86_400_000;
    let mut chains = Vec::with_capacity(n);
    let mut tx = pool.begin().await?;
    for chunk in ids.chunks(CHUNK) {
        let values = (0..chunk.len())
            .map(|r| format!("(${}, ${}, ${})", 3 * r + 1, 3 * r + 2, 3 * r + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES {values}"
        );
        let mut insert = sqlx::query(&sql);
        for id in chunk {
            let mut body = [0u8; 32];
            rng.fill_bytes(&mut body);
            // Issued between 8 and 20 hours ago.
            let at = now - rng.gen_range(8 * 3_600_000..20 * 3_600_000);
            let (token, key) = latchkey_server::tokens::stamped_token("lkr", at, &body);
            insert = insert.bind(key).bind(id.clone()).bind(expires);
            chains.push(token);
        }
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(chains)
}

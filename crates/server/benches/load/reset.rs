//! `LATCHKEY_BENCH_ONLY=reset`: the time of the password reset's start
//! (`POST /v1/recovery/start`) for a known identifier and for an unknown one, on one
//! database. The unknown path runs decoy look-ups in place of the known path's writes,
//! so that the time does not tell which identifiers are accounts; the test suite checks
//! that both run the same statements (`tests/plans/reset_work.rs`), and this measures
//! what that gives: the two medians, side by side.
//!
//! Its own server: the resend wait and the hourly caps are lifted (every round would
//! otherwise be refused, or silently turned into the unknown path by the account's
//! hourly cap), and the dispatcher is off, so that sending the queued e-mail does not
//! load the server during the next request (as in the test).

use anyhow::{bail, Result};
use reqwest::StatusCode;

use crate::drive::interleaved_medians;
use crate::server::Server;
use crate::{Row, EMAIL, UNKNOWN};

/// Interleaved rounds measured (after two that warm up).
const ROUNDS: usize = 60;

const CONFIG: &str = "[recovery]\nresend_after_seconds = 0\nmax_sends_per_hour = 1000000\n\n\
                      [delivery]\ndispatcher = false\n";

/// The two medians on the database of `url`, as rows of the table.
pub(crate) async fn rows(
    url: &str,
    backend: &str,
    pinned: bool,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let server = Server::start_with(url, pinned, CONFIG)?;
    println!(
        "{backend} server for the reset at {} (pid {})",
        server.base, server.pid
    );
    let (known, unknown) = timing(&server).await?;
    let diff = (unknown - known) / known * 100.0;
    println!(
        "reset start median, {backend}: known identifier {known:.2} ms, unknown {unknown:.2} ms ({diff:+.1} %)"
    );
    rows.push(Row::new(
        &format!("reset start, known identifier, {backend} (median of {ROUNDS})"),
        format!("{known:.2} ms"),
        "same time as unknown",
        None,
    ));
    rows.push(Row::new(
        &format!("reset start, unknown identifier, {backend} (median of {ROUNDS})"),
        format!("{unknown:.2} ms ({diff:+.1} % difference)"),
        "-",
        None,
    ));
    Ok(())
}

/// Medians (ms) of the known and the unknown identifier's starts.
async fn timing(server: &Server) -> Result<(f64, f64)> {
    interleaved_medians(ROUNDS, |known| async move {
        let identifier = if known { EMAIL } else { UNKNOWN };
        let resp = server
            .http
            .post(format!("{}/v1/recovery/start", server.base))
            .json(&serde_json::json!({ "identifier": identifier }))
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if status != StatusCode::ACCEPTED {
            bail!(
                "a reset start answered {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    })
    .await
}

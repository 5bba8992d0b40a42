//! First-run setup: which server to sign in to.

use latchkey_client::net::ServerUrl;
use tauri::State;

use crate::error::Result;
use crate::state::AppState;
use crate::view::{ServerInfo, Start, Step};

/// The connection test: is there a Latchkey server at `url`? Saves nothing.
pub async fn server_test(state: State<'_, AppState>, url: String) -> Result<ServerInfo> {
    let parsed = ServerUrl::parse(&url)?;
    let meta = state.client().await.test_server(&url).await?;
    Ok(ServerInfo::of(parsed.as_str(), &meta, false))
}

/// Tests and saves the server, then shows the sign-in form.
pub async fn server_save(state: State<'_, AppState>, url: String) -> Result<Start> {
    let mut client = state.client().await;
    let step = client.setup_server(&url).await?;
    Ok(Start {
        server: ServerInfo::current(&client),
        step: Step::of(&step)?,
        language: client.managed().language.clone(),
        offline_signin: client.managed().offline_allowed(),
    })
}

//! `office-app`: the example office application. Reads `OFFICE_APP_*` from the
//! environment (see `Settings`), discovers the provider, and serves on
//! `OFFICE_APP_BIND` (default 127.0.0.1:8090).

use anyhow::Context;
use office_app::{router, App, Settings, DEFAULT_BIND};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "office_app=info".into()),
        )
        .init();
    let settings = Settings::from_env()?;
    let bind = std::env::var("OFFICE_APP_BIND").unwrap_or_else(|_| DEFAULT_BIND.into());
    let app = App::start(&settings).await?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    tracing::info!(%bind, issuer = %settings.issuer, "office app ready");
    axum::serve(listener, router(app)).await?;
    Ok(())
}

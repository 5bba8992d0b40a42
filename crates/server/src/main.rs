//! `latchkey-server`: the reference auth server and its admin commands.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use latchkey_proto::{AdminRole, Maintenance, Secret};
use latchkey_server::admin::{self, AddUser};
use latchkey_server::audit::{self, Actor};
use latchkey_server::config::Layered;
use latchkey_server::ops::logging;
use latchkey_server::roles;
use latchkey_server::{AppState, Config};

/// How long an idle thread of the blocking pool lives (the one that drops the hashes'
/// memory after a rush among them; the hashes run on the hasher's own threads, which
/// live as long): shorter than tokio's 10 s, so that memory comes back soon after a
/// rush; a thread costs tens of microseconds to start again, a hash tens of
/// milliseconds.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(3);

/// mimalloc instead of the system allocator: per refresh rotation the server allocates
/// and frees a few hundred small blocks (HTTP, JSON, rows), and glibc's malloc was about
/// a fifth of its user time (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "latchkey-server",
    version,
    about = "Latchkey reference auth server"
)]
struct Cli {
    /// TOML configuration file; LATCHKEY_* environment variables override it.
    #[arg(long, env = "LATCHKEY_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create (or restore) the demo organisation and user, and print how to sign in.
    Demo,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Turn maintenance mode on or off.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// Set the oldest client version allowed to sign in.
    MinClientVersion {
        /// X.Y.Z; omit together with --clear to remove the minimum.
        version: Option<String>,
        /// Where users get a current client.
        #[arg(long)]
        download_url: Option<String>,
        /// Remove the minimum version.
        #[arg(long, conflicts_with = "version")]
        clear: bool,
    },
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Applications that sign people in with Latchkey (OpenID Connect clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// The OpenID Connect ID-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Console roles: who may use IT's console and admin API (`/admin/v1`).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit trail of admin actions.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Ask the server on this machine whether it is ready (`GET /readyz` at the
    /// configured `bind`); exits 0 if it is. The container image's health check.
    Health {
        /// Only whether it answers (`GET /healthz`).
        #[arg(long)]
        live: bool,
        /// The server's base URL instead of the configured address.
        #[arg(long)]
        url: Option<String>,
    },
    /// The company directory ([directory]): what differs, and importing its people.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Releases of the desktop app offered as in-app updates
    /// (`GET /v1/client/update/{target}/{arch}/{current_version}`).
    #[command(subcommand)]
    Release(ReleaseCommand),
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Publish a release for one platform: clients older than it are offered it.
    Add {
        /// X.Y.Z (semver).
        #[arg(long)]
        version: String,
        /// windows-x86_64, darwin-aarch64, linux-x86_64, or with the installer:
        /// linux-x86_64-appimage, windows-x86_64-msi, …
        #[arg(long)]
        target: String,
        /// Where the app downloads the artifact (https).
        #[arg(long)]
        url: String,
        /// The artifact's signature: the .sig file `tauri build` writes beside it.
        #[arg(long)]
        signature_file: PathBuf,
        /// What changed, shown to users.
        #[arg(long)]
        notes: Option<String>,
        /// Every client must install it: raises min-client-version to this version.
        #[arg(long)]
        required: bool,
    },
    /// The published releases.
    List,
    /// Withdraw a release (clients are no longer offered it).
    Remove {
        #[arg(long)]
        version: String,
        #[arg(long)]
        target: String,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Connect and bind as the service account, then list what differs between the
    /// directory and Latchkey's accounts (changes nothing).
    Check,
    /// Create the accounts of people who have not signed in yet, copy profiles and
    /// renamed DNs, and end the sessions of disabled or removed entries.
    Sync {
        /// Print what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Give an account a console role (it must also turn on two-step verification
    /// before the console lets it act).
    Grant {
        #[arg(long)]
        identifier: String,
        /// helpdesk: look up, unlock, temporary password, reset 2FA, sign out, read
        /// activity; admin: everything.
        #[arg(long, value_parser = ["helpdesk", "admin"])]
        role: String,
    },
    /// Take an account's console role away.
    Revoke {
        #[arg(long)]
        identifier: String,
    },
    /// List the accounts with a console role.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Stream the audit trail as JSON lines (one record per line, oldest first), for a
    /// SIEM.
    Export {
        /// From this time on, RFC 3339 (e.g. 2026-12-01T00:00:00Z).
        #[arg(long)]
        since: String,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register an application; a confidential one's secret is printed once.
    Add {
        /// The client_id the application is configured with (letters, digits, - _ .).
        #[arg(long)]
        id: String,
        /// The name people see on the sign-in and consent pages.
        #[arg(long)]
        name: String,
        /// Where the application receives the sign-in (exact; any port for
        /// http://127.0.0.1/… and http://[::1]/…). Repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A native or single-page application: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// The company's own application: no consent page.
        #[arg(long)]
        first_party: bool,
        /// Only sign-ins with a second factor (TOTP or a recovery code).
        #[arg(long = "require-2fa")]
        require_2fa: bool,
        /// RS256 (default) or EdDSA.
        #[arg(long)]
        id_token_alg: Option<String>,
        /// Show it in the desktop app's launcher, opening this address (https).
        #[arg(long)]
        launch_url: Option<String>,
        /// The launcher's icon: a PNG or SVG file, 64 KiB at most.
        #[arg(long)]
        icon: Option<PathBuf>,
    },
    /// List the registered applications.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one application.
    Show {
        #[arg(long)]
        id: String,
    },
    /// Remove an application and revoke everything issued to it.
    Remove {
        #[arg(long)]
        id: String,
    },
    /// Give a confidential application a new secret (printed once); the old one stops
    /// working at once.
    RotateSecret {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// A new signing key for each algorithm; the old ones stay published until the
    /// ID tokens they signed expire.
    Rotate,
    /// List the signing keys.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every effective setting and where it came from (secrets redacted); fails
    /// on an invalid configuration.
    Check,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        organisation: Option<String>,
        /// zh-CN or en: the language of messages to this user.
        #[arg(long)]
        locale: Option<String>,
        /// The password is temporary and must be changed at the first sign-in.
        #[arg(long)]
        temporary: bool,
        /// Read the password from standard input (the only way to give one).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account and end its sessions.
    Disable {
        #[arg(long)]
        identifier: String,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long)]
        identifier: String,
    },
    /// Lift a sign-in lock.
    Unlock {
        #[arg(long)]
        identifier: String,
    },
    /// Set a temporary password (read from standard input) to be changed at next sign-in.
    ResetPassword {
        #[arg(long)]
        identifier: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum MaintenanceCommand {
    On {
        /// Shown to users on the sign-in screen.
        #[arg(long)]
        message: String,
        /// Announced end, RFC 3339.
        #[arg(long)]
        until: Option<String>,
    },
    Off,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = std::env::var("LATCHKEY_LOG").unwrap_or_else(|_| "info,sqlx=warn".to_owned());
    let format = logging::Format::parse(std::env::var("LATCHKEY_LOG_FORMAT").ok().as_deref())
        .map_err(anyhow::Error::msg)?;
    logging::init(format, &filter);
    if let Command::Config(ConfigCommand::Check) = cli.command {
        return config_check(cli.config.as_deref());
    }
    let layered = Config::load_with_sources(cli.config.as_deref())?;
    if let Command::Health { live, url } = &cli.command {
        return health(&layered.config, *live, url.as_deref());
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    // Blocking threads exit after this long idle, and with them goes the memory they
    // freed (the hashes' 19 MiB each, dropped on one of them), which the allocator
    // otherwise keeps: an idle server is back to its idle RSS soon after its last
    // sign-in.
    runtime.thread_keep_alive(BLOCKING_KEEP_ALIVE);
    if layered.config.worker_threads > 0 {
        runtime.worker_threads(layered.config.worker_threads);
    }
    runtime.build()?.block_on(run(cli.command, layered))
}

/// `health`: 0 if the server answers `/readyz` (or `/healthz`) with 200, else 1 with
/// the answer (or the failure) on standard error. Opens no database.
fn health(config: &Config, live: bool, url: Option<&str>) -> anyhow::Result<()> {
    let base = match url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            // A server listening on every address answers on loopback.
            let mut addr = config.bind;
            if addr.ip().is_unspecified() {
                addr.set_ip(if addr.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            format!("http://{addr}")
        }
    };
    let path = if live { "/healthz" } else { "/readyz" };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()?;
        let response = http.get(format!("{base}{path}")).send().await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, body))
    });
    match answer {
        Ok((status, _)) if status.is_success() => Ok(()),
        Ok((status, body)) => {
            eprintln!("{base}{path}: {status} {body}");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("{base}{path}: {e}");
            std::process::exit(1)
        }
    }
}

/// `config check`: one `key = value  # source` line per setting; opens no database.
fn config_check(file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let layered = Config::load_with_sources(file)?;
    let entries = layered.entries()?;
    let width = entries
        .iter()
        .map(|(key, value, _)| key.len() + value.len())
        .max()
        .unwrap_or(0);
    for (key, value, source) in entries {
        let pad = width - key.len() - value.len();
        println!("{key} = {value}{:pad$}  # {source}", "");
    }
    Ok(())
}

async fn run(command: Command, layered: Layered) -> anyhow::Result<()> {
    let bind = layered.config.bind;
    let app = AppState::open_layered(layered.config, layered.sources).await?;
    match command {
        // Handled in `main`, before a database is opened.
        Command::Config(ConfigCommand::Check) | Command::Health { .. } => {}
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(config = ?app.config(), "starting");
            if let Some(issuer) = app.config().oidc.issuer() {
                let origin_only = url::Url::parse(issuer).is_ok_and(|u| {
                    matches!(u.scheme(), "https" | "http")
                        && u.path() == "/"
                        && u.query().is_none()
                        && u.fragment().is_none()
                });
                if !origin_only {
                    anyhow::bail!(
                        "[oidc] issuer must be an origin such as https://auth.corp.example \
                         (no path: the provider's endpoints are at the server's root)"
                    );
                }
            }
            if app.config().oidc.issuer().is_some() && app.secret_key.is_none() {
                anyhow::bail!(
                    "[oidc] issuer is set, but the OpenID Connect provider needs \
                     LATCHKEY_SECRET_KEY to keep its signing keys; set 64 hex characters"
                );
            }
            if app.secret_key.is_none() {
                tracing::warn!(
                    "LATCHKEY_SECRET_KEY is not set: users cannot set up two-factor \
                     authentication (TOTP secrets are encrypted with it); set 64 hex characters"
                );
            }
            println!("latchkey-server listening on http://{addr}");
            latchkey_server::serve(app, listener, shutdown()).await?;
        }
        Command::Migrate => println!("database is up to date"),
        Command::Demo => {
            let user = admin::demo(&app).await?;
            println!("Demo organisation: {}", admin::DEMO_ORG);
            println!("Demo user id:      {}", user.id);
            println!(
                "Sign in with:      {} (or username {}, or phone {})",
                admin::DEMO_EMAIL,
                admin::DEMO_USERNAME,
                admin::DEMO_PHONE
            );
            println!("Password:          {}", admin::DEMO_PASSWORD);
            println!("Start the server:  latchkey-server serve   (listening on http://{bind})");
        }
        Command::User(cmd) => user(&app, cmd).await?,
        Command::Admin(cmd) => admin_roles(&app, cmd).await?,
        Command::Audit(AuditCommand::Export { since }) => audit_export(&app, &since).await?,
        Command::Directory(cmd) => directory(&app, cmd).await?,
        Command::Release(cmd) => release(&app, cmd).await?,
        Command::Client(cmd) => client(&app, cmd).await?,
        Command::Keys(KeysCommand::Rotate) => {
            for (alg, kid) in latchkey_server::oidc::keys::rotate(&app).await? {
                println!("{} key {kid} signs from now on", alg.name());
            }
        }
        Command::Keys(KeysCommand::List { json: true }) => {
            let keys: Vec<serde_json::Value> = latchkey_server::oidc::keys::list(&app.db)
                .await?
                .into_iter()
                .map(|(kid, alg, made, retired)| {
                    serde_json::json!({
                        "kid": kid,
                        "alg": alg,
                        "made": rfc3339(made),
                        "retired": retired.map(rfc3339),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&keys)?);
        }
        Command::Keys(KeysCommand::List { json: false }) => {
            println!("{:<16}  {:<6}  {:<20}  retired", "kid", "alg", "made");
            for (kid, alg, made, retired) in latchkey_server::oidc::keys::list(&app.db).await? {
                let retired = retired.map(rfc3339).unwrap_or_else(|| "-".into());
                println!("{kid:<16}  {alg:<6}  {:<20}  {retired}", rfc3339(made));
            }
        }
        Command::Maintenance(MaintenanceCommand::On { message, until }) => {
            admin::maintenance(&app, Some(Maintenance { message, until })).await?;
            println!("maintenance mode is on");
        }
        Command::Maintenance(MaintenanceCommand::Off) => {
            admin::maintenance(&app, None).await?;
            println!("maintenance mode is off");
        }
        Command::MinClientVersion {
            version,
            download_url,
            clear,
        } => {
            if version.is_none() && !clear {
                anyhow::bail!("give a version such as 1.4.0, or --clear");
            }
            admin::min_client_version(&app, version.as_deref(), download_url.as_deref()).await?;
            match version {
                Some(v) => println!("minimum client version is {v}"),
                None => println!("no minimum client version"),
            }
        }
    }
    Ok(())
}

async fn release(app: &AppState, cmd: ReleaseCommand) -> anyhow::Result<()> {
    use latchkey_server::releases::{self, NewRelease};
    match cmd {
        ReleaseCommand::Add {
            version,
            target,
            url,
            signature_file,
            notes,
            required,
        } => {
            let signature = std::fs::read(&signature_file)
                .with_context(|| format!("cannot read {}", signature_file.display()))?;
            let signature = String::from_utf8(signature).map_err(|_| {
                anyhow::anyhow!("{} is not a signature file", signature_file.display())
            })?;
            let new = NewRelease {
                version: &version,
                platform: &target,
                url: &url,
                signature: &signature,
                notes: notes.as_deref(),
                required,
            };
            let r = releases::add(&app.db, &new, app.now()).await?;
            println!("published {} for {}", r.version, r.platform);
            if required {
                let min = latchkey_server::settings::load(&app.db)
                    .await?
                    .min_client_version;
                println!(
                    "required: minimum client version is {}",
                    min.as_deref().unwrap_or("-")
                );
            }
        }
        ReleaseCommand::List => {
            println!(
                "{:<24}  {:<12}  {:<8}  {:<20}  url",
                "target", "version", "required", "published"
            );
            for r in releases::list(&app.db).await? {
                let required = if r.required.is_set() { "yes" } else { "no" };
                println!(
                    "{:<24}  {:<12}  {:<8}  {:<20}  {}",
                    r.platform,
                    r.version,
                    required,
                    rfc3339(r.published),
                    r.url
                );
            }
        }
        ReleaseCommand::Remove { version, target } => {
            releases::remove(&app.db, &target, &version).await?;
            println!("removed {version} for {target}");
        }
    }
    Ok(())
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn print_client(c: &latchkey_server::oidc::clients::Client) {
    println!("client_id: {}", c.id);
    println!("name: {}", c.name);
    println!(
        "type: {}",
        if c.is_public() {
            "public"
        } else {
            "confidential"
        }
    );
    for uri in &c.redirect_uris {
        println!("redirect_uri: {uri}");
    }
    println!("first_party: {}", c.first_party);
    println!("require_2fa: {}", c.require_2fa);
    println!("id_token_alg: {}", c.id_token_alg.name());
    if let Some(u) = &c.launch_url {
        println!("launch_url: {u}");
    }
    println!("icon: {}", if c.icon.is_some() { "yes" } else { "no" });
}

async fn client(app: &AppState, cmd: ClientCommand) -> anyhow::Result<()> {
    use latchkey_server::oidc::clients::{self, NewClient};
    use latchkey_server::oidc::keys::Alg;
    let now = app.now();
    match cmd {
        ClientCommand::Add {
            id,
            name,
            redirect_uris,
            public,
            first_party,
            require_2fa,
            id_token_alg,
            launch_url,
            icon,
        } => {
            let icon = match icon {
                Some(path) => {
                    let bytes = std::fs::read(&path)
                        .with_context(|| format!("cannot read the icon {}", path.display()))?;
                    Some(clients::icon_data_url(&bytes)?)
                }
                None => None,
            };
            let id_token_alg = match id_token_alg.as_deref() {
                None => None,
                Some(a) => Some(
                    Alg::parse(a)
                        .ok_or_else(|| anyhow::anyhow!("--id-token-alg is RS256 or EdDSA"))?,
                ),
            };
            let new = NewClient {
                id,
                name,
                redirect_uris,
                public,
                first_party,
                require_2fa,
                id_token_alg,
                launch_url,
                icon,
            };
            let secret = clients::add(&app.db, &new, now).await?;
            let c = clients::get(&app.db, &new.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the application was not saved"))?;
            print_client(&c);
            if let Some(s) = secret {
                println!("client_secret: {}", s.expose());
                eprintln!("The secret is shown only this once; Latchkey keeps only its hash.");
            }
        }
        ClientCommand::List { json: true } => {
            let listed: Vec<serde_json::Value> = clients::list(&app.db)
                .await?
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "client_id": c.id,
                        "name": c.name,
                        "type": if c.is_public() { "public" } else { "confidential" },
                        "redirect_uris": c.redirect_uris,
                        "first_party": c.first_party,
                        "require_2fa": c.require_2fa,
                        "id_token_alg": c.id_token_alg.name(),
                        "launch_url": c.launch_url,
                        "icon": c.icon.is_some(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&listed)?);
        }
        ClientCommand::List { json: false } => {
            println!("{:<24}  {:<12}  {:<5}  name", "client_id", "type", "2fa");
            for c in clients::list(&app.db).await? {
                let kind = if c.is_public() {
                    "public"
                } else {
                    "confidential"
                };
                let mfa = if c.require_2fa { "yes" } else { "no" };
                println!("{:<24}  {kind:<12}  {mfa:<5}  {}", c.id, c.name);
            }
        }
        ClientCommand::Show { id } => {
            let c = clients::get(&app.db, &id)
                .await?
                .ok_or(clients::ClientError::NotFound(id))?;
            print_client(&c);
        }
        ClientCommand::Remove { id } => {
            clients::remove(&app.db, &id, now).await?;
            println!("removed {id}; what it was issued is revoked");
        }
        ClientCommand::RotateSecret { id } => {
            let secret = clients::rotate_secret(&app.db, &id).await?;
            println!("client_id: {id}");
            println!("client_secret: {}", secret.expose());
            eprintln!("The secret is shown only this once; the old one no longer works.");
        }
    }
    Ok(())
}

async fn user(app: &AppState, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            email,
            phone,
            username,
            name,
            organisation,
            locale,
            temporary,
            password_stdin: _,
        } => {
            let password = read_password()?;
            let add = AddUser {
                email,
                phone,
                username,
                name,
                organisation,
                locale,
                temporary,
            };
            let user = admin::add_user(app, add, &password).await?;
            println!("created {} ({})", user.label(), user.id);
        }
        UserCommand::List { json: true } => {
            let listed: Vec<serde_json::Value> = admin::list_users(app)
                .await?
                .into_iter()
                .map(|l| {
                    let u = &l.user;
                    serde_json::json!({
                        "id": u.id,
                        "email": u.email,
                        "phone": u.phone,
                        "username": u.username,
                        "name": u.name,
                        "organisation": u.organisation,
                        "disabled": u.is_disabled(),
                        "locked_for_seconds": l.locked_for,
                        "must_change_password": u.has_temporary_password(),
                        "mfa_enabled": u.mfa_on(),
                        "created_at": rfc3339(u.created_at),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&listed)?);
        }
        UserCommand::List { json: false } => {
            println!(
                "{:<32}  {:<28}  {:<16}  {:<14}  {:<10}  name",
                "id", "email", "phone", "username", "status"
            );
            for l in admin::list_users(app).await? {
                let u = &l.user;
                let status = if u.is_disabled() {
                    "disabled".to_owned()
                } else if let Some(s) = l.locked_for {
                    format!("locked {s}s")
                } else if u.has_temporary_password() {
                    "temp-pass".to_owned()
                } else {
                    "active".to_owned()
                };
                println!(
                    "{:<32}  {:<28}  {:<16}  {:<14}  {:<10}  {}",
                    u.id,
                    u.email.as_deref().unwrap_or("-"),
                    u.phone.as_deref().unwrap_or("-"),
                    u.username.as_deref().unwrap_or("-"),
                    status,
                    u.name.as_deref().unwrap_or("-"),
                );
            }
        }
        UserCommand::Disable { identifier } => {
            let u = admin::set_disabled(app, &identifier, true).await?;
            let change = audit::change("disabled", None, Some("true"));
            audit::record(
                &app.db,
                &Actor::command_line(),
                "disable",
                Some(&u),
                &[change],
                app.now(),
            )
            .await?;
            println!("disabled {} and ended its sessions", u.label());
        }
        UserCommand::Enable { identifier } => {
            let u = admin::set_disabled(app, &identifier, false).await?;
            let change = audit::change("disabled", None, Some("false"));
            audit::record(
                &app.db,
                &Actor::command_line(),
                "enable",
                Some(&u),
                &[change],
                app.now(),
            )
            .await?;
            println!("enabled {}", u.label());
        }
        UserCommand::Unlock { identifier } => {
            let label = admin::unlock(app, &identifier).await?;
            let target = admin::find(app, &identifier).await.ok();
            audit::record(
                &app.db,
                &Actor::command_line(),
                "unlock",
                target.as_ref(),
                &[],
                app.now(),
            )
            .await?;
            println!("unlocked {label}");
        }
        UserCommand::ResetPassword {
            identifier,
            password_stdin: _,
        } => {
            let password = read_password()?;
            let u = admin::reset_password(app, &identifier, &password).await?;
            let change = audit::change("must_change_password", None, Some("true"));
            audit::record(
                &app.db,
                &Actor::command_line(),
                "temporary_password",
                Some(&u),
                &[change],
                app.now(),
            )
            .await?;
            println!(
                "set a temporary password for {}; it must be changed at the next sign-in",
                u.label()
            );
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
async fn admin_roles(app: &AppState, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Grant { identifier, role } => {
            let role = AdminRole::parse(&role).context("--role is helpdesk or admin")?;
            let user = admin::find(app, &identifier).await?;
            let before = roles::grant(&app.db, &user.id, role, app.now()).await?;
            let change = audit::change("role", before.map(AdminRole::as_str), Some(role.as_str()));
            audit::record(
                &app.db,
                &Actor::command_line(),
                "grant_role",
                Some(&user),
                &[change],
                app.now(),
            )
            .await?;
            println!("{} is {} of the console", user.label(), role.as_str());
            if !user.mfa_on() {
                eprintln!(
                    "{} has no two-step verification yet: the console lets them act once it is on.",
                    user.label()
                );
            }
        }
        AdminCommand::Revoke { identifier } => {
            let user = admin::find(app, &identifier).await?;
            match roles::revoke(&app.db, &user.id).await? {
                Some(before) => {
                    let change = audit::change("role", Some(before.as_str()), None);
                    audit::record(
                        &app.db,
                        &Actor::command_line(),
                        "revoke_role",
                        Some(&user),
                        &[change],
                        app.now(),
                    )
                    .await?;
                    println!("{} has no console role any more", user.label());
                }
                None => println!("{} had no console role", user.label()),
            }
        }
        AdminCommand::List { json } => {
            let listed = roles::list(&app.db).await?;
            if json {
                let rows: Vec<serde_json::Value> = listed
                    .iter()
                    .map(|(u, role, since)| {
                        serde_json::json!({
                            "id": u.id,
                            "label": u.label(),
                            "role": role.as_str(),
                            "mfa_enabled": u.mfa_on(),
                            "granted_at": rfc3339(*since),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<32}  {:<28}  {:<9}  {:<4}  granted",
                    "id", "account", "role", "2fa"
                );
                for (u, role, since) in listed {
                    println!(
                        "{:<32}  {:<28}  {:<9}  {:<4}  {}",
                        u.id,
                        u.label(),
                        role.as_str(),
                        if u.mfa_on() { "on" } else { "off" },
                        rfc3339(since)
                    );
                }
            }
        }
    }
    Ok(())
}

/// `audit export --since`: JSON lines, oldest first, a batch at a time (a large trail
/// is never held in memory).
async fn directory(app: &AppState, cmd: DirectoryCommand) -> anyhow::Result<()> {
    use latchkey_server::directory::{self, SyncMode};
    let dir = app
        .directory
        .as_ref()
        .context("no directory is configured: set [directory] url (docs/directory.md)")?;
    let cfg = dir.config();
    let (differences, verb) = match cmd {
        DirectoryCommand::Check => (directory::check(app, dir).await?, "differ"),
        DirectoryCommand::Sync { dry_run: true } => (
            directory::sync(app, dir, SyncMode::DryRun).await?,
            "would change",
        ),
        DirectoryCommand::Sync { dry_run: false } => {
            (directory::sync(app, dir, SyncMode::Apply).await?, "changed")
        }
    };
    println!(
        "directory {} as {}: reachable; people under {}",
        latchkey_server::config::redact_url(&cfg.url),
        cfg.bind_dn,
        cfg.base_dn
    );
    for difference in &differences {
        println!("{difference}");
    }
    println!("{} {verb}", differences.len());
    Ok(())
}

async fn audit_export(app: &AppState, since: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let from = time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
        .context("--since must be RFC 3339, e.g. 2026-12-01T00:00:00Z")?;
    let from_ms = i64::try_from(from.unix_timestamp_nanos() / 1_000_000)
        .context("--since is out of range")?;
    let mut after = (from_ms, String::new());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let batch = audit::since(&app.db, (after.0, &after.1), 500).await?;
        let Some((at, last)) = batch.last() else {
            break;
        };
        after = (*at, last.id.clone());
        for (_, entry) in &batch {
            serde_json::to_writer(&mut out, entry)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

fn read_password() -> anyhow::Result<Secret> {
    let mut input = Vec::new();
    std::io::stdin().take(64 * 1024).read_to_end(&mut input)?;
    let text = String::from_utf8(input)
        .map_err(|_| anyhow::anyhow!("the password on standard input is not UTF-8"))?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        anyhow::bail!("no password on standard input (use --password-stdin and pipe it in)");
    }
    Ok(Secret::from(line))
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

//! `latchkey-server`: the reference auth server and its admin commands.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use latchkey_proto::{Maintenance, Secret};
use latchkey_server::admin::{self, AddUser};
use latchkey_server::{AppState, Config};

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
    List,
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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .init();
    if let Command::Config(ConfigCommand::Check) = cli.command {
        return config_check(cli.config.as_deref());
    }
    let config = Config::load(cli.config.as_deref())?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if config.worker_threads > 0 {
        runtime.worker_threads(config.worker_threads);
    }
    runtime.build()?.block_on(run(cli.command, config))
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

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let app = AppState::open(config).await?;
    match command {
        // Handled in `main`, before a database is opened.
        Command::Config(ConfigCommand::Check) => {}
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(config = ?app.config, "starting");
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
        UserCommand::List => {
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
            println!("disabled {} and ended its sessions", u.label());
        }
        UserCommand::Enable { identifier } => {
            let u = admin::set_disabled(app, &identifier, false).await?;
            println!("enabled {}", u.label());
        }
        UserCommand::Unlock { identifier } => {
            let label = admin::unlock(app, &identifier).await?;
            println!("unlocked {label}");
        }
        UserCommand::ResetPassword {
            identifier,
            password_stdin: _,
        } => {
            let password = read_password()?;
            let u = admin::reset_password(app, &identifier, &password).await?;
            println!(
                "set a temporary password for {}; it must be changed at the next sign-in",
                u.label()
            );
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
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

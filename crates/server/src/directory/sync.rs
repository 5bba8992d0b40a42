//! `latchkey-server directory check` and `directory sync [--dry-run]`: what differs
//! between the directory and Latchkey's linked accounts, and bringing them in line
//! ahead of people's first sign-in (so that a password reset already finds them).

use std::collections::HashMap;
use std::fmt;

use super::accounts::{self, Profile};
use super::{Directory, DirectoryError, Found, Standing};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    DryRun,
    Apply,
}

/// One difference, as `directory check` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// An entry that may sign in and has no account yet (`sync` creates it).
    New { dn: String },
    /// A linked account whose profile differs from its entry (`sync` copies it).
    Changed {
        account: String,
        fields: Vec<(&'static str, Option<String>, Option<String>)>,
    },
    /// The entry was renamed or moved; the account follows it by its stable id.
    Renamed {
        account: String,
        from: String,
        to: String,
    },
    /// The entry is disabled, or not in `allowed_group`: the account cannot sign in
    /// (`sync` ends its sessions now; a refresh would at the latest).
    Refused { account: String, standing: Standing },
    /// The linked entry is gone from the directory (`sync` ends its sessions).
    Missing { account: String },
    /// Identifiers of an entry that another Latchkey account already has; they are
    /// left off the linked account.
    Taken {
        dn: String,
        fields: Vec<&'static str>,
    },
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::New { dn } => write!(f, "new       {dn}  (no account yet)"),
            Self::Changed { account, fields } => {
                write!(f, "changed   {account}:")?;
                for (field, before, after) in fields {
                    write!(f, " {field} {} -> {};", show(before), show(after))?;
                }
                Ok(())
            }
            Self::Renamed { account, from, to } => {
                write!(f, "renamed   {account}: {from} -> {to}")
            }
            Self::Refused { account, standing } => {
                let why = match standing {
                    Standing::Disabled => "disabled in the directory",
                    _ => "not in the allowed group",
                };
                write!(f, "refused   {account}: {why}")
            }
            Self::Missing { account } => {
                write!(
                    f,
                    "missing   {account}: its entry is no longer in the directory"
                )
            }
            Self::Taken { dn, fields } => write!(
                f,
                "taken     {dn}: another Latchkey account has its {}",
                fields.join(", ")
            ),
        }
    }
}

/// What `sync` does about a difference.
enum Action {
    /// Create or update the account linked to the entry.
    Link(Box<Found>),
    /// End every session of the account with this id.
    EndSessions(String),
    /// Nothing: IT decides (an identifier taken by another account).
    Report,
}

/// Everything that differs, in the directory's order, then the missing entries.
pub async fn check(app: &AppState, dir: &Directory) -> Result<Vec<Difference>, SyncError> {
    Ok(plan(app, dir).await?.into_iter().map(|(d, _)| d).collect())
}

/// The differences, each with what settles it.
async fn plan(app: &AppState, dir: &Directory) -> Result<Vec<(Difference, Action)>, SyncError> {
    let config = app.config();
    let region = &config.default_region;
    let entries = dir.list().await?;
    let mut linked: HashMap<String, crate::users::UserRow> = accounts::linked(&app.db)
        .await?
        .into_iter()
        .filter_map(|u| Some((u.directory_id.clone()?, u)))
        .collect();
    let mut out = Vec::new();
    for found in entries {
        let profile = Profile::of(&found.entry, region);
        let user = linked.remove(&found.entry.id);
        let own = user.as_ref().map(|u| u.id.clone());
        let taken = accounts::taken(&app.db, &profile, own.as_deref()).await?;
        if !taken.is_empty() {
            out.push((
                Difference::Taken {
                    dn: found.entry.dn.clone(),
                    fields: taken,
                },
                Action::Report,
            ));
        }
        match user {
            None if found.standing == Standing::Active => {
                out.push((
                    Difference::New {
                        dn: found.entry.dn.clone(),
                    },
                    Action::Link(Box::new(found)),
                ));
            }
            None => {}
            Some(user) => {
                let account = user.label().to_owned();
                if found.standing != Standing::Active {
                    out.push((
                        Difference::Refused {
                            account: account.clone(),
                            standing: found.standing,
                        },
                        Action::EndSessions(user.id.clone()),
                    ));
                }
                if user.directory_dn.as_deref() != Some(found.entry.dn.as_str()) {
                    out.push((
                        Difference::Renamed {
                            account: account.clone(),
                            from: user.directory_dn.clone().unwrap_or_default(),
                            to: found.entry.dn.clone(),
                        },
                        Action::Link(Box::new(found.clone())),
                    ));
                }
                let fields = profile.differences(&user);
                if !fields.is_empty() {
                    out.push((
                        Difference::Changed { account, fields },
                        Action::Link(Box::new(found)),
                    ));
                }
            }
        }
    }
    for user in linked.into_values() {
        out.push((
            Difference::Missing {
                account: user.label().to_owned(),
            },
            Action::EndSessions(user.id.clone()),
        ));
    }
    Ok(out)
}

/// Brings the accounts in line with the directory (or, dry, says what it would do):
/// creates the accounts of new entries, copies profiles and DNs, and ends the sessions
/// of accounts whose entry is disabled, not allowed or gone. Nothing is deleted.
pub async fn sync(
    app: &AppState,
    dir: &Directory,
    mode: SyncMode,
) -> Result<Vec<Difference>, SyncError> {
    let planned = plan(app, dir).await?;
    if mode == SyncMode::Apply {
        let now = app.now();
        for (_, action) in &planned {
            match action {
                Action::Link(found) => {
                    accounts::link(&app.db, found, &app.config().default_region, now).await?;
                }
                Action::EndSessions(user_id) => {
                    let mut conn = app.db.acquire().await?;
                    crate::session::revoke_all(&mut conn, user_id, None, now).await?;
                }
                Action::Report => {}
            }
        }
    }
    Ok(planned.into_iter().map(|(d, _)| d).collect())
}

//! Releases of the desktop app that IT publishes for in-app updates (issue 17), and the
//! choice of the one a client should install.
//!
//! A release is a version of the app for one platform key, the names the Tauri updater
//! itself uses: `{os}-{arch}` (`windows-x86_64`, `darwin-aarch64`, `linux-x86_64`), or
//! with the installer `{os}-{arch}-{installer}` (`linux-x86_64-appimage`,
//! `windows-x86_64-msi`). A client asks with its os, arch and installer; as in the
//! updater's static format, releases published for its installer win over those for its
//! os and arch alone, so that an AppImage is never offered a `.deb`.
//!
//! Everything IT types is checked here, once, for the CLI: the version is semver, the
//! URL is https (plain http only to this machine), and the signature is a real minisign
//! signature, stored base64 as the updater reads it. The server never holds the private
//! key nor checks the artifact: the app checks it against the public key built into it.

use base64::Engine;
use sqlx::FromRow;

use crate::db::{Db, Flag};
use crate::settings;

/// The operating systems, as the updater names them (`{{target}}`).
pub const OSES: &[&str] = &["windows", "linux", "darwin"];
/// The processor architectures, as the updater names them (`{{arch}}`).
pub const ARCHES: &[&str] = &["x86_64", "aarch64", "i686", "armv7"];
/// The installers, as the updater names them (`{{bundle_type}}`).
pub const INSTALLERS: &[&str] = &["nsis", "msi", "appimage", "deb", "rpm", "app"];

/// Longest release notes accepted (characters).
pub const MAX_NOTES_CHARS: usize = 10_000;
/// Longest download URL accepted.
pub const MAX_URL_CHARS: usize = 2_048;
/// Largest signature file accepted: a minisign signature is about 300 bytes.
pub const MAX_SIGNATURE_BYTES: usize = 4_096;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{0}")]
    Invalid(String),
    #[error("version {version} for {platform} is already published; remove it first")]
    Exists { platform: String, version: String },
    #[error("no release {version} for {platform}")]
    NotFound { platform: String, version: String },
    #[error("the minimum client version kept changing while it was raised; run the command again")]
    Contended,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// A published release, as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Release {
    pub platform: String,
    pub version: String,
    pub url: String,
    /// Base64 of the minisign signature text (the `.sig` file Tauri's bundler writes).
    pub signature: String,
    pub notes: Option<String>,
    pub required: Flag,
    /// When it was published (ms since the epoch).
    pub published: i64,
}

/// What `release add` was given, unchecked.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    pub version: &'a str,
    pub platform: &'a str,
    pub url: &'a str,
    /// The content of the signature file: Tauri's `.sig` (base64) or minisign's own text.
    pub signature: &'a str,
    pub notes: Option<&'a str>,
    pub required: bool,
}

/// A semver version (a leading `v` is allowed), in its canonical form.
pub fn parse_version(v: &str) -> Result<semver::Version, ReleaseError> {
    let trimmed = v.trim();
    semver::Version::parse(trimmed.strip_prefix('v').unwrap_or(trimmed))
        .map_err(|_| ReleaseError::Invalid(format!("{v:?} is not a version like 1.4.0")))
}

/// A platform key `{os}-{arch}` or `{os}-{arch}-{installer}`, lower-cased.
pub fn parse_platform(p: &str) -> Result<String, ReleaseError> {
    let lower = p.trim().to_ascii_lowercase();
    // `x86_64` has no dash, so splitting on dashes gives the parts.
    let parts: Vec<&str> = lower.split('-').collect();
    let known = match parts.as_slice() {
        [os, arch] => OSES.contains(os) && ARCHES.contains(arch),
        [os, arch, installer] => {
            OSES.contains(os) && ARCHES.contains(arch) && INSTALLERS.contains(installer)
        }
        _ => false,
    };
    if known {
        Ok(lower)
    } else {
        Err(ReleaseError::Invalid(format!(
            "{p:?} is not a target like windows-x86_64 or linux-x86_64-appimage \
             (os: {}; arch: {}; installer: {})",
            OSES.join(", "),
            ARCHES.join(", "),
            INSTALLERS.join(", ")
        )))
    }
}

/// An https URL, or plain http to this machine (tests, a local mirror).
pub fn check_url(u: &str) -> Result<(), ReleaseError> {
    let parsed = url::Url::parse(u).ok();
    let safe = u.len() <= MAX_URL_CHARS
        && parsed.as_ref().is_some_and(|p| {
            p.scheme() == "https" || (p.scheme() == "http" && crate::delivery::is_loopback(p))
        });
    if safe {
        Ok(())
    } else {
        Err(ReleaseError::Invalid(format!(
            "--url must be an https:// URL (plain http only to this machine), not {u:?}"
        )))
    }
}

/// The signature file's content as the updater reads it (base64 of the minisign text),
/// after checking that it is a minisign signature: either the `.sig` file Tauri's
/// bundler writes, or the `.minisig` text minisign itself writes.
pub fn parse_signature(file: &str) -> Result<String, ReleaseError> {
    let refuse = || {
        ReleaseError::Invalid(
            "the signature file is not a minisign signature (the .sig file `tauri build` \
             writes beside the artifact, or minisign's .minisig)"
                .into(),
        )
    };
    let file = file.trim();
    if file.len() > MAX_SIGNATURE_BYTES {
        return Err(refuse());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = if file.starts_with("untrusted comment:") {
        file.to_owned()
    } else {
        let bytes = b64.decode(file).map_err(|_| refuse())?;
        String::from_utf8(bytes).map_err(|_| refuse())?
    };
    minisign_verify::Signature::decode(&text).map_err(|_| refuse())?;
    // One form whichever file was given: the text ends with one newline, as both
    // minisign and Tauri's signer write it.
    Ok(b64.encode(format!("{}\n", text.trim_end())))
}

/// Publishes a release; a required one also raises the minimum client version to it
/// (never lowers it). Returns the release as stored.
pub async fn add(db: &Db, new: &NewRelease<'_>, now: i64) -> Result<Release, ReleaseError> {
    let version = parse_version(new.version)?.to_string();
    let platform = parse_platform(new.platform)?;
    check_url(new.url)?;
    let signature = parse_signature(new.signature)?;
    let notes = new.notes.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = notes {
        if n.chars().count() > MAX_NOTES_CHARS || n.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ReleaseError::Invalid(format!(
                "--notes must be at most {MAX_NOTES_CHARS} characters, without control characters"
            )));
        }
    }
    let release = Release {
        platform,
        version,
        url: new.url.to_owned(),
        signature,
        notes: notes.map(str::to_owned),
        required: new.required.into(),
        published: now,
    };
    let inserted = sqlx::query(
        "INSERT INTO releases (platform, version, url, signature, notes, required, published) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (platform, version) DO NOTHING",
    )
    .bind(&release.platform)
    .bind(&release.version)
    .bind(&release.url)
    .bind(&release.signature)
    .bind(&release.notes)
    .bind(release.required)
    .bind(release.published)
    .execute(db)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ReleaseError::Exists {
            platform: release.platform,
            version: release.version,
        });
    }
    if new.required {
        raise_minimum(db, &release.version).await?;
    }
    Ok(release)
}

/// How many times [`raise_minimum`] reads the minimum again after another writer changed
/// it between its read and its write.
const RAISE_TRIES: usize = 64;

/// Sets the minimum client version to `version` unless it is at least that already.
///
/// A compare-and-set, so that it holds when several run at once (two `release add
/// --required` in two processes, or beside IT's `min-client-version`): the write goes
/// through only if the minimum is still the one read (one conditional statement, atomic
/// on both databases), else the minimum is read and compared again. A read-then-write
/// could leave the lower of two versions. Only the version's row is written, so the
/// download URL stays as IT set it, even when IT sets it meanwhile. SQL cannot compare
/// semver, hence the comparison here and the retry rather than one `UPDATE … WHERE`.
async fn raise_minimum(db: &Db, version: &str) -> Result<(), ReleaseError> {
    for _ in 0..RAISE_TRIES {
        let current = settings::min_client_version(db).await?;
        if current
            .as_deref()
            .is_some_and(|min| !settings::is_outdated(min, version))
        {
            return Ok(());
        }
        if settings::replace_min_client_version(db, current.as_deref(), version).await? {
            return Ok(());
        }
    }
    Err(ReleaseError::Contended)
}

/// Every release, newest first within each platform.
pub async fn list(db: &Db) -> Result<Vec<Release>, ReleaseError> {
    let mut all: Vec<Release> = sqlx::query_as(
        "SELECT platform, version, url, signature, notes, required, published FROM releases",
    )
    .fetch_all(db)
    .await?;
    all.sort_by(|a, b| {
        a.platform
            .cmp(&b.platform)
            .then_with(|| semver_of(&b.version).cmp(&semver_of(&a.version)))
    });
    Ok(all)
}

/// Withdraws a release: clients are no longer offered it. The minimum client version
/// stays as it is (IT lowers it with `min-client-version`).
pub async fn remove(db: &Db, platform: &str, version: &str) -> Result<(), ReleaseError> {
    let platform = parse_platform(platform)?;
    let version = parse_version(version)?.to_string();
    let gone = sqlx::query("DELETE FROM releases WHERE platform = $1 AND version = $2")
        .bind(&platform)
        .bind(&version)
        .execute(db)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(ReleaseError::NotFound { platform, version });
    }
    Ok(())
}

/// The release a client on `os`/`arch` (with `installer`, when it knows it) running
/// `current` should install: the newest one newer than `current` among those published
/// for its installer or, if none was ever published for it, for its os and arch.
pub async fn newer_than(
    db: &Db,
    os: &str,
    arch: &str,
    installer: Option<&str>,
    current: &semver::Version,
) -> Result<Option<Release>, sqlx::Error> {
    let generic = format!("{os}-{arch}");
    let specific = installer
        .filter(|i| INSTALLERS.contains(i))
        .map(|i| format!("{generic}-{i}"));
    let rows: Vec<Release> = sqlx::query_as(
        "SELECT platform, version, url, signature, notes, required, published FROM releases \
         WHERE platform = $1 OR platform = $2",
    )
    .bind(&generic)
    .bind(specific.as_deref().unwrap_or(&generic))
    .fetch_all(db)
    .await?;
    let for_installer = rows.iter().any(|r| Some(&r.platform) == specific.as_ref());
    Ok(rows
        .into_iter()
        .filter(|r| !for_installer || Some(&r.platform) == specific.as_ref())
        .filter_map(|r| Some((semver_of(&r.version)?, r)))
        .filter(|(v, _)| v > current)
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, r)| r))
}

fn semver_of(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_the_updaters_names() {
        assert_eq!(parse_platform("windows-x86_64").unwrap(), "windows-x86_64");
        assert_eq!(
            parse_platform("Linux-x86_64-AppImage").unwrap(),
            "linux-x86_64-appimage"
        );
        for bad in [
            "windows",
            "win-x86_64",
            "linux-x64",
            "linux-x86_64-snap",
            "a-b-c-d",
            "",
        ] {
            assert!(parse_platform(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_are_semver() {
        assert_eq!(parse_version("v1.4.0").unwrap().to_string(), "1.4.0");
        assert_eq!(
            parse_version("2.0.0-rc.1").unwrap().to_string(),
            "2.0.0-rc.1"
        );
        for bad in ["1.4", "1", "abc", "1.4.0.1", ""] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_https_or_loopback() {
        assert!(check_url("https://dl.corp.cn/latchkey_1.4.0_x64-setup.exe").is_ok());
        assert!(check_url("http://127.0.0.1:8080/a.AppImage.tar.gz").is_ok());
        assert!(check_url("http://dl.corp.cn/a.exe").is_err());
        assert!(check_url("ftp://dl.corp.cn/a.exe").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn only_minisign_signatures_are_accepted() {
        assert!(parse_signature("").is_err());
        assert!(parse_signature("hello").is_err());
        // Base64 of text that is no signature.
        assert!(parse_signature("aGVsbG8gd29ybGQ=").is_err());
        assert!(parse_signature("untrusted comment: x\nnot base64\n").is_err());
    }
}

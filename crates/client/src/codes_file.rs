//! The recovery codes saved as a text file, where the person chose in the OS save
//! dialog (the shell opens it: a web view's `<a download>` is ignored by Tauri's web
//! view, tauri issue 2225, so the page could not save them itself).
//!
//! The file is readable by its owner only (0600 on Unix, also when it replaces an
//! older file), written through a temporary file beside it and a rename, so that a
//! failure leaves no half-written codes.

use std::io::Write;
use std::path::Path;

use latchkey_proto::Secret;

use crate::error::ClientError;

/// The name the save dialog suggests.
pub const FILE_NAME: &str = "latchkey-recovery-codes.txt";

/// Writes `contents` (the page's text: a heading, the codes, a note) to `path`.
pub fn save(path: &Path, contents: &Secret) -> Result<(), ClientError> {
    let storage = |e: std::io::Error| ClientError::Storage(format!("{}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or(ClientError::InvalidInput("path"))?
        .to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        // The mode above applies only to a new file; an old one keeps its own.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(contents.expose().as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(storage(e));
    }
    tracing::info!("recovery codes saved to a file the person chose");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_for_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        save(&path, &Secret::from("codes\r\n1111-2222\r\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "codes\r\n1111-2222\r\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn a_folder_that_is_not_there_is_a_storage_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = save(&dir.path().join("no/such/dir/x.txt"), &Secret::from("x")).unwrap_err();
        assert!(matches!(e, ClientError::Storage(_)), "{e:?}");
    }
}

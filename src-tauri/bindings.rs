//! The UI's TypeScript types are generated from the Rust types of [`crate::view`] and
//! [`crate::error`] (ts-rs): this test fails when `ui/src/bindings/` differs from what
//! the Rust types say. `LATCHKEY_UPDATE_BINDINGS=1 cargo test -p latchkey --lib
//! bindings` rewrites the folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

use crate::error::AppError;
use crate::view::{
    AccountDetails, CodesSaved, RecoveryCheck, RecoveryStarted, ResetLinkEvent, ServerInfo, Start,
    Step, Strength, TotpSetup,
};

fn export(dir: &Path) {
    let cfg = Config::new().with_out_dir(dir);
    AppError::export_all(&cfg).unwrap();
    Start::export_all(&cfg).unwrap();
    Step::export_all(&cfg).unwrap();
    ServerInfo::export_all(&cfg).unwrap();
    Strength::export_all(&cfg).unwrap();
    TotpSetup::export_all(&cfg).unwrap();
    RecoveryStarted::export_all(&cfg).unwrap();
    RecoveryCheck::export_all(&cfg).unwrap();
    AccountDetails::export_all(&cfg).unwrap();
    CodesSaved::export_all(&cfg).unwrap();
    ResetLinkEvent::export_all(&cfg).unwrap();
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ts"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn bindings_match_the_rust_types() {
    let committed: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/bindings");
    if std::env::var_os("LATCHKEY_UPDATE_BINDINGS").is_some() {
        for name in files(&committed).keys() {
            std::fs::remove_file(committed.join(name)).unwrap();
        }
        export(&committed);
        return;
    }
    let fresh = tempfile::tempdir().unwrap();
    export(fresh.path());
    let generated = files(fresh.path());
    let on_disk = files(&committed);
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        on_disk.keys().collect::<Vec<_>>(),
        "ui/src/bindings/ holds other files than the Rust types generate; \
         run LATCHKEY_UPDATE_BINDINGS=1 cargo test -p latchkey --lib bindings"
    );
    for (name, text) in &generated {
        assert_eq!(
            Some(text),
            on_disk.get(name),
            "ui/src/bindings/{name} is out of date; \
             run LATCHKEY_UPDATE_BINDINGS=1 cargo test -p latchkey --lib bindings"
        );
    }
}

//! Configuration layering (issue 14, item 5): every key has an environment form, the
//! historic `LATCHKEY_*` names keep working, other `LATCHKEY_*` variables are left
//! alone, unknown keys are refused with the nearest valid name, and
//! `latchkey-server config check` shows each value's source with secrets redacted.
//!
//! The environment is passed in (never the test process's own), and the binary runs
//! with only the variables a test gives it.

use std::path::PathBuf;
use std::process::Command;

use latchkey_server::Config;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// A TOML file of its own for one test, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "latchkey-config-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn nested_settings_have_an_environment_form() {
    let mut c = Config::default();
    c.apply_env(|name| match name {
        "LATCHKEY_LOCKOUT__THRESHOLD" => Some("10".into()),
        "LATCHKEY_ARGON2__MEMORY_KIB" => Some("8192".into()),
        "LATCHKEY_DEVICES__VERIFY_NEW" => Some("off".into()),
        "LATCHKEY_SUPPORT__EMAIL" => Some("it@corp.cn".into()),
        "LATCHKEY_DEFAULT_REGION" => Some("HK".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(c.lockout.threshold, 10);
    assert_eq!(c.lockout.base_seconds, 900, "the rest keeps its default");
    assert_eq!(c.argon2.memory_kib, 8192);
    assert!(!c.devices.verify_new);
    assert_eq!(c.support.email.as_deref(), Some("it@corp.cn"));
    assert_eq!(c.default_region, "HK");
}

#[test]
fn the_historic_variables_still_work() {
    let mut c = Config::default();
    c.apply_env_vars(vars(&[
        ("LATCHKEY_DATABASE_URL", "sqlite://x.db"),
        ("LATCHKEY_BIND", " 127.0.0.1:0 "),
        ("LATCHKEY_SMTP_URL", "smtp://127.0.0.1:2525"),
        ("LATCHKEY_MAIL_FROM", "Corp <it@corp.cn>"),
        ("LATCHKEY_SMS_WEBHOOK_URL", "http://127.0.0.1:9/sms"),
        ("LATCHKEY_OUTBOX_DIR", "/tmp/outbox"),
        ("LATCHKEY_SECRET_KEY", KEY),
        ("LATCHKEY_SERVER_NAME", "123"),
        ("LATCHKEY_WORKER_THREADS", "3"),
        ("LATCHKEY_VERIFY_NEW_DEVICES", "no"),
        // An empty variable is ignored, as it always was.
        ("LATCHKEY_MAIL_FROM", ""),
    ]))
    .unwrap();
    assert_eq!(c.database_url, "sqlite://x.db");
    assert_eq!(c.bind.port(), 0);
    let d = &c.delivery;
    assert_eq!(d.smtp_url.as_deref(), Some("smtp://127.0.0.1:2525"));
    assert_eq!(d.mail_from.as_deref(), Some("Corp <it@corp.cn>"));
    assert_eq!(d.sms_webhook_url.as_deref(), Some("http://127.0.0.1:9/sms"));
    assert_eq!(
        d.outbox_dir.as_deref(),
        Some(std::path::Path::new("/tmp/outbox"))
    );
    assert_eq!(d.secret_key.as_deref(), Some(KEY));
    assert_eq!(
        c.server_name, "123",
        "a name that looks like a number stays text"
    );
    assert_eq!(c.worker_threads, 3);
    assert!(!c.devices.verify_new);

    // The nested form of the same key wins over the historic name.
    c.apply_env_vars(vars(&[
        ("LATCHKEY_DELIVERY__SMTP_URL", "smtps://relay.corp.cn"),
        ("LATCHKEY_SMTP_URL", "smtp://other:25"),
    ]))
    .unwrap();
    assert_eq!(
        c.delivery.smtp_url.as_deref(),
        Some("smtps://relay.corp.cn")
    );
}

#[test]
fn other_latchkey_variables_are_not_configuration() {
    let mut c = Config::default();
    c.apply_env_vars(vars(&[
        ("LATCHKEY_TEST_FOO", "1"),
        ("LATCHKEY_TEST_POSTGRES_URL", "postgres://x"),
        ("LATCHKEY_BENCH_RUNS", "3"),
        ("LATCHKEY_LOG", "debug"),
        ("LATCHKEY_CONFIG", "/nonexistent.toml"),
        ("LATCHKEY_SERVER", "http://127.0.0.1:8433"),
        ("LATCHKEY_LOCKOUT__THRESHOLD", "7"),
    ]))
    .unwrap();
    assert_eq!(c.lockout.threshold, 7);
    assert_eq!(c.server_name, "Latchkey");
}

#[test]
fn an_unknown_key_is_refused_with_the_nearest_name() {
    let mut c = Config::default();
    let e = c
        .apply_env_vars(vars(&[("LATCHKEY_LOCKOUT__THRESOLD", "10")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("LATCHKEY_LOCKOUT__THRESOLD"), "{e}");
    assert!(e.contains("did you mean lockout.threshold?"), "{e}");

    let file = TempFile::new("unknown", "[argon2]\nmemory_kb = 8192\n");
    let e = Config::from_file(&file.0).unwrap_err().to_string();
    assert!(e.contains("argon2.memory_kb"), "{e}");
    assert!(e.contains("did you mean argon2.memory_kib?"), "{e}");
}

#[test]
fn bad_values_name_their_variable_and_never_echo_it() {
    let mut c = Config::default();
    for (var, value) in [
        ("LATCHKEY_LOCKOUT__THRESHOLD", "ten"),
        ("LATCHKEY_ARGON2__MEMORY_KIB", "-1"),
        ("LATCHKEY_DEVICES__VERIFY_NEW", "maybe"),
        ("LATCHKEY_BIND", "nonsense"),
        ("LATCHKEY_DELIVERY__SECRET_KEY", "hunter2"),
    ] {
        let e = c
            .apply_env_vars(vars(&[(var, value)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(var) && !e.contains(value), "{var}: {e}");
    }
}

fn config_check(file: Option<&TempFile>, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["config", "check"]);
    if let Some(file) = file {
        cmd.arg("--config").arg(&file.0);
    }
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LATCHKEY_") {
            cmd.env_remove(&name);
        }
    }
    let out = cmd.envs(env.iter().copied()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_shows_sources_and_hides_secrets() {
    let file = TempFile::new(
        "check",
        "server_name = \"Corp\"\n[lockout]\nbase_seconds = 60\n",
    );
    let (code, out, err) = config_check(
        Some(&file),
        &[
            ("LATCHKEY_SECRET_KEY", KEY),
            ("LATCHKEY_DATABASE_URL", "postgres://lk:hunter2@db/latchkey"),
            ("LATCHKEY_LOCKOUT__THRESHOLD", "9"),
            ("LATCHKEY_LOG", "warn"),
            ("LATCHKEY_TEST_FOO", "1"),
        ],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {out}"))
            .to_owned()
    };
    let file_source = format!("# file {}", file.0.display());
    assert!(
        line("lockout.threshold").contains("= 9")
            && line("lockout.threshold").ends_with("# env LATCHKEY_LOCKOUT__THRESHOLD")
    );
    assert!(
        line("lockout.base_seconds").ends_with(&file_source),
        "{out}"
    );
    assert!(
        line("server_name").contains("\"Corp\"") && line("server_name").ends_with(&file_source)
    );
    assert!(line("lockout.max_seconds").ends_with("# default"), "{out}");
    assert!(
        line("delivery.secret_key").ends_with("# env LATCHKEY_SECRET_KEY"),
        "{out}"
    );
    assert!(
        line("database_url").contains("postgres://lk:<redacted>@db/latchkey"),
        "{out}"
    );
    assert!(!out.contains(KEY) && !err.contains(KEY), "{out}\n{err}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}\n{err}"
    );

    let (code, out, err) = config_check(None, &[("LATCHKEY_LOCKOUT__THRESOLD", "9")]);
    assert!(matches!(code, Some(c) if c != 0), "{out}\n{err}");
    assert!(err.contains("did you mean lockout.threshold?"), "{err}");
}

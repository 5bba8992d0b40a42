//! The real `latchkey-server` binary, logging at `debug`, through a whole provider
//! journey (sign-in page, code, tokens, userinfo, a launch ticket): no password, client
//! secret, code, token, ticket or single sign-on cookie is in its log.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use latchkey_testkit::api::PASSWORD;

use super::*;

const BIN: &str = env!("CARGO_BIN_EXE_latchkey-server");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn cli(env: &[(&str, String)], args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        pipe.write_all(s.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_debug_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = vec![
        (
            "LATCHKEY_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        ),
        ("LATCHKEY_BIND", format!("127.0.0.1:{port}")),
        ("LATCHKEY_OIDC__ISSUER", base.clone()),
        ("LATCHKEY_SECRET_KEY", crate::api::totp::KEY.to_owned()),
        ("LATCHKEY_DEVICES__VERIFY_NEW", "false".to_owned()),
        (
            "LATCHKEY_DELIVERY__OUTBOX_DIR",
            dir.path().join("outbox").display().to_string(),
        ),
        ("LATCHKEY_LOG", "debug".to_owned()),
    ];
    cli(
        &env,
        &["user", "add", "--email", "log@corp.cn", "--password-stdin"],
        Some(PASSWORD),
    );
    let added = cli(
        &env,
        &[
            "client",
            "add",
            "--id",
            "crm",
            "--name",
            "CRM",
            "--redirect-uri",
            REDIRECT,
            "--launch-url",
            "https://crm.corp.example/",
            "--first-party",
        ],
        None,
    );
    let secret = added
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    let log_path = dir.path().join("server.log");
    let mut cmd = Command::new(BIN);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening"), "{line}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The journey, with a minimal browser: authorize, the password page, the code.
    let mut browser = Browser::for_base(&base);
    let page = browser
        .authorize("crm", &[("scope", "openid email offline_access")])
        .await;
    let done = browser.password(&page, "log@corp.cn", PASSWORD).await;
    assert_eq!(done.status, 303, "{} {}", page.body, done.body);
    let code = done.redirect_params()["code"].clone();
    let tokens: Value = http
        .post(format!("{base}/oidc/token"))
        .basic_auth("crm", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let info = http
        .get(format!("{base}/oidc/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    // The desktop app's launcher: a one-time ticket in a URL.
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"identifier": "log@corp.cn", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app_token = login["session"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ticket: Value = http
        .post(format!("{base}/v1/launch"))
        .bearer_auth(&app_token)
        .json(&serde_json::json!({"client_id": "crm"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = ticket["url"].as_str().unwrap().to_owned();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 303);
    let sso = browser.cookies["latchkey_sso"].clone();
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("DEBUG"), "the log is at debug level");
    let ticket_value = url.split("ticket=").nth(1).unwrap().to_owned();
    for (what, secret) in [
        ("password", PASSWORD.to_owned()),
        ("client secret", secret),
        ("code", code),
        ("access token", access),
        ("refresh token", refresh),
        ("app token", app_token),
        ("ticket", ticket_value),
        ("sso cookie", sso),
    ] {
        assert!(!log.contains(&secret), "the {what} is in the log");
    }
    for prefix in [
        "lkoc_", "lkoa_", "lkor_", "lkt_", "lks_", "lkcs_", "lka_", "lkr_",
    ] {
        assert!(!log.contains(prefix), "a {prefix} token is in the log");
    }
}

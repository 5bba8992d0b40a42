//! Sign-in with the company directory (issue 19), against a real OpenLDAP started by
//! the test on loopback (`latchkey_testkit::slapd`): each identifier kind, wrong and
//! unknown, disabled entries and the allowed group, renames, passwords written to the
//! directory and checked with `ldapwhoami`, the directory's policy refusal, the
//! directory down, StartTLS under a test CA, Latchkey's lockout in front of the
//! directory's counter, and `directory check|sync`.
//!
//! The tests are in one file per area; this module holds what they share.

mod cli;
mod faults;
mod passwords;
mod signin;

use latchkey_server::Config;
use latchkey_testkit::slapd::Slapd;
use latchkey_testkit::smtp::SmtpSink;
use latchkey_testkit::{Backend, TestServer};

/// Zhang Wei's entry: `uid=zhangw`.
const UID: &str = "zhangw";
const EMAIL: &str = "zhang.wei@corp.example";
const PHONE: &str = "+8613800138000";
/// His directory password (Latchkey never stores it).
const PASSWORD: &str = "Violet-harbor-lantern-42";
/// A new password both Latchkey's policy and the directory's accept.
const NEW_PASSWORD: &str = "Quartz-meadow-lantern-19x";

/// A directory with Zhang Wei in it, and a bare server pointed at it (mail to an SMTP
/// sink); `tweak` last. `None`: skipped (no slapd, or no PostgreSQL).
async fn with_directory(
    b: Backend,
    tls: bool,
    tweak: impl FnOnce(&mut Config),
) -> Option<(TestServer, Slapd, SmtpSink)> {
    let slapd = if tls {
        Slapd::start_tls()?
    } else {
        Slapd::start()?
    };
    slapd.add_person(UID, "Zhang Wei", EMAIL, PHONE, PASSWORD);
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let srv = TestServer::bare_with(b, |c| {
        slapd.configure(c);
        c.delivery.smtp_url = Some(url);
        tweak(c);
    })
    .await?;
    Some((srv, slapd, sink))
}

fn dn(uid: &str) -> String {
    format!("uid={uid},{}", latchkey_testkit::slapd::PEOPLE)
}

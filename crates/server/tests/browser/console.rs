//! IT's console (issue 18) in a real browser, in both languages: the helpdesk signs in
//! through Latchkey's own sign-in pages (password and TOTP), finds a locked person by
//! the phone number as read out, sees why they cannot sign in, unlocks them with a
//! confirmed click, and the person signs in again (checked through the public API). A
//! forged form is refused; an account without a role is told so.

use latchkey_proto::AdminRole;
use latchkey_server::admin::AddUser;
use latchkey_testkit::chromium::{Browser, Lang};
use latchkey_testkit::Backend;

use super::site::{self, text, PASSWORD};

macro_rules! in_both_languages {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn en() {
                super::$name(latchkey_testkit::Backend::Sqlite, super::Lang::En).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn zh_cn() {
                super::$name(latchkey_testkit::Backend::Sqlite, super::Lang::ZhCn).await
            }
        }
    )* };
}

in_both_languages!(the_helpdesk_unlocks_a_locked_person);

/// The console's words the test looks for.
fn words(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    }
}

async fn the_helpdesk_unlocks_a_locked_person(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    let srv = &site.srv;
    let key = site.totp_user("helpdesk@corp.example").await;
    let desk = latchkey_server::admin::find(&srv.state, "helpdesk@corp.example")
        .await
        .expect("the helpdesk's account");
    latchkey_server::roles::grant(
        &srv.state.db,
        &desk.id,
        AdminRole::Helpdesk,
        srv.state.now(),
    )
    .await
    .expect("a role");
    let person = srv
        .add(
            AddUser {
                phone: Some("+8613912345678".into()),
                name: Some("Zhang Wei 张伟".into()),
                ..AddUser::default()
            },
            PASSWORD,
        )
        .await;
    for _ in 0..5 {
        srv.login_raw("+8613912345678", "Wrong-password-1").await;
    }
    let (s, _) = srv.login_raw("+8613912345678", PASSWORD).await;
    assert_eq!(s, 423, "locked");

    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    // Latchkey's own sign-in, then the console.
    browser.goto(&format!("{}/admin", site.base())).await;
    browser.page(&text(lang, "signin.title"), lang).await;
    browser.type_in("username", "helpdesk@corp.example").await;
    browser.type_and_enter("current-password", PASSWORD).await;
    browser.page(&text(lang, "mfa.title"), lang).await;
    browser
        .type_and_enter("one-time-code", &site.totp(&key))
        .await;
    browser.page(words(lang, "Users", "用户"), lang).await;

    // Found by the number as read out over the phone.
    browser.type_and_enter("off", "139 1234 5678").await;
    let row = browser.text("table tbody").await;
    assert!(row.contains("Zhang Wei 张伟"), "{row}");
    assert!(row.contains(words(lang, "Locked", "锁定")), "{row}");
    browser.screenshot("console-users").await;
    browser.follow("table tbody a").await;
    browser.page("Zhang Wei 张伟", lang).await;
    let status = browser.text("dd.bad").await;
    assert!(status.contains(words(lang, "Locked", "锁定")), "{status}");
    browser.screenshot("console-user").await;
    // The helpdesk's actions only: no disabling.
    let no_disable = browser
        .client
        .execute(
            "return document.querySelector('a[data-action=disable]') === null;",
            vec![],
        )
        .await
        .expect("look for the action");
    assert_eq!(no_disable, serde_json::Value::Bool(true));
    browser.follow("a[data-action=unlock]").await;
    browser.screenshot("console-confirm").await;
    if lang == Lang::En {
        // A form whose token is not this browser's is refused, and changes nothing.
        browser
            .client
            .execute(
                "document.querySelector('form.confirm input[name=csrf]').value = '00000000000000000000000000000000';",
                vec![],
            )
            .await
            .expect("forge the form");
        browser.submit().await;
        assert!(
            browser.error().await.contains("out of date"),
            "{}",
            browser.error().await
        );
        let (s, _) = srv.login_raw("+8613912345678", PASSWORD).await;
        assert_eq!(s, 423, "still locked");
        browser
            .goto(&format!("{}/admin/users/{}/unlock", site.base(), person.id))
            .await;
    }
    browser.submit().await;
    let notice = browser.text("#notice").await;
    assert_eq!(notice, words(lang, "Unlocked.", "已解除锁定。"));
    browser.screenshot("console-unlocked").await;

    // Lost phone and recovery codes: two-step verification reset with a confirmed
    // click; the password alone then signs in (the app asks to set it up again when
    // IT requires it: the end-to-end test of the desktop app).
    site.totp_user("lost.phone@corp.example").await;
    let lost = latchkey_server::admin::find(&srv.state, "lost.phone@corp.example")
        .await
        .expect("the account");
    let (_, before) = srv.login_raw("lost.phone@corp.example", PASSWORD).await;
    assert_eq!(before["status"], "mfa_required", "{before}");
    browser
        .goto(&format!("{}/admin/users/{}", site.base(), lost.id))
        .await;
    browser.follow("a[data-action=reset-two-factor]").await;
    browser.submit().await;
    assert!(!browser.text("#notice").await.is_empty());
    browser.screenshot("console-two-factor-reset").await;
    let (s, after) = srv.login_raw("lost.phone@corp.example", PASSWORD).await;
    assert_eq!(s, 200, "{after}");
    assert_ne!(after["status"], "mfa_required", "{after}");
    browser.no_placeholder().await;

    // The person signs in again.
    let (s, body) = srv.login_raw("+8613912345678", PASSWORD).await;
    assert_eq!(s, 200, "{body}");
    // The audit trail says who did it.
    let trail = latchkey_server::audit::recent(&srv.state.db, Some(&person.id), 10)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0].action, "unlock");
    assert_eq!(trail[0].actor.as_deref(), Some("helpdesk@corp.example"));

    // The audit trail is the admins': the helpdesk is told so, and admin pages too.
    for path in ["/admin/audit", "/admin/new", "/admin/import"] {
        browser.goto(&format!("{}{path}", site.base())).await;
        let said = browser.error().await;
        assert_eq!(
            said,
            words(
                lang,
                "Your role does not allow this.",
                "您的角色无权执行此操作。"
            ),
            "{path}"
        );
    }

    // Signing out of the console ends the browser's sign-in: the console asks again.
    browser.follow(".who button").await;
    browser
        .page(words(lang, "Sign out", "退出登录"), lang)
        .await;
    browser.goto(&format!("{}/admin", site.base())).await;
    browser.page(&text(lang, "signin.title"), lang).await;
    browser.quit().await;
}

in_both_languages!(an_admin_changes_deletes_creates_and_imports);

/// An admin's console: a changed e-mail address (the person signs in with the new
/// one), a leaver deleted, a new account with its temporary password, and a CSV
/// import checked first, then made.
async fn an_admin_changes_deletes_creates_and_imports(b: Backend, lang: Lang) {
    let Some(site) = site::known_browsers(b).await else {
        return;
    };
    let srv = &site.srv;
    let key = site.totp_user("it.admin@corp.example").await;
    let it = latchkey_server::admin::find(&srv.state, "it.admin@corp.example")
        .await
        .expect("the admin's account");
    latchkey_server::roles::grant(&srv.state.db, &it.id, AdminRole::Admin, srv.state.now())
        .await
        .expect("a role");
    let moved = srv.add_user("wang.fang@corp.example", PASSWORD).await;
    let leaver = srv.add_user("leaver@corp.example", PASSWORD).await;

    let Some(browser) = Browser::launch(lang).await else {
        return;
    };
    browser.goto(&format!("{}/admin", site.base())).await;
    browser.type_in("username", "it.admin@corp.example").await;
    browser.type_and_enter("current-password", PASSWORD).await;
    browser
        .type_and_enter("one-time-code", &site.totp(&key))
        .await;
    browser.page(words(lang, "Users", "用户"), lang).await;

    // A changed e-mail address.
    browser
        .goto(&format!("{}/admin/users/{}", site.base(), moved.id))
        .await;
    browser.follow("a[data-action=edit]").await;
    browser.screenshot("console-edit").await;
    // A wrong address is refused on the form, which keeps what was typed.
    browser
        .client
        .execute(
            "document.getElementById('email').value = 'not an address';",
            vec![],
        )
        .await
        .expect("type");
    browser.submit().await;
    assert!(
        browser.error().await.contains("email"),
        "{}",
        browser.error().await
    );
    browser
        .client
        .execute(
            "document.getElementById('email').value = 'wang.fang@newcorp.example';",
            vec![],
        )
        .await
        .expect("type");
    browser.submit().await;
    assert_eq!(
        browser.text("#notice").await,
        words(lang, "Saved.", "已保存。")
    );
    let (s, body) = srv.login_raw("wang.fang@newcorp.example", PASSWORD).await;
    assert_eq!(s, 200, "{body}");

    // A leaver deleted.
    browser
        .goto(&format!("{}/admin/users/{}", site.base(), leaver.id))
        .await;
    browser.follow("a[data-action=delete]").await;
    browser.screenshot("console-delete").await;
    browser.submit().await;
    assert_eq!(
        browser.text("#notice").await,
        words(lang, "The account is deleted.", "账户已删除。")
    );
    let (s, _) = srv.login_raw("leaver@corp.example", PASSWORD).await;
    assert_eq!(s, 401);

    // A new account: its temporary password signs in to the forced change.
    browser.goto(&format!("{}/admin/new", site.base())).await;
    browser
        .client
        .execute(
            "document.getElementById('email').value = 'new.hire@corp.example';\
             document.getElementById('name').value = 'Xu Li 徐丽';",
            vec![],
        )
        .await
        .expect("type");
    browser.submit().await;
    let password = browser.text("#secret").await;
    browser.screenshot("console-created").await;
    let (s, body) = srv.login_raw("new.hire@corp.example", &password).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");

    // An import: checked (a wrong line: nothing made), fixed, made.
    browser.goto(&format!("{}/admin/import", site.base())).await;
    let csv =
        "email,phone,name\\nstaff1@corp.example,+86 139 1000 0001,Staff 1\\nnot-an-email,,X\\n";
    browser
        .client
        .execute(
            &format!("document.getElementById('csv').value = \"{csv}\";"),
            vec![],
        )
        .await
        .expect("paste");
    browser.submit().await;
    assert!(
        !browser.error().await.is_empty(),
        "the wrong line is reported"
    );
    browser.screenshot("console-import-checked").await;
    // Fifty people, as IT's spreadsheet has them.
    let csv = std::iter::once("email,phone,name".to_owned())
        .chain((1..=50).map(|n| format!("staff{n}@corp.example,+86 139 1000 {n:04},Staff {n}")))
        .collect::<Vec<_>>()
        .join("\\n");
    browser
        .client
        .execute(
            &format!(
                "document.getElementById('csv').value = \"{csv}\";\
                 document.getElementById('dry_run').checked = false;"
            ),
            vec![],
        )
        .await
        .expect("paste");
    browser.submit().await;
    let notice = browser.text("#notice").await;
    assert!(notice.contains("50"), "{notice}");
    browser.screenshot("console-imported").await;
    let rows = browser.text("table tbody").await;
    assert!(
        rows.starts_with("2 "),
        "the first account is on line 2: {rows}"
    );
    let staff2 = rows
        .lines()
        .find(|l| l.contains("staff2@corp.example"))
        .expect("the line of staff2");
    let password = staff2.split_whitespace().last().expect("its password");
    let (s, body) = srv.login_raw("staff2@corp.example", password).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "password_change_required", "{body}");

    // Policies: a value that does not fit is refused with its key and stores nothing;
    // a lockout threshold of 3 is then in force (the third wrong password locks).
    browser.follow("a[href='/admin/policies']").await;
    browser.screenshot("console-policies").await;
    let set =
        |key: &str, value: &str| format!("document.getElementById('{key}').value = '{value}';");
    browser
        .client
        .execute(&set("two_factor.required", "sometimes"), vec![])
        .await
        .expect("type");
    browser.submit().await;
    let error = browser.text("#error").await;
    assert!(error.contains("two_factor.required"), "{error}");
    browser
        .client
        .execute(
            &(set("two_factor.required", "") + &set("lockout.threshold", "3")),
            vec![],
        )
        .await
        .expect("type");
    browser.submit().await;
    let notice = browser.text("#notice").await;
    assert!(!notice.is_empty());
    browser.screenshot("console-policies-saved").await;
    assert_eq!(srv.state.config().lockout.threshold, 3);
    srv.add_user("careless@corp.example", PASSWORD).await;
    for _ in 0..2 {
        let (s, _) = srv
            .login_raw("careless@corp.example", "Wrong-password-5")
            .await;
        assert_eq!(s, 401);
    }
    let (s, body) = srv
        .login_raw("careless@corp.example", "Wrong-password-5")
        .await;
    assert_eq!(body["code"], "account_locked", "{s} {body}");

    // Maintenance from the console, which stays open during it: signed out and in
    // again, the admin turns it off.
    browser.follow("a[href='/admin/maintenance']").await;
    browser
        .client
        .execute(
            "document.getElementById('message').value = 'Upgrade until 8:00';",
            vec![],
        )
        .await
        .expect("type");
    browser.submit().await;
    browser.screenshot("console-maintenance-on").await;
    let (_, meta) = srv.get("/v1/meta", "").await;
    assert_eq!(
        meta["maintenance"]["message"], "Upgrade until 8:00",
        "{meta}"
    );
    let (s, body) = srv.login_raw("careless@corp.example", PASSWORD).await;
    assert_eq!(body["code"], "maintenance", "{s} {body}");
    browser.follow(".who button").await;
    browser
        .goto(&format!("{}/admin/maintenance", site.base()))
        .await;
    srv.advance(30);
    browser.type_in("username", "it.admin@corp.example").await;
    browser.type_and_enter("current-password", PASSWORD).await;
    browser
        .type_and_enter("one-time-code", &site.totp(&key))
        .await;
    browser.page(words(lang, "Users", "用户"), lang).await;
    browser.follow("a[href='/admin/maintenance']").await;
    browser
        .page(words(lang, "Maintenance", "维护模式"), lang)
        .await;
    browser.submit().await;
    let (_, meta) = srv.get("/v1/meta", "").await;
    assert_eq!(meta["maintenance"], serde_json::Value::Null, "{meta}");
    browser.screenshot("console-maintenance-off").await;
    browser.no_placeholder().await;
    browser.quit().await;
}

//! Signing in with a directory account: each identifier kind, one linked account that
//! follows its entry through a rename, its profile refreshed; wrong and unknown alike;
//! disabled entries and the allowed group; console roles from groups; local accounts
//! beside them.

use latchkey_proto::AdminRole;
use latchkey_server::roles;
use latchkey_testkit::api::{assert_error, OTHER_PASSWORD};
use latchkey_testkit::slapd::GROUPS;
use latchkey_testkit::{on_both, Backend};
use serde_json::json;

use super::{dn, with_directory, EMAIL, PASSWORD, PHONE, UID};

on_both!(
    each_identifier_kind_signs_in_to_one_account_that_follows_renames,
    wrong_and_unknown_answer_alike_and_local_accounts_keep_working,
    a_disabled_entry_cannot_sign_in_and_its_sessions_end_at_refresh,
    the_allowed_group_restricts_sign_in_and_groups_give_console_roles,
);

async fn each_identifier_kind_signs_in_to_one_account_that_follows_renames(b: Backend) {
    let Some((srv, slapd, _sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    let first = srv.login(UID, PASSWORD).await;
    assert_eq!(first.user.name.as_deref(), Some("Zhang Wei"));
    assert_eq!(first.user.email.as_deref(), Some(EMAIL));
    assert_eq!(first.user.phone.as_deref(), Some(PHONE));
    for identifier in [EMAIL, PHONE, "ZhangW", "13800138000"] {
        let session = srv.login(identifier, PASSWORD).await;
        assert_eq!(session.user.id, first.user.id, "{identifier}");
    }
    // No password is kept here: the account's hash is the marker no password matches.
    let row = latchkey_server::users::by_id(&srv.state.db, &first.user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.in_directory());
    assert!(!row.password_hash.contains("argon2"));

    // Renamed (a new uid, so a new DN) and renamed in the profile: the same account,
    // found by entryUUID, with the entry's new name and username.
    slapd.ldapmodify(
        &format!(
            "dn: {}\nchangetype: modrdn\nnewrdn: uid=zhang.wei\ndeleteoldrdn: 1\n",
            dn(UID)
        ),
        false,
    );
    slapd.ldapmodify(
        &format!(
            "dn: {}\nchangetype: modify\nreplace: cn\ncn: Zhang Wei 张伟\n",
            dn("zhang.wei")
        ),
        false,
    );
    let after = srv.login(EMAIL, PASSWORD).await;
    assert_eq!(after.user.id, first.user.id);
    assert_eq!(after.user.name.as_deref(), Some("Zhang Wei 张伟"));
    assert_eq!(after.user.username.as_deref(), Some("zhang.wei"));
    let row = latchkey_server::users::by_id(&srv.state.db, &first.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.directory_dn.as_deref(), Some(dn("zhang.wei").as_str()));
    let session = srv.login("zhang.wei", PASSWORD).await;
    assert_eq!(session.user.id, first.user.id);
}

async fn wrong_and_unknown_answer_alike_and_local_accounts_keep_working(b: Backend) {
    // Latchkey's expiry is for its own passwords; a directory account's is the
    // directory's.
    let Some((srv, _slapd, _sink)) =
        with_directory(b, false, |c| c.password.expiry_days = 90).await
    else {
        return;
    };
    let (s, wrong) = srv.login_raw(UID, OTHER_PASSWORD).await;
    assert_error(s, &wrong, 401, "invalid_credentials");
    let (s, unknown) = srv.login_raw("nobody", OTHER_PASSWORD).await;
    assert_error(s, &unknown, 401, "invalid_credentials");
    assert_eq!(wrong, unknown);
    // An empty password is refused before anything else (LDAP would take it as an
    // anonymous bind).
    let (s, body) = srv.login_raw(UID, "").await;
    assert!(s == 400 || s == 401, "{s} {body}");
    // Mixed mode: a Latchkey account (the break-glass admin) beside the directory.
    srv.add_user("admin@corp.example", OTHER_PASSWORD).await;
    let local = srv.login("admin@corp.example", OTHER_PASSWORD).await;
    let row = latchkey_server::users::by_id(&srv.state.db, &local.user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.in_directory());
    let (_, me) = srv.get("/v1/me", local.access_token.expose()).await;
    assert!(me["password_expires_at"].is_string(), "{me}");
    let session = srv.login(UID, PASSWORD).await;
    let (_, me) = srv.get("/v1/me", session.access_token.expose()).await;
    assert!(me["password_expires_at"].is_null(), "{me}");
}

async fn a_disabled_entry_cannot_sign_in_and_its_sessions_end_at_refresh(b: Backend) {
    let Some((srv, slapd, _sink)) = with_directory(b, false, |_| {}).await else {
        return;
    };
    let session = srv.login(UID, PASSWORD).await;
    // The ppolicy overlay's "locked by an administrator", the default disabled_filter.
    slapd.ldapmodify(
        &format!(
            "dn: {}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n",
            dn(UID)
        ),
        false,
    );
    // The next refresh asks the directory: the session ends (within one access-token
    // lifetime), with every other session of the account.
    let (s, body) = srv
        .post(
            "/v1/auth/refresh",
            json!({"refresh_token": session.refresh_token.expose()}),
        )
        .await;
    assert_error(s, &body, 403, "account_disabled");
    let (s, _) = srv.get("/v1/me", session.access_token.expose()).await;
    assert_eq!(s, 401);
    // Signing in is refused like a wrong password, without a bind.
    let (s, body) = srv.login_raw(UID, PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    // Enabled again in the directory: signs in again.
    slapd.ldapmodify(
        &format!(
            "dn: {}\nchangetype: modify\ndelete: pwdAccountLockedTime\n",
            dn(UID)
        ),
        false,
    );
    srv.login(UID, PASSWORD).await;
}

async fn the_allowed_group_restricts_sign_in_and_groups_give_console_roles(b: Backend) {
    let staff = format!("cn=staff,{GROUPS}");
    let admins = format!("cn=it-admins,{GROUPS}");
    let (staff_c, admins_c) = (staff.clone(), admins.clone());
    let Some((srv, slapd, _sink)) = with_directory(b, false, |c| {
        c.directory.allowed_group = Some(staff_c);
        c.directory.admin_group = Some(admins_c);
    })
    .await
    else {
        return;
    };
    let lisi = slapd.add_person(
        "lisi",
        "Li Si",
        "li.si@corp.example",
        "+8613900139000",
        PASSWORD,
    );
    slapd.ldapmodify(
        &format!(
            "dn: {staff}\nobjectClass: groupOfNames\ncn: staff\nmember: {}\n\n\
             dn: {admins}\nobjectClass: groupOfNames\ncn: it-admins\nmember: {lisi}\n",
            dn(UID)
        ),
        true,
    );
    // Not in staff: refused like an unknown identifier.
    let (s, body) = srv.login_raw("lisi", PASSWORD).await;
    assert_error(s, &body, 401, "invalid_credentials");
    let zhang = srv.login(UID, PASSWORD).await;
    assert_eq!(
        roles::of(&srv.state.db, &zhang.user.id).await.unwrap(),
        None
    );
    slapd.ldapmodify(
        &format!("dn: {staff}\nchangetype: modify\nadd: member\nmember: {lisi}\n"),
        false,
    );
    let li = srv.login("lisi", PASSWORD).await;
    assert_eq!(
        roles::of(&srv.state.db, &li.user.id).await.unwrap(),
        Some(AdminRole::Admin)
    );
    // Out of the admins group: the role goes at the next sign-in.
    slapd.ldapmodify(
        &format!(
            "dn: {admins}\nchangetype: modify\nreplace: member\nmember: {}\n",
            dn(UID)
        ),
        false,
    );
    let li = srv.login("lisi", PASSWORD).await;
    assert_eq!(roles::of(&srv.state.db, &li.user.id).await.unwrap(), None);
}

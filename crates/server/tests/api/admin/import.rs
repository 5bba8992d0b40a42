//! Importing accounts from CSV (issue 18): 50 people, checked first (a dry run that
//! finds the wrong lines and creates nothing), then created with temporary passwords
//! that sign in to the forced change, then imported again without effect; and the
//! refusals of a wrong file.

use latchkey_testkit::api::{assert_error, PASSWORD};
use latchkey_testkit::{on_both, Backend};
use reqwest::Method;
use serde_json::{json, Value};

use super::{console, Console};

on_both!(
    fifty_people_are_checked_then_imported_once,
    wrong_files_are_refused
);

async fn import(c: &Console, csv: &str, dry_run: bool) -> (u16, Value) {
    let (s, body) = c
        .srv
        .call(
            Method::POST,
            "/admin/v1/users/import",
            Some(&c.admin),
            Some(json!({"csv": csv, "dry_run": dry_run})),
        )
        .await;
    (s.as_u16(), body)
}

fn fifty() -> String {
    let mut csv = String::from("email,phone,name,organisation,locale\n");
    for i in 0..50 {
        csv.push_str(&format!(
            "staff{i:02}@corp.cn,+86 139 1000 {i:04},\"Staff {i:02}, 员工\",Sales 销售部,zh-CN\n"
        ));
    }
    csv
}

async fn fifty_people_are_checked_then_imported_once(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    c.srv.add_user("existing@corp.cn", PASSWORD).await;
    // Two wrong lines: nothing is created, and the report says which and why.
    let mut wrong = fifty();
    wrong.push_str("not-an-email,,Nobody,,\n");
    wrong.push_str("staff07@corp.cn,,Twice,,\n");
    let (s, report) = import(&c, &wrong, false).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["errors"], 2, "{report}");
    assert_eq!(report["created"], 0);
    let lines = report["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 52);
    assert_eq!(lines[50]["line"], 52);
    assert_eq!(lines[50]["status"], "error");
    assert_eq!(lines[50]["field"], "email");
    assert_eq!(lines[51]["status"], "error");
    assert!(
        lines[51]["message"].as_str().unwrap().contains("line 9"),
        "{}",
        lines[51]
    );
    assert!(lines[..50].iter().all(|l| l["status"] == "would_create"));
    let (_, found) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=staff")
        .await;
    assert_eq!(
        found["total"], 0,
        "a refused import created nothing: {found}"
    );

    // The dry run of the good file.
    let (s, report) = import(&c, &fifty(), true).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["errors"], 0);
    assert_eq!(report["created"], 0);
    let (_, found) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=staff")
        .await;
    assert_eq!(found["total"], 0, "a dry run created nothing");

    // The import.
    let (s, report) = import(&c, &fifty(), false).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["created"], 50, "{report}");
    let lines = report["lines"].as_array().unwrap();
    for i in [0usize, 49] {
        let password = lines[i]["password"].as_str().unwrap();
        let (s, body) = c
            .srv
            .login_raw(&format!("staff{i:02}@corp.cn"), password)
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["status"], "password_change_required", "{body}");
    }
    let (_, found) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=%2B8613910000049")
        .await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["users"][0]["user"]["name"], "Staff 49, 员工");
    assert_eq!(found["users"][0]["user"]["organisation"], "Sales 销售部");
    assert_eq!(found["users"][0]["status"]["must_change_password"], true);
    let (_, trail) = c
        .call(&c.admin, Method::GET, "/admin/v1/audit?limit=500")
        .await;
    let imported = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "import")
        .count();
    assert_eq!(imported, 50);
    assert!(!trail
        .to_string()
        .contains(lines[0]["password"].as_str().unwrap()));

    // Again: nothing to do.
    let (s, report) = import(&c, &fifty(), false).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["existing"].as_u64()),
        (Some(0), Some(50))
    );
    assert!(report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["password"].is_null()));

    // A line that mixes an existing account's e-mail with a new phone is wrong.
    let (s, report) = import(
        &c,
        "email,phone\nexisting@corp.cn,+8613988887777\nfresh@corp.cn,\n",
        false,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(report["errors"], 1, "{report}");
    assert_eq!(report["lines"][0]["field"], "email");
    assert_eq!(report["lines"][1]["status"], "would_create");
    let (_, found) = c
        .call(&c.admin, Method::GET, "/admin/v1/users?q=fresh")
        .await;
    assert_eq!(found["total"], 0);
}

async fn wrong_files_are_refused(b: Backend) {
    let Some(c) = console(b).await else {
        return;
    };
    for csv in [
        "",
        "name,organisation\nWu,Corp\n",
        "email,password\na@corp.cn,secret\n",
    ] {
        let (s, body) = import(&c, csv, true).await;
        assert_eq!(s, 400, "{csv:?}: {body}");
        assert_eq!(body["code"], "invalid_request");
        assert!(!body.to_string().contains("secret"), "{body}");
    }
    // A ragged line is that line's error.
    let (s, report) = import(&c, "email,name\na@corp.cn,A,extra\nb@corp.cn,B\n", true).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["errors"], 1, "{report}");
    let mut many = String::from("email\n");
    for i in 0..1001 {
        many.push_str(&format!("u{i}@c.cn\n"));
    }
    let (s, body) = import(&c, &many, true).await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = c
        .srv
        .call(
            Method::POST,
            "/admin/v1/users/import",
            Some(&c.helpdesk),
            Some(json!({"csv": "email\nx@corp.cn\n"})),
        )
        .await;
    assert_error(s, &body, 403, "forbidden");
}

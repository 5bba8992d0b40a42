//! Fields: of the wrong type, missing, empty or absurdly long, with control characters
//! or NUL; and the device and version a sign-in describes.

use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{on_both, Backend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{post_json, raw, routes, send, setup, still_intact, with, without};
use super::{CANARY_NUMBER, CANARY_TEXT};

on_both!(
    wrong_types,
    missing_fields,
    empty_and_huge_secrets_and_identifiers,
    control_characters_and_nul,
    device_and_version_fields,
);

async fn wrong_types(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for route in routes(&ctx) {
        let mut fields: Vec<(&str, bool)> = route.required.iter().map(|f| (*f, true)).collect();
        fields.extend(route.optional.iter().map(|f| (*f, false)));
        for (field, required) in fields {
            let mut values = vec![
                json!(CANARY_NUMBER),
                json!(-CANARY_NUMBER),
                json!(1.5e300),
                json!([CANARY_TEXT, CANARY_NUMBER]),
            ];
            // `device` is an object; everything else is a string or a flag.
            if field == "device" {
                values.push(json!(CANARY_TEXT));
            } else {
                values.push(json!({"value": CANARY_TEXT}));
            }
            if field == "all" {
                values.push(json!(CANARY_TEXT));
            } else {
                values.push(json!(true));
            }
            if required {
                values.push(Value::Null);
            }
            for value in values {
                let a = post_json(srv, &route, &with(&route.valid, field, value.clone())).await;
                let e = a.error(400, "invalid_request");
                a.hides(&CANARY_NUMBER.to_string()).hides(CANARY_TEXT);
                // A struct may be given as an array; then the element is named.
                let named = e.field.as_deref().unwrap_or_default();
                assert!(
                    named == field || (field == "device" && named.starts_with("device")),
                    "{} {value}: {}",
                    route.path,
                    a.text
                );
                assert!(e.message.contains(field), "{}: {}", route.path, a.text);
            }
        }
        // Keys are matched exactly: a differently spelled key is a missing field.
        if let Some(field) = route.required.first() {
            let mut body = without(&route.valid, field);
            body[field.to_uppercase()] = json!(CANARY_TEXT);
            let e = post_json(srv, &route, &body).await.invalid(field);
            assert!(e.message.contains(field), "{}", e.message);
        }
    }
    // Nested fields are named by their path.
    let login = &routes(&ctx)[1];
    for sub in ["id", "name", "platform"] {
        let mut body = login.valid.clone();
        body["device"][sub] = json!(CANARY_NUMBER);
        post_json(srv, login, &body)
            .await
            .hides(&CANARY_NUMBER.to_string())
            .invalid(&format!("device.{sub}"));
    }
    // None of that counted as a failed sign-in or signed anyone out.
    still_intact(&ctx).await;
}

async fn missing_fields(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    for route in routes(&ctx) {
        for field in route.required {
            let a = post_json(srv, &route, &without(&route.valid, field)).await;
            let e = a.invalid(field);
            assert!(e.message.contains(field), "{}", a.text);
        }
        if route.required.is_empty() {
            // Everything optional: `{}` is a valid body (logout would sign out; skip).
            continue;
        }
        let a = post_json(srv, &route, &json!({})).await;
        let e = a.error(400, "invalid_request");
        assert!(
            route
                .required
                .contains(&e.field.as_deref().unwrap_or_default()),
            "{}: {}",
            route.path,
            a.text
        );
    }
    // A device without its fields is fine (all default); a null device is not.
    let login = &routes(&ctx)[1];
    let a = post_json(srv, login, &with(&login.valid, "device", json!({}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    post_json(srv, login, &with(&login.valid, "device", Value::Null))
        .await
        .invalid("device");
    still_intact(&ctx).await;
}

async fn empty_and_huge_secrets_and_identifiers(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let r = routes(&ctx);
    let (check, login, forced, refresh, change) = (&r[0], &r[1], &r[2], &r[3], &r[5]);
    let long = "x".repeat(10_000);
    let long_cjk = "密".repeat(10_000);

    // Every secret field: empty and 10,000 characters are invalid_request naming it.
    for (route, field) in [
        (check, "password"),
        (login, "password"),
        (forced, "change_token"),
        (forced, "new_password"),
        (refresh, "refresh_token"),
        (change, "current_password"),
        (change, "new_password"),
    ] {
        for value in ["", long.as_str(), long_cjk.as_str()] {
            let a = post_json(srv, route, &with(&route.valid, field, json!(value))).await;
            let e = a.invalid(field);
            assert!(e.message.contains(field), "{}", a.text);
            if !value.is_empty() {
                a.hides(&value.chars().take(50).collect::<String>());
            }
        }
    }

    // Identifiers: empty, blank, 10,000 characters.
    for value in [
        "",
        "   ",
        "\u{3000}",
        long.as_str(),
        long_cjk.as_str(),
        &format!("{long}@corp.example"),
    ] {
        let a = post_json(srv, login, &with(&login.valid, "identifier", json!(value))).await;
        a.invalid("identifier");
    }
    let a = post_json(srv, check, &with(&check.valid, "identifier", json!(long))).await;
    a.invalid("identifier");
    // An empty identifier on the check is only missing context: the verdict stands.
    let a = post_json(srv, check, &with(&check.valid, "identifier", json!(""))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post_json(srv, check, &with(&check.valid, "identifier", Value::Null)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // Long but under the hard bound: a normal wrong password, or a policy refusal.
    let a = post_json(
        srv,
        login,
        &with(&login.valid, "password", json!("p".repeat(1_000))),
    )
    .await;
    a.error(401, "invalid_credentials");
    let a = post_json(
        srv,
        check,
        &with(&check.valid, "password", json!("p".repeat(1_000))),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["accepted"], json!(false), "{}", a.text);
    let a = post_json(
        srv,
        forced,
        &with(&forced.valid, "new_password", json!("Qx-".repeat(70))),
    )
    .await;
    let e = a.error(422, "password_rejected");
    assert_eq!(e.field.as_deref(), Some("new_password"));
    // Identifiers that cannot exist fail like unknown ones.
    for value in [
        "a;drop table users",
        "@",
        "a@b",
        "+",
        "12345",
        "a".repeat(320).as_str(),
    ] {
        let a = post_json(srv, login, &with(&login.valid, "identifier", json!(value))).await;
        a.error(401, "invalid_credentials");
    }
    // Unknown tokens of plausible length.
    let a = post_json(
        srv,
        refresh,
        &with(&refresh.valid, "refresh_token", json!("lkr_".repeat(40))),
    )
    .await;
    a.error(401, "token_invalid");
    let a = post_json(
        srv,
        forced,
        &with(&forced.valid, "change_token", json!("lkc_".repeat(40))),
    )
    .await;
    a.error(401, "token_invalid");

    // None of the refusals consumed the change token or counted against the account.
    let a = post_json(srv, forced, &forced.valid).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    still_intact(&ctx).await;
}

async fn control_characters_and_nul(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let r = routes(&ctx);
    let (check, login, forced, refresh, change) = (&r[0], &r[1], &r[2], &r[3], &r[5]);
    // NUL and other control characters must reach no database as text (PostgreSQL
    // refuses NUL in text): each is refused or fails like any wrong value.
    for value in [
        "\u{0}",
        "a\u{0}b@corp.example",
        "wang\u{0}",
        "\u{0}13800138000",
        "\u{1b}[31m",
        "\u{202e}evil",
    ] {
        let a = post_json(srv, login, &with(&login.valid, "identifier", json!(value))).await;
        a.client_error();
        let a = post_json(srv, check, &with(&check.valid, "identifier", json!(value))).await;
        assert!(
            a.status == StatusCode::OK || a.status.is_client_error(),
            "{}",
            a.text
        );
    }
    for (route, field) in [
        (check, "password"),
        (login, "password"),
        (forced, "change_token"),
        (refresh, "refresh_token"),
        (change, "current_password"),
    ] {
        for value in ["\u{0}", "Plum-orchard\u{0}-violin-73", "\u{7f}\u{1}\u{2}"] {
            let a = post_json(srv, route, &with(&route.valid, field, json!(value))).await;
            if route.path == "/v1/password/check" {
                assert!(
                    a.status == StatusCode::OK || a.status.is_client_error(),
                    "{}",
                    a.text
                );
            } else {
                a.client_error();
            }
        }
        // Wrong passwords count towards the lockout: clear the count between fields.
        ctx.srv.login(&ctx.email, PASSWORD).await;
    }
    let a = post_json(
        srv,
        login,
        &with(&login.valid, "client_version", json!("1.0.0\u{0}")),
    )
    .await;
    assert!(
        a.status == StatusCode::OK || a.status.is_client_error(),
        "{}",
        a.text
    );
    // A path parameter with NUL and absurd length.
    for id in [
        "%00",
        "abc%00def",
        &"s".repeat(10_000),
        "%FF%FE",
        "..%2F..%2Fetc",
    ] {
        let a = send(raw(
            srv,
            Method::DELETE,
            &format!("/v1/me/sessions/{id}"),
            Some(&ctx.token),
            None,
            "",
        ))
        .await;
        a.client_error();
    }
    still_intact(&ctx).await;
}

async fn device_and_version_fields(b: Backend) {
    let Some(ctx) = setup(b).await else { return };
    let srv = &ctx.srv;
    let login = &routes(&ctx)[1];
    for sub in ["id", "name", "platform"] {
        for value in [
            "n".repeat(10_000),
            "设".repeat(10_000),
            "tab\there".to_owned(),
            "line\nbreak".to_owned(),
        ] {
            let mut body = login.valid.clone();
            body["device"][sub] = json!(value);
            post_json(srv, login, &body)
                .await
                .invalid(&format!("device.{sub}"));
        }
    }
    for value in ["9".repeat(10_000), "1.0.0-".to_owned() + &"x".repeat(100)] {
        post_json(
            srv,
            login,
            &with(&login.valid, "client_version", json!(value)),
        )
        .await
        .invalid("client_version");
    }
    // A long Chinese device name within bounds is fine and shows up in the sessions.
    let mut body = login.valid.clone();
    body["device"]["name"] = json!("王芳的笔记本电脑".repeat(20));
    let a = post_json(srv, login, &body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let (status, sessions) = srv.get("/v1/me/sessions", &ctx.token).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    assert!(
        sessions.to_string().contains("王芳的笔记本电脑"),
        "{sessions}"
    );
    still_intact(&ctx).await;
}

//! IT's admin API (issue 18): the role checks on every route, the helpdesk's journeys
//! (each checked afterwards through the public API, as the person would meet it), the
//! audit record of each action, and bad input. Roles are given as the command line
//! gives them (`latchkey_server::roles::grant`; the command itself is tested in
//! `admin_cli`).

mod import;
mod journeys;
mod locks;
mod policies;
mod routes;

use latchkey_proto::AdminRole;
use latchkey_server::roles;
use latchkey_testkit::api::PASSWORD;
use latchkey_testkit::{Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::totp::{enabled_user, start};

/// The server, an admin and a helpdesk (both with TOTP on), and their tokens.
pub(crate) struct Console {
    pub srv: TestServer,
    pub admin: String,
    pub admin_id: String,
    pub helpdesk: String,
}

pub(crate) async fn console(b: Backend) -> Option<Console> {
    let srv = start(b).await?;
    let admin = enabled_user(&srv, "it.admin@corp.cn").await;
    let helpdesk = enabled_user(&srv, "helpdesk@corp.cn").await;
    grant(&srv, &admin.user_id, AdminRole::Admin).await;
    grant(&srv, &helpdesk.user_id, AdminRole::Helpdesk).await;
    Some(Console {
        srv,
        admin: admin.token,
        admin_id: admin.user_id,
        helpdesk: helpdesk.token,
    })
}

pub(crate) async fn grant(srv: &TestServer, user_id: &str, role: AdminRole) {
    roles::grant(&srv.state.db, user_id, role, srv.state.now())
        .await
        .expect("grant a role");
}

impl Console {
    pub async fn call(&self, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
        self.srv.call(method, path, Some(token), None).await
    }

    /// The audit trail about `user_id`, newest first, as the admin reads it.
    pub async fn audit_of(&self, user_id: &str) -> Vec<Value> {
        let (s, body) = self
            .call(
                &self.admin,
                Method::GET,
                &format!("/admin/v1/audit?user_id={user_id}"),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        body["entries"].as_array().expect("entries").clone()
    }
}

/// A person who signs in with the password (no second factor); their id.
pub(crate) async fn person(srv: &TestServer, email: &str) -> String {
    srv.add_user(email, PASSWORD).await.id
}

//! The database of one test: a fresh SQLite file in the test's folder, or a fresh
//! PostgreSQL database (`LATCHKEY_TEST_POSTGRES_URL`) that is dropped afterwards.

use crate::Backend;

/// A database made for one test. A PostgreSQL one (`lk_test_<random>`) is dropped when
/// this is dropped, also when the test fails.
pub struct TestDatabase {
    pub url: String,
    /// The server's URL and the database's name, for PostgreSQL.
    postgres: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop is synchronous and may run inside the test's runtime or while a failed
        // test unwinds: a plain thread with a runtime of its own does the async work,
        // and a failure is printed, never raised, so that it cannot hide the test's
        // own failure (a panic here during unwinding would abort the run).
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = latchkey_server::db::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                // FORCE ends the connections the test's pool still holds.
                let result = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                admin.close().await;
                result.map(drop).map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("note: could not drop the test database: {e}"),
            Err(_) => eprintln!("note: dropping the test database panicked"),
        }
    }
}

/// A fresh database for one test, or `None` to skip (PostgreSQL not configured): a
/// SQLite file in `dir`, or a new PostgreSQL database that is dropped with the returned
/// value. Panics when `LATCHKEY_TEST_REQUIRE_POSTGRES` is set but no URL is.
pub async fn database(backend: Backend, dir: &tempfile::TempDir) -> Option<TestDatabase> {
    match backend {
        Backend::Sqlite => Some(TestDatabase {
            url: format!("sqlite://{}", dir.path().join("latchkey.db").display()),
            postgres: None,
        }),
        Backend::Postgres => {
            let Ok(url) = std::env::var("LATCHKEY_TEST_POSTGRES_URL") else {
                assert!(
                    std::env::var_os("LATCHKEY_TEST_REQUIRE_POSTGRES").is_none(),
                    "LATCHKEY_TEST_REQUIRE_POSTGRES is set but LATCHKEY_TEST_POSTGRES_URL is not"
                );
                eprintln!("skipping the PostgreSQL run: LATCHKEY_TEST_POSTGRES_URL is not set");
                return None;
            };
            let name = format!("lk_test_{}", latchkey_server::tokens::new_id());
            let admin = latchkey_server::db::connect(&url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .expect("create test database");
            admin.close().await;
            let (base, _) = url.rsplit_once('/').expect("URL has a database");
            let test_url = format!("{base}/{name}");
            Some(TestDatabase {
                url: test_url,
                postgres: Some((url, name)),
            })
        }
    }
}

//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the folder,
//! but cargo only tracks the Rust sources unless told.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

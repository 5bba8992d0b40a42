//! The UI's way into Rust, generated from `src-tauri/command_list.rs`: one
//! `#[tauri::command]` per declaration, which hands its parameters to the function of the
//! same name in [`crate::commands`], and [`handler`], which registers them all. The same
//! declarations give the build script the permissions (and the `ui-commands` set the
//! capability grants) and the `bindings` test the UI's typed contract
//! (`ui/src/bindings/commands.ts`), so the four cannot disagree.
//!
//! Every command is `async` and answers `Result<T, AppError>`: it runs off the main
//! thread, and the UI handles one kind of failure.

use latchkey_proto::{Channel, LauncherApp, MfaMethod, Secret};
use tauri::{AppHandle, State, WebviewWindow};

use crate::commands;
use crate::error::Result;
use crate::state::AppState;
use crate::tray::TrayLabels;
use crate::updates::UpdateOffer;
use crate::view::{
    AccountDetails, ApprovalEvent, CodesSaved, ResetCheck, ResetStarted, ServerInfo,
    SignedInAppView, Start, Step, Strength, TotpSetup,
};

/// The type of a parameter Tauri injects, by its name in the list.
macro_rules! injected {
    (state) => { State<'_, AppState> };
    (app) => { AppHandle };
    (window) => { WebviewWindow };
}

macro_rules! app_commands {
    ($($area:ident {
        $($name:ident ( $($inj:ident),* $(; $($arg:ident : $ty:ty),* $(,)?)? ) -> $answer:ty ;)*
    })*) => {
        $($(
            #[tauri::command]
            async fn $name($($inj: injected!($inj),)* $($($arg: $ty,)*)?) -> Result<$answer> {
                commands::$area::$name($($inj,)* $($($arg,)*)?).await
            }
        )*)*

        /// The invoke handler of every command in the list.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($($name),*),*]
        }

        /// Each command's name, arguments and answer, for `ui/src/bindings/commands.ts`.
        #[cfg(test)]
        pub(crate) fn contract() -> Vec<crate::bindings::Command> {
            use crate::bindings::Command;
            vec![$($(
                Command::new::<$answer>(
                    stringify!($name),
                    vec![$($(Command::arg::<$ty>(stringify!($arg))),*)?],
                ),
            )*)*]
        }
    };
}

include!("command_list.rs");

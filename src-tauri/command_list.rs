// Every command the UI may call, declared once: its name, the parameters Tauri injects
// (before `;`: `state`, `app`, `window`), the arguments the UI sends and what it answers
// (every command may also reject with an `AppError`). The function of the same name in
// `commands::<area>` does the work, with exactly these parameters.
//
// This file is not a module: `src-tauri/build.rs` includes it to generate each command's
// `allow-…` permission and the `ui-commands` set the capability grants, and
// `src-tauri/ipc.rs` includes it to generate the `#[tauri::command]` functions, the
// invoke handler and `ui/src/bindings/commands.ts`, the UI's typed IPC contract. Each
// side defines `app_commands!` its own way before the include.
app_commands! {
    app {
        app_version() -> String;
        app_start(state) -> Start;
        ui_ready(state; screen: String, marks: Option<Vec<(String, f64)>>) -> ();
        open_link(app, state; url: String) -> ();
    }
    server {
        server_test(state; url: String) -> ServerInfo;
        server_save(state; url: String) -> Start;
    }
    sign_in {
        sign_in(state; identifier: String, password: Secret, remember: bool) -> Step;
        second_factor(state; method: MfaMethod, code: Secret) -> Step;
        device_code(state; code: Secret) -> Step;
        forced_change(
            state;
            new_password: Secret,
            totp_code: Option<Secret>,
            recovery_code: Option<Secret>,
        ) -> Step;
        password_strength(state; password: Secret) -> Strength;
        totp_begin(state; password: Option<Secret>) -> TotpSetup;
        totp_confirm(state; code: Secret) -> Vec<String>;
        totp_skip(state) -> Step;
        totp_done(state) -> Step;
    }
    reset {
        reset_start(
            state;
            identifier: String,
            channel: Option<Channel>,
            locale: Option<String>,
        ) -> ResetStarted;
        reset_resend(state) -> ResetStarted;
        reset_verify(state; code: Secret) -> ResetCheck;
        reset_complete(
            state;
            new_password: Secret,
            totp_code: Option<Secret>,
            recovery_code: Option<Secret>,
        ) -> ();
        reset_link_answer(state; open: bool) -> ();
    }
    account {
        account_details(state) -> AccountDetails;
        change_password(state; current_password: Secret, new_password: Secret) -> ();
        totp_disable(state; password: Secret, code: Secret) -> ();
        recovery_codes_regenerate(state; password: Secret) -> Vec<String>;
        recovery_codes_save(window; contents: Secret, title: String) -> CodesSaved;
        session_revoke(state; id: String) -> ();
        sign_out(app, state) -> Step;
        sign_out_everywhere(app, state) -> Step;
        forget_device(app, state) -> Step;
    }
    approval {
        approval_pending(state) -> Option<ApprovalEvent>;
        approval_decide(state; allow: bool, number: Option<u8>) -> ();
        approval_dismiss(state) -> ();
    }
    tray {
        tray_labels(app; labels: TrayLabels) -> ();
    }
    update {
        update_offer(state) -> Option<UpdateOffer>;
        update_check(app, state) -> Option<UpdateOffer>;
        update_install(app, state) -> ();
    }
    launcher {
        launcher_apps(app, state) -> Vec<LauncherApp>;
        launch_app(app, state; client_id: String) -> ();
        signed_in_apps(state) -> Vec<SignedInAppView>;
        signed_in_app_sign_out(state; client_id: String) -> ();
    }
}

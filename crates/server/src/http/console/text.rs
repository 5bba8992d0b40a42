//! The console's words, in English and Simplified Chinese: key, English, Chinese.
//! (The language switch and its label come from the sign-in pages' catalogs.)

use crate::http::oidc::text::Lang;

const TEXT: &[(&str, &str, &str)] = &[
    ("brand", "IT console", "IT 管理台"),
    ("nav", "Sections", "栏目"),
    ("nav.users", "Users", "用户"),
    ("nav.audit", "Audit trail", "审计记录"),
    ("nav.policies", "Policies", "策略"),
    ("policy.two_factor.required", "Two-step verification required: off, admins or everyone", "强制两步验证：off（关闭）、admins（仅管理员）或 everyone（所有人）"),
    ("policy.two_factor.grace_days", "Days to set it up before it is required at sign-in", "登录时强制设置前的宽限天数"),
    ("policy.password.min_length", "Shortest password (characters)", "密码最短长度（字符）"),
    ("policy.password.min_score", "Lowest strength score (0–4)", "最低强度评分（0–4）"),
    ("policy.password.min_classes", "Character kinds required (0–4: lower, upper, digit, other)", "须包含的字符类别数（0–4：小写、大写、数字、其他）"),
    ("policy.password.history", "Earlier passwords that may not be reused", "不可重复使用的历史密码个数"),
    ("policy.password.expiry_days", "Days before a password expires (0: never)", "密码有效天数（0：永不过期）"),
    ("policy.password.expiry_warning_days", "Days before expiry that the app warns", "过期前几天开始在应用中提醒"),
    ("policy.lockout.threshold", "Failed sign-ins that lock the account", "锁定账户前允许的失败登录次数"),
    ("policy.lockout.base_seconds", "First lock (seconds; each next one doubles)", "首次锁定时长（秒；之后每次加倍）"),
    ("policy.lockout.max_seconds", "Longest lock (seconds)", "最长锁定时长（秒）"),
    ("policy.lockout.notify_user", "Tell the person when their account is locked (true/false)", "账户被锁定时通知本人（true/false）"),
    ("policy.lockout.summary_to", "Daily summary of locked accounts to (e-mail address)", "每日锁定账户汇总发送至（电子邮箱）"),
    ("policy.offline.days", "Days the app may sign in offline (0: never)", "应用可离线登录的天数（0：不允许）"),
    ("policy.offline.max_attempts", "Wrong passwords allowed offline", "离线时允许的错误密码次数"),
    ("policy.devices.verify_new", "Code for sign-ins from a new device (true/false)", "新设备登录须验证码（true/false）"),
    ("policy.sessions.refresh_ttl_seconds", "Sign-in kept while unused (seconds)", "未使用时保持登录的时长（秒）"),
    ("policy.sessions.absolute_ttl_seconds", "Longest sign-in, however used (seconds)", "登录最长有效期（秒）"),
    ("policy.retention.activity_days", "Days activity is kept", "活动记录保留天数"),
    ("policy.retention.audit_days", "Days the audit trail is kept (0: for good)", "审计记录保留天数（0：永久保留）"),
    ("nav.maintenance", "Maintenance", "维护"),
    ("maintenance.title", "Maintenance", "维护模式"),
    ("maintenance.off_lead", "Sign-in is open. During maintenance the app and the sign-in pages show your message and nobody can sign in or change anything; this console stays open.", "当前可正常登录。维护期间，应用和登录页面会显示您的说明，任何人都无法登录或修改账户；本管理台仍可使用。"),
    ("maintenance.on_lead", "Maintenance is on: nobody can sign in. Message shown: “{message}”.", "维护模式已开启：任何人都无法登录。显示的说明：“{message}”。"),
    ("maintenance.message", "Message for the people signing in", "向登录用户显示的说明"),
    ("maintenance.until", "Expected end (optional, RFC 3339, e.g. 2026-12-01T08:00:00+08:00)", "预计结束时间（可选，RFC 3339 格式，例如 2026-12-01T08:00:00+08:00）"),
    ("maintenance.on", "Turn maintenance on", "开启维护模式"),
    ("maintenance.off", "Turn maintenance off", "关闭维护模式"),
    ("maintenance.off_explain", "Sign-in opens again for everyone at once.", "所有人将立即恢复登录。"),
    ("policies.title", "Policies", "策略"),
    ("policies.lead", "What IT may set here, by its key in the configuration file. Leave a field empty for the default. A value set in the configuration file or the environment wins over this page: such fields say so. Every server applies a change within a second.", "此处可设置的项目，以配置文件中的键名列出。留空即使用默认值。配置文件或环境变量中设置的值优先于本页：相应字段会注明。所有服务器会在一秒内应用更改。"),
    ("policies.submit", "Save policies", "保存策略"),
    ("policies.saved", "Saved. Every server applies it within a second.", "已保存。所有服务器会在一秒内生效。"),
    ("policies.source.default", "In force: {value} (default)", "当前生效：{value}（默认值）"),
    ("policies.source.console", "In force: {value} (set here)", "当前生效：{value}（在此设置）"),
    ("policies.source.file", "In force: {value}, from the configuration file, which wins over this page", "当前生效：{value}，来自配置文件，优先于本页"),
    ("policies.source.environment", "In force: {value}, from an environment variable, which wins over this page", "当前生效：{value}，来自环境变量，优先于本页"),
    ("signed_in_as", "Signed in as {who} ({role})", "当前登录：{who}（{role}）"),
    ("role.helpdesk", "helpdesk", "服务台"),
    ("role.admin", "admin", "管理员"),
    ("sign_out", "Sign out", "退出登录"),
    ("signed_out", "You are signed out of the console.", "您已退出管理台。"),
    ("sign_in_again", "Sign in to the console", "登录管理台"),
    ("users.title", "Users", "用户"),
    ("users.lead", "Find a person by e-mail, phone, username or name, see why they cannot sign in, and fix it.", "按邮箱、手机号、用户名或姓名查找用户，查看无法登录的原因并处理。"),
    ("search.label", "E-mail, phone, username or name", "邮箱、手机号、用户名或姓名"),
    ("search.button", "Search", "搜索"),
    ("users.caption", "{total} accounts", "共 {total} 个账户"),
    ("users.empty", "No account matches.", "没有匹配的账户。"),
    ("col.name", "Name", "姓名"),
    ("col.email", "E-mail", "邮箱"),
    ("col.phone", "Phone", "手机号"),
    ("col.username", "Username", "用户名"),
    ("col.status", "Status", "状态"),
    ("col.device", "Device", "设备"),
    ("col.address", "Address", "IP 地址"),
    ("col.last_used", "Last used", "最近使用"),
    ("col.since", "Signed in", "登录时间"),
    ("col.when", "When", "时间"),
    ("col.what", "What", "事件"),
    ("col.result", "Result", "结果"),
    ("col.who", "Who", "操作人"),
    ("col.account", "Account", "账户"),
    ("col.changes", "Changes", "变更"),
    ("page.next", "Next page", "下一页"),
    ("page.previous", "Previous page", "上一页"),
    ("status.ok", "Can sign in", "可以登录"),
    ("status.disabled", "Disabled by IT", "已被 IT 停用"),
    ("status.locked", "Locked after failed sign-ins until {time}", "多次登录失败，锁定至 {time}"),
    ("status.temporary", "Must choose a new password at the next sign-in", "下次登录时须设置新密码"),
    ("status.expired", "Password expired", "密码已过期"),
    ("status.no_codes", "Two-step verification on, but no recovery codes left: if the phone is lost, reset two-step verification", "已开启两步验证，但恢复码已用完：如手机丢失，请重置两步验证"),
    ("status.two_factor_due", "Must set up two-step verification (required by IT) by {time}; after that, at the next sign-in", "须在 {time} 前设置两步验证（IT 要求）；之后将在下次登录时要求设置"),
    ("status.device_code", "Signing in from a new device: waiting for the code sent by e-mail or SMS (valid until {time})", "正在从新设备登录：等待输入通过邮件或短信发送的验证码（有效期至 {time}）"),
    ("status.maintenance", "Nobody can sign in: maintenance", "系统维护中，所有人都无法登录"),
    ("fact.status", "Status", "状态"),
    ("fact.two_factor", "Two-step verification", "两步验证"),
    ("fact.two_factor_on", "On ({left} recovery codes left)", "已开启（剩余 {left} 个恢复码）"),
    ("fact.two_factor_off", "Off", "未开启"),
    ("fact.password_expires", "Password expires", "密码到期"),
    ("fact.never", "Never", "永不"),
    ("fact.role", "Console role", "管理台角色"),
    ("fact.none", "None", "无"),
    ("fact.created", "Created", "创建时间"),
    ("actions", "Fix it", "处理"),
    ("sessions.caption", "Signed-in devices", "已登录的设备"),
    ("sessions.empty", "Not signed in anywhere.", "没有已登录的设备。"),
    ("activity.caption", "Recent activity", "最近活动"),
    ("activity.empty", "No activity yet.", "暂无活动。"),
    ("audit.title", "Audit trail", "审计记录"),
    ("audit.lead", "Every action of IT, newest first. Export it for a SIEM with latchkey-server audit export.", "IT 的每一项操作，最新的在前。可用 latchkey-server audit export 导出给 SIEM。"),
    ("audit.caption", "The newest {n} actions", "最近 {n} 项操作"),
    ("audit.empty", "No action yet.", "暂无操作。"),
    ("audit.command_line", "command line", "命令行"),
    ("cancel", "Cancel", "取消"),
    ("back_to_users", "Back to the users", "返回用户列表"),
    ("action.unlock", "Unlock", "解除锁定"),
    ("action.unlock.question", "Unlock {who}?", "解除 {who} 的锁定？"),
    ("action.unlock.explain", "The lock of every identifier of the account is lifted: they can try to sign in at once.", "解除该账户所有标识的登录锁定，对方可以立即重新登录。"),
    ("action.unlock.done", "Unlocked.", "已解除锁定。"),
    ("action.temporary-password", "Set a temporary password", "设置临时密码"),
    ("action.temporary-password.question", "Set a temporary password for {who}?", "为 {who} 设置临时密码？"),
    ("action.temporary-password.explain", "Their password stops working and they are signed out everywhere. You get a temporary password to give them; they choose their own at the next sign-in.", "对方的现有密码将失效，并在所有设备上退出登录。您将得到一个临时密码交给对方；对方下次登录时须设置自己的新密码。"),
    ("action.temporary-password.done", "Give {who} this temporary password. It is shown only now:", "请把这个临时密码交给 {who}。它只显示这一次："),
    ("action.reset-two-factor", "Reset two-step verification", "重置两步验证"),
    ("action.reset-two-factor.question", "Reset the two-step verification of {who}?", "重置 {who} 的两步验证？"),
    ("action.reset-two-factor.explain", "For someone who lost the phone with the authenticator and the recovery codes. Make sure it is really them first. They sign in with the password alone and set it up again.", "适用于丢失了装有身份验证器的手机和恢复码的用户。请先确认对方身份。之后对方只凭密码登录，并重新设置两步验证。"),
    ("action.reset-two-factor.done", "Two-step verification is off; they will set it up again.", "两步验证已关闭，对方将重新设置。"),
    ("action.revoke-sessions", "Sign out everywhere", "在所有设备上退出"),
    ("action.revoke-sessions.question", "Sign {who} out everywhere?", "让 {who} 在所有设备上退出登录？"),
    ("action.revoke-sessions.explain", "Every device and every application signed in through Latchkey is signed out: for a lost or stolen computer or phone.", "所有设备以及通过 Latchkey 登录的所有应用都将退出登录：适用于电脑或手机丢失、被盗的情况。"),
    ("action.revoke-sessions.done", "Signed out everywhere.", "已在所有设备上退出登录。"),
    ("action.disable", "Disable the account", "停用账户"),
    ("action.disable.question", "Disable the account of {who}?", "停用 {who} 的账户？"),
    ("action.disable.explain", "They are signed out everywhere and cannot sign in until the account is enabled again: for someone who left.", "对方将在所有设备上退出登录，在重新启用之前无法登录：适用于已离职的人员。"),
    ("action.disable.done", "The account is disabled.", "账户已停用。"),
    ("action.enable", "Enable the account", "启用账户"),
    ("action.enable.question", "Enable the account of {who} again?", "重新启用 {who} 的账户？"),
    ("action.enable.explain", "They can sign in again with their password.", "对方可以重新用密码登录。"),
    ("action.enable.done", "The account is enabled.", "账户已启用。"),
    ("action.edit", "Change name, e-mail or phone", "修改姓名、邮箱或手机号"),
    ("action.edit.lead", "An empty field is removed (one of e-mail, phone and username must stay). When the e-mail address or phone number changes, the old one is told.", "清空的字段将被删除（邮箱、手机号、用户名至少保留一项）。更改邮箱或手机号时，会通知原来的地址。"),
    ("action.edit.submit", "Save", "保存"),
    ("action.edit.done", "Saved.", "已保存。"),
    ("action.delete", "Delete the account", "删除账户"),
    ("action.delete.question", "Delete the account of {who}?", "删除 {who} 的账户？"),
    ("action.delete.explain", "The account and the personal data kept about it (devices, activity, second factors, queued messages) are erased; this cannot be undone. The audit trail keeps what was done, without the name. To keep the data, disable the account instead.", "账户及其个人数据（设备、活动记录、两步验证、待发送消息）将被清除，且无法恢复。审计记录会保留操作，但不含姓名。如需保留数据，请改为停用账户。"),
    ("action.delete.done", "The account is deleted.", "账户已删除。"),
    ("new.link", "New account", "新建账户"),
    ("new.title", "New account", "新建账户"),
    ("new.lead", "At least an e-mail, a phone or a username. The person gets a temporary password from you and chooses their own at the first sign-in.", "至少填写邮箱、手机号或用户名之一。请把临时密码交给对方，对方首次登录时须设置自己的密码。"),
    ("new.submit", "Create the account", "创建账户"),
    ("new.done", "Account created. Give {who} this temporary password; it is shown only now:", "账户已创建。请把这个临时密码交给 {who}；它只显示这一次："),
    ("field.locale", "Language of messages (zh-CN or en)", "消息语言（zh-CN 或 en）"),
    ("field.organisation", "Organisation", "部门"),
    ("import.link", "Import from CSV", "从 CSV 导入"),
    ("import.title", "Import accounts from CSV", "从 CSV 导入账户"),
    ("import.lead", "A header line naming the columns (email, phone, username, name, organisation, locale), then one account a line, at most 1,000. Check first: a file with any wrong line creates nothing, and accounts that exist already are left alone.", "第一行为列名（email、phone、username、name、organisation、locale），之后每行一个账户，最多 1000 行。请先检查：只要有一行有误，就不会创建任何账户；已存在的账户保持不变。"),
    ("import.csv", "CSV text", "CSV 内容"),
    ("import.dry_run", "Only check, create nothing", "只检查，不创建"),
    ("import.submit", "Import", "导入"),
    ("import.summary", "{created} created, {existing} already there, {errors} wrong lines", "已创建 {created} 个，已存在 {existing} 个，错误 {errors} 行"),
    ("import.summary_dry", "Checked: {would} to create, {existing} already there, {errors} wrong lines", "检查结果：将创建 {would} 个，已存在 {existing} 个，错误 {errors} 行"),
    ("import.caption", "Line by line", "逐行结果"),
    ("col.line", "Line", "行"),
    ("col.password", "Temporary password", "临时密码"),
    ("import.status.created", "created", "已创建"),
    ("import.status.would_create", "to create", "将创建"),
    ("import.status.exists", "already there", "已存在"),
    ("import.status.error", "wrong", "有误"),
    ("error.invalid", "Check the field {field}: {why}", "请检查字段 {field}：{why}"),
    ("error.exists", "Another account has this e-mail, phone or username.", "已有其他账户使用此邮箱、手机号或用户名。"),
    ("error.title", "The console cannot continue", "管理台无法继续"),
    ("error.no_role", "Your account has no role in the console. Ask an administrator (latchkey-server admin grant).", "您的账户没有管理台角色。请联系管理员（latchkey-server admin grant）。"),
    ("error.two_factor", "Turn on two-step verification for your account (in the Latchkey app) before using the console.", "使用管理台前，请先为您的账户开启两步验证（在 Latchkey 应用中）。"),
    ("error.forbidden", "Your role does not allow this.", "您的角色无权执行此操作。"),
    ("error.not_found", "There is no such account (any more).", "该账户不存在（或已被删除）。"),
    ("error.own_account", "You cannot disable your own account.", "您不能停用自己的账户。"),
    ("error.csrf", "This form is out of date. Go back, reload the page and try again.", "此表单已过期。请返回、刷新页面后重试。"),
    ("error.no_issuer", "The console signs you in through Latchkey's sign-in pages: set [oidc] issuer (LATCHKEY_OIDC__ISSUER) first.", "管理台通过 Latchkey 的登录页面登录：请先设置 [oidc] issuer（LATCHKEY_OIDC__ISSUER）。"),
    ("error.sign_in", "The sign-in did not complete. Try again.", "登录未完成，请重试。"),
    ("error.other", "It did not work ({code}). Try again; if it goes on, look at the server's log.", "操作失败（{code}）。请重试；如果仍然失败，请查看服务器日志。"),
];

/// The console's text of `key` in `lang` (the key itself if missing: a test keeps that
/// from happening).
pub fn c(lang: Lang, key: &str) -> String {
    TEXT.iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, en, zh)| match lang {
            Lang::En => (*en).to_owned(),
            Lang::ZhCn => (*zh).to_owned(),
        })
        .unwrap_or_else(|| key.to_owned())
}

/// [`c`] with `{name}` placeholders filled.
pub fn cf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = c(lang, key);
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_once_and_has_both_languages() {
        let mut keys: Vec<&str> = TEXT.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a key is twice");
        for (k, en, zh) in TEXT {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
            // The same placeholders in both.
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(zh), "{k}");
        }
    }

    #[test]
    fn every_policy_has_a_name_in_both_languages() {
        for key in crate::policy::KEYS {
            let name = format!("policy.{key}");
            assert!(TEXT.iter().any(|(k, _, _)| *k == name), "{name}");
        }
    }
}

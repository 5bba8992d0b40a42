//! The words of the browser pages, in English and Simplified Chinese.
//!
//! Most come from the desktop app's catalogs (`ui/src/i18n/*.json`), so that a field,
//! a step and an error are called the same in the app and in the browser; the few
//! that only a browser page needs are in [`WEB`]. A test checks that every key the
//! pages use exists in both languages.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub fn parse(tag: &str) -> Option<Self> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "en" || t.starts_with("en-") {
            Some(Lang::En)
        } else if t == "zh" || t.starts_with("zh-") {
            Some(Lang::ZhCn)
        } else {
            None
        }
    }

    /// The first language of `Accept-Language` (or `ui_locales`) the pages have.
    pub fn negotiate(list: &str) -> Option<Self> {
        list.split([',', ' '])
            .map(|part| part.split(';').next().unwrap_or(""))
            .find_map(Self::parse)
    }
}

/// Strings only the browser pages need: key, English, Chinese.
const WEB: &[(&str, &str, &str)] = &[
    ("web.continue_to", "to continue to {app}", "以继续使用 {app}"),
    ("web.consent_title", "Allow {app}?", "允许 {app} 访问？"),
    ("web.consent_lead", "{app} asks to receive:", "{app} 请求获取以下信息："),
    ("web.scope.openid", "Who you are (an id that never changes)", "您的身份（一个不变的编号）"),
    ("web.scope.profile", "Your name and user name", "您的姓名和用户名"),
    ("web.scope.email", "Your e-mail address", "您的邮箱地址"),
    ("web.scope.phone", "Your phone number", "您的手机号"),
    ("web.scope.offline_access", "Access while you are away, until you take it back", "在您离开时继续访问，直到您撤销"),
    ("web.allow", "Allow", "允许"),
    ("web.deny", "Deny", "拒绝"),
    ("web.error_title", "Sign-in cannot continue", "无法继续登录"),
    ("web.bad_client", "This application is not registered with Latchkey. Tell your IT department which link you opened.", "此应用未在 Latchkey 登记。请告诉 IT 部门您打开的是哪个链接。"),
    ("web.bad_redirect", "The application asked to send you to an address it did not register. For your safety, the sign-in stops here.", "该应用要求把您转到一个未登记的地址。为了您的安全，登录到此为止。"),
    ("web.bad_request", "The application sent a request Latchkey cannot read. Go back to the application and try again.", "应用发来的请求无法识别。请返回应用重试。"),
    ("web.expired", "This sign-in page has expired. Go back to the application and start again.", "此登录页面已过期。请返回应用重新开始。"),
    ("web.csrf", "This form expired or was sent from another site. Try again.", "表单已过期或来自其他网站，请重试。"),
    ("web.signed_out_title", "Signed out", "已退出登录"),
    ("web.signed_out_lead", "You are signed out of Latchkey in this browser, and what the applications you opened with it received is revoked. An application that keeps its own session may show you as signed in until it checks again.", "您已在此浏览器中退出 Latchkey，通过它打开的应用所获得的令牌已被撤销。自行保存会话的应用可能在下次检查前仍显示您已登录。"),
    ("web.back_to_app", "Back to the application", "返回应用"),
    ("web.logout_title", "Sign out?", "退出登录？"),
    ("web.logout_lead", "Sign out of Latchkey and its applications in this browser?", "要在此浏览器中退出 Latchkey 及其应用吗？"),
    ("web.logout_submit", "Sign out", "退出登录"),
    ("web.policy_needs_2fa", "Your organisation requires two-step verification before you can sign in to {app}. Set it up in the Latchkey app (it asks you at sign-in), then sign in again.", "贵单位要求开启两步验证后才能登录 {app}。请在 Latchkey 应用中完成设置（登录时会提示您），然后重新登录。"),
    ("web.needs_2fa", "{app} requires two-step verification. Turn it on in the Latchkey app (Account, Two-step verification), then sign in again.", "{app} 要求两步验证。请在 Latchkey 应用中开启（账户 → 两步验证），然后重新登录。"),
    ("web.sign_in_again", "Sign in again", "重新登录"),
    ("web.device_lead", "This is the first time you sign in with this browser. To be sure it is you, enter the code we just sent.", "这是您首次在此浏览器中登录。为确认是您本人，请输入我们刚刚发送的验证码。"),
    ("web.signed_in_as", "Signed in as {name}", "已登录为 {name}"),
    ("web.not_you", "Not you? Sign in as someone else", "不是您？换个账号登录"),
    ("web.reset_code_lead", "If an account matches {identifier}, we sent it a code. It is valid for {time}.", "如果有账号与 {identifier} 匹配，我们已向其发送验证码，{time}内有效。"),
    ("web.continue_with_app", "Continue with the Latchkey app", "使用 Latchkey 应用继续"),
    ("web.approval_title", "Approve in the Latchkey app", "在 Latchkey 应用中批准"),
    ("web.approval_lead", "Open the Latchkey app on this computer, signed in, and pick this number:", "请在这台电脑上打开已登录的 Latchkey 应用，并选择这个数字："),
    ("web.approval_open", "Open the Latchkey app", "打开 Latchkey 应用"),
    ("web.approval_waiting", "This page waits for the app for 2 minutes. If nothing happens, the app is not running, not signed in, or offline: open it and sign in, or cancel and use your password.", "此页面将等待应用 2 分钟。如果没有反应，说明应用未运行、未登录或处于离线状态：请打开应用并登录，或取消并改用密码。"),
    ("web.approval_denied", "The sign-in was denied in the Latchkey app.", "该登录已在 Latchkey 应用中被拒绝。"),
    ("web.approval_mismatch", "The number picked in the Latchkey app was not this page's, so the request was cancelled. Try again, or use your password.", "在 Latchkey 应用中选择的数字与本页面不符，请求已取消。请重试，或改用密码。"),
    ("web.approval_expired", "The Latchkey app did not answer in time. Try again, or use your password.", "Latchkey 应用未及时响应。请重试，或改用密码。"),
    ("web.launch_invalid", "This link has expired or was already used. Open the application again from the Latchkey app.", "此链接已过期或已被使用。请从 Latchkey 应用重新打开该应用。"),
    ("web.locked_until", "You can try again at {time} (UTC).", "您可以在 {time}（UTC）后重试。"),
];

type Catalog = HashMap<String, String>;

fn catalogs() -> &'static (Catalog, Catalog) {
    static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        let parse = |json: &str| -> Catalog { serde_json::from_str(json).unwrap_or_default() };
        let mut en = parse(include_str!("../../../../../ui/src/i18n/en.json"));
        let mut zh = parse(include_str!("../../../../../ui/src/i18n/zh-CN.json"));
        for (key, e, z) in WEB {
            en.insert((*key).to_owned(), (*e).to_owned());
            zh.insert((*key).to_owned(), (*z).to_owned());
        }
        (en, zh)
    })
}

/// The text of `key` in `lang` (the key itself if it is missing: a test keeps that
/// from happening).
pub fn t(lang: Lang, key: &str) -> String {
    let (en, zh) = catalogs();
    let catalog = match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    };
    catalog
        .get(key)
        .or_else(|| en.get(key))
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

/// [`t`] with `{name}` placeholders filled.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key);
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// Whether `key` exists in both languages.
pub fn has(key: &str) -> bool {
    let (en, zh) = catalogs();
    en.contains_key(key) && zh.contains_key(key)
}

/// A duration for messages such as "try again in {time}".
pub fn duration(lang: Lang, seconds: u64) -> String {
    if seconds < 120 {
        tf(lang, "time.seconds", &[("n", &seconds.to_string())])
    } else if seconds < 2 * 3600 {
        tf(
            lang,
            "time.minutes",
            &[("n", &seconds.div_ceil(60).to_string())],
        )
    } else {
        tf(
            lang,
            "time.hours",
            &[("n", &seconds.div_ceil(3600).to_string())],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_negotiated() {
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::ZhCn));
        assert_eq!(Lang::negotiate("fr-FR, en-GB;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::negotiate("zh-TW"), Some(Lang::ZhCn));
        assert_eq!(Lang::negotiate("fr"), None);
        assert_eq!(Lang::negotiate(""), None);
    }

    #[test]
    fn web_strings_exist_in_both_languages_and_placeholders_match() {
        for (key, en, zh) in WEB {
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(zh), "{key}");
            assert!(!en.is_empty() && !zh.is_empty(), "{key}");
        }
        assert_eq!(t(Lang::ZhCn, "signin.title"), "登录");
        assert_eq!(
            tf(Lang::En, "web.consent_title", &[("app", "CRM")]),
            "Allow CRM?"
        );
        assert_eq!(
            duration(Lang::En, 300),
            t(Lang::En, "time.minutes").replace("{n}", "5")
        );
    }
}

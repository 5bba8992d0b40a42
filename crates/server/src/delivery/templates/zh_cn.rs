//! The Chinese (zh-CN) texts.

use super::Para::{Code, Link, Text};
use super::{beijing_time, clean, Texts};
use crate::delivery::MessageKind;

pub(super) fn texts(kind: &MessageKind) -> Texts {
    let footer = "这是系统自动发送的邮件，请勿回复。如有疑问，请联系您的 IT 管理员。";
    match kind {
        MessageKind::ResetCode {
            code,
            link,
            minutes,
        } => {
            let code = code.expose();
            let mut p = vec![
                Text("您正在重置密码。验证码：".into()),
                Code(code.into()),
                Text(format!("验证码 {minutes} 分钟内有效，只能使用一次。")),
            ];
            if let Some(link) = link {
                p.push(Text(
                    "也可以点击下面的链接，在 Latchkey 中直接重置：".into(),
                ));
                p.push(Link(link.expose().into()));
            }
            p.push(Text(
                "如果不是您本人操作，请忽略本邮件，您的密码不会改变；请勿把验证码告诉任何人。"
                    .into(),
            ));
            Texts {
                title: "密码重置验证码",
                paragraphs: p,
                footer,
                sms: format!("密码重置验证码 {code}，{minutes} 分钟内有效。请勿告诉他人。"),
            }
        }
        MessageKind::DeviceCode { code, minutes } => {
            let code = code.expose();
            Texts {
                title: "新设备登录验证码",
                paragraphs: vec![
                    Text("您正在一台新设备上登录。验证码：".into()),
                    Code(code.into()),
                    Text(format!("验证码 {minutes} 分钟内有效。")),
                    Text(
                        "如果不是您本人操作，说明有人知道您的密码：请立即修改密码并联系 IT 管理员。"
                            .into(),
                    ),
                ],
                footer,
                sms: format!("新设备登录验证码 {code}，{minutes} 分钟内有效。请勿告诉他人。"),
            }
        }
        MessageKind::PasswordChanged => Texts {
            title: "您的密码已修改",
            paragraphs: vec![
                Text("您的账户密码刚刚被修改，所有设备上的登录都已退出。".into()),
                Text("如果不是您本人操作，请立即联系 IT 管理员。".into()),
            ],
            footer,
            sms: "您的密码已修改。如非本人操作，请立即联系 IT 管理员。".into(),
        },
        MessageKind::NewDeviceSignIn {
            device_name,
            ip,
            at,
        } => {
            let when = beijing_time(*at);
            let ip = ip.as_deref().map(clean).unwrap_or_else(|| "未知".into());
            let device = clean(device_name);
            Texts {
                title: "新设备登录提醒",
                paragraphs: vec![
                    Text("您的账户在一台新设备上登录：".into()),
                    Text(format!("设备：{device}")),
                    Text(format!("IP 地址：{ip}")),
                    Text(format!("时间：{when}（北京时间）")),
                    Text("如果不是您本人操作，请立即修改密码并联系 IT 管理员。".into()),
                ],
                footer,
                sms: format!(
                    "您的账户于 {when} 在新设备“{device}”上登录。如非本人操作，请立即修改密码。"
                ),
            }
        }
        MessageKind::TotpEnabled => Texts {
            title: "已开启两步验证",
            paragraphs: vec![
                Text("您的账户已开启两步验证（身份验证器应用）。请妥善保管恢复码。".into()),
                Text("如果不是您本人操作，请立即联系 IT 管理员。".into()),
            ],
            footer,
            sms: "您的账户已开启两步验证。如非本人操作，请立即联系 IT 管理员。".into(),
        },
        MessageKind::TotpDisabled => Texts {
            title: "已关闭两步验证",
            paragraphs: vec![
                Text("您的账户已关闭两步验证，现在只凭密码即可登录。".into()),
                Text("如果不是您本人操作，请立即修改密码并联系 IT 管理员。".into()),
            ],
            footer,
            sms: "您的账户已关闭两步验证。如非本人操作，请立即修改密码。".into(),
        },
        MessageKind::ContactChanged { phone } => {
            let what = if *phone {
                "手机号码"
            } else {
                "电子邮箱"
            };
            Texts {
                title: if *phone {
                    "您账户的手机号码已更改"
                } else {
                    "您账户的电子邮箱已更改"
                },
                paragraphs: vec![
                    Text(format!(
                        "IT 管理员更改了您账户的{what}。今后有关您账户的消息将发送到新的{what}，不再发送到这里。"
                    )),
                    Text("如果这不是您申请的，请立即联系 IT 管理员。".into()),
                ],
                footer,
                sms: format!("您账户的{what}已被 IT 更改。如非本人申请，请立即联系 IT 管理员。"),
            }
        }
        MessageKind::AccountLocked { minutes } => Texts {
            title: "您的账户因多次登录失败已被锁定",
            paragraphs: vec![
                Text(format!(
                    "有人多次输入了错误的密码或验证码，您的账户已被锁定 {minutes} 分钟。到时会自动解锁；您之前登录过的设备不受影响。"
                )),
                Text("如果不是您本人操作，可能有人在猜测您的密码：恢复登录后请更换更强的密码，并告知 IT 管理员。".into()),
            ],
            footer,
            sms: format!("您的账户因多次登录失败被锁定 {minutes} 分钟。如非本人操作，请告知 IT。"),
        },
        MessageKind::LockSummary { accounts } => Texts {
            title: "过去 24 小时因登录失败被锁定的账户",
            paragraphs: std::iter::once(Text(format!(
                "过去 24 小时内有 {} 个账户因多次登录失败被锁定：",
                accounts.len()
            )))
            .chain(accounts.iter().map(|a| Text(format!("- {a}"))))
            .collect(),
            footer,
            sms: format!("过去 24 小时内有 {} 个账户因登录失败被锁定。", accounts.len()),
        },
    }
}

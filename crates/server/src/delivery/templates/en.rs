//! The English texts, also used for every locale but Chinese.

use super::Para::{Code, Link, Text};
use super::{clean, utc_time, Texts};
use crate::delivery::MessageKind;

pub(super) fn texts(kind: &MessageKind) -> Texts {
    let footer = "This message was sent automatically; please do not reply. \
                  If you have questions, contact your IT administrator.";
    match kind {
        MessageKind::ResetCode {
            code,
            link,
            minutes,
        } => {
            let code = code.expose();
            let mut p = vec![
                Text("You asked to reset your password. Your code is:".into()),
                Code(code.into()),
                Text(format!(
                    "The code is valid for {minutes} minutes and can be used once."
                )),
            ];
            if let Some(link) = link {
                p.push(Text("Or open this link to reset it in Latchkey:".into()));
                p.push(Link(link.expose().into()));
            }
            p.push(Text(
                "If this wasn't you, ignore this e-mail: your password stays the same. \
                 Never tell anyone this code."
                    .into(),
            ));
            Texts {
                title: "Your password reset code",
                paragraphs: p,
                footer,
                sms: format!("Password reset code {code}, valid {minutes} min. Never share it."),
            }
        }
        MessageKind::DeviceCode { code, minutes } => {
            let code = code.expose();
            Texts {
                title: "Your sign-in code for a new device",
                paragraphs: vec![
                    Text("You are signing in on a new device. Your code is:".into()),
                    Code(code.into()),
                    Text(format!("The code is valid for {minutes} minutes.")),
                    Text(
                        "If this wasn't you, someone knows your password: change it now \
                         and contact your IT administrator."
                            .into(),
                    ),
                ],
                footer,
                sms: format!(
                    "New device sign-in code {code}, valid {minutes} min. Never share it."
                ),
            }
        }
        MessageKind::PasswordChanged => Texts {
            title: "Your password was changed",
            paragraphs: vec![
                Text(
                    "The password of your account was just changed, and every device was \
                     signed out."
                        .into(),
                ),
                Text("If this wasn't you, contact your IT administrator now.".into()),
            ],
            footer,
            sms: "Your password was changed. If this wasn't you, contact IT now.".into(),
        },
        MessageKind::NewDeviceSignIn {
            device_name,
            ip,
            at,
        } => {
            let when = utc_time(*at);
            let ip = ip.as_deref().map(clean).unwrap_or_else(|| "unknown".into());
            let device = clean(device_name);
            Texts {
                title: "New sign-in to your account",
                paragraphs: vec![
                    Text("Your account was signed in on a new device:".into()),
                    Text(format!("Device: {device}")),
                    Text(format!("IP address: {ip}")),
                    Text(format!("Time: {when}")),
                    Text(
                        "If this wasn't you, change your password now and contact your IT \
                         administrator."
                            .into(),
                    ),
                ],
                footer,
                sms: format!(
                    "New sign-in on \"{device}\" at {when}. If this wasn't you, change your password."
                ),
            }
        }
        MessageKind::TotpEnabled => Texts {
            title: "Two-step verification is on",
            paragraphs: vec![
                Text(
                    "Two-step verification with an authenticator app is now on for your \
                     account. Keep your recovery codes safe."
                        .into(),
                ),
                Text("If this wasn't you, contact your IT administrator now.".into()),
            ],
            footer,
            sms: "Two-step verification is now on. If this wasn't you, contact IT now.".into(),
        },
        MessageKind::TotpDisabled => Texts {
            title: "Two-step verification is off",
            paragraphs: vec![
                Text(
                    "Two-step verification was turned off for your account: the password \
                     alone now signs in."
                        .into(),
                ),
                Text(
                    "If this wasn't you, change your password now and contact your IT \
                     administrator."
                        .into(),
                ),
            ],
            footer,
            sms: "Two-step verification was turned off. If this wasn't you, change your password."
                .into(),
        },
        MessageKind::ContactChanged { phone } => {
            let what = if *phone {
                "phone number"
            } else {
                "e-mail address"
            };
            Texts {
                title: if *phone {
                    "Your account's phone number was changed"
                } else {
                    "Your account's e-mail address was changed"
                },
                paragraphs: vec![
                    Text(format!(
                        "Your IT administrator changed the {what} of your account. Messages \
                         about your account now go to the new one, not to this one."
                    )),
                    Text(
                        "If you did not ask for this, contact your IT administrator now."
                            .into(),
                    ),
                ],
                footer,
                sms: format!(
                    "The {what} of your account was changed by IT. If you did not ask for this, contact IT now."
                ),
            }
        }
        MessageKind::AccountLocked { minutes } => Texts {
            title: "Your account was locked after failed sign-ins",
            paragraphs: vec![
                Text(format!(
                    "Several wrong passwords or codes were tried for your account, so it is \
                     locked for {minutes} minutes. It unlocks by itself; the devices you \
                     signed in on before keep working."
                )),
                Text(
                    "If this wasn't you, someone may be guessing your password: choose a \
                     stronger one once you are back in, and tell your IT administrator."
                        .into(),
                ),
            ],
            footer,
            sms: format!("Your account was locked for {minutes} min after failed sign-ins. If this wasn't you, tell IT."),
        },
        MessageKind::LockSummary { accounts } => Texts {
            title: "Accounts locked by failed sign-ins, the last 24 hours",
            paragraphs: std::iter::once(Text(format!(
                "{} account(s) were locked after failed sign-ins in the last 24 hours:",
                accounts.len()
            )))
            .chain(accounts.iter().map(|a| Text(format!("- {a}"))))
            .collect(),
            footer,
            sms: format!("{} account(s) locked by failed sign-ins in the last 24 hours.", accounts.len()),
        },
    }
}

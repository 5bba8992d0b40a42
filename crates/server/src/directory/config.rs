//! `[directory]`: where the company directory is, how Latchkey reads it, and what the
//! kind of directory (`openldap` or `active_directory`) sets by default.
//!
//! The section's four first keys are contract (issue 19): `kind`, `url`, `bind_dn`,
//! `base_dn`. The service account's password comes from
//! `LATCHKEY_DIRECTORY_BIND_PASSWORD` (or the file, or `bind_password_file`), never from
//! an argument; `Debug` and `config check` print it redacted.

use serde::{Deserialize, Serialize};

/// The kind of directory: it sets the default filters and attribute names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Openldap,
    ActiveDirectory,
}

/// `[directory]`. Off while `url` is empty.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryConfig {
    /// `openldap` (also right for 389-ds, FreeIPA, lldap) or `active_directory`.
    pub kind: Kind,
    /// `ldaps://host[:port]` (TLS) or `ldap://host[:port]` (StartTLS, see `starttls`).
    /// Empty: no directory, every account is Latchkey's own.
    pub url: String,
    /// The service account that looks people up (read access to their entries; write
    /// access to their password for the password reset and the forced change).
    pub bind_dn: String,
    /// Where people are searched (subtree).
    pub base_dn: String,
    /// The service account's password. Prefer `LATCHKEY_DIRECTORY_BIND_PASSWORD` or
    /// `bind_password_file`; never on a command line.
    pub bind_password: Option<String>,
    /// A file holding the service account's password (one line; a final newline is
    /// ignored), read at start.
    pub bind_password_file: Option<String>,
    /// `ldap://` upgrades with StartTLS (default). `false`: plain LDAP, which is
    /// accepted only to a loopback address unless `allow_insecure = true`.
    pub starttls: bool,
    /// Allow plain LDAP (no TLS) to another machine. Passwords then cross the network
    /// in clear text: never in production.
    pub allow_insecure: bool,
    /// PEM file of the certificate authorities that may sign the directory's
    /// certificate (default: the system's).
    pub ca_file: Option<String>,
    /// Connect and answer time-out of one directory operation, in seconds.
    pub timeout_seconds: u64,
    /// The entries that are people (default: `(objectClass=inetOrgPerson)`, AD:
    /// `(&(objectCategory=person)(objectClass=user))`).
    pub user_filter: Option<String>,
    /// Filters that find a person by what they typed, `{value}` standing for it (LDAP
    /// escaped). Defaults: OpenLDAP `uid`, `mail`, `mobile`; AD `sAMAccountName` (or
    /// `userPrincipalName`), `mail` (or `userPrincipalName`), `telephoneNumber`; each
    /// inside `user_filter`.
    pub username_filter: Option<String>,
    pub email_filter: Option<String>,
    pub phone_filter: Option<String>,
    /// The attribute of the stable id an account is linked by (`entryUUID`, AD
    /// `objectGUID`): a renamed or moved entry keeps its account.
    pub id_attribute: Option<String>,
    /// Attributes copied into the profile at every sign-in (defaults: `uid`/`cn`/`mail`/
    /// `mobile`/`o`; AD `sAMAccountName`/`displayName`/`mail`/`telephoneNumber`/`company`).
    pub username_attribute: Option<String>,
    pub name_attribute: Option<String>,
    pub email_attribute: Option<String>,
    pub phone_attribute: Option<String>,
    pub organisation_attribute: Option<String>,
    /// Entries that match are disabled: they cannot sign in, and their sessions end at
    /// the next refresh. Defaults: OpenLDAP `(pwdAccountLockedTime=000001010000Z)` (the
    /// ppolicy overlay's "locked by an administrator"), AD `userAccountControl` with
    /// ACCOUNTDISABLE.
    pub disabled_filter: Option<String>,
    /// DN of a group whose members may sign in (default: everyone under `base_dn`).
    pub allowed_group: Option<String>,
    /// DN of the group whose members get the console's `admin` role.
    pub admin_group: Option<String>,
    /// DN of the group whose members get the console's `helpdesk` role.
    pub helpdesk_group: Option<String>,
    /// The attribute of a group that lists its members' DNs (default `member`; AD
    /// groups are searched with nesting).
    pub member_attribute: Option<String>,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            kind: Kind::Openldap,
            url: String::new(),
            bind_dn: String::new(),
            base_dn: String::new(),
            bind_password: None,
            bind_password_file: None,
            starttls: true,
            allow_insecure: false,
            ca_file: None,
            timeout_seconds: 5,
            user_filter: None,
            username_filter: None,
            email_filter: None,
            phone_filter: None,
            id_attribute: None,
            username_attribute: None,
            name_attribute: None,
            email_attribute: None,
            phone_attribute: None,
            organisation_attribute: None,
            disabled_filter: None,
            allowed_group: None,
            admin_group: None,
            helpdesk_group: None,
            member_attribute: None,
        }
    }
}

impl std::fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("base_dn", &self.base_dn)
            .field(
                "bind_password",
                &self.bind_password.as_ref().map(|_| "<redacted>"),
            )
            .field("bind_password_file", &self.bind_password_file)
            .field("starttls", &self.starttls)
            .field("allow_insecure", &self.allow_insecure)
            .finish_non_exhaustive()
    }
}

/// Which identifier a person typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typed {
    Email,
    Phone,
    Username,
}

fn or(value: &Option<String>, default: &str) -> String {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => default.to_owned(),
    }
}

impl DirectoryConfig {
    /// A directory is configured.
    pub fn enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    fn ad(&self) -> bool {
        self.kind == Kind::ActiveDirectory
    }

    pub fn user_filter(&self) -> String {
        let default = if self.ad() {
            "(&(objectCategory=person)(objectClass=user))"
        } else {
            "(objectClass=inetOrgPerson)"
        };
        or(&self.user_filter, default)
    }

    /// The filter template (with `{value}`) for one kind of identifier.
    pub fn filter_template(&self, typed: Typed) -> String {
        let (configured, openldap, ad) = match typed {
            Typed::Username => (
                &self.username_filter,
                "(uid={value})",
                "(|(sAMAccountName={value})(userPrincipalName={value}))",
            ),
            Typed::Email => (
                &self.email_filter,
                "(mail={value})",
                "(|(mail={value})(userPrincipalName={value}))",
            ),
            Typed::Phone => (
                &self.phone_filter,
                "(mobile={value})",
                "(telephoneNumber={value})",
            ),
        };
        match configured.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => v.to_owned(),
            _ => format!(
                "(&{}{})",
                self.user_filter(),
                if self.ad() { ad } else { openldap }
            ),
        }
    }

    /// The search filter for what a person typed (escaped).
    pub fn filter(&self, typed: Typed, value: &str) -> String {
        self.filter_template(typed)
            .replace("{value}", &ldap3::ldap_escape(value))
    }

    pub fn id_attribute(&self) -> String {
        or(
            &self.id_attribute,
            if self.ad() { "objectGUID" } else { "entryUUID" },
        )
    }

    pub fn username_attribute(&self) -> String {
        or(
            &self.username_attribute,
            if self.ad() { "sAMAccountName" } else { "uid" },
        )
    }

    pub fn name_attribute(&self) -> String {
        or(
            &self.name_attribute,
            if self.ad() { "displayName" } else { "cn" },
        )
    }

    pub fn email_attribute(&self) -> String {
        or(&self.email_attribute, "mail")
    }

    pub fn phone_attribute(&self) -> String {
        or(
            &self.phone_attribute,
            if self.ad() {
                "telephoneNumber"
            } else {
                "mobile"
            },
        )
    }

    pub fn organisation_attribute(&self) -> String {
        or(
            &self.organisation_attribute,
            if self.ad() { "company" } else { "o" },
        )
    }

    pub fn disabled_filter(&self) -> String {
        or(
            &self.disabled_filter,
            if self.ad() {
                "(userAccountControl:1.2.840.113556.1.4.803:=2)"
            } else {
                "(pwdAccountLockedTime=000001010000Z)"
            },
        )
    }

    /// The filter that says whether the entry `dn` is a member of a group (the group
    /// searched at its base): AD follows nested groups.
    pub fn member_filter(&self, dn: &str) -> String {
        let attribute = or(&self.member_attribute, "member");
        let rule = if self.ad() {
            ":1.2.840.113556.1.4.1941:"
        } else {
            ""
        };
        format!("({attribute}{rule}={})", ldap3::ldap_escape(dn))
    }

    fn group(value: &Option<String>) -> Option<String> {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    pub fn allowed_group(&self) -> Option<String> {
        Self::group(&self.allowed_group)
    }

    pub fn admin_group(&self) -> Option<String> {
        Self::group(&self.admin_group)
    }

    pub fn helpdesk_group(&self) -> Option<String> {
        Self::group(&self.helpdesk_group)
    }

    /// The attributes a look-up asks for.
    pub fn attributes(&self) -> Vec<String> {
        vec![
            self.id_attribute(),
            self.username_attribute(),
            self.name_attribute(),
            self.email_attribute(),
            self.phone_attribute(),
            self.organisation_attribute(),
        ]
    }

    pub fn is_active_directory(&self) -> bool {
        self.ad()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_kind_and_values_are_escaped() {
        let mut c = DirectoryConfig::default();
        assert_eq!(
            c.filter(Typed::Username, "zhangw"),
            "(&(objectClass=inetOrgPerson)(uid=zhangw))"
        );
        assert_eq!(
            c.filter(Typed::Username, "a*)(uid=*"),
            "(&(objectClass=inetOrgPerson)(uid=a\\2a\\29\\28uid=\\2a))"
        );
        c.kind = Kind::ActiveDirectory;
        assert_eq!(c.id_attribute(), "objectGUID");
        assert!(c
            .filter(Typed::Email, "z@corp.example")
            .contains("(userPrincipalName=z@corp.example)"));
        assert_eq!(
            c.member_filter("CN=Zhang Wei,OU=People,DC=corp"),
            "(member:1.2.840.113556.1.4.1941:=CN=Zhang Wei,OU=People,DC=corp)"
        );
        c.phone_filter = Some("(otherMobile={value})".into());
        assert_eq!(c.filter(Typed::Phone, "+86"), "(otherMobile=+86)");
    }

    #[test]
    fn debug_never_prints_the_bind_password() {
        let c = DirectoryConfig {
            bind_password: Some("service-secret".into()),
            ..DirectoryConfig::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("service-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

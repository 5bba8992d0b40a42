//! A real OpenLDAP directory for the directory tests (issue 19): Debian's `slapd`,
//! started on a free loopback port with a throw-away configuration and database in a
//! temporary folder (independent of any system slapd on port 389), with the `ppolicy`
//! overlay (its failure counter and a password policy that refuses short and recent
//! passwords) and, on demand, a test certificate authority for StartTLS. The
//! independent checks (`ldapwhoami`, `ldapsearch`) are OpenLDAP's own tools.
//!
//! A machine without `slapd` skips these tests with a note, unless
//! `LATCHKEY_TEST_REQUIRE_LDAP` is set (by `scripts/test.sh`), which makes it fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_server::Config;

pub const SUFFIX: &str = "dc=corp,dc=example";
pub const PEOPLE: &str = "ou=people,dc=corp,dc=example";
pub const GROUPS: &str = "ou=groups,dc=corp,dc=example";
pub const ROOT_DN: &str = "cn=admin,dc=corp,dc=example";
pub const ROOT_PASSWORD: &str = "root-secret-for-tests";
/// Latchkey's service account: reads people, writes their passwords.
pub const SERVICE_DN: &str = "cn=latchkey,ou=services,dc=corp,dc=example";
pub const SERVICE_PASSWORD: &str = "service-secret-for-tests";
/// The directory's own rule that Latchkey's policy does not have: at least 16
/// characters (`pwdMinLength`); it also keeps the last 3 passwords (`pwdInHistory`).
pub const DIRECTORY_MIN_LENGTH: usize = 16;

/// A running slapd, stopped (and its folder removed) when dropped.
pub struct Slapd {
    pub port: u16,
    dir: tempfile::TempDir,
    tls: bool,
    child: Option<Child>,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `slapd` and the OpenLDAP tools are installed; panics when they are not
/// and `LATCHKEY_TEST_REQUIRE_LDAP` is set.
fn available() -> bool {
    let found = Path::new("/usr/sbin/slapd").exists()
        && Command::new("ldapwhoami")
            .arg("-VV")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
    if !found {
        assert!(
            std::env::var_os("LATCHKEY_TEST_REQUIRE_LDAP").is_none(),
            "LATCHKEY_TEST_REQUIRE_LDAP is set but slapd or ldap-utils are missing \
             (apt-get install slapd ldap-utils)"
        );
        eprintln!("skipped: no slapd (apt-get install slapd ldap-utils)");
    }
    found
}

impl Slapd {
    /// A directory on `ldap://127.0.0.1:PORT` (plain LDAP, loopback). `None`: skipped.
    pub fn start() -> Option<Self> {
        Self::launch(false)
    }

    /// The same, with StartTLS under a test certificate authority
    /// ([`Slapd::ca_file`]) for `127.0.0.1` and `localhost`.
    pub fn start_tls() -> Option<Self> {
        Self::launch(true)
    }

    fn launch(tls: bool) -> Option<Self> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("db")).expect("db dir");
        if tls {
            make_ca(dir.path());
        }
        std::fs::write(dir.path().join("slapd.conf"), conf(dir.path(), tls)).expect("conf");
        let port = free_port();
        let mut slapd = Self {
            port,
            dir,
            tls,
            child: None,
        };
        slapd.run();
        slapd.ldapmodify(&seed(), true);
        Some(slapd)
    }

    fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("slapd.log")).expect("log");
        // `-d 0`: stays in the foreground (a child of the test), logging nothing.
        let child = Command::new("/usr/sbin/slapd")
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{}/", self.port))
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-d", "0"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("slapd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.bind_ok(ROOT_DN, ROOT_PASSWORD) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = std::fs::read_to_string(self.dir.path().join("slapd.log"));
                panic!("slapd exited ({status}): {}", log.unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "slapd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops slapd: the directory is down (the database stays for [`Slapd::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The test CA's certificate (PEM), with [`Slapd::start_tls`].
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.path().join("ca.pem"))
    }

    /// Points `config`'s `[directory]` at this slapd: OpenLDAP defaults, the service
    /// account, StartTLS under the test CA or plain LDAP on loopback.
    pub fn configure(&self, config: &mut Config) {
        let d = &mut config.directory;
        d.url = self.url();
        d.bind_dn = SERVICE_DN.into();
        d.base_dn = PEOPLE.into();
        d.bind_password = Some(SERVICE_PASSWORD.into());
        d.timeout_seconds = 3;
        match self.ca_file() {
            Some(ca) => d.ca_file = Some(ca.display().to_string()),
            None => d.starttls = false,
        }
    }

    fn tool(&self, name: &str) -> Command {
        let mut cmd = Command::new(name);
        cmd.args(["-x", "-H", &self.url()]);
        if let Some(ca) = self.ca_file() {
            cmd.arg("-ZZ").env("LDAPTLS_CACERT", ca);
        }
        cmd
    }

    /// Applies LDIF as the directory's administrator (`add` adds entries without a
    /// `changetype`).
    pub fn ldapmodify(&self, ldif: &str, add: bool) {
        let path = self.dir.path().join("change.ldif");
        std::fs::write(&path, ldif).expect("ldif");
        let mut cmd = self.tool("ldapmodify");
        if add {
            cmd.arg("-a");
        }
        let out = cmd
            .args(["-D", ROOT_DN, "-w", ROOT_PASSWORD, "-f"])
            .arg(&path)
            .output()
            .expect("ldapmodify");
        assert!(
            out.status.success(),
            "ldapmodify failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds a person under `ou=people` (`uid`, `cn`, `mail`, `mobile`, `o`).
    pub fn add_person(
        &self,
        uid: &str,
        name: &str,
        mail: &str,
        mobile: &str,
        password: &str,
    ) -> String {
        let dn = format!("uid={uid},{PEOPLE}");
        self.ldapmodify(
            &format!(
                "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {name}\n\
                 mail: {mail}\nmobile: {mobile}\no: Corp\nuserPassword: {password}\n"
            ),
            true,
        );
        dn
    }

    /// Whether `dn` binds with `password`: `ldapwhoami`, independent of Latchkey.
    pub fn bind_ok(&self, dn: &str, password: &str) -> bool {
        self.tool("ldapwhoami")
            .args(["-D", dn, "-w", password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// The values of `attribute` (operational ones too) of `dn`, read as the
    /// administrator with `ldapsearch`.
    pub fn attribute(&self, dn: &str, attribute: &str) -> Vec<String> {
        let out = self
            .tool("ldapsearch")
            .args([
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PASSWORD,
                "-s",
                "base",
                "-b",
            ])
            .arg(dn)
            .arg("(objectClass=*)")
            .arg(attribute)
            .output()
            .expect("ldapsearch");
        let prefix = format!("{}: ", attribute.to_ascii_lowercase());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].to_owned())
            .collect()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn conf(dir: &Path, tls: bool) -> String {
    let d = dir.display();
    let tls = if tls {
        format!(
            "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
             TLSCertificateKeyFile {d}/server.key\n"
        )
    } else {
        String::new()
    };
    format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         include /etc/ldap/schema/nis.schema\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         moduleload ppolicy\n\
         pidfile {d}/slapd.pid\n\
         {tls}\
         database mdb\n\
         suffix \"{SUFFIX}\"\n\
         rootdn \"{ROOT_DN}\"\n\
         rootpw {ROOT_PASSWORD}\n\
         directory {d}/db\n\
         maxsize 16777216\n\
         overlay ppolicy\n\
         ppolicy_default \"cn=default,ou=policies,{SUFFIX}\"\n\
         access to attrs=userPassword\n  by self write\n  by dn.exact=\"{SERVICE_DN}\" write\n  by anonymous auth\n  by * none\n\
         access to *\n  by dn.exact=\"{SERVICE_DN}\" read\n  by self read\n  by * none\n"
    )
}

fn seed() -> String {
    format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Corp\ndc: corp\n\n\
         dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n\n\
         dn: ou=policies,{SUFFIX}\nobjectClass: organizationalUnit\nou: policies\n\n\
         dn: cn=default,ou=policies,{SUFFIX}\nobjectClass: device\nobjectClass: pwdPolicy\n\
         cn: default\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 100\n\
         pwdCheckQuality: 2\npwdMinLength: {DIRECTORY_MIN_LENGTH}\npwdInHistory: 3\n\
         pwdAllowUserChange: TRUE\npwdMustChange: FALSE\n\n\
         dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: latchkey\nuserPassword: {SERVICE_PASSWORD}\n"
    )
}

/// A test CA and a certificate for 127.0.0.1 and localhost signed by it (openssl).
fn make_ca(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Latchkey test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

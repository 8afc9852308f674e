//! A private slapd on 3389 (ldap, StartTLS) and 3636 (ldaps), with `dc=example,dc=com`.
//!
//! Its cn=config is built offline with `slapadd` in our state folder, so it needs no debconf
//! answers and leaves /etc/ldap alone.

use super::sys::{self, Res, sh_path};
use super::{Ctx, Server};
use std::path::PathBuf;

pub const PORT: u16 = 3389;
pub const TLS_PORT: u16 = 3636;
pub const BASE_DN: &str = "dc=example,dc=com";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";
pub const ADMIN_PASSWORD: &str = "adminpass";
pub const USER_DN: &str = "uid=testuser,ou=people,dc=example,dc=com";
pub const USER_PASSWORD: &str = "testpass";

pub struct Ldap<'a>(pub &'a Ctx);

impl Ldap<'_> {
    fn hash(password: &str) -> Res<String> {
        let out = sys::output(sys::cmd("slappasswd").args(["-s", password]))?;
        Ok(out.trim().to_string())
    }

    fn whoami(&self, url: &str, dn: &str, password: &str) -> Res<()> {
        let out = sys::output(
            sys::cmd("ldapwhoami")
                .env("LDAPTLS_CACERT", &self.0.tls.ca)
                .args([
                    "-x",
                    "-o",
                    "nettimeout=5",
                    "-H",
                    url,
                    "-D",
                    dn,
                    "-w",
                    password,
                ]),
        )?;
        if out.contains(dn) {
            Ok(())
        } else {
            Err(format!("ldapwhoami on {url} answered {:?}", out.trim()))
        }
    }
}

impl Server for Ldap<'_> {
    fn name(&self) -> &'static str {
        "slapd"
    }
    fn port(&self) -> u16 {
        PORT
    }
    fn dir(&self) -> PathBuf {
        self.0.dir("slapd")
    }
    fn log(&self) -> PathBuf {
        self.dir().join("ctl.log")
    }
    fn ours(&self) -> bool {
        sys::pidfile_alive(&self.dir().join("slapd.pid"))
    }
    /// Rebuilds config and data on every start: it takes well under a second and gives each
    /// `services up` that starts slapd a known directory.
    fn prepare(&self) -> Res<PathBuf> {
        let dir = self.dir();
        let conf = dir.join("slapd.d");
        let db = dir.join("db");
        sys::remove_dir(&conf)?;
        sys::remove_dir(&db)?;
        sys::mkdir(&conf)?;
        sys::mkdir(&db)?;
        let tls = &self.0.tls;
        let config = format!(
            "dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {pid}
olcArgsFile: {args}
olcTLSCACertificateFile: {ca}
olcTLSCertificateFile: {cert}
olcTLSCertificateKeyFile: {key}

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/nis.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: cn=admin,cn=config

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {BASE_DN}
olcRootDN: {ADMIN_DN}
olcRootPW: {root_pw}
olcDbDirectory: {db}
olcDbIndex: objectClass eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read
",
            pid = dir.join("slapd.pid").display(),
            args = dir.join("slapd.args").display(),
            ca = tls.ca.display(),
            cert = tls.cert.display(),
            key = tls.key.display(),
            root_pw = Self::hash(ADMIN_PASSWORD)?,
            db = db.display(),
        );
        let data = format!(
            "dn: {BASE_DN}
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {ADMIN_DN}
objectClass: organizationalRole
cn: admin
description: directory administrator

dn: ou=people,{BASE_DN}
objectClass: organizationalUnit
ou: people

dn: {USER_DN}
objectClass: inetOrgPerson
uid: testuser
cn: Test User
sn: User
mail: testuser@example.com
userPassword: {user_pw}
",
            user_pw = Self::hash(USER_PASSWORD)?,
        );
        let config_ldif = dir.join("config.ldif");
        let data_ldif = dir.join("data.ldif");
        sys::write_atomic(&config_ldif, config.as_bytes(), 0o600)?;
        sys::write_atomic(&data_ldif, data.as_bytes(), 0o600)?;
        let log = dir.join("slapadd.log");
        sys::run_logged(
            sys::cmd("slapadd")
                .arg("-n0")
                .arg("-F")
                .arg(&conf)
                .arg("-l")
                .arg(&config_ldif),
            &log,
        )?;
        sys::run_logged(
            sys::cmd("slapadd")
                .arg("-n1")
                .arg("-F")
                .arg(&conf)
                .arg("-l")
                .arg(&data_ldif),
            &log,
        )?;
        let body = format!(
            r#"D={d}
PID="$D/slapd.pid"
gone() {{ [ ! -e "$PID" ] && port_closed {PORT} && port_closed {TLS_PORT}; }}
do_start() {{
  # Runs as root: it reads the key in the shared certificate folder. It daemonizes itself.
  /usr/sbin/slapd -F "$D/slapd.d" -h "ldap://127.0.0.1:{PORT}/ ldaps://127.0.0.1:{TLS_PORT}/" \
    || fail "slapd failed to start (run it with -d 1 to see why)"
  wait_until 30 port_open {PORT} || fail "not answering on {PORT} after 30 s"
  wait_until 30 port_open {TLS_PORT} || fail "not answering on {TLS_PORT} after 30 s"
}}
do_stop() {{
  if [ -f "$PID" ]; then kill "$(cat "$PID")" 2>/dev/null || true; fi
  wait_until 30 gone || fail "still running 30 s after SIGTERM"
}}
do_status() {{ port_open {PORT}; }}"#,
            d = sh_path(&dir),
        );
        sys::write_ctl(&dir, "slapd", &body)
    }
    fn verify(&self) -> Res<()> {
        self.whoami(
            &format!("ldap://127.0.0.1:{PORT}"),
            ADMIN_DN,
            ADMIN_PASSWORD,
        )?;
        // 127.0.0.1, not localhost: the OpenLDAP tools canonicalise `localhost` by reverse
        // lookup to the host name, which the certificate does not name.
        self.whoami(
            &format!("ldaps://127.0.0.1:{TLS_PORT}"),
            USER_DN,
            USER_PASSWORD,
        )
    }
}

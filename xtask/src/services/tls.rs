//! The test CA, the server certificate every TLS server uses, an unrelated CA, and two
//! revocation lists of the test CA (one revoking nothing, one revoking the server
//! certificate).
//!
//! The leaf is signed by a CA rather than self-signed because rustls rejects a self-signed
//! certificate used as an end entity (`CaUsedAsEndEntity`), and it names both `localhost` and
//! `127.0.0.1` because clients connect by IP.

use super::sys::{self, Res};
use std::path::{Path, PathBuf};

/// What servers and tests use.
const FILES: [&str; 4] = ["ca.crt", "wrong-ca.crt", "server.crt", "server.key"];

/// The revocation lists, made from the CA key when missing (see [`Tls::ensure_crls`]).
const CRLS: [&str; 2] = ["crl-empty.pem", "crl-revoked.pem"];

/// Where the certificate files are.
#[derive(Clone, Debug)]
pub struct Tls {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub wrong_ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A CRL of the test CA revoking nothing.
    pub crl_empty: PathBuf,
    /// A CRL of the test CA revoking the server certificate.
    pub crl_revoked: PathBuf,
}

impl Tls {
    pub fn at(dir: PathBuf) -> Tls {
        Tls {
            ca: dir.join("ca.crt"),
            wrong_ca: dir.join("wrong-ca.crt"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            crl_empty: dir.join(CRLS[0]),
            crl_revoked: dir.join(CRLS[1]),
            dir,
        }
    }

    pub fn complete(&self) -> bool {
        [&self.ca, &self.wrong_ca, &self.cert, &self.key]
            .iter()
            .all(|p| p.exists())
    }

    /// Takes the certificates of another state folder whose servers are running, so that
    /// our servers and the ones we reuse from it share one CA.
    pub fn copy_from(&self, other: &Tls) -> Res<bool> {
        sys::mkdir(&self.dir)?;
        let mut changed = false;
        for f in FILES {
            let data = std::fs::read(other.dir.join(f))
                .map_err(|e| format!("cannot read {}: {e}", other.dir.join(f).display()))?;
            changed |= sys::write_if_changed(&self.dir.join(f), &data, 0o644)?;
        }
        // The CA key signs the revocation lists; an older state folder may have no lists yet
        // (`ensure_crls` makes them).
        for f in std::iter::once("ca.key").chain(CRLS) {
            if let Ok(data) = std::fs::read(other.dir.join(f)) {
                changed |= sys::write_if_changed(&self.dir.join(f), &data, 0o644)?;
            }
        }
        Ok(changed)
    }

    /// Makes the revocation lists from the CA key if they are missing; the certificates stay
    /// as they are, so running servers keep matching them.
    pub fn ensure_crls(&self) -> Res<&'static str> {
        if self.crl_empty.exists() && self.crl_revoked.exists() {
            return Ok("reused");
        }
        let tmp = self.dir.join("crl.tmp");
        sys::remove_dir(&tmp)?;
        sys::mkdir(&tmp)?;
        for f in ["ca.crt", "ca.key", "server.crt"] {
            std::fs::copy(self.dir.join(f), tmp.join(f))
                .map_err(|e| format!("cannot copy {f} to make the CRLs: {e}"))?;
        }
        // `openssl ca` keeps its revocations in a small database of its own.
        sys::write_atomic(
            &tmp.join("ca.cnf"),
            b"[ ca ]\ndefault_ca = test\n[ test ]\ndatabase = index.txt\n\
              crlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 3650\n",
            0o644,
        )?;
        sys::write_atomic(&tmp.join("index.txt"), b"", 0o644)?;
        sys::write_atomic(&tmp.join("crlnumber"), b"01\n", 0o644)?;
        let log = tmp.join("openssl.log");
        let openssl = |args: &[&str]| {
            let mut c = sys::cmd("openssl");
            c.current_dir(&tmp)
                .args(["ca", "-config", "ca.cnf", "-keyfile", "ca.key"]);
            c.args(["-cert", "ca.crt"]).args(args);
            sys::run_logged(&mut c, &log)
        };
        openssl(&["-gencrl", "-out", CRLS[0]])?;
        openssl(&["-revoke", "server.crt"])?;
        openssl(&["-gencrl", "-out", CRLS[1]])?;
        for f in CRLS {
            std::fs::rename(tmp.join(f), self.dir.join(f))
                .map_err(|e| format!("cannot move {f} into place: {e}"))?;
        }
        sys::remove_dir(&tmp)?;
        Ok("made")
    }

    /// Generates the files once; later runs keep them, so that servers and clients agree.
    pub fn ensure(&self) -> Res<&'static str> {
        if self.complete() {
            return Ok("reused");
        }
        // Built beside the final folder and renamed into place: an interrupted run leaves no
        // half set that would look complete.
        let tmp = self.dir.with_extension("tmp");
        sys::remove_dir(&tmp)?;
        sys::mkdir(&tmp)?;
        let log = tmp.join("openssl.log");
        let openssl = |args: &[&str]| {
            let mut c = sys::cmd("openssl");
            c.current_dir(&tmp).args(args);
            sys::run_logged(&mut c, &log)
        };
        let ca = |name: &str, cn: &str| {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                &format!("/CN={cn}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
            ])
        };
        ca("ca", "outgoing-pools test CA")?;
        ca("wrong-ca", "outgoing-pools unrelated CA")?;
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ])?;
        sys::write_atomic(
            &tmp.join("leaf.ext"),
            b"basicConstraints=critical,CA:FALSE\n\
              keyUsage=critical,digitalSignature,keyEncipherment\n\
              extendedKeyUsage=serverAuth\n\
              subjectAltName=DNS:localhost,IP:127.0.0.1\n",
            0o644,
        )?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            "leaf.ext",
            "-out",
            "server.crt",
        ])?;
        // Servers that drop privileges get their own copies of the key (see `sys::install_file`);
        // these stay readable for tests that load the key themselves.
        for f in FILES {
            set_mode(&tmp.join(f), 0o644)?;
        }
        sys::remove_dir(&self.dir)?;
        std::fs::rename(&tmp, &self.dir)
            .map_err(|e| format!("cannot move {} into place: {e}", tmp.display()))?;
        Ok("generated")
    }
}

impl Tls {
    /// A client identity signed by the test CA, made anew in `dir` (`<name>.crt`,
    /// `<name>.key`, unencrypted): for servers that must present one to each other (a TLS
    /// cluster's bus checks the connecting node's certificate, and the servers' own is made
    /// for `serverAuth` only).
    pub fn client_identity(&self, dir: &Path, name: &str) -> Res<(PathBuf, PathBuf)> {
        let (crt, key, csr, ext) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}.csr")),
            dir.join(format!("{name}.ext")),
        );
        let log = dir.join("openssl.log");
        let openssl = |args: &[&std::ffi::OsStr]| {
            let mut c = sys::cmd("openssl");
            c.args(args);
            sys::run_logged(&mut c, &log)
        };
        let os = |s: &'static str| std::ffi::OsStr::new(s);
        sys::write_atomic(
            &ext,
            b"basicConstraints=critical,CA:FALSE\n\
              keyUsage=critical,digitalSignature,keyEncipherment\n\
              extendedKeyUsage=clientAuth\n",
            0o644,
        )?;
        openssl(&[
            os("req"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-subj"),
            os("/CN=outgoing-pools test node"),
            os("-keyout"),
            key.as_os_str(),
            os("-out"),
            csr.as_os_str(),
        ])?;
        openssl(&[
            os("x509"),
            os("-req"),
            os("-in"),
            csr.as_os_str(),
            os("-CA"),
            self.ca.as_os_str(),
            os("-CAkey"),
            self.dir.join("ca.key").as_os_str(),
            os("-set_serial"),
            os("2"),
            os("-days"),
            os("3650"),
            os("-extfile"),
            ext.as_os_str(),
            os("-out"),
            crt.as_os_str(),
        ])?;
        Ok((crt, key))
    }
}

fn set_mode(p: &Path, mode: u32) -> Res<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot chmod {}: {e}", p.display()))
}

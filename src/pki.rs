//! The box's own certificate authority and the certificates it issues:
//! made at first start, reused afterwards.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("read {0}")]
    Read(PathBuf, #[source] std::io::Error),
    #[error("write {0}")]
    Write(PathBuf, #[source] std::io::Error),
    #[error("generate {what}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("parse {0}")]
    Parse(PathBuf, #[source] rcgen::Error),
}

/// The user the admin client certificate names, in the group that RBAC
/// treats as all-powerful (as upstream does).
pub(crate) const ADMIN_USER: &str = "sovedge-admin";
pub(crate) const ADMIN_GROUP: &str = "system:masters";

/// PEM files of the box's TLS material.
pub(crate) struct Pki {
    pub(crate) ca_cert: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    pub(crate) admin_cert: String,
    pub(crate) admin_key: String,
}

fn generation_failed(what: &'static str) -> impl FnOnce(rcgen::Error) -> Error {
    move |source| Error::Generate { what, source }
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    // Tolerate a little clock skew between the box and its clients.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::Read(path.to_path_buf(), e))
}

/// Writes a file readable by its owner only.
pub(crate) fn write_private(path: &Path, content: &str) -> Result<()> {
    let err = |e| Error::Write(path.to_path_buf(), e);
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(content.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "sovedge-ca");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Loads the TLS material from `dir`, creating what is missing.
pub(crate) fn ensure(dir: &Path, hosts: &[String], ips: &[IpAddr]) -> Result<Pki> {
    fs::create_dir_all(dir).map_err(|e| Error::Write(dir.to_path_buf(), e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::Write(dir.to_path_buf(), e))?;
    let ca_cert_path = dir.join("ca.crt");
    let ca_key_path = dir.join("ca.key");
    let (ca_cert, ca_key) = if ca_cert_path.exists() && ca_key_path.exists() {
        (read(&ca_cert_path)?, read(&ca_key_path)?)
    } else {
        let key = KeyPair::generate().map_err(generation_failed("ca key"))?;
        let mut params = ca_params();
        validity(&mut params, 3650);
        let cert = params
            .self_signed(&key)
            .map_err(generation_failed("ca certificate"))?;
        write_private(&ca_key_path, &key.serialize_pem())?;
        write_private(&ca_cert_path, &cert.pem())?;
        (cert.pem(), key.serialize_pem())
    };
    let ca_key_pair =
        KeyPair::from_pem(&ca_key).map_err(|e| Error::Parse(ca_key_path.clone(), e))?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, &ca_key_pair)
        .map_err(|e| Error::Parse(ca_cert_path.clone(), e))?;

    let (server_cert, server_key) = issue_once(dir, "server", &issuer, || {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "sovedge-apiserver");
        params.distinguished_name = dn;
        for h in hosts {
            if let Ok(name) = h.clone().try_into() {
                params.subject_alt_names.push(SanType::DnsName(name));
            }
        }
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params
    })?;
    let (admin_cert, admin_key) = issue_once(dir, "admin", &issuer, || {
        client_params(ADMIN_USER, &[ADMIN_GROUP])
    })?;
    Ok(Pki {
        ca_cert,
        server_cert,
        server_key,
        admin_cert,
        admin_key,
    })
}

/// Parameters of a client certificate: CN is the user, O the groups.
pub(crate) fn client_params(user: &str, groups: &[&str]) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, user);
    for g in groups {
        dn.push(DnType::OrganizationName, *g);
    }
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

fn issue_once(
    dir: &Path,
    name: &str,
    issuer: &Issuer<'_, &KeyPair>,
    params: impl FnOnce() -> CertificateParams,
) -> Result<(String, String)> {
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    if cert_path.exists() && key_path.exists() {
        return Ok((read(&cert_path)?, read(&key_path)?));
    }
    let key = KeyPair::generate().map_err(generation_failed("key"))?;
    let mut params = params();
    validity(&mut params, 365);
    let cert = params
        .signed_by(&key, issuer)
        .map_err(generation_failed("certificate"))?;
    write_private(&key_path, &key.serialize_pem())?;
    write_private(&cert_path, &cert.pem())?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// An admin kubeconfig that reaches the server at `server_url`.
pub(crate) fn admin_kubeconfig(pki: &Pki, server_url: &str) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: {server_url}
  name: sovedge
contexts:
- context:
    cluster: sovedge
    user: {ADMIN_USER}
  name: sovedge
current-context: sovedge
preferences: {{}}
users:
- name: {ADMIN_USER}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
",
        ca = b64(&pki.ca_cert),
        cert = b64(&pki.admin_cert),
        key = b64(&pki.admin_key),
    )
}

//! TLS for a review server reached over the network: a certificate given by the
//! province's IT, or one generated and kept with the output folder so that its
//! fingerprint (printed at start, checked once by each officer) stays the same across
//! restarts.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folder of the generated certificate, inside OUT.
pub const SELF_SIGNED_DIR: &str = ".sohoa-review-tls";

/// Where the server's certificate comes from.
#[derive(Clone, Debug)]
pub enum TlsSource {
    /// `OUT/.sohoa-review-tls/{cert,key}.pem`, generated on first use for these names.
    SelfSigned {
        /// The folder.
        dir: PathBuf,
        /// Host names and addresses the certificate names.
        names: Vec<String>,
    },
    /// PEM files: the certificate chain and its private key.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
}

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file cannot be read or holds nothing usable.
    #[error("cannot read {}: {cause}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        cause: String,
    },
    /// The certificate could not be generated or written.
    #[error("cannot create a certificate in {}: {cause}", dir.display())]
    Generate {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        cause: String,
    },
    /// rustls refused the certificate and key.
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A TLS server configuration and the SHA-256 fingerprint of its certificate
/// (`AB:CD:…`, as browsers show it).
pub fn server_config(source: &TlsSource) -> Result<(Arc<ServerConfig>, String), TlsError> {
    let (cert_path, key_path) = match source {
        TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSource::SelfSigned { dir, names } => {
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !(cert.is_file() && key.is_file()) {
                generate(dir, names, &cert, &key)?;
            }
            (cert, key)
        }
    };
    let pem_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e: rustls::pki_types::pem::Error| TlsError::Pem {
            path,
            cause: e.to_string(),
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(pem_err(&cert_path))?
        .collect::<Result<_, _>>()
        .map_err(pem_err(&cert_path))?;
    let first = chain.first().ok_or_else(|| TlsError::Pem {
        path: cert_path.clone(),
        cause: "no certificate in the file".into(),
    })?;
    let fingerprint = fingerprint(first);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(pem_err(&key_path))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok((Arc::new(config), fingerprint))
}

/// SHA-256 of a certificate, as colon-separated upper-case hex.
pub fn fingerprint(cert: &[u8]) -> String {
    Sha256::digest(cert)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn generate(dir: &Path, names: &[String], cert: &Path, key: &Path) -> Result<(), TlsError> {
    let fail = |cause: String| TlsError::Generate {
        dir: dir.to_path_buf(),
        cause,
    };
    let rcgen::CertifiedKey { cert: c, key_pair } =
        rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    // The key first, readable by its owner only; each file written whole, then renamed.
    write_private(key, key_pair.serialize_pem().as_bytes()).map_err(|e| fail(e.to_string()))?;
    crate::store::write_atomic(cert, c.pem().as_bytes()).map_err(|e| fail(e.to_string()))?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("pem.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_kept_and_its_fingerprint_stays() {
        let dir = tempfile::tempdir().unwrap();
        let src = TlsSource::SelfSigned {
            dir: dir.path().join(SELF_SIGNED_DIR),
            names: vec!["localhost".into(), "127.0.0.1".into()],
        };
        let (_, a) = server_config(&src).unwrap();
        let (_, b) = server_config(&src).unwrap();
        assert_eq!(a, b, "the second start reuses the certificate");
        assert_eq!(a.len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SELF_SIGNED_DIR).join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is private");
        }
        let bad = TlsSource::Files {
            cert: dir.path().join("missing.pem"),
            key: dir.path().join("missing-key.pem"),
        };
        assert!(matches!(server_config(&bad), Err(TlsError::Pem { .. })));
    }
}

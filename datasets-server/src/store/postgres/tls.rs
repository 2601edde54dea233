//! TLS to PostgreSQL, as libpq's URL parameters ask for it:
//! `sslmode=require` (or `verify-ca`, `verify-full`) connects over TLS and
//! verifies the server's certificate against the Mozilla roots, plus the
//! PEM certificates of `sslrootcert=FILE` when given; without it (or with
//! `disable` or the default `prefer`) the connection is plain.

use std::sync::Arc;

/// A database URL split into what the driver reads and what TLS needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TlsUrl {
    /// The URL without `sslrootcert`, `verify-*` spelled `require`.
    pub(super) url: String,
    /// Whether TLS is required.
    pub(super) require: bool,
    /// Extra trusted certificates, PEM.
    pub(super) root_cert: Option<String>,
}

/// Reads the TLS parameters out of `url`.
pub(super) fn split(url: &str) -> TlsUrl {
    let Some((base, query)) = url.split_once('?') else {
        return TlsUrl {
            url: url.to_owned(),
            require: false,
            root_cert: None,
        };
    };
    let mut kept = form_urlencoded::Serializer::new(String::new());
    let (mut require, mut root_cert) = (false, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match (&*key, &*value) {
            ("sslrootcert", file) => root_cert = Some(file.to_owned()),
            ("sslmode", "require" | "verify-ca" | "verify-full") => {
                require = true;
                kept.append_pair("sslmode", "require");
            }
            _ => {
                kept.append_pair(&key, &value);
            }
        }
    }
    let kept = kept.finish();
    TlsUrl {
        url: if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{kept}")
        },
        require,
        root_cert,
    }
}

/// The TLS connector: the Mozilla roots, and those of `root_cert`.
pub(super) fn connector(
    root_cert: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = root_cert {
        let pem = std::fs::read(file).map_err(|err| format!("sslrootcert {file}: {err}"))?;
        let mut added = 0;
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            let cert: rustls::pki_types::CertificateDer<'static> =
                cert.map_err(|err| format!("sslrootcert {file}: {err}"))?;
            roots
                .add(cert)
                .map_err(|err| format!("sslrootcert {file}: {err}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("sslrootcert {file}: no PEM certificate in it"));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| format!("TLS: {err}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_tls_parameters_are_read_and_the_rest_kept() {
        assert_eq!(
            split("postgres://u@h/db"),
            TlsUrl {
                url: "postgres://u@h/db".to_owned(),
                require: false,
                root_cert: None
            }
        );
        let tls =
            split("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fca.pem&application_name=x");
        assert!(tls.require);
        assert_eq!(tls.root_cert.as_deref(), Some("/ca.pem"));
        assert_eq!(
            tls.url,
            "postgres://u@h/db?sslmode=require&application_name=x"
        );
        let plain = split("postgres://u@h/db?sslmode=prefer");
        assert!(!plain.require);
        assert_eq!(plain.url, "postgres://u@h/db?sslmode=prefer");
    }
}

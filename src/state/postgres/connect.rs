//! Connecting to the state database: the URL of `[state]`, the password of
//! `password_file`, TLS when the URL says `sslmode=require` (rustls; the
//! server's certificate checked against the system's authorities plus
//! `ca_file`, unless `tls_verify = false`), plain TCP or a unix socket
//! otherwise. The connection is driven by a task of the run's runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use secrecy::{ExposeSecret as _, SecretString};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use crate::state::StateError;

/// What the state database is reached with (from `[state]` and the
/// timeouts of the configuration).
#[derive(Debug, Clone)]
pub(crate) struct PgSettings {
    /// `postgres://user@host:port/database[?sslmode=require]`, no password.
    pub(crate) url: String,
    pub(crate) password: Option<SecretString>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) tls_verify: bool,
    pub(crate) connect_timeout: Duration,
    /// The longest one statement may take (the configuration's `timeout`).
    pub(crate) request_timeout: Duration,
}

impl PgSettings {
    /// The URL as shown to people: it never holds a password.
    pub(crate) fn shown_url(&self) -> &str {
        &self.url
    }
}

/// Opens one connection; its driving task runs on the current runtime.
pub(super) async fn connect(settings: &PgSettings) -> Result<Client, StateError> {
    let err = db_err("connect to the database");
    let mut config: tokio_postgres::Config = settings.url.parse().map_err(&err)?;
    if let Some(password) = &settings.password {
        config.password(password.expose_secret());
    }
    config
        .application_name("esia-glpi")
        .connect_timeout(settings.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30));
    let tls = config.get_ssl_mode() == SslMode::Require;
    if !tls {
        // `prefer` (the default) means no TLS here: see conf/glpi.conf.
        config.ssl_mode(SslMode::Disable);
    }
    // The connect timeout applies to each host; bound the whole too.
    let bound = settings.connect_timeout * 2 + Duration::from_secs(1);
    let connecting = async {
        if tls {
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(settings)?);
            let (client, connection) = config.connect(connector).await.map_err(&err)?;
            tokio::spawn(drive(connection));
            Ok(client)
        } else {
            let (client, connection) = config.connect(NoTls).await.map_err(&err)?;
            tokio::spawn(drive(connection));
            Ok(client)
        }
    };
    tokio::time::timeout(bound, connecting)
        .await
        .unwrap_or_else(|_| {
            Err(StateError::Database {
                action: "connect to the database",
                reason: format!("no answer within {} s", bound.as_secs()),
                kept_locally: None,
            })
        })
}

async fn drive<F>(connection: F)
where
    F: Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = connection.await {
        tracing::debug!("state database connection closed: {e}");
    }
}

/// The TLS client configuration for the database.
fn tls_config(settings: &PgSettings) -> Result<rustls::ClientConfig, StateError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls_err = |reason: String| StateError::Database {
        action: "set up TLS",
        reason,
        kept_locally: None,
    };
    let verifier: Arc<dyn ServerCertVerifier> =
        if settings.tls_verify {
            let mut extra = Vec::new();
            if let Some(path) = &settings.ca_file {
                for cert in CertificateDer::pem_file_iter(path)
                    .map_err(|e| tls_err(format!("cannot read ca_file {}: {e}", path.display())))?
                {
                    extra.push(cert.map_err(|e| {
                        tls_err(format!("ca_file {} is not PEM: {e}", path.display()))
                    })?);
                }
            }
            Arc::new(
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
                    .map_err(|e| tls_err(e.to_string()))?,
            )
        } else {
            Arc::new(AnyCertificate(provider.clone()))
        };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `tls_verify = false`: any certificate is accepted (the handshake's
/// signatures are still checked).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The error of a failed database `action`.
pub(super) fn db_err(action: &'static str) -> impl Fn(tokio_postgres::Error) -> StateError {
    move |e| StateError::Database {
        action,
        reason: reason(&e),
        kept_locally: None,
    }
}

/// The client's message with the server's (a `db error` says nothing by
/// itself). Neither ever holds the password.
fn reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
    }
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

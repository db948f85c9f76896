//! A TLS front for the GLPI simulator, with certificates generated in the
//! test (rcgen): it terminates TLS on its own 127.0.0.1 port and relays the
//! plain bytes to the simulator, so the simulator itself stays plain HTTP.
//! Runs on its own thread and runtime; dropping it stops it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate and its key.
pub struct SelfSigned {
    /// The certificate in PEM, what an administrator puts in `ca_file`.
    pub pem: String,
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

impl SelfSigned {
    /// A certificate naming `names` (DNS names or IP addresses), valid now,
    /// or expired since 2021 when `expired`.
    pub fn new(names: &[&str], expired: bool) -> SelfSigned {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.self_signed(&key).unwrap();
        SelfSigned {
            pem: cert.pem(),
            der: cert.der().clone(),
            key: key.serialize_der(),
        }
    }
}

/// The running TLS front.
pub struct TlsFront {
    port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsFront {
    /// Serves `cert` on a random port and relays to `backend` (the simulator's
    /// `http://127.0.0.1:PORT`).
    pub fn start(cert: &SelfSigned, backend: &str) -> TlsFront {
        let backend: SocketAddr = backend
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key.clone())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let acceptor = acceptor.clone();
                            tokio::spawn(async move {
                                // A refused handshake (the client distrusts us) just ends here.
                                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await
                                else {
                                    return;
                                };
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                            });
                        }
                    }
                }
            });
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
        });
        TlsFront {
            port,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

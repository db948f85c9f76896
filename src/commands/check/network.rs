//! `check`, the network: DNS, then TCP to `host`, and the naming of a TLS
//! problem from a failed request's error.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};

use super::report::Report;
use crate::config::Config;
use crate::core::Failure;

/// True when a proxy may carry the requests, so that a direct TCP failure
/// does not mean GLPI is unreachable.
fn proxy_configured() -> bool {
    [
        "https_proxy",
        "HTTPS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// What the network steps learnt.
pub(super) struct Network {
    /// This machine's address on the way to GLPI, for the "address not
    /// allowed" advice (unknown through a proxy).
    pub(super) local_ip: Option<IpAddr>,
}

/// DNS then TCP; `None` when the next steps are pointless.
pub(super) fn check_network(r: &mut Report, config: &Config) -> Option<Network> {
    let api_url = config.api_url();
    let Ok(url) = reqwest::Url::parse(&api_url) else {
        r.fail(
            "configuration",
            Failure::Config,
            format!(
                "host {:?} is not a URL: write it as https://glpi.example.org/glpi",
                crate::config::without_userinfo(&config.host)
            ),
        );
        return None;
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
        r.ok("DNS", format!("{host} is an address: no lookup needed"));
        vec![SocketAddr::new(ip, port)]
    } else {
        match (host.as_str(), port).to_socket_addrs() {
            Ok(a) => {
                let a: Vec<SocketAddr> = a.collect();
                let list: Vec<String> = a.iter().map(|s| s.ip().to_string()).collect();
                r.ok("DNS", format!("{host} → {}", list.join(", ")));
                a
            }
            Err(e) => {
                r.fail(
                    "DNS",
                    Failure::Unavailable,
                    format!(
                        "cannot resolve {host} ({e}): check the spelling of `host` and this \
                         server's resolver (/etc/resolv.conf, /etc/hosts)"
                    ),
                );
                return None;
            }
        }
    };
    let mut last_error = String::from("no address");
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, config.connect_timeout) {
            Ok(stream) => {
                let local = stream.local_addr().ok().map(|a| a.ip());
                r.ok(
                    "TCP",
                    match local {
                        Some(ip) => format!("connected to {addr} from {ip}"),
                        None => format!("connected to {addr}"),
                    },
                );
                return Some(Network { local_ip: local });
            }
            Err(e) => last_error = format!("{addr}: {e}"),
        }
    }
    if proxy_configured() {
        r.warn(
            "TCP",
            format!(
                "no direct connection to {host}:{port} ({last_error}); a proxy is configured in \
                 the environment, so the next steps go through it"
            ),
        );
        return Some(Network { local_ip: None });
    }
    r.fail(
        "TCP",
        Failure::Unavailable,
        format!(
            "cannot connect to {host} port {port} ({last_error}): check that GLPI's web server \
             listens there and that no firewall blocks this server; raise connect_timeout if the \
             network is only slow"
        ),
    );
    None
}

/// Names a certificate problem from the error chain of a failed request.
pub(super) fn tls_problem(reason: &str, config: &Config) -> Option<String> {
    let plain = crate::glpi::plain_http_answer(reason)
        || (crate::glpi::handshake_cut(reason) && speaks_plain_http(config));
    if plain {
        return Some(
            "this port speaks plain HTTP, not TLS (it answered the TLS handshake in HTTP): write \
             `host` with http:// (only towards this machine: the tokens would travel in clear), \
             or with the port GLPI's web server serves HTTPS on (443 by default)"
                .to_owned(),
        );
    }
    let lower = reason.to_ascii_lowercase();
    let certificate =
        lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake");
    if !certificate {
        return None;
    }
    let fix_ca = match &config.ca_file {
        Some(p) => format!(
            "ca_file {} does not hold the authority that signed GLPI's certificate: put that \
             authority's PEM certificate in it",
            p.display()
        ),
        None => "if GLPI's certificate comes from a private authority or is self-signed, set \
                 ca_file to that authority's (or that certificate's) PEM file"
            .to_string(),
    };
    Some(if lower.contains("expired") {
        "GLPI's certificate has expired: renew it on the GLPI server (check this server's clock too)"
            .to_string()
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "GLPI's certificate does not name the host of `host`: write `host` with a name the \
         certificate carries, or issue a certificate for this name"
            .to_string()
    } else if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("self-signed")
        || lower.contains("self signed")
    {
        format!("GLPI's certificate is signed by an unknown authority: {fix_ca}")
    } else {
        format!("the TLS connection failed ({reason}): {fix_ca}")
    })
}

/// Whether the port of `host` answers a plain HTTP request in HTTP (asked
/// when the TLS handshake was cut short: an HTTP server closes a handshake
/// it cannot read). One `HEAD /` on its own connection; nothing else sent.
fn speaks_plain_http(config: &Config) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(url) = reqwest::Url::parse(&config.api_url()) else {
        return false;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Some(addr) = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, config.connect_timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(config.request_timeout));
    let _ = stream.set_write_timeout(Some(config.request_timeout));
    let request = format!("HEAD / HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// The ✓ (or ! when unverified) line of TLS, once GLPI answered over it.
pub(super) fn tls_ok(r: &mut Report, config: &Config, https: bool) {
    if !https {
        return;
    }
    if !config.tls_verify {
        r.warn(
            "TLS",
            "the certificate is NOT verified (tls_verify = false): whoever sits on the path can \
             read the tokens; set ca_file to the authority that signed GLPI's certificate and \
             remove tls_verify",
        );
        return;
    }
    r.ok(
        "TLS",
        match &config.ca_file {
            Some(p) => format!(
                "certificate verified (system authorities and ca_file {})",
                p.display()
            ),
            None => "certificate verified (system authorities)".to_string(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::config;
    use super::*;

    #[test]
    fn certificate_problems_are_named() {
        let c = config("");
        let name = |reason: &str| tls_problem(reason, &c).unwrap();
        assert!(name("invalid peer certificate: UnknownIssuer").contains("unknown authority"));
        assert!(name("invalid peer certificate: UnknownIssuer").contains("ca_file"));
        assert!(
            name("invalid peer certificate: certificate expired: verification time")
                .contains("expired")
        );
        assert!(name("invalid peer certificate: NotValidForName").contains("does not name"));
        assert!(tls_problem("connection refused", &c).is_none());
        // An HTTP port answering a TLS handshake: not a certificate matter.
        let plain = name(
            "connection failed: client error (Connect): received corrupt message of type \
             InvalidContentType",
        );
        assert!(plain.starts_with("this port speaks plain HTTP"), "{plain}");
        assert!(!plain.contains("ca_file"), "{plain}");
    }
}

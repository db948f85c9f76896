//! `check`, the GLPI API: enabled (`GET apirest.php/`, no token), this
//! address allowed, the `app_token`, then the `user_token` (`initSession`,
//! with the `Authorization`-stripped fallback).

use std::net::IpAddr;

use super::network::{Network, check_network, tls_ok, tls_problem};
use super::report::{Report, class_of, explain};
use super::rights::after_login;
use crate::config::{Api, Config};
use crate::core::Failure;
use crate::engine::glpi_settings;
use crate::glpi::{Client, ErrorCode, GlpiError, Me};

pub(super) async fn check_glpi(r: &mut Report, config: &Config) {
    let client = match Client::new(glpi_settings(config)) {
        Ok(c) => c,
        Err(e) => {
            let hint = e.hint().map(|h| format!(": {h}")).unwrap_or_default();
            r.fail("configuration", Failure::Config, format!("{e}{hint}"));
            return;
        }
    };
    let Some(Network { local_ip }) = check_network(r, config) else {
        return;
    };
    let budget = config.run_timeout;
    let finished = tokio::time::timeout(budget, glpi_steps(r, &client, config, local_ip))
        .await
        .is_ok();
    if !finished {
        r.fail(
            "GLPI",
            Failure::Unavailable,
            format!(
                "GLPI did not finish answering within run_timeout ({} s): it is overloaded or a \
                 proxy holds the requests; raise timeout / run_timeout if it is only slow",
                budget.as_secs()
            ),
        );
    }
}

const STRIPPED_FIX: &str = "Apache + PHP-FPM: add SetEnvIf Authorization \"(.*)\" \
     HTTP_AUTHORIZATION=$1 to GLPI's virtual host; nginx: fastcgi_param HTTP_AUTHORIZATION \
     $http_authorization;";

async fn glpi_steps(r: &mut Report, client: &Client, config: &Config, local_ip: Option<IpAddr>) {
    if config.api == Api::V2 {
        return super::hlapi::v2_steps(r, client, config).await;
    }
    if !api_root(r, client, config, local_ip).await {
        return;
    }

    let session = match client.open().await {
        Ok(s) => s,
        Err(e) => {
            login_failure(r, client, config, local_ip, &e);
            return;
        }
    };
    app_token_ok(r, config);
    let me = session.me().await.ok();
    r.ok(
        "user_token",
        match &me {
            Some(Me { id, login }) => format!("session opened as \"{login}\" (user {id})"),
            None => "session opened".to_string(),
        },
    );
    if client.auth_in_query() {
        stripped_warning(r);
    }
    after_login(r, &session, config).await;
    session.close().await;
    if r.glpi_version
        .as_deref()
        .is_some_and(|v| !v.starts_with("10."))
    {
        super::hlapi::say_v2_state(r, client, true).await;
    }
}

/// `GET apirest.php/`: false when the REST API is not usable (said).
async fn api_root(
    r: &mut Report,
    client: &Client,
    config: &Config,
    local_ip: Option<IpAddr>,
) -> bool {
    let https = config
        .api_url()
        .to_ascii_lowercase()
        .starts_with("https://");
    match client.probe_root().await {
        Ok(()) => {
            tls_ok(r, config, https);
            r.ok("REST API", format!("enabled at {}", config.shown_api_url()));
        }
        Err(GlpiError::Unavailable { reason, .. }) => {
            match https.then(|| tls_problem(&reason, config)).flatten() {
                Some(problem) => r.fail("TLS", Failure::Unavailable, problem),
                None => r.fail(
                    "REST API",
                    Failure::Unavailable,
                    format!(
                        "no usable answer from {} ({reason}): check that GLPI runs; raise timeout \
                         if it is only slow",
                        config.shown_api_url()
                    ),
                ),
            }
            return false;
        }
        Err(e @ GlpiError::PhpOutput { .. }) => {
            tls_ok(r, config, https);
            r.fail("REST API", Failure::Unavailable, explain(&e));
            return false;
        }
        Err(e @ (GlpiError::Protocol { .. } | GlpiError::NotFound { .. })) => {
            let detail = match e {
                GlpiError::Protocol { detail, .. } => detail,
                _ => "HTTP 404 Not Found".to_owned(),
            };
            tls_ok(r, config, https);
            r.fail(
                "REST API",
                Failure::Config,
                format!(
                    "{} is not GLPI's REST API ({detail}): set `host` to the GLPI root URL, the \
                     one that shows GLPI's login page (the client adds /apirest.php/)",
                    config.shown_api_url()
                ),
            );
            return false;
        }
        Err(e @ GlpiError::Setup { .. }) => {
            r.fail("configuration", Failure::Config, explain(&e));
            return false;
        }
        Err(e @ GlpiError::Refused { .. }) => {
            tls_ok(r, config, https);
            match e.code() {
                Some(ErrorCode::NotAllowedIp) => {
                    r.ok("REST API", format!("enabled at {}", config.shown_api_url()));
                    not_allowed_ip(r, local_ip);
                }
                Some(ErrorCode::Generic) if e.to_string().contains("API disabled") => {
                    r.fail(
                        "REST API",
                        Failure::Refused,
                        "the REST API is disabled in GLPI: enable it under Setup > General > \
                         API > Enable Rest API",
                    );
                    super::hlapi::say_v2_state(r, client, false).await;
                }
                _ => r.fail("REST API", Failure::Refused, explain(&e)),
            }
            return false;
        }
    }
    true
}

/// The ✓ line of the `app_token`: GLPI got past its check.
fn app_token_ok(r: &mut Report, config: &Config) {
    r.ok(
        "app_token",
        if config.app_token.is_some() {
            "accepted by the API client of this address"
        } else {
            "none configured, and the API client of this address needs none"
        },
    );
}

fn not_allowed_ip(r: &mut Report, local_ip: Option<IpAddr>) {
    let address = local_ip.map_or_else(String::new, |ip| format!(" ({ip} as seen from here)"));
    r.fail(
        "API client",
        Failure::Refused,
        format!(
            "no active API client accepts this server's address{address} \
             (ERROR_NOT_ALLOWED_IP): add the address to the IPv4 range of the API client in \
             Setup > General > API, or create an API client for it"
        ),
    );
}

fn stripped_warning(r: &mut Report) {
    r.warn(
        "Authorization header",
        format!(
            "the web server in front of GLPI strips it, so the user_token is sent as a query \
             parameter and may appear in its access log: {STRIPPED_FIX}"
        ),
    );
}

/// Says which token `initSession` refused, and how to fix it.
fn login_failure(
    r: &mut Report,
    client: &Client,
    config: &Config,
    local_ip: Option<IpAddr>,
    e: &GlpiError,
) {
    match e.code() {
        Some(ErrorCode::WrongAppTokenParameter) => r.fail(
            "app_token",
            Failure::Refused,
            if config.app_token.is_some() {
                "GLPI refused it (ERROR_WRONG_APP_TOKEN_PARAMETER): copy the application token \
                 of this server's API client (Setup > General > API) into app_token"
            } else {
                "GLPI expects none to be sent, yet refused the request \
                 (ERROR_WRONG_APP_TOKEN_PARAMETER): copy the application token of this server's \
                 API client (Setup > General > API) into app_token"
            },
        ),
        Some(ErrorCode::AppTokenParametersMissing) => r.fail(
            "app_token",
            Failure::Refused,
            "the API client of this address has an application token and none was sent \
             (ERROR_APP_TOKEN_PARAMETERS_MISSING): copy it from Setup > General > API into \
             app_token",
        ),
        Some(ErrorCode::NotAllowedIp) => not_allowed_ip(r, local_ip),
        Some(ErrorCode::GlpiLoginUserToken) => {
            app_token_ok(r, config);
            if client.auth_in_query() {
                stripped_warning(r);
            }
            r.fail(
                "user_token",
                Failure::Refused,
                "GLPI refused it (ERROR_GLPI_LOGIN_USER_TOKEN): regenerate the API token under \
                 Administration > Users > (the API user) > Remote access keys, copy it into \
                 user_token, and regenerate it again after every change of that user's profile; \
                 the user must be active and have a profile",
            );
        }
        Some(ErrorCode::LoginParametersMissing) => {
            app_token_ok(r, config);
            r.fail(
                "user_token",
                Failure::Refused,
                format!(
                    "GLPI received no user_token, neither in the Authorization header nor as a \
                     query parameter (ERROR_LOGIN_PARAMETERS_MISSING): a proxy or the web server \
                     removes it; {STRIPPED_FIX}"
                ),
            );
        }
        _ => r.fail("user_token", class_of(e), explain(e)),
    }
}

//! Icinga 2's REST API (`icinga2_url`, HTTPS with basic authentication of an
//! `ApiUser`): `GET /v1/status/IcingaApplication` (`program_start`), `GET
//! /v1/objects/hosts` and `GET /v1/objects/services` with only the
//! attributes read (`attrs=`). A service's address and groups are its
//! host's, from the hosts' answer.
//!
//! Per object: `state` (services 0..3; hosts 0 UP, 1 DOWN: Icinga 2 keeps
//! no UNREACHABLE there), `state_type` (1 hard), `last_hard_state_change`,
//! `last_check` and `last_check_result` (null, and `last_check` -1, until
//! the first result: not checked; its `output`), `downtime_depth`,
//! `acknowledgement` (0 none, 1 normal, 2 sticky), `flapping`, and the
//! hosts' `groups` and `address`. Numbers may come as floats.
//!
//! What Icinga 2 answers when it refuses (seen on 2.13.6): 401 with
//! `{"error":401,"status":"Unauthorized. Please check your user
//! credentials."}` for a wrong user or password; **404** `No objects found.`
//! for an `ApiUser` without `objects/query/Host` (an empty list is a 200).
//! The password is exposed only to the request's basic authentication, and
//! no URL with user-info is ever shown.
//!
//! [`parse`] is pure (the unit tests use it with answers captured from a
//! real Icinga 2); [`read`] does the I/O, within [`Limits`].

use std::collections::HashMap;

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{
    Icinga2Settings, Limits, MonitorError, Object, Snapshot, epoch, finish, host_state,
    service_state,
};
use crate::core::Key;
use crate::core::reconcile::Observed;

/// One of the three requests.
struct Request {
    path: &'static str,
    /// The attributes asked for (`attrs=`); none for the status.
    attrs: &'static [&'static str],
    /// The `ApiUser`'s permission it needs.
    permission: &'static str,
}

const STATUS: Request = Request {
    path: "/v1/status/IcingaApplication",
    attrs: &[],
    permission: "status/query",
};

const HOSTS: Request = Request {
    path: "/v1/objects/hosts",
    attrs: &[
        "name",
        "state",
        "state_type",
        "last_hard_state_change",
        "last_check",
        "last_check_result",
        "downtime_depth",
        "acknowledgement",
        "flapping",
        "groups",
        "address",
    ],
    permission: "objects/query/Host",
};

const SERVICES: Request = Request {
    path: "/v1/objects/services",
    attrs: &[
        "host_name",
        "name",
        "state",
        "state_type",
        "last_hard_state_change",
        "last_check",
        "last_check_result",
        "downtime_depth",
        "acknowledgement",
        "flapping",
    ],
    permission: "objects/query/Service",
};

/// Reads the engine's state through its API.
pub(super) async fn read(api: &Icinga2Settings, limits: Limits) -> Result<Snapshot, MonitorError> {
    let base = base_url(&api.url)?;
    let what = format!("Icinga 2 API {base}");
    let http = client(api, limits)?;
    let status = get(&http, api, &base, &STATUS, &what).await?;
    // The answers describe the engine's memory at this moment or later.
    let taken = Timestamp::now();
    let hosts = get(&http, api, &base, &HOSTS, &what).await?;
    let services = get(&http, api, &base, &SERVICES, &what).await?;
    let mut snapshot = parse(&status, &hosts, &services, &what)?;
    snapshot.taken = taken;
    Ok(snapshot)
}

/// `icinga2_url` without user-info, query, fragment nor trailing `/`: what
/// the requests start with and what messages show.
fn base_url(url: &str) -> Result<String, MonitorError> {
    let setup = |reason: String| MonitorError::Setup { reason };
    let mut parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| setup(format!("icinga2_url is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(setup(
            "icinga2_url must be https://HOST:PORT (Icinga 2's API, port 5665 by default)".into(),
        ));
    }
    // Neither can fail on an http(s) URL with a host.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// The HTTP client: the system's roots plus `ca_file`'s (Icinga 2's API
/// certificate is signed by its own CA), no redirect followed, a connection
/// per request (Icinga 2 closes idle ones).
fn client(api: &Icinga2Settings, limits: Limits) -> Result<reqwest::Client, MonitorError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .timeout(limits.timeout)
        .user_agent(concat!("esia-glpi/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0);
    if let Some(path) = &api.ca_file {
        let certs = crate::net::ca_certs(path).map_err(|reason| MonitorError::Setup { reason })?;
        if certs.is_empty() {
            return Err(MonitorError::Setup {
                reason: format!("ca_file {} holds no PEM certificate", path.display()),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| MonitorError::Setup {
        reason: crate::net::describe(&e),
    })
}

/// One GET; its JSON body (a 2xx), or why not.
async fn get(
    http: &reqwest::Client,
    api: &Icinga2Settings,
    base: &str,
    request: &Request,
    what: &str,
) -> Result<Value, MonitorError> {
    let path = request.path;
    let attrs: Vec<(&str, &str)> = request.attrs.iter().map(|a| ("attrs", *a)).collect();
    let response = http
        .get(format!("{base}{path}"))
        .query(&attrs)
        .basic_auth(&api.user, Some(api.password.expose_secret()))
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| MonitorError::Unreachable {
            what: what.to_owned(),
            reason: format!("GET {path}: {}", crate::net::describe(&e)),
        })?;
    let code = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| MonitorError::Unreachable {
            what: what.to_owned(),
            reason: format!("GET {path}: {}", crate::net::describe(&e)),
        })?;
    answer(code, &body, path, request.permission, &api.user, what)
}

/// The JSON of an answer with status `code`, or the error it says.
fn answer(
    code: u16,
    body: &str,
    path: &str,
    permission: &str,
    user: &str,
    what: &str,
) -> Result<Value, MonitorError> {
    let json: Option<Value> = serde_json::from_str(body).ok();
    // Icinga 2's error object: {"error": 401, "status": "…"}.
    let icinga_error = json
        .as_ref()
        .filter(|v| v.get("error").is_some())
        .and_then(|v| v.get("status"))
        .and_then(Value::as_str);
    let message: String = icinga_error
        .unwrap_or_else(|| body.trim())
        .chars()
        .take(300)
        .collect();
    let (what, head) = (what.to_owned(), format!("GET {path}: HTTP {code}"));
    match code {
        200..=299 => json.ok_or_else(|| MonitorError::Malformed {
            what,
            reason: format!("{head}, but the body is not JSON"),
        }),
        401 => Err(MonitorError::Refused {
            what,
            reason: format!(
                "{head} ({message}): Icinga 2 knows no ApiUser `{user}` with this password"
            ),
        }),
        // 404 is how Icinga 2 says "none you may see" (an empty list is a 200).
        403 | 404 if icinga_error.is_some() => Err(MonitorError::Refused {
            what,
            reason: format!(
                "{head} ({message}): the ApiUser `{user}` lacks the permission {permission}"
            ),
        }),
        500..=599 => Err(MonitorError::Unreachable {
            what,
            reason: format!("{head} ({message})"),
        }),
        300..=399 => Err(MonitorError::Malformed {
            what,
            reason: format!("{head}, a redirect (not followed): icinga2_url must be the API's own"),
        }),
        _ => Err(MonitorError::Malformed {
            what,
            reason: format!("{head} ({message})"),
        }),
    }
}

/// The state the three answers describe; `what` names the API. `taken` is
/// left at the Unix epoch: [`read`] sets it.
pub(super) fn parse(
    status: &Value,
    hosts: &Value,
    services: &Value,
    what: &str,
) -> Result<Snapshot, MonitorError> {
    let results = |name: &str, v: &'_ Value| -> Result<Vec<Value>, MonitorError> {
        v.get("results")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| MonitorError::Malformed {
                what: what.to_owned(),
                reason: format!("the answer of {name} has no \"results\" list"),
            })
    };
    let program_start = results("/v1/status/IcingaApplication", status)?
        .first()
        .and_then(|r| r.pointer("/status/icingaapplication/app/program_start"))
        .and_then(Value::as_f64)
        .and_then(epoch);
    let mut objects = Vec::new();
    let mut skipped = 0usize;
    let mut of_host: HashMap<String, (String, Vec<String>)> = HashMap::new();
    for r in results("/v1/objects/hosts", hosts)? {
        let attrs = r.get("attrs");
        let name = text(attrs.and_then(|a| a.get("name")));
        let Some(o) = attrs
            .filter(|_| !name.is_empty())
            .and_then(|a| object(Key::new(name, ""), a, true))
        else {
            skipped += 1;
            continue;
        };
        of_host.insert(o.key.node.clone(), (o.address.clone(), o.groups.clone()));
        objects.push(o);
    }
    for r in results("/v1/objects/services", services)? {
        let attrs = r.get("attrs");
        let node = text(attrs.and_then(|a| a.get("host_name")));
        let name = text(attrs.and_then(|a| a.get("name")));
        let Some(mut o) = attrs
            .filter(|_| !node.is_empty() && !name.is_empty())
            .and_then(|a| object(Key::new(node, name), a, false))
        else {
            skipped += 1;
            continue;
        };
        if let Some((address, groups)) = of_host.get(&o.key.node) {
            o.address.clone_from(address);
            o.groups.clone_from(groups);
        }
        objects.push(o);
    }
    if skipped > 0 {
        tracing::warn!(
            "{what}: {skipped} host or service object(s) without a name or state skipped"
        );
    }
    Ok(Snapshot {
        source: what.to_owned(),
        taken: Timestamp::UNIX_EPOCH,
        program_start,
        objects: finish(objects),
        reads: 3,
        written: false,
    })
}

/// A number, or a boolean as 0 / 1 (`flapping`).
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

/// A host's or a service's `attrs`.
fn object(key: Key, a: &Value, is_host: bool) -> Option<Object> {
    let n = number(a.get("state"))?;
    if n.fract() != 0.0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a whole number; out of range saturates, and no state is out of range"
    )]
    let n = n as i64;
    let state = if is_host {
        host_state(n)?
    } else {
        service_state(n)?
    };
    let result = a.get("last_check_result").filter(|r| r.is_object());
    let positive = |name: &str| number(a.get(name)).is_some_and(|v| v > 0.0);
    Some(Object {
        key,
        observed: Observed {
            state,
            // Engines keep OK and UP hard.
            hard: number(a.get("state_type")) == Some(1.0) || n == 0,
            checked: result.is_some() && positive("last_check"),
            since: number(a.get("last_hard_state_change")).and_then(epoch),
            downtime: positive("downtime_depth"),
            acknowledged: positive("acknowledgement"),
            flapping: positive("flapping"),
        },
        output: text(result.and_then(|r| r.get("output"))).to_owned(),
        address: text(a.get("address")).to_owned(),
        groups: a
            .get("groups")
            .and_then(Value::as_array)
            .map(|g| {
                g.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;

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
        let pem = std::fs::read(path).map_err(|e| MonitorError::Setup {
            reason: format!("cannot read ca_file {}: {e}", path.display()),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| MonitorError::Setup {
                reason: format!(
                    "ca_file {} holds no usable PEM certificate: {e}",
                    path.display()
                ),
            })?;
        if certs.is_empty() {
            return Err(MonitorError::Setup {
                reason: format!("ca_file {} holds no PEM certificate", path.display()),
            });
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| MonitorError::Setup {
        reason: describe(&e),
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
            reason: format!("GET {path}: {}", describe(&e)),
        })?;
    let code = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| MonitorError::Unreachable {
            what: what.to_owned(),
            reason: format!("GET {path}: {}", describe(&e)),
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

/// A short reason for a transport error (the URL left out: it says
/// nothing more than `what`).
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut reason = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = e.source();
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    reason
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
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::core::State;

    // Captured from Icinga 2.13.6 (the test support's private Icinga 2),
    // trimmed (some of `last_check_result`'s fields, `joins`, `meta`):
    // srv-web-01's HTTP CRITICAL and acknowledged, srv-down DOWN in a
    // downtime with PING WARNING, srv-soft's DISK a soft WARNING
    // (max_check_attempts 3), srv-never never checked.
    const STATUS_JSON: &str = r#"{"results":[{"name":"IcingaApplication","perfdata":[],"status":{"icingaapplication":{"app":{"enable_event_handlers":false,"enable_flapping":true,"enable_host_checks":true,"enable_notifications":true,"enable_perfdata":false,"enable_service_checks":true,"environment":"","node_name":"esia-icinga","pid":31386,"program_start":1796656283.0755,"version":"r2.13.6-1"}}}}]}"#;
    const HOSTS_JSON: &str = r#"{"results":[
{"attrs":{"acknowledgement":0,"address":"127.0.0.1","downtime_depth":0,"flapping":false,"groups":["Paris"],"last_check":1796656283.096061,"last_check_result":{"active":false,"check_source":"esia-icinga","exit_status":0,"output":"PING OK - rta 0.1 ms","state":0,"type":"CheckResult","vars_after":{"attempt":1,"reachable":true,"state":0,"state_type":1}},"last_hard_state_change":1796656283.096061,"name":"srv-web-01","state":0,"state_type":1},"joins":{},"meta":{},"name":"srv-web-01","type":"Host"},
{"attrs":{"acknowledgement":0,"address":"","downtime_depth":0,"flapping":false,"groups":[],"last_check":-1,"last_check_result":null,"last_hard_state_change":0,"name":"srv-never","state":1,"state_type":0},"joins":{},"meta":{},"name":"srv-never","type":"Host"},
{"attrs":{"acknowledgement":0,"address":"10.0.0.5","downtime_depth":0,"flapping":false,"groups":["Lyon","Paris"],"last_check":1796656283.145521,"last_check_result":{"active":false,"exit_status":0,"output":"UP","state":0,"type":"CheckResult"},"last_hard_state_change":1796656283.145521,"name":"srv-soft","state":0,"state_type":1},"joins":{},"meta":{},"name":"srv-soft","type":"Host"},
{"attrs":{"acknowledgement":0,"address":"127.0.0.1","downtime_depth":1,"flapping":false,"groups":[],"last_check":1796656283.097618,"last_check_result":{"active":false,"exit_status":0,"output":"DOWN - no answer","state":2,"type":"CheckResult","vars_after":{"attempt":1,"reachable":true,"state":2,"state_type":1}},"last_hard_state_change":1796656283.097618,"name":"srv-down","state":1,"state_type":1},"joins":{},"meta":{},"name":"srv-down","type":"Host"}]}"#;
    const SERVICES_JSON: &str = r#"{"results":[
{"attrs":{"acknowledgement":0,"downtime_depth":0,"flapping":false,"host_name":"srv-soft","last_check":1796656283.100648,"last_check_result":{"active":false,"exit_status":0,"output":"DISK WARNING - /var 91%","state":1,"type":"CheckResult","vars_after":{"attempt":2,"reachable":true,"state":1,"state_type":0}},"last_hard_state_change":0,"name":"DISK","state":1,"state_type":0},"joins":{},"meta":{},"name":"srv-soft!DISK","type":"Service"},
{"attrs":{"acknowledgement":0,"downtime_depth":0,"flapping":false,"host_name":"srv-down","last_check":1796656283.099159,"last_check_result":{"active":false,"exit_status":0,"output":"WARN - loss 40%","state":1,"type":"CheckResult"},"last_hard_state_change":1796656283.099159,"name":"PING","state":1,"state_type":1},"joins":{},"meta":{},"name":"srv-down!PING","type":"Service"},
{"attrs":{"acknowledgement":1,"downtime_depth":0,"flapping":false,"host_name":"srv-web-01","last_check":1796656283.094285,"last_check_result":{"active":false,"exit_status":0,"output":"CRITICAL - 503 \"Service\" Unavailable","state":2,"type":"CheckResult"},"last_hard_state_change":1796656283.094285,"name":"HTTP","state":2,"state_type":1},"joins":{},"meta":{},"name":"srv-web-01!HTTP","type":"Service"},
{"attrs":{"acknowledgement":0,"downtime_depth":0,"flapping":false,"host_name":"srv-never","last_check":-1,"last_check_result":null,"last_hard_state_change":0,"name":"PING","state":3,"state_type":0},"joins":{},"meta":{},"name":"srv-never!PING","type":"Service"}]}"#;
    /// Icinga 2's answer to a wrong user or password.
    const UNAUTHORIZED: &str =
        r#"{"error":401,"status":"Unauthorized. Please check your user credentials."}"#;
    /// Its answer to an `ApiUser` without `objects/query/Host`.
    const NO_OBJECTS: &str = r#"{"error":404,"status":"No objects found."}"#;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn parse_fixtures() -> Snapshot {
        parse(
            &json(STATUS_JSON),
            &json(HOSTS_JSON),
            &json(SERVICES_JSON),
            "Icinga 2 API https://i:5665",
        )
        .unwrap()
    }

    #[test]
    fn reads_what_reconcile_needs() {
        let s = parse_fixtures();
        assert_eq!(s.program_start.unwrap().as_millisecond(), 1_796_656_283_075);
        assert!(!s.written);
        let keys: Vec<String> = s.objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "srv-down",
                "srv-never",
                "srv-soft",
                "srv-web-01",
                "srv-down/PING",
                "srv-never/PING",
                "srv-soft/DISK",
                "srv-web-01/HTTP"
            ]
        );
        let idx = s.index();
        let http = idx[&Key::new("srv-web-01", "HTTP")];
        assert_eq!(
            http.observed,
            Observed {
                state: State::Critical,
                hard: true,
                checked: true,
                since: epoch(1_796_656_283.094_285),
                downtime: false,
                acknowledged: true,
                flapping: false,
            }
        );
        assert_eq!(http.output, "CRITICAL - 503 \"Service\" Unavailable");
        // A service's address and groups are its host's.
        assert_eq!(http.address, "127.0.0.1");
        assert_eq!(http.groups, ["Paris"]);
        let disk = idx[&Key::new("srv-soft", "DISK")];
        assert!(!disk.observed.hard && disk.observed.checked);
        assert_eq!(disk.observed.since, None);
        assert_eq!(disk.groups, ["Lyon", "Paris"]);
        let down = idx[&Key::new("srv-down", "")];
        assert_eq!(down.observed.state, State::Down);
        assert!(down.observed.hard && down.observed.downtime);
        assert_eq!(down.output, "DOWN - no answer");
        let ping = idx[&Key::new("srv-down", "PING")];
        assert!(ping.observed.hard && ping.observed.downtime);
        // Never checked: a null last_check_result, last_check -1.
        for key in [Key::new("srv-never", ""), Key::new("srv-never", "PING")] {
            let o = &idx[&key].observed;
            assert!(!o.checked && !o.hard, "{key}");
        }
        assert_eq!(
            idx[&Key::new("srv-never", "PING")].observed.state,
            State::Unknown
        );
    }

    #[test]
    fn refusals_and_errors() {
        let e = answer(401, UNAUTHORIZED, "/v1/objects/hosts", "p", "esia", "w").unwrap_err();
        assert!(matches!(e, MonitorError::Refused { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "w refused the request: GET /v1/objects/hosts: HTTP 401 (Unauthorized. Please check \
             your user credentials.): Icinga 2 knows no ApiUser `esia` with this password"
        );
        // Without `Accept: application/json`, Icinga 2's 401 is HTML.
        let e = answer(
            401,
            "<h1>Unauthorized. Please check your user credentials.</h1>",
            "/x",
            "p",
            "esia",
            "w",
        )
        .unwrap_err();
        assert!(matches!(e, MonitorError::Refused { .. }), "{e:?}");
        let e = answer(
            404,
            NO_OBJECTS,
            "/v1/objects/hosts",
            "objects/query/Host",
            "esia",
            "w",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "w refused the request: GET /v1/objects/hosts: HTTP 404 (No objects found.): the \
             ApiUser `esia` lacks the permission objects/query/Host"
        );
        // A 404 that is not Icinga 2's: not its API.
        let e = answer(404, "<html>Not Found</html>", "/x", "p", "u", "w").unwrap_err();
        assert!(matches!(e, MonitorError::Malformed { .. }), "{e:?}");
        let e = answer(503, "busy", "/x", "p", "u", "w").unwrap_err();
        assert!(matches!(e, MonitorError::Unreachable { .. }), "{e:?}");
        let e = answer(302, "", "/x", "p", "u", "w").unwrap_err();
        assert!(matches!(e, MonitorError::Malformed { .. }), "{e:?}");
        // Malformed JSON, or JSON without results.
        let e = answer(200, "{\"results\":[", "/x", "p", "u", "w").unwrap_err();
        assert_eq!(
            e.to_string(),
            "w is not the engine's state: GET /x: HTTP 200, but the body is not JSON"
        );
        let e = parse(&json("{}"), &json("{}"), &json("{}"), "w").unwrap_err();
        assert!(matches!(e, MonitorError::Malformed { .. }), "{e:?}");
        // Objects without a name or a known state are skipped, never fatal.
        let s = parse(
            &json(r#"{"results":[{}]}"#),
            &json(
                r#"{"results":[{}, {"attrs":{"name":"a"}}, {"attrs":{"name":"b","state":5}},
                {"attrs":{"name":"","state":0}}, {"attrs":{"name":"c","state":0.0}}]}"#,
            ),
            &json(
                r#"{"results":[{"attrs":{"name":"S","state":0}},
                {"attrs":{"host_name":"c","name":"T","state":2.0,"state_type":1.0}}]}"#,
            ),
            "w",
        )
        .unwrap();
        let keys: Vec<String> = s.objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(keys, ["c", "c/T"]);
        assert_eq!(s.program_start, None);
        let t = &s.index()[&Key::new("c", "T")].observed;
        assert!(t.hard && !t.checked && t.state == State::Critical);
    }

    #[test]
    fn the_source_never_shows_user_info() {
        assert_eq!(
            base_url("https://esia:secret@icinga.example:5665/").unwrap(),
            "https://icinga.example:5665"
        );
        assert!(matches!(
            base_url("icinga.example:5665"),
            Err(MonitorError::Setup { .. })
        ));
        assert!(matches!(
            base_url("not a url"),
            Err(MonitorError::Setup { .. })
        ));
    }

    fn settings(url: String, ca_file: Option<std::path::PathBuf>) -> Icinga2Settings {
        Icinga2Settings {
            url,
            user: "esia".into(),
            password: "pw-Secr3t".to_owned().into(),
            ca_file,
        }
    }

    const LIMITS: Limits = Limits {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    };

    /// A plain HTTP server answering each connection with the next of
    /// `answers` (status, body), keeping the requests' heads.
    async fn serve(
        answers: Vec<(u16, &'static str)>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut heads = Vec::new();
            for (code, body) in answers {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8];
                    if s.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                heads.push(String::from_utf8(head).unwrap());
                let answer = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(answer.as_bytes()).await.unwrap();
            }
            heads
        });
        (url, task)
    }

    #[tokio::test]
    async fn reads_the_api() {
        let (url, task) = serve(vec![
            (200, STATUS_JSON),
            (200, HOSTS_JSON),
            (200, SERVICES_JSON),
        ])
        .await;
        let before = Timestamp::now();
        let s = read(&settings(format!("{url}/"), None), LIMITS)
            .await
            .unwrap();
        assert_eq!(s.source, format!("Icinga 2 API {url}"));
        assert_eq!((s.reads, s.objects.len()), (3, 8));
        assert!(s.taken >= before);
        let heads = task.await.unwrap();
        let lines: Vec<&str> = heads.iter().filter_map(|h| h.lines().next()).collect();
        assert_eq!(
            lines,
            [
                "GET /v1/status/IcingaApplication HTTP/1.1",
                "GET /v1/objects/hosts?attrs=name&attrs=state&attrs=state_type\
                 &attrs=last_hard_state_change&attrs=last_check&attrs=last_check_result\
                 &attrs=downtime_depth&attrs=acknowledgement&attrs=flapping&attrs=groups\
                 &attrs=address HTTP/1.1",
                "GET /v1/objects/services?attrs=host_name&attrs=name&attrs=state\
                 &attrs=state_type&attrs=last_hard_state_change&attrs=last_check\
                 &attrs=last_check_result&attrs=downtime_depth&attrs=acknowledgement\
                 &attrs=flapping HTTP/1.1",
            ]
        );
        for h in &heads {
            let h = h.to_ascii_lowercase();
            // "esia:pw-Secr3t" in base64.
            assert!(
                h.contains(
                    "authorization: basic ZXNpYTpwdy1TZWNyM3Q="
                        .to_ascii_lowercase()
                        .as_str()
                ),
                "{h}"
            );
            assert!(h.contains("accept: application/json"), "{h}");
        }
    }

    #[tokio::test]
    async fn a_401_is_refused_and_a_closed_port_unreachable() {
        let (url, _task) = serve(vec![(401, UNAUTHORIZED)]).await;
        let e = read(&settings(url, None), LIMITS).await.unwrap_err();
        assert!(matches!(e, MonitorError::Refused { .. }), "{e:?}");
        assert!(!format!("{e:?}").contains("pw-Secr3t"));
        // A port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = read(&settings(format!("https://127.0.0.1:{port}"), None), LIMITS)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, MonitorError::Unreachable { reason, .. } if reason.starts_with("GET /v1/status/IcingaApplication: connection failed")),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn an_unreadable_ca_file_is_a_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.crt");
        let e = read(
            &settings("https://127.0.0.1:5665".into(), Some(missing)),
            LIMITS,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, MonitorError::Setup { .. }), "{e:?}");
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let e = read(
            &settings("https://127.0.0.1:5665".into(), Some(not_pem)),
            LIMITS,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, MonitorError::Setup { .. }), "{e:?}");
    }
}

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

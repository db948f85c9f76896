//! GLPI 11's high-level API (v2) over the simulator's one store: routing
//! under `/api.php/[v2|v2.N]/`, the checks `Glpi\Api\HL\Router` runs before
//! a controller, and the routes a monitoring client needs (session, tickets
//! with team, timeline, follow-ups and solutions, users, assets), with the
//! shapes and status codes of `glpi11-transcripts/04*`–`13*`.
//!
//! Order of the router's checks, each one answering before the next:
//! a bearer token that fails validation (`400 ERROR_INVALID_PARAMETER`
//! "Invalid OAuth token", even on public routes, `04c`, `04g`); the token
//! endpoint (served even with the HL API off, `13b`); the HL API switch
//! (`403`, `13a`); authentication (`401 ERROR_UNAUTHENTICATED`, also for a
//! client_credentials token, `04b`, `04e`); an unreadable JSON body (`400
//! ERROR`); the OAuth scope (`403`, `04d`); the ticket of the path
//! (`404`, `08d`, `08e`); then the profile's rights (`403`, `10a`).
//!
//! Writes reuse the legacy API's business rules (`State::add_ticket`,
//! `add_followup`, `add_solution`, `update_ticket_fields`, `delete_one`) so
//! both APIs behave alike on the same data. What GLPI has and this does not
//! (tasks, documents, validations, groups, asset creation, other itemtypes)
//! answers a JSON 404 whose `detail` names the route.

use serde_json::{Map, Value, json};

use super::oauth::Bearer;
use super::rsql::{self, RsqlError, Schema};
use super::{
    ADMIN_PROFILE_ID, ASSET_TYPES, CHANGEPRIORITY, NO_PERMISSION, READ, Req, Resp, Session, State,
    UPDATE, as_u64, canonical_itemtype, parse_query, status_name, truthy,
};

// Ticket rights (CommonITILObject / Ticket constants).
const TICKET_READMY: u64 = 1;
const TICKET_CREATE: u64 = 4;
const TICKET_READALL: u64 = 1024;
const TICKET_READASSIGN: u64 = 4096;
const TICKET_OWN: u64 = 32768;
const TICKET_READNEWTICKET: u64 = 262_144;
// ITILFollowup rights.
const FOLLOWUP_ADDMY: u64 = 4;
const FOLLOWUP_ADDALL: u64 = 4096;
const FOLLOWUP_SEEPRIVATE: u64 = 8192;

const SCOPE_DETAIL: &str = "You do not have the required scope(s) to access this endpoint.";

/// `active_profile.rights` of the recorded instance's profile 9 (04a); the
/// simulator puts each profile's own `ticket` and `followup` in it.
const RIGHTS_TEMPLATE: &str = r#"{"id":0,"name":0,"interface":0,"is_default":0,"helpdesk_hardware":0,"helpdesk_item_type":0,"use_mentions":0,"ticket_status":0,"date_mod":0,"comment":0,"problem_status":0,"create_ticket_on_login":0,"tickettemplates_id":0,"changetemplates_id":0,"problemtemplates_id":0,"change_status":0,"managed_domainrecordtypes":0,"date_creation":0,"2fa_enforced":0,"last_rights_update":0,"agent":0,"appliance":31,"backup":0,"bookmark_public":0,"budget":96,"cable_management":0,"calendar":0,"cartridge":895,"certificate":127,"change":132223,"changevalidation":20,"cluster":31,"computer":3967,"config":0,"consumable":895,"contact_enterprise":96,"contract":96,"dashboard":0,"database":31,"datacenter":31,"device":0,"devicesimcard_pinpuk":3,"document":127,"domain":0,"dropdown":0,"entity":33,"externalevent":1,"followup":64535,"form":0,"global_validation":0,"group":1,"infocom":0,"internet":31,"inventory":0,"itilcategory":0,"itilfollowuptemplate":0,"itiltemplate":1,"itilvalidationtemplate":0,"knowbase":14359,"knowbasecategory":0,"license":127,"line":127,"lineoperator":0,"link":0,"location":0,"locked_field":0,"logs":0,"monitor":3967,"networking":3967,"notification":0,"oauth_client":0,"password_update":1,"pendingreason":1,"peripheral":3967,"personalization":3,"phone":3967,"planning":1,"printer":3967,"problem":1151,"profile":0,"project":1151,"projecttask":1025,"queuednotification":0,"recurrentchange":1,"refusedequipment":0,"reminder_public":151,"reports":1,"reservation":1055,"rssfeed_public":151,"rule_asset":0,"rule_dictionnary_dropdown":0,"rule_dictionnary_printer":0,"rule_dictionnary_software":0,"rule_import":0,"rule_ldap":0,"rule_location":0,"rule_mailcollector":0,"rule_softwarecategories":0,"rule_ticket":0,"search_config":0,"show_group_hardware":0,"slm":257,"snmpcredential":0,"software":3967,"solutiontemplate":0,"state":0,"statistic":1,"system_logs":0,"task":64535,"taskcategory":0,"tasktemplate":0,"ticket":494599,"ticketcost":23,"ticketrecurrent":1,"ticketvalidation":3088,"transfer":1,"typedoc":0,"unmanaged":0,"user":1055,"entities":0}"#;

/// Right names a Super-Admin has in full and a Self-Service profile lacks.
const ADMIN_RIGHTS: [&str; 13] = [
    "computer",
    "monitor",
    "networking",
    "peripheral",
    "phone",
    "printer",
    "software",
    "user",
    "config",
    "profile",
    "entity",
    "oauth_client",
    "itilcategory",
];

const TICKET_SCHEMA: Schema = Schema {
    props: &[
        "id",
        "name",
        "content",
        "is_deleted",
        "urgency",
        "impact",
        "priority",
        "actiontime",
        "begin_waiting_date",
        "waiting_duration",
        "resolution_duration",
        "close_duration",
        "resolution_date",
        "date_creation",
        "date_mod",
        "date",
        "date_solve",
        "date_close",
        "type",
        "external_id",
        "take_into_account_date",
        "take_into_account_duration",
        "sla_waiting_duration",
        "ola_waiting_duration",
        "ola_ttr_begin_date",
        "ola_tto_begin_date",
        "internal_resolution_date",
        "internal_take_into_account_date",
        "global_validation",
        "status.id",
        "user_recipient.id",
        "user_recipient.name",
        "user_editor.id",
        "user_editor.name",
        "category.id",
        "category.name",
        "location.id",
        "location.name",
        "request_type.id",
        "request_type.name",
        "entity.id",
        "entity.name",
        "entity.completename",
    ],
    mapped: &[
        "status.name",
        "team",
        "team.id",
        "team.name",
        "team.type",
        "team.role",
    ],
    booleans: &["is_deleted"],
};

const USER_SCHEMA: Schema = Schema {
    props: &[
        "id",
        "username",
        "realname",
        "firstname",
        "phone",
        "phone2",
        "mobile",
        "comment",
        "is_active",
        "is_deleted",
        "picture",
        "date_password_change",
        "authtype",
        "last_login",
        "date_creation",
        "date_mod",
        "date_sync",
        "registration_number",
        "begin_date",
        "end_date",
        "nickname",
        "substitution_start_date",
        "substitution_end_date",
        "emails.id",
        "emails.email",
        "emails.is_default",
        "location.id",
        "location.name",
        "default_profile.id",
        "default_profile.name",
        "default_entity.id",
        "default_entity.name",
        "title.id",
        "title.name",
        "category.id",
        "category.name",
    ],
    mapped: &[],
    booleans: &["is_active", "is_deleted", "emails.is_default"],
};

const ASSET_SCHEMA: Schema = Schema {
    props: &[
        "id",
        "name",
        "comment",
        "is_recursive",
        "contact",
        "contact_num",
        "serial",
        "otherserial",
        "is_deleted",
        "date_creation",
        "date_mod",
        "uuid",
        "status.id",
        "status.name",
        "entity.id",
        "entity.name",
        "entity.completename",
        "manufacturer.id",
        "manufacturer.name",
        "user.id",
        "user.name",
        "user_tech.id",
        "user_tech.name",
        "location.id",
        "location.name",
        "type.id",
        "type.name",
        "model.id",
        "model.name",
        "group.id",
        "group.name",
        "group_tech.id",
        "group_tech.name",
        "network.id",
        "network.name",
        "autoupdatesystem.id",
        "autoupdatesystem.name",
    ],
    mapped: &[],
    booleans: &["is_recursive", "is_deleted"],
};

/// One request as the router sees it.
struct Call<'a> {
    req: &'a Req,
    /// Path segments after the version prefix, as sent.
    segs: Vec<String>,
    /// Query and body parameters (`$request->getParameters()`).
    params: Map<String, Value>,
    /// The body alone, which is all the token endpoint reads.
    body: Map<String, Value>,
    /// `Content-Type: application/json` with a body that is not a JSON
    /// object or array.
    body_invalid: bool,
}

impl<'a> Call<'a> {
    fn new(req: &'a Req, rest: &str) -> Call<'a> {
        let mut segs: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // `v2`, `v2.0`, `v2.2` …: the router normalises it to a version of
        // the HL API; no prefix means the newest.
        if segs.first().is_some_and(|s| is_version(s)) {
            segs.remove(0);
        }
        let mut params = Map::new();
        for (k, v) in parse_query(&req.query) {
            params.insert(k, Value::String(v));
        }
        let mut body = Map::new();
        let mut body_invalid = false;
        let content_type = req.header("Content-Type").unwrap_or("").trim();
        if content_type == "application/json" {
            // Router::handleRequest compares the header to exactly this.
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(m)) => body = m,
                Ok(Value::Array(a)) => {
                    for (i, v) in a.into_iter().enumerate() {
                        body.insert(i.to_string(), v);
                    }
                }
                _ => body_invalid = true,
            }
        } else if content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            for (k, v) in parse_query(&String::from_utf8_lossy(&req.body)) {
                body.insert(k, Value::String(v));
            }
        }
        for (k, v) in &body {
            params.insert(k.clone(), v.clone());
        }
        Call {
            req,
            segs,
            params,
            body,
            body_invalid,
        }
    }

    fn param_str(&self, k: &str) -> Option<String> {
        match self.params.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn lower(&self) -> Vec<String> {
        self.segs.iter().map(|s| s.to_ascii_lowercase()).collect()
    }

    fn no_route(&self) -> Resp {
        err(
            404,
            "ERROR_ITEM_NOT_FOUND",
            "Not found",
            json!(format!(
                "glpi-sim: no route for {} {} (not simulated)",
                self.req.method, self.req.path
            )),
        )
    }
}

fn is_version(s: &str) -> bool {
    s.strip_prefix(['v', 'V']).is_some_and(|v| {
        !v.is_empty()
            && v.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    })
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// PHP's `is_numeric` for the pagination parameters.
fn numeric_param(v: Option<String>) -> Option<usize> {
    v.and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| *f >= 0.0)
        .map(|f| f as usize)
}

// -- responses ---------------------------------------------------------------

fn hl_headers() -> Vec<(String, String)> {
    vec![
        ("Expires".into(), "Thu, 19 Nov 1981 08:52:00 GMT".into()),
        (
            "Cache-Control".into(),
            "no-store, no-cache, must-revalidate".into(),
        ),
        ("Pragma".into(), "no-cache".into()),
        ("Content-Type".into(), "application/json".into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Cache-Control".into(), "no-cache, private".into()),
    ]
}

fn ok(status: u16, v: &Value) -> Resp {
    let mut headers = hl_headers();
    for h in ["Content-Type", "Content-Range", "Accept-Ranges"] {
        headers.push(("Access-Control-Expose-Headers".into(), h.into()));
    }
    Resp {
        status,
        headers,
        body: serde_json::to_vec(v).unwrap(),
    }
}

/// `AbstractController::getErrorResponseBody`.
fn err(status: u16, code: &str, title: &str, detail: Value) -> Resp {
    Resp {
        status,
        headers: hl_headers(),
        body: serde_json::to_vec(&json!({"status": code, "title": title, "detail": detail}))
            .unwrap(),
    }
}

fn forbidden() -> Resp {
    err(403, "ERROR_RIGHT_MISSING", NO_PERMISSION, Value::Null)
}

fn not_found() -> Resp {
    err(404, "ERROR_ITEM_NOT_FOUND", "Not found", Value::Null)
}

fn unauthenticated() -> Resp {
    Resp {
        status: 401,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Cache-Control".into(), "no-cache, private".into()),
        ],
        body: serde_json::to_vec(&json!({
            "title": "You are not authenticated",
            "detail": "The Authorization header is missing or invalid",
            "status": "ERROR_UNAUTHENTICATED",
        }))
        .unwrap(),
    }
}

fn invalid_parameters() -> Resp {
    err(
        400,
        "ERROR_INVALID_PARAMETER",
        "One or more parameters are invalid",
        Value::Null,
    )
}

/// `getCRUDErrorResponse`: GLPI's own messages in `additional_messages`.
fn crud_error(action: &str, message: &Value) -> Resp {
    let mut body =
        json!({"status": "ERROR", "title": format!("Failed to {action} item(s)"), "detail": null});
    if let Some(m) = message.as_str().filter(|m| !m.is_empty()) {
        body["additional_messages"] = json!([{"priority": "error", "message": m}]);
    }
    Resp {
        status: 500,
        headers: hl_headers(),
        body: serde_json::to_vec(&body).unwrap(),
    }
}

/// A JSON answer with no body (`new JSONResponse(null, 201)`, 05c).
fn empty(status: u16) -> Resp {
    let mut headers = hl_headers();
    if status == 204 {
        headers.retain(|(k, _)| k != "Content-Type");
    }
    Resp {
        status,
        headers,
        body: Vec::new(),
    }
}

/// `getItemLinkResponse`: 200 `{"id","href"}` and a `Location` without the
/// `/api.php/v2` prefix (05a).
fn link(id: u64, href: String) -> Resp {
    let mut headers = hl_headers();
    headers.push(("Location".into(), href.clone()));
    Resp {
        status: 200,
        headers,
        body: serde_json::to_vec(&json!({"id": id, "href": href})).unwrap(),
    }
}

// -- the router ----------------------------------------------------------------

pub(super) fn dispatch(st: &mut State, req: &Req, rest: &str) -> Resp {
    let call = Call::new(req, rest);
    let mut bearer: Option<Bearer> = None;
    if st.hlapi_enabled
        && let Some(auth) = req.header("Authorization")
        // Basic credentials are for the token endpoint only (handleAuth).
        && !auth.starts_with("Basic ")
    {
        match st.validate_bearer(auth) {
            Ok(b) => bearer = Some(b),
            Err(hint) => {
                return err(
                    400,
                    "ERROR_INVALID_PARAMETER",
                    "Invalid OAuth token",
                    json!(hint),
                );
            }
        }
    }
    let lower = call.lower();
    if req.method == "POST" && lower == ["token"] {
        return st.token_endpoint(req, &call.body);
    }
    if !st.hlapi_enabled {
        return err(
            403,
            "ERROR_RIGHT_MISSING",
            NO_PERMISSION,
            json!("The High-Level API is disabled"),
        );
    }
    if req.method == "GET" && lower.is_empty() {
        return index(st);
    }
    let Some((session, scopes)) = session_of(st, req, bearer) else {
        return unauthenticated();
    };
    if call.body_invalid {
        return err(400, "ERROR", "Invalid JSON body", Value::Null);
    }
    let needed: &[&str] = match lower.first().map(String::as_str) {
        Some("status") => &["status"],
        Some("graphql") => &["graphql"],
        Some("administration") if lower.get(1..3) == Some(&["user".into(), "me".into()]) => {
            if lower.get(3..) == Some(&["emails".into(), "default".into()]) {
                &["email", "user"]
            } else {
                &["user"]
            }
        }
        _ => &["api"],
    };
    if !needed.iter().any(|s| scopes.iter().any(|t| t == s)) {
        return err(
            403,
            "ERROR_RIGHT_MISSING",
            NO_PERMISSION,
            json!(SCOPE_DETAIL),
        );
    }
    route(st, &call, &session)
}

/// The temporary session a user token opens; `GLPI-Profile` picks one of
/// the user's profiles for this request (09e).
fn session_of(st: &State, req: &Req, bearer: Option<Bearer>) -> Option<(Session, Vec<String>)> {
    let b = bearer?;
    let user_id = b.user_id?;
    st.row("User", user_id)?;
    let profiles = st.user_profiles.get(&user_id).cloned().unwrap_or_default();
    let wanted = req
        .header("GLPI-Profile")
        .and_then(|p| p.trim().parse::<u64>().ok())
        .filter(|p| profiles.contains(p));
    let profile_id = wanted
        .or_else(|| profiles.first().copied())
        .unwrap_or(super::SELF_SERVICE_PROFILE_ID);
    Some((
        Session {
            user_id,
            profile_id,
        },
        b.scopes,
    ))
}

fn route(st: &mut State, call: &Call<'_>, s: &Session) -> Resp {
    let lower = call.lower();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let method = call.req.method.as_str();
    match (method, lower.as_slice()) {
        ("GET", ["session"]) => ok(200, &st.hl_session(s)),
        (_, ["assistance", "ticket", rest @ ..]) => tickets(st, call, s, rest),
        ("GET", ["administration", "user"]) => {
            if !st.has_right(s, "user", READ) {
                return forbidden();
            }
            let users: Vec<Value> = st
                .table("User")
                .keys()
                .map(|id| st.user_json(*id))
                .collect();
            collection(call, users, &USER_SCHEMA)
        }
        ("GET", ["administration", "user", id]) if is_id(id) => user_one(st, s, id.parse().ok()),
        ("GET", ["administration", "user", "username", _]) => {
            let login = &call.segs[3];
            user_one(st, s, st.user_by_login(login))
        }
        ("GET", ["assets", t, rest @ ..]) if rest.len() <= 1 => {
            let Some(itemtype) = canonical_itemtype(t).filter(|t| ASSET_TYPES.contains(t)) else {
                return call.no_route();
            };
            let right = if itemtype == "NetworkEquipment" {
                "networking".to_owned()
            } else {
                itemtype.to_ascii_lowercase()
            };
            if !st.has_right(s, &right, READ) {
                return forbidden();
            }
            match rest {
                [] => {
                    let items: Vec<Value> = st
                        .table(itemtype)
                        .keys()
                        .map(|id| st.asset_json(itemtype, *id))
                        .collect();
                    collection(call, items, &ASSET_SCHEMA)
                }
                [id] if is_id(id) => {
                    match id.parse().ok().filter(|i| st.row(itemtype, *i).is_some()) {
                        Some(i) => ok(200, &st.asset_json(itemtype, i)),
                        None => not_found(),
                    }
                }
                _ => call.no_route(),
            }
        }
        _ => call.no_route(),
    }
}

fn user_one(st: &State, s: &Session, id: Option<u64>) -> Resp {
    if !st.has_right(s, "user", READ) {
        return forbidden();
    }
    match id.filter(|i| st.row("User", *i).is_some()) {
        Some(i) => ok(200, &st.user_json(i)),
        None => not_found(),
    }
}

/// A collection answer: RSQL `filter`, `sort`, `start`/`limit`, `200` or
/// `206` and `Content-Range` as `ResourceAccessor::searchBySchema` builds it.
fn collection(call: &Call<'_>, mut items: Vec<Value>, schema: &Schema) -> Resp {
    if let Some(filter) = call.param_str("filter").filter(|f| !f.is_empty()) {
        match rsql::parse(&filter, schema) {
            Ok(expr) => items.retain(|o| rsql::eval(&expr, o)),
            Err(RsqlError::Invalid(m)) => {
                return err(
                    400,
                    "ERROR_INVALID_PARAMETER",
                    "RSQL query has invalid filters",
                    json!(m),
                );
            }
            Err(RsqlError::Syntax(msg)) => {
                return err(400, "ERROR_INVALID_PARAMETER", &msg, Value::Null);
            }
        }
    }
    if let Some(sort) = call.param_str("sort") {
        let mut keys = Vec::new();
        for part in sort.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (prop, dir) = part.split_once(':').unwrap_or((part, "asc"));
            if !schema.props.contains(&prop) && !schema.mapped.contains(&prop) {
                return err(
                    400,
                    "ERROR",
                    &format!("Invalid property for sorting: {prop}"),
                    Value::Null,
                );
            }
            keys.push((prop.to_owned(), dir.eq_ignore_ascii_case("desc")));
        }
        for (prop, desc) in keys.iter().rev() {
            items.sort_by(|a, b| {
                let o = super::cmp_cells(
                    rsql::sort_key(a, prop).as_ref(),
                    rsql::sort_key(b, prop).as_ref(),
                );
                if *desc { o.reverse() } else { o }
            });
        }
    }
    let total = items.len();
    let start = numeric_param(call.param_str("start")).unwrap_or(0);
    let limit = numeric_param(call.param_str("limit"));
    let page: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let limit = limit.unwrap_or(page.len());
    #[allow(clippy::cast_possible_wrap)]
    let (start_i, limit_i, total_i) = (start as i64, limit as i64, total as i64);
    let mut end = (start_i + limit_i - 1).max(0);
    if end > total_i {
        end = total_i - 1;
    }
    let mut resp = ok(
        if start + limit < total { 206 } else { 200 },
        &Value::Array(page),
    );
    resp.headers
        .push(("Content-Range".into(), format!("{start}-{end}/{total}")));
    resp
}

fn index(st: &State) -> Resp {
    let b = &st.base_url;
    ok(
        200,
        &json!({
            "message": "Welcome to GLPI API",
            "api_versions": [
                {"api_version": "1", "version": "1.0.0", "description": "The low-level API which is closely tied to the GLPI source code. While not as user friendly as the high-level API, it is more powerful and allows to do some things that are not possible with the high-level API. It has no promise of stability between versions so it may change without warning.", "endpoint": format!("{b}/api.php/v1")},
                {"api_version": "2", "version": "2.0.0", "endpoint": format!("{b}/api.php/v2.0")},
                {"api_version": "2", "version": "2.1.0", "endpoint": format!("{b}/api.php/v2.1")},
                {"api_version": "2", "version": "2.2.0", "endpoint": format!("{b}/api.php/v2.2")},
            ],
        }),
    )
}

// -- tickets -------------------------------------------------------------------

fn tickets(st: &mut State, call: &Call<'_>, s: &Session, rest: &[&str]) -> Resp {
    let method = call.req.method.as_str();
    let rights = st.rights(s).ticket;
    let Some((id_seg, sub)) = rest.split_first() else {
        return match method {
            "GET" => {
                if !can_view_tickets(rights) {
                    return forbidden();
                }
                let ids: Vec<u64> = st
                    .table("Ticket")
                    .keys()
                    .copied()
                    .filter(|id| st.ticket_visible(*id, s))
                    .collect();
                let items = ids.into_iter().map(|id| st.ticket_json(id)).collect();
                collection(call, items, &TICKET_SCHEMA)
            }
            "POST" => {
                if rights & TICKET_CREATE == 0 {
                    return forbidden();
                }
                let input = ticket_input(&call.params, true);
                let (id, _) = st.add_ticket(&input, s);
                link(id, format!("/Assistance/Ticket/{id}"))
            }
            _ => call.no_route(),
        };
    };
    if !is_id(id_seg) {
        return call.no_route();
    }
    let id: u64 = id_seg.parse().unwrap_or(0);
    // CRUDRequestMiddleware: the item of the path must exist (08d, 08e).
    if st.row("Ticket", id).is_none() {
        return not_found();
    }
    match (method, sub) {
        ("GET", []) => {
            if !can_view_tickets(rights) {
                return forbidden();
            }
            if !st.ticket_visible(id, s) {
                return not_found();
            }
            ok(200, &st.ticket_json(id))
        }
        ("PATCH", []) => {
            if rights & UPDATE == 0 {
                return forbidden();
            }
            let input = ticket_input(&call.params, false);
            st.update_ticket_fields(id, &input, s.user_id, rights & CHANGEPRIORITY != 0);
            if st.ticket_visible(id, s) {
                ok(200, &st.ticket_json(id))
            } else {
                not_found()
            }
        }
        ("DELETE", []) => {
            let force = call.param_str("force").is_some_and(|f| rsql::php_bool(&f));
            match st.delete_one("Ticket", id, force, s) {
                Ok(()) => empty(204),
                Err(m) if m == NO_PERMISSION => forbidden(),
                Err(m) => crud_error("delete", &json!(m)),
            }
        }
        ("GET", ["teammember"]) => ok(200, &Value::Array(st.team_json(id))),
        ("GET", ["teammember", role]) => {
            let team: Vec<Value> = st
                .team_json(id)
                .into_iter()
                .filter(|m| m["role"].as_str() == Some(role))
                .collect();
            ok(200, &Value::Array(team))
        }
        ("POST" | "DELETE", ["teammember"]) => {
            let Some((user, role)) = st.team_member_of(call) else {
                return invalid_parameters();
            };
            let exists = st.actors(id, role).contains(&user);
            if method == "POST" {
                if exists {
                    return invalid_parameters();
                }
                st.insert_row("Ticket_User", super::ticket_user_row(id, user, role));
                if role == 2 && st.ticket_num(id, "status") == 1 {
                    st.set_status(id, 2, s.user_id);
                }
                empty(201)
            } else {
                if !exists {
                    return invalid_parameters();
                }
                st.table_mut("Ticket_User").retain(|_, r| {
                    !(r.get("tickets_id").and_then(as_u64) == Some(id)
                        && r.get("users_id").and_then(as_u64) == Some(user)
                        && r.get("type").and_then(as_u64) == Some(role))
                });
                empty(200)
            }
        }
        ("GET", ["timeline"]) => {
            let mut all = st.timeline_json(id, s, "ITILFollowup");
            all.extend(st.timeline_json(id, s, "ITILSolution"));
            ok(200, &Value::Array(all))
        }
        ("GET", ["timeline", kind, rest @ ..]) if rest.len() <= 1 => {
            let Some(table) = timeline_table(kind) else {
                return call.no_route();
            };
            let list = st.timeline_json(id, s, table);
            match rest {
                [] => ok(200, &Value::Array(list)),
                [sid] if is_id(sid) => {
                    let sid: u64 = sid.parse().unwrap_or(0);
                    list.into_iter()
                        .find(|e| e["item"]["id"].as_u64() == Some(sid))
                        .map_or_else(not_found, |e| ok(200, &e["item"]))
                }
                _ => call.no_route(),
            }
        }
        ("POST", ["timeline", kind]) => {
            let Some(table) = timeline_table(kind) else {
                return call.no_route();
            };
            st.add_timeline_item(call, s, id, table)
        }
        _ => call.no_route(),
    }
}

fn timeline_table(kind: &str) -> Option<&'static str> {
    match kind {
        "followup" => Some("ITILFollowup"),
        "solution" => Some("ITILSolution"),
        _ => None,
    }
}

fn can_view_tickets(rights: u64) -> bool {
    rights & (TICKET_READALL | TICKET_READMY | TICKET_READASSIGN | TICKET_CREATE) != 0
}

/// A dropdown-like value written as `N` or `{"id": N}`.
fn dropdown_id(v: &Value) -> Value {
    match v {
        Value::Object(m) => m.get("id").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// `ResourceAccessor::getInputParamsBySchema` for a Ticket: schema names to
/// GLPI columns; `team` and read-only properties are not input (05f).
fn ticket_input(params: &Map<String, Value>, create: bool) -> Map<String, Value> {
    let mut input = Map::new();
    for (prop, column) in [
        ("name", "name"),
        ("content", "content"),
        ("urgency", "urgency"),
        ("impact", "impact"),
        ("priority", "priority"),
        ("type", "type"),
        ("external_id", "externalid"),
        ("status", "status"),
        ("category", "itilcategories_id"),
        ("location", "locations_id"),
        ("request_type", "requesttypes_id"),
        ("is_deleted", "is_deleted"),
        ("entity", "entities_id"),
    ] {
        // The entity only at creation: a move is a transfer in GLPI.
        if prop == "entity" && !create {
            continue;
        }
        if let Some(v) = params.get(prop) {
            let v = match (prop, dropdown_id(v)) {
                // Booleans are tinyint columns in GLPI.
                ("is_deleted", b) => json!(u8::from(truthy(Some(&b)))),
                (_, v) => v,
            };
            input.insert(column.to_owned(), v);
        }
    }
    if create && !input.contains_key("entities_id") {
        input.insert("entities_id".to_owned(), json!(0));
    }
    input
}

/// The RFC 3339 form the HL API gives GLPI's `Y-m-d H:i:s` dates (UTC here).
fn rfc3339(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_str) {
        Some(d) if d.len() == 19 => json!(format!("{}T{}+00:00", &d[..10], &d[11..])),
        _ => Value::Null,
    }
}

fn root_entity_json() -> Value {
    json!({"id": 0, "name": "Root entity", "completename": "Root entity"})
}

impl State {
    fn hl_rights(&self, profile_id: u64) -> Map<String, Value> {
        let mut rights: Map<String, Value> = serde_json::from_str(RIGHTS_TEMPLATE).unwrap();
        let p = &self.profiles[&profile_id];
        if p.interface == "helpdesk" {
            for v in rights.values_mut() {
                *v = json!(0);
            }
            rights.insert("password_update".into(), json!(1));
            rights.insert("personalization".into(), json!(3));
        }
        if profile_id == ADMIN_PROFILE_ID {
            for k in ADMIN_RIGHTS {
                let v = rights.get(k).and_then(as_u64).unwrap_or(0);
                rights.insert(k.into(), json!(v | 31));
            }
        }
        rights.insert("ticket".into(), json!(p.ticket));
        rights.insert("followup".into(), json!(p.followup));
        if profile_id == super::API_PROFILE_ID {
            for (k, v) in &self.profile_overrides {
                rights.insert(k.clone(), v.clone());
            }
        }
        rights
    }

    fn has_right(&self, s: &Session, name: &str, bit: u64) -> bool {
        self.hl_rights(s.profile_id)
            .get(name)
            .and_then(as_u64)
            .is_some_and(|r| r & bit != 0)
    }

    /// `GET /session` (04a, 09e).
    fn hl_session(&self, s: &Session) -> Value {
        let user = self.row("User", s.user_id).cloned().unwrap_or_default();
        let text = |k: &str| user.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let mut profiles = Map::new();
        for p in self
            .user_profiles
            .get(&s.user_id)
            .cloned()
            .unwrap_or_default()
        {
            profiles.insert(
                p.to_string(),
                json!({"name": self.profiles[&p].name, "entities": super::root_entities()}),
            );
        }
        let p = &self.profiles[&s.profile_id];
        json!({
            "current_time": rfc3339(Some(&json!(super::now()))),
            "user_id": s.user_id,
            "use_mode": 0,
            "friendly_name": self.display_name(s.user_id),
            "name": self.dec(&text("name")),
            "real_name": user.get("realname").cloned().unwrap_or(Value::Null),
            "first_name": user.get("firstname").cloned().unwrap_or(Value::Null),
            "default_entity": 0,
            "profiles": profiles,
            "active_entities": [0],
            "active_profile": {
                "id": s.profile_id, "name": p.name, "interface": p.interface,
                "rights": self.hl_rights(s.profile_id),
            },
            "active_entity": {
                "id": 0, "short_name": "Root entity (tree structure)",
                "complete_name": "Root entity (tree structure)", "recursive": 1,
            },
        })
    }

    /// GLPI's `formatUserName`: "realname firstname", else the login.
    fn display_name(&self, user_id: u64) -> String {
        let Some(u) = self.row("User", user_id) else {
            return String::new();
        };
        let t = |k: &str| u.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let full = format!("{} {}", t("realname"), t("firstname"))
            .trim()
            .to_owned();
        if full.is_empty() {
            self.dec(&t("name"))
        } else {
            full
        }
    }

    fn user_ref(&self, id: Option<u64>) -> Value {
        match id.filter(|i| *i > 0) {
            Some(i) => json!({"id": i, "name": self.login_of(i).map(|l| self.dec(&l))}),
            None => Value::Null,
        }
    }

    /// The HL API's read restriction on tickets (`x-rights-conditions`).
    fn ticket_visible(&self, tid: u64, s: &Session) -> bool {
        let r = self.rights(s).ticket;
        if r & TICKET_READALL != 0 {
            return true;
        }
        let me = s.user_id;
        let recipient = self.ticket_num(tid, "users_id_recipient") == me;
        (r & TICKET_READMY != 0
            && (recipient
                || self.actors(tid, 1).contains(&me)
                || self.actors(tid, 3).contains(&me)))
            || (r & (TICKET_OWN | TICKET_READASSIGN) != 0 && self.actors(tid, 2).contains(&me))
            || (r & TICKET_READNEWTICKET != 0 && self.ticket_num(tid, "status") == 1)
    }

    /// A Ticket as `GET /Assistance/Ticket/{id}` shows it (05b).
    fn ticket_json(&self, id: u64) -> Value {
        let row = self.row("Ticket", id).cloned().unwrap_or_default();
        let num = |k: &str| row.get(k).and_then(as_u64).unwrap_or(0);
        let text = |k: &str| json!(self.dec(row.get(k).and_then(Value::as_str).unwrap_or("")));
        let date = |k: &str| rfc3339(row.get(k));
        let status = num("status");
        let category = match num("itilcategories_id") {
            0 => Value::Null,
            c => json!({"id": c, "name": self.row("ITILCategory", c)
                .and_then(|r| r.get("name")).and_then(Value::as_str).map(|n| self.dec(n))}),
        };
        let request_type = match num("requesttypes_id") {
            0 => Value::Null,
            1 => json!({"id": 1, "name": "Helpdesk"}),
            r => json!({"id": r, "name": null}),
        };
        let mut head = json!({
            "id": id,
            "name": text("name"),
            "content": text("content"),
            "is_deleted": num("is_deleted") != 0,
            "urgency": num("urgency"),
            "impact": num("impact"),
            "priority": num("priority"),
            "actiontime": num("actiontime"),
            "begin_waiting_date": date("begin_waiting_date"),
            "waiting_duration": num("waiting_duration"),
            "resolution_duration": num("solve_delay_stat"),
            "close_duration": num("close_delay_stat"),
            "resolution_date": date("time_to_resolve"),
            "date_creation": date("date_creation"),
            "date_mod": date("date_mod"),
            "date": date("date"),
            "date_solve": date("solvedate"),
            "date_close": date("closedate"),
            "type": num("type"),
            "external_id": row.get("externalid").cloned().unwrap_or(Value::Null),
            "take_into_account_date": date("takeintoaccountdate"),
            "take_into_account_duration": num("takeintoaccount_delay_stat"),
            "sla_waiting_duration": num("sla_waiting_duration"),
            "ola_waiting_duration": num("ola_waiting_duration"),
            "ola_ttr_begin_date": date("ola_ttr_begin_date"),
            "ola_tto_begin_date": date("ola_tto_begin_date"),
            "internal_resolution_date": date("internal_time_to_resolve"),
            "internal_take_into_account_date": date("internal_time_to_own"),
            "global_validation": num("global_validation"),
        });
        // Two literals: one is past serde_json's macro recursion limit.
        let tail = json!({
            "status": {"id": status, "name": status_name(status)},
            "user_recipient": self.user_ref(Some(num("users_id_recipient"))),
            "user_editor": self.user_ref(Some(num("users_id_lastupdater"))),
            "category": category,
            "location": null,
            "request_type": request_type,
            "sla_ttr": null, "sla_tto": null, "ola_ttr": null, "ola_tto": null,
            "sla_level_ttr": null, "ola_level_ttr": null,
            "entity": root_entity_json(),
            "team": self.team_json(id),
        });
        if let (Value::Object(h), Value::Object(t)) = (&mut head, tail) {
            h.extend(t);
        }
        head
    }

    /// `getCleanTeam` (05d): users only, in link order.
    fn team_json(&self, tid: u64) -> Vec<Value> {
        self.table("Ticket_User")
            .values()
            .filter(|r| r.get("tickets_id").and_then(as_u64) == Some(tid))
            .filter_map(|r| {
                let uid = r.get("users_id").and_then(as_u64)?;
                let role = match r.get("type").and_then(as_u64) {
                    Some(1) => "requester",
                    Some(2) => "assigned",
                    Some(3) => "observer",
                    _ => return None,
                };
                let u = self.row("User", uid)?;
                Some(json!({
                    "role": role,
                    "name": self.dec(u.get("name").and_then(Value::as_str).unwrap_or("")),
                    "realname": u.get("realname").cloned().unwrap_or(Value::Null),
                    "firstname": u.get("firstname").cloned().unwrap_or(Value::Null),
                    "display_name": self.display_name(uid),
                    "id": uid,
                    "href": format!("/front/user.form.php?id={uid}"),
                }))
            })
            .collect()
    }

    /// `{"type":"User","id":N,"role":"requester"|1}` → (user, actor type).
    fn team_member_of(&self, call: &Call<'_>) -> Option<(u64, u64)> {
        let kind = call.params.get("type").and_then(Value::as_str)?;
        if !kind.eq_ignore_ascii_case("User") {
            return None;
        }
        let user = call.params.get("id").and_then(as_u64)?;
        self.row("User", user)?;
        let role = match call.params.get("role")? {
            Value::String(r) => match r.to_ascii_lowercase().as_str() {
                "requester" | "1" => 1,
                "assigned" | "2" => 2,
                "observer" | "watcher" | "3" => 3,
                _ => return None,
            },
            other => as_u64(other).filter(|r| (1..=3).contains(r))?,
        };
        Some((user, role))
    }

    /// `{"type":"Followup"|"Solution","item":{…}}` entries of one kind (06b,
    /// 07b); private follow-ups only with SEEPRIVATE or one's own.
    fn timeline_json(&self, tid: u64, s: &Session, table: &'static str) -> Vec<Value> {
        let see_private = self.rights(s).followup & FOLLOWUP_SEEPRIVATE != 0;
        self.children_of_ticket(table, tid)
            .into_iter()
            .filter(|r| {
                table != "ITILFollowup"
                    || see_private
                    || r.get("is_private").and_then(as_u64) == Some(0)
                    || r.get("users_id").and_then(as_u64) == Some(s.user_id)
            })
            .map(|r| {
                let num = |k: &str| r.get(k).and_then(as_u64).unwrap_or(0);
                let content = json!(self.dec(r.get("content").and_then(Value::as_str).unwrap_or("")));
                if table == "ITILFollowup" {
                    json!({"type": "Followup", "item": {
                        "id": num("id"), "itemtype": "Ticket", "items_id": tid,
                        "content": content, "is_private": num("is_private") != 0,
                        "date": rfc3339(r.get("date")), "date_creation": rfc3339(r.get("date_creation")),
                        "date_mod": rfc3339(r.get("date_mod")), "timeline_position": num("timeline_position"),
                        "source_item_id": num("sourceitems_id"), "source_of_item_id": num("sourceof_items_id"),
                        "user": self.user_ref(Some(num("users_id"))),
                        "user_editor": self.user_ref(Some(num("users_id_editor"))),
                        "request_type": match num("requesttypes_id") {
                            0 => Value::Null,
                            1 => json!({"id": 1, "name": "Helpdesk"}),
                            n => json!({"id": n, "name": null}),
                        },
                    }})
                } else {
                    json!({"type": "Solution", "item": {
                        "id": num("id"), "itemtype": "Ticket", "items_id": tid,
                        "content": content, "status": num("status"),
                        "date_creation": rfc3339(r.get("date_creation")),
                        "date_mod": rfc3339(r.get("date_mod")),
                        "date_approval": rfc3339(r.get("date_approval")),
                        "type": match num("solutiontypes_id") { 0 => Value::Null, n => json!({"id": n, "name": null}) },
                        "user": self.user_ref(Some(num("users_id"))),
                        "user_editor": self.user_ref(Some(num("users_id_editor"))),
                        "approver": self.user_ref(Some(num("users_id_approval"))),
                        "approval_followup": match num("itilfollowups_id") { 0 => Value::Null, n => json!({"id": n}) },
                    }})
                }
            })
            .collect()
    }

    /// `POST …/Timeline/Followup|Solution` (06a, 07a, 07d, 10d, 10i).
    fn add_timeline_item(
        &mut self,
        call: &Call<'_>,
        s: &Session,
        tid: u64,
        table: &'static str,
    ) -> Resp {
        let p = &call.params;
        let mut input = Map::new();
        input.insert("itemtype".into(), json!("Ticket"));
        input.insert("items_id".into(), json!(tid));
        if let Some(c) = p.get("content") {
            input.insert("content".into(), c.clone());
        }
        let result = if table == "ITILFollowup" {
            if !self.can_add_followup(tid, s) {
                return forbidden();
            }
            if let Some(v) = p.get("is_private") {
                input.insert("is_private".into(), json!(u8::from(truthy(Some(v)))));
            }
            if let Some(v) = p.get("request_type") {
                input.insert("requesttypes_id".into(), dropdown_id(v));
            }
            self.add_followup(&input, s)
        } else {
            if let Some(v) = p.get("type") {
                input.insert("solutiontypes_id".into(), dropdown_id(v));
            }
            self.add_solution(&input, s)
        };
        let kind = if table == "ITILFollowup" {
            "Followup"
        } else {
            "Solution"
        };
        match result {
            Ok((id, _)) => link(id, format!("/Assistance/Ticket/{tid}/Timeline/{kind}/{id}")),
            Err(m) if m == json!(NO_PERMISSION) => forbidden(),
            Err(m) => crud_error("create", &m),
        }
    }

    /// `ITILFollowup::canCreateItem` as far as a monitoring client goes:
    /// ADDALLTICKET, or ADDMYTICKET on a ticket one wrote or requests.
    fn can_add_followup(&self, tid: u64, s: &Session) -> bool {
        let f = self.rights(s).followup;
        let me = s.user_id;
        f & FOLLOWUP_ADDALL != 0
            || (f & FOLLOWUP_ADDMY != 0
                && (self.ticket_num(tid, "users_id_recipient") == me
                    || self.actors(tid, 1).contains(&me)
                    || self.actors(tid, 3).contains(&me)))
    }

    /// A User as `GET /Administration/User/…` shows it (08c).
    fn user_json(&self, id: u64) -> Value {
        let u = self.row("User", id).cloned().unwrap_or_default();
        let get = |k: &str| u.get(k).cloned().unwrap_or(Value::Null);
        let num = |k: &str| u.get(k).and_then(as_u64).unwrap_or(0);
        let default_profile = match num("profiles_id") {
            0 => Value::Null,
            p => json!({"id": p, "name": self.profiles.get(&p).map(|p| p.name)}),
        };
        json!({
            "id": id,
            "username": self.dec(u.get("name").and_then(Value::as_str).unwrap_or("")),
            "realname": get("realname"), "firstname": get("firstname"),
            "phone": get("phone"), "phone2": get("phone2"), "mobile": get("mobile"),
            "comment": get("comment"),
            "is_active": num("is_active") != 0, "is_deleted": num("is_deleted") != 0,
            "picture": get("picture"),
            "date_password_change": rfc3339(u.get("password_last_update")),
            "authtype": num("authtype"),
            "last_login": rfc3339(u.get("last_login")),
            "date_creation": rfc3339(u.get("date_creation")),
            "date_mod": rfc3339(u.get("date_mod")),
            "date_sync": rfc3339(u.get("date_sync")),
            "registration_number": get("registration_number"),
            "begin_date": rfc3339(u.get("begin_date")),
            "end_date": rfc3339(u.get("end_date")),
            "nickname": get("nickname"),
            "substitution_start_date": null, "substitution_end_date": null,
            "emails": [],
            "location": null,
            "default_profile": default_profile,
            "default_entity": {"id": 0, "name": "Root entity"},
            "title": null, "category": null,
        })
    }

    /// An asset as `GET /Assets/{type}` shows a Computer (08b); the other
    /// asset types get the same properties.
    fn asset_json(&self, itemtype: &'static str, id: u64) -> Value {
        let r = self.row(itemtype, id).cloned().unwrap_or_default();
        let get = |k: &str| match r.get(k) {
            Some(Value::String(s)) => json!(self.dec(s)),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        let num = |k: &str| r.get(k).and_then(as_u64).unwrap_or(0);
        json!({
            "id": id, "name": get("name"), "comment": get("comment"),
            "is_recursive": num("is_recursive") != 0,
            "contact": get("contact"), "contact_num": get("contact_num"),
            "serial": get("serial"), "otherserial": get("otherserial"),
            "is_deleted": num("is_deleted") != 0,
            "date_creation": rfc3339(r.get("date_creation")),
            "date_mod": rfc3339(r.get("date_mod")),
            "uuid": get("uuid"),
            "status": null,
            "entity": root_entity_json(),
            "manufacturer": null,
            "user": self.user_ref(Some(num("users_id"))),
            "user_tech": self.user_ref(Some(num("users_id_tech"))),
            "location": null, "type": null, "model": null,
            "group": [], "group_tech": [],
            "network": null, "autoupdatesystem": null,
        })
    }
}

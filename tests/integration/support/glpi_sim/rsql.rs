//! RSQL filters of GLPI 11's high-level API (`?filter=` on collections), read
//! the way `Glpi\Api\HL\RSQL\Lexer` and `Parser` read them, and evaluated
//! against the JSON objects the simulator answers with instead of SQL.
//!
//! Pure: no state, no I/O. Invariants kept from GLPI: `;` (AND) binds
//! tighter than `,` (OR) because GLPI concatenates them into one SQL WHERE;
//! an unknown property, a computed ("mapped") property such as
//! `status.name`, or an unknown operator makes the whole filter invalid
//! (400); values may be quoted with `"` or `'`; `=like=` turns `*` into
//! SQL's `%` and `%` into `_` and is case-sensitive (`=ilike=` is not);
//! `==` on text follows MySQL's case-insensitive collation; any comparison
//! with NULL (a `null` property, an empty join) is false, negations
//! included.

use std::collections::BTreeMap;

use serde_json::Value;

/// The filterable (flattened) properties of one schema.
pub(super) struct Schema {
    /// Properties a filter may use, dot-separated for nested objects.
    pub(super) props: &'static [&'static str],
    /// Properties computed after the query (`x-mapper`): refused in filters.
    pub(super) mapped: &'static [&'static str],
    /// Boolean properties: `true`/`false` values become 1/0 first.
    pub(super) booleans: &'static [&'static str],
}

/// Why a filter was refused.
#[derive(Debug, PartialEq)]
pub(super) enum RsqlError {
    /// Properties or operators GLPI does not know, with its message for each
    /// (`RSQL query has invalid filters`).
    Invalid(BTreeMap<String, &'static str>),
    /// The query string itself is malformed (GLPI's user message).
    Syntax(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    And,
    Or,
    Open,
    Close,
    Property(String),
    Operator(String),
    Value(String),
    Unspecified,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Sep {
    And,
    Or,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Cmp {
        prop: String,
        op: String,
        value: String,
    },
    /// Expressions joined by separators (`seps.len() == exprs.len() - 1`).
    Group { exprs: Vec<Expr>, seps: Vec<Sep> },
}

const OPERATORS: [&str; 16] = [
    "==",
    "!=",
    "=in=",
    "=out=",
    "=lt=",
    "=le=",
    "=gt=",
    "=ge=",
    "=like=",
    "=ilike=",
    "=isnull=",
    "=notnull=",
    "=empty=",
    "=notempty=",
    "=notlike=",
    "=notilike=",
];

fn is_unary(op: &str) -> bool {
    matches!(op, "=isnull=" | "=notnull=" | "=empty=" | "=notempty=")
}

/// `Lexer::tokenize`, quirks included (a backslash is kept in the value and
/// does not escape a closing quote).
fn tokenize(query: &str) -> Result<Vec<Token>, RsqlError> {
    let chars: Vec<char> = query.chars().collect();
    let len = chars.len();
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut in_filter = false;
    let mut in_value = false;
    while pos < len {
        let c = chars[pos];
        let prev = pos.checked_sub(1).map(|p| chars[p]);
        if !in_value && c == '(' && prev != Some('\\') {
            tokens.push(Token::Open);
        } else if !in_value && c == ')' && prev != Some('\\') {
            tokens.push(Token::Close);
        } else if !in_filter && c == ';' {
            tokens.push(Token::And);
        } else if !in_filter && c == ',' {
            tokens.push(Token::Or);
        } else if !in_filter && (c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            in_filter = true;
            let mut buffer = c.to_string();
            while pos + 1 < len && chars[pos + 1] != '=' && chars[pos + 1] != '!' {
                pos += 1;
                buffer.push(chars[pos]);
            }
            pos += 1;
            if pos >= len || (chars[pos] != '=' && chars[pos] != '!') {
                return Err(RsqlError::Syntax(format!(
                    "RSQL query is missing an operator in filter for property \"{buffer}\""
                )));
            }
            let property = buffer;
            let mut op = chars[pos].to_string();
            while pos + 1 < len && chars[pos + 1] != '=' {
                pos += 1;
                op.push(chars[pos]);
            }
            if pos + 1 >= len {
                return Err(RsqlError::Syntax(format!(
                    "RSQL query has an incomplete operator in filter for property \"{property}\""
                )));
            }
            tokens.push(Token::Property(property));
            op.push('=');
            tokens.push(Token::Operator(op));
            pos += 2;
            in_value = true;
            if pos >= len {
                tokens.push(Token::Unspecified);
                break;
            }
            let start = chars[pos];
            let end = match start {
                '(' => Some(')'),
                '"' | '\'' => Some(start),
                _ => None,
            };
            let mut value = start.to_string();
            while pos + 1 < len {
                pos += 1;
                let ch = chars[pos];
                if ch == '\\' {
                    value.push(ch);
                } else if end == Some(ch) {
                    value.push(ch);
                    tokens.push(Token::Value(std::mem::take(&mut value)));
                    in_filter = false;
                    in_value = false;
                    break;
                } else if end.is_none() && matches!(ch, ';' | ',' | ')') {
                    tokens.push(Token::Value(std::mem::take(&mut value)));
                    in_filter = false;
                    in_value = false;
                    pos -= 1;
                    break;
                } else {
                    value.push(ch);
                }
            }
            if !value.is_empty() {
                tokens.push(Token::Value(value));
            } else if matches!(tokens.last(), Some(Token::Operator(_))) {
                tokens.push(Token::Unspecified);
            }
        }
        pos += 1;
    }
    let opens = tokens.iter().filter(|t| **t == Token::Open).count();
    let closes = tokens.iter().filter(|t| **t == Token::Close).count();
    if opens != closes {
        return Err(RsqlError::Syntax(
            "RSQL query has one or more unclosed groups".to_owned(),
        ));
    }
    Ok(tokens)
}

/// PHP's `filter_var($v, FILTER_VALIDATE_BOOLEAN)`.
pub(super) fn php_bool(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes"
    )
}

#[derive(Default)]
struct Context {
    exprs: Vec<Expr>,
    seps: Vec<Sep>,
    pending: Option<Sep>,
}

impl Context {
    fn append(&mut self, e: Expr) {
        if !self.exprs.is_empty() {
            // Two expressions with no separator would be an SQL error in
            // GLPI; read them as AND.
            self.seps.push(self.pending.unwrap_or(Sep::And));
        }
        self.exprs.push(e);
        self.pending = None;
    }

    fn into_expr(self) -> Expr {
        Expr::Group {
            exprs: self.exprs,
            seps: self.seps,
        }
    }
}

/// `Parser::parse`: the filter as an expression over `schema`'s properties.
pub(super) fn parse(filter: &str, schema: &Schema) -> Result<Expr, RsqlError> {
    let tokens = tokenize(filter)?;
    let mut stack = vec![Context::default()];
    let mut invalid: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut property: Option<String> = None;
    let mut operator: Option<String> = None;
    for t in tokens {
        match t {
            Token::Property(p) => {
                property = None;
                if schema.mapped.contains(&p.as_str()) {
                    invalid.insert(p, "Mapped properties cannot be used in RSQL");
                } else if schema.props.contains(&p.as_str()) {
                    property = Some(p);
                } else {
                    invalid.insert(p, "Unknown property");
                }
            }
            Token::Operator(op) => {
                operator = None;
                if OPERATORS.contains(&op.as_str()) {
                    operator = Some(op);
                } else if let Some(p) = property.take() {
                    invalid.insert(p, "Unknown operator");
                }
            }
            Token::Value(_) | Token::Unspecified => {
                if let (Some(p), Some(op)) = (property.take(), operator.take()) {
                    let mut value = match &t {
                        Token::Value(v) => v.clone(),
                        _ if !is_unary(&op) => {
                            return Err(RsqlError::Syntax(format!(
                                "RSQL query is missing a value in filter for property \"{p}\""
                            )));
                        }
                        _ => String::new(),
                    };
                    let quoted = value.len() >= 2
                        && ((value.starts_with('"') && value.ends_with('"'))
                            || (value.starts_with('\'') && value.ends_with('\'')));
                    if quoted {
                        value = value[1..value.len() - 1].to_string();
                    }
                    if schema.booleans.contains(&p.as_str()) {
                        value = String::from(if php_bool(&value) { "1" } else { "0" });
                    }
                    if matches!(op.as_str(), "=in=" | "=out=") {
                        group_to_array(&value)?;
                    }
                    stack
                        .last_mut()
                        .unwrap()
                        .append(Expr::Cmp { prop: p, op, value });
                }
                property = None;
                operator = None;
            }
            Token::And | Token::Or => {
                let ctx = stack.last_mut().unwrap();
                // Once an OR is pending an AND cannot replace it (GLPI keeps
                // `a;x,b` as `a OR b` when x was skipped).
                if ctx.pending != Some(Sep::Or) {
                    ctx.pending = Some(if t == Token::And { Sep::And } else { Sep::Or });
                }
            }
            Token::Open => stack.push(Context::default()),
            Token::Close => {
                let group = stack.pop().unwrap();
                if !group.exprs.is_empty() {
                    stack.last_mut().unwrap().append(group.into_expr());
                }
            }
        }
    }
    if !invalid.is_empty() {
        return Err(RsqlError::Invalid(invalid));
    }
    Ok(stack.pop().unwrap().into_expr())
}

/// `Parser::rsqlGroupToArray`: `(a,"b",'c')` → `[a, b, c]`.
fn group_to_array(value: &str) -> Result<Vec<String>, RsqlError> {
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| RsqlError::Syntax(format!("Invalid RSQL array: {value}")))?;
    let mut items = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    for c in inner.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            ',' if !in_quotes => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    Ok(items
        .into_iter()
        .map(|i| {
            let t = i.trim();
            let quoted = t.len() >= 2
                && ((t.starts_with('"') && t.ends_with('"'))
                    || (t.starts_with('\'') && t.ends_with('\'')));
            if quoted {
                t[1..t.len() - 1].to_owned()
            } else {
                i
            }
        })
        .collect())
}

/// Every value at a dotted path; arrays on the way (one-to-many joins such
/// as `emails.email`) contribute each element.
fn values_at<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![v];
    for key in path.split('.') {
        let mut next = Vec::new();
        for c in current {
            match c {
                Value::Object(m) => {
                    if let Some(x) = m.get(key) {
                        next.push(x);
                    }
                }
                Value::Array(a) => {
                    for e in a {
                        if let Some(x) = e.get(key) {
                            next.push(x);
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// MySQL's reading of a string as a number: its leading numeric part, or 0.
fn mysql_number(s: &str) -> f64 {
    let s = s.trim_start();
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0) {
            end = i + c.len_utf8();
        } else {
            break;
        }
    }
    s[..end].parse().unwrap_or(0.0)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => u8::from(*b).to_string(),
        other => other.to_string(),
    }
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// `v = x` under a case-insensitive, PAD SPACE collation.
fn equals(v: &Value, x: &str) -> bool {
    match numeric(v) {
        #[allow(clippy::float_cmp)]
        Some(n) => n == mysql_number(x),
        None => {
            text(v).trim_end_matches(' ').to_lowercase() == x.trim_end_matches(' ').to_lowercase()
        }
    }
}

fn compare(v: &Value, x: &str) -> std::cmp::Ordering {
    match numeric(v) {
        Some(n) => n
            .partial_cmp(&mysql_number(x))
            .unwrap_or(std::cmp::Ordering::Equal),
        None => text(v).to_lowercase().cmp(&x.to_lowercase()),
    }
}

/// One item of a LIKE pattern.
#[derive(Clone, Copy, PartialEq)]
enum P {
    Lit(char),
    One,
    Any,
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes.
fn like(haystack: &str, pattern: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| {
        if case_insensitive {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    };
    let h: Vec<char> = fold(haystack).chars().collect();
    let mut p = Vec::new();
    let mut chars = fold(pattern).chars().collect::<Vec<_>>().into_iter();
    while let Some(c) = chars.next() {
        p.push(match c {
            '\\' => P::Lit(chars.next().unwrap_or('\\')),
            '%' => P::Any,
            '_' => P::One,
            c => P::Lit(c),
        });
    }
    let (mut pi, mut hi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while hi < h.len() {
        match p.get(pi) {
            Some(P::Any) => {
                star = Some((pi, hi));
                pi += 1;
            }
            Some(P::One) => {
                pi += 1;
                hi += 1;
            }
            Some(P::Lit(c)) if *c == h[hi] => {
                pi += 1;
                hi += 1;
            }
            _ => match star {
                Some((sp, sh)) => {
                    pi = sp + 1;
                    hi = sh + 1;
                    star = Some((sp, sh + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|x| *x == P::Any)
}

fn like_pattern(value: &str) -> String {
    value.replace('%', "_").replace('*', "%")
}

fn eval_cmp(obj: &Value, prop: &str, op: &str, value: &str) -> bool {
    let vals = values_at(obj, prop);
    let any = |f: &dyn Fn(&Value) -> bool| vals.iter().any(|v| f(v));
    match op {
        "==" => any(&|v| equals(v, value)),
        "!=" => any(&|v| !equals(v, value)),
        "=in=" | "=out=" => {
            let items = group_to_array(value).unwrap_or_default();
            let hit = |v: &Value| items.iter().any(|i| equals(v, i));
            if op == "=in=" {
                any(&hit)
            } else {
                any(&|v| !hit(v))
            }
        }
        "=lt=" => any(&|v| compare(v, value).is_lt()),
        "=le=" => any(&|v| compare(v, value).is_le()),
        "=gt=" => any(&|v| compare(v, value).is_gt()),
        "=ge=" => any(&|v| compare(v, value).is_ge()),
        "=like=" => any(&|v| like(&text(v), &like_pattern(value), false)),
        "=ilike=" => any(&|v| like(&text(v), &like_pattern(value), true)),
        "=notlike=" => any(&|v| !like(&text(v), &like_pattern(value), false)),
        "=notilike=" => any(&|v| !like(&text(v), &like_pattern(value), true)),
        "=isnull=" => vals.is_empty(),
        "=notnull=" => !vals.is_empty(),
        "=empty=" => vals.is_empty() || any(&|v| text(v).is_empty()),
        "=notempty=" => any(&|v| !text(v).is_empty()),
        _ => false,
    }
}

/// Whether `obj` (an answer object) passes the filter.
pub(super) fn eval(expr: &Expr, obj: &Value) -> bool {
    match expr {
        Expr::Cmp { prop, op, value } => eval_cmp(obj, prop, op, value),
        Expr::Group { exprs, seps } => {
            if exprs.is_empty() {
                return true;
            }
            // OR of AND-runs: SQL precedence.
            let mut result = false;
            let mut run = eval(&exprs[0], obj);
            for (sep, e) in seps.iter().zip(&exprs[1..]) {
                match sep {
                    Sep::And => run = run && eval(e, obj),
                    Sep::Or => {
                        result = result || run;
                        run = eval(e, obj);
                    }
                }
            }
            result || run
        }
    }
}

/// Every value at a path, for sorting (`sort=prop:desc`): the first one.
pub(super) fn sort_key(obj: &Value, path: &str) -> Option<Value> {
    values_at(obj, path).first().map(|v| (*v).clone())
}

#[cfg(test)]
mod tests {
    use super::{Expr, RsqlError, Schema, eval, parse};
    use serde_json::json;

    const S: Schema = Schema {
        props: &[
            "id",
            "name",
            "status.id",
            "is_deleted",
            "external_id",
            "content",
        ],
        mapped: &["status.name"],
        booleans: &["is_deleted"],
    };

    fn hits(filter: &str, v: &serde_json::Value) -> bool {
        eval(&parse(filter, &S).unwrap(), v)
    }

    #[test]
    fn rsql_reads_filters_like_glpi() {
        let t = json!({"id": 16, "name": "( Mon ) hl-web-01:HTTP", "status": {"id": 5, "name": "Solved"},
            "is_deleted": false, "external_id": null, "content": "<p>Output: HTTP 503</p>"});
        assert!(hits(r#"name=="( Mon ) hl-web-01:HTTP""#, &t));
        assert!(
            hits("name=='( mon ) HL-web-01:HTTP'", &t),
            "collation is case-insensitive"
        );
        assert!(!hits("name==hl-web-01", &t));
        assert!(hits("status.id=in=(1,2,5);is_deleted==false", &t));
        assert!(!hits("status.id=out=(5,6)", &t));
        assert!(hits("status.id==6,id==16", &t));
        assert!(hits("id==1;id==2,id==16", &t), "AND binds tighter than OR");
        assert!(!hits("id==1;(id==2,id==16)", &t));
        assert!(!hits("external_id==x", &t), "NULL never equals");
        assert!(!hits("external_id!=x", &t), "nor differs");
        assert!(hits("external_id=isnull=", &t));
        assert!(hits("content=like=*HTTP 503*", &t));
        assert!(
            !hits("content=like=*http 503*", &t),
            "=like= is case-sensitive"
        );
        assert!(hits("content=ilike=*http 503*", &t));
        assert!(matches!(
            parse("status.name==Solved", &S),
            Err(RsqlError::Invalid(_))
        ));
        assert!(matches!(parse("nope==1", &S), Err(RsqlError::Invalid(_))));
        assert!(matches!(parse("id=foo=1", &S), Err(RsqlError::Invalid(_))));
        assert!(matches!(parse("(id==1", &S), Err(RsqlError::Syntax(_))));
        assert!(matches!(parse("id==", &S), Err(RsqlError::Syntax(_))));
        assert!(matches!(parse("", &S), Ok(Expr::Group { .. })));
    }
}

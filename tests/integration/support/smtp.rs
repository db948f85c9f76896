//! A real SMTP server in the test process, for the mail tests: mailin-embedded
//! (an embeddable SMTP server, RFC 5321, on its own threads) listening on
//! 127.0.0.1, without STARTTLS, that decodes every message it accepts with
//! mail-parser (MIME, encoded words, quoted-printable, base64) into one JSON
//! record: envelope, From, To, Subject, content types, plain and HTML bodies.
//! A message is recorded before the server answers 250 to its DATA, so a
//! client that got its 250 finds it.
#![allow(unreachable_pub)]

use std::io;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};

use mail_parser::{MessageParser, MimeHeaders};
use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use serde_json::{Value, json};

/// The running server: messages received so far, oldest first.
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Value>>>,
}

#[derive(Clone)]
struct Recorder {
    messages: Arc<Mutex<Vec<Value>>>,
    mail_from: String,
    rcpt_tos: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        from.clone_into(&mut self.mail_from);
        self.rcpt_tos.clear();
        self.data.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        self.rcpt_tos.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let record = decode(&self.mail_from, &self.rcpt_tos, &self.data);
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
        response::OK
    }
}

/// SMTP carries CRLF line ends; the tests compare with LF.
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn decode(mail_from: &str, rcpt_tos: &[String], raw: &[u8]) -> Value {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return json!({"mail_from": mail_from, "rcpt_tos": rcpt_tos, "error": "unparsable"});
    };
    let header = |name: &str| {
        msg.header_raw(name)
            .map(|v| lf(v).replace("\n ", " ").trim().to_owned())
    };
    let content_type = |ct: Option<&mail_parser::ContentType<'_>>| {
        ct.map_or_else(
            || "text/plain".to_owned(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{sub}", ct.ctype()),
                None => ct.ctype().to_owned(),
            },
        )
    };
    let parts: Vec<String> = msg
        .parts
        .iter()
        .map(|p| content_type(p.content_type()))
        .collect();
    json!({
        "mail_from": mail_from,
        "rcpt_tos": rcpt_tos,
        "from": header("From"),
        "to": header("To"),
        "subject": msg.subject(),
        "content_type": content_type(msg.content_type()),
        "parts": parts,
        "plain": msg.body_text(0).map(|t| lf(&t)),
        "html": msg.body_html(0).map(|t| lf(&t)),
    })
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let handler = Recorder {
            messages: Arc::clone(&messages),
            mail_from: String::new(),
            rcpt_tos: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        // Serves until the test process ends (the listener is already bound).
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink { port, messages }
    }

    /// The `[mail]` table that points at this server.
    pub fn config(&self, more: &str) -> String {
        format!(
            "[mail]\nfrom = \"Esia <esia@example.org>\"\nsmtp_host = \"127.0.0.1\"\n\
             smtp_port = {}\nsmtp_security = \"none\"\n{more}",
            self.port
        )
    }

    /// The only message received since `before` messages.
    #[track_caller]
    pub fn one_more(&self, before: usize) -> Value {
        let all = self.messages();
        assert_eq!(all.len(), before + 1, "messages: {all:#?}");
        all[before].clone()
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

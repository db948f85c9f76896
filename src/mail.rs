//! The notification mail of `--mail` and `SEND_TICKET_GLPI_MAIL` (SPEC
//! "Configuration", `[mail]`): builds and sends, nothing else.
//!
//! [`recipients`] and [`build`] are pure: the addresses, and the texts of
//! `text::mail` turned into a lettre [`Message`] — plain text with an HTML
//! alternative. [`send`] hands a message to the SMTP relay (none / STARTTLS /
//! TLS, optional login; rustls, never OpenSSL) or to the local sendmail
//! program. Whether a run wants a mail, and what a mail failure does to its
//! exit status, is `notify`'s business (`commands/notify.rs`).
//! Imports `config`, `core` and `text`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SendmailTransport, SmtpTransport, Transport as _};
use secrecy::ExposeSecret as _;

use crate::config::{Config, MailConfig, SmtpSecurity};
use crate::core::Event;
use crate::text::{self, MailText, MailTicket};

/// Why the notification mail was not sent. `Display` never shows the SMTP
/// password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MailError {
    #[error("notification mail not sent: the configuration has no [mail] table with `from`")]
    NotConfigured,
    #[error(
        "notification mail not sent: no recipient (no --mail, and NAGIOS_CONTACTEMAIL is unset)"
    )]
    NoRecipient,
    #[error("notification mail not sent: invalid address {address:?} in {origin}")]
    BadAddress {
        address: String,
        origin: &'static str,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("notification mail not sent: cannot build the message")]
    Build(#[source] lettre::error::Error),
    #[error("notification mail not sent: cannot read ca_file {}", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("notification mail not sent: cannot set up TLS for {host}")]
    Tls {
        host: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    #[error("notification mail not sent through the SMTP relay {host}:{port}")]
    Smtp {
        host: String,
        port: u16,
        #[source]
        source: lettre::transport::smtp::Error,
    },
    #[error("notification mail not sent through {}", path.display())]
    Sendmail {
        path: PathBuf,
        #[source]
        source: lettre::transport::sendmail::Error,
    },
    /// `sendmail` names no program this user may run (`check`).
    #[error("notification mail cannot be sent through {}: {problem}", path.display())]
    NoSendmail { path: PathBuf, problem: String },
    /// The relay accepted the connection but did not answer NOOP (`check`).
    #[error("the SMTP relay {host}:{port} did not answer NOOP after EHLO")]
    RelaySilent { host: String, port: u16 },
}

impl MailError {
    /// The operator's next action, after a run that handled its ticket.
    pub(crate) fn hint(&self) -> String {
        match self {
            Self::NotConfigured | Self::Smtp { .. } | Self::Sendmail { .. } => {
                format!("{}. The ticket itself was handled", self.fix())
            }
            _ => self.fix(),
        }
    }

    /// What to fix in the mail set-up (`check` says it as it is).
    pub(crate) fn fix(&self) -> String {
        match self {
            Self::NotConfigured => format!(
                "add a [mail] table with from = \"esia@example.org\" (and smtp_host or sendmail) \
                 to the configuration; see {}",
                crate::config::EXAMPLE_PATH
            ),
            Self::NoRecipient => "give the recipients with --mail ADDR (repeatable) in the alert \
                 program's arguments, or let the engine set NAGIOS_CONTACTEMAIL"
                .to_owned(),
            Self::BadAddress { .. } => {
                "write addresses as user@example.org or \"Name <user@example.org>\"".to_owned()
            }
            Self::Build(_) => "this is a bug in esia-glpi; please report it".to_owned(),
            Self::CaFile { .. } => {
                "ca_file must be a readable PEM file; it is trusted for GLPI and for the SMTP relay"
                    .to_owned()
            }
            Self::Tls { .. } => {
                "check ca_file, or set smtp_security = \"none\" for a local relay".to_owned()
            }
            Self::Smtp { .. } => {
                "check [mail] smtp_host, smtp_port and smtp_security (\"starttls\" \
                 needs a relay that offers STARTTLS; \"tls\" is usually port 465), and \
                 smtp_user/smtp_password if the relay wants a login"
                    .to_owned()
            }
            Self::Sendmail { .. } => "check that [mail] sendmail names an executable sendmail \
                 program, and the mail system's logs"
                .to_owned(),
            Self::NoSendmail { .. } => "install the mail system's sendmail program (any MTA \
                 provides /usr/sbin/sendmail), or set [mail] sendmail to its path, or remove \
                 sendmail to send through the SMTP relay"
                .to_owned(),
            Self::RelaySilent { .. } => "check [mail] smtp_host and smtp_port: something that \
                 is not a working SMTP relay answers there"
                .to_owned(),
        }
    }
}

/// The recipients: every `--mail` value (each may hold several addresses
/// separated by `,` or `;`), else the contact macro of the environment.
pub(crate) fn recipients(
    mails: &[String],
    contact: Option<&str>,
) -> Result<Vec<Mailbox>, MailError> {
    let (values, origin): (Vec<&str>, &'static str) = if mails.is_empty() {
        (contact.into_iter().collect(), "NAGIOS_CONTACTEMAIL")
    } else {
        (mails.iter().map(String::as_str).collect(), "--mail")
    };
    let mut out: Vec<Mailbox> = Vec::new();
    for value in values {
        for address in value
            .split([',', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let mailbox = address
                .parse::<Mailbox>()
                .map_err(|source| MailError::BadAddress {
                    address: address.to_owned(),
                    origin,
                    source,
                })?;
            if !out.contains(&mailbox) {
                out.push(mailbox);
            }
        }
    }
    if out.is_empty() {
        return Err(MailError::NoRecipient);
    }
    Ok(out)
}

/// Renders, builds and sends the notification mail of `event` to `to`;
/// `date` is the event's time as written in texts.
pub(crate) fn send_notification(
    config: &Config,
    to: &[Mailbox],
    event: &Event,
    ticket: &MailTicket,
    date: &str,
) -> Result<(), MailError> {
    let mail = config.mail.as_ref().ok_or(MailError::NotConfigured)?;
    let vars = text::mail::mail_vars(
        text::vars(event, None, date, config.lang),
        ticket,
        config.lang,
    );
    let texts = text::mail::mail(
        mail.tpl_mail_subject.as_deref(),
        mail.tpl_mail_body.as_deref(),
        &vars,
        event,
        ticket,
        date,
        config.lang,
    );
    for name in &texts.unknown {
        tracing::warn!("unknown template variable %{name} left as written in the mail");
    }
    let message = build(mail, to, texts)?;
    send(config, mail, &message)
}

/// The message: From, To, Subject, and a multipart/alternative body (plain
/// text first, then HTML). Pure.
pub(crate) fn build(
    mail: &MailConfig,
    to: &[Mailbox],
    texts: MailText,
) -> Result<Message, MailError> {
    let from = sender(mail)?;
    let mut builder = Message::builder().from(from).subject(texts.subject);
    for mailbox in to {
        builder = builder.to(mailbox.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(texts.plain, texts.html))
        .map_err(MailError::Build)
}

/// Hands the message to sendmail (when `sendmail` is set) or to the SMTP relay.
pub(crate) fn send(config: &Config, mail: &MailConfig, message: &Message) -> Result<(), MailError> {
    if let Some(path) = &mail.sendmail {
        return SendmailTransport::new_with_command(path)
            .send(message)
            .map_err(|source| MailError::Sendmail {
                path: path.clone(),
                source,
            });
    }
    smtp_transport(config, mail)?
        .send(message)
        .map(|_| ())
        .map_err(|source| MailError::Smtp {
            host: mail.smtp_host.clone(),
            port: mail.smtp_port,
            source,
        })
}

/// The sender `from`, as a message would carry it.
pub(crate) fn sender(mail: &MailConfig) -> Result<Mailbox, MailError> {
    let from_text = mail.from.as_deref().ok_or(MailError::NotConfigured)?;
    from_text
        .parse::<Mailbox>()
        .map_err(|source| MailError::BadAddress {
            address: from_text.to_owned(),
            origin: "[mail] from",
            source,
        })
}

/// How mail would leave, as `check` found it.
#[derive(Debug)]
pub(crate) enum MailRoute {
    /// The relay answered: connected, EHLO, STARTTLS or TLS as configured,
    /// the login accepted when there is one, NOOP; no message sent.
    Relay,
    /// `sendmail` is a program this user may run (it was not run).
    Sendmail(PathBuf),
}

/// Tries the way mail would leave without sending anything: the sendmail
/// program exists and this user may run it, or the SMTP relay answers
/// (connection, EHLO, TLS, login, NOOP, QUIT).
pub(crate) fn probe(config: &Config, mail: &MailConfig) -> Result<MailRoute, MailError> {
    if let Some(path) = &mail.sendmail {
        return runnable(path).map(|()| MailRoute::Sendmail(path.clone()));
    }
    let answered = smtp_transport(config, mail)?
        .test_connection()
        .map_err(|source| MailError::Smtp {
            host: mail.smtp_host.clone(),
            port: mail.smtp_port,
            source,
        })?;
    if answered {
        Ok(MailRoute::Relay)
    } else {
        Err(MailError::RelaySilent {
            host: mail.smtp_host.clone(),
            port: mail.smtp_port,
        })
    }
}

/// `path` is a regular file this user may execute.
fn runnable(path: &std::path::Path) -> Result<(), MailError> {
    use rustix::fs::{Access, AtFlags, CWD};
    let problem = |problem: &str| MailError::NoSendmail {
        path: path.to_owned(),
        problem: problem.to_owned(),
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(problem("no such file"));
        }
        Err(e) => return Err(problem(&format!("cannot inspect it ({e})"))),
        Ok(m) if !m.is_file() => return Err(problem("it is not a file")),
        Ok(_) => {}
    }
    rustix::fs::accessat(CWD, path, Access::EXEC_OK, AtFlags::EACCESS)
        .map_err(|_| problem("this user may not execute it"))
}

/// The SMTP transport `[mail]` describes.
fn smtp_transport(config: &Config, mail: &MailConfig) -> Result<SmtpTransport, MailError> {
    let host = mail.smtp_host.as_str();
    let tls = match mail.smtp_security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::StartTls => Tls::Required(tls_parameters(config, host)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(config, host)?),
    };
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(mail.smtp_port)
        .tls(tls)
        .timeout(Some(smtp_timeout(config)));
    if let (Some(user), Some(password)) = (&mail.smtp_user, &mail.smtp_password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// One SMTP exchange may take as long as one GLPI request (`timeout`).
fn smtp_timeout(config: &Config) -> Duration {
    config.request_timeout
}

/// TLS towards the relay: the system's roots plus `ca_file`; `tls_verify =
/// false` turns verification off, as for GLPI.
fn tls_parameters(config: &Config, host: &str) -> Result<TlsParameters, MailError> {
    let tls_error = |source| MailError::Tls {
        host: host.to_owned(),
        source,
    };
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|source| MailError::CaFile {
            path: path.clone(),
            source,
        })?;
        builder = builder.add_root_certificate(Certificate::from_pem(&pem).map_err(tls_error)?);
    }
    if !config.tls_verify {
        builder = builder.dangerous_accept_invalid_certs(true);
    }
    builder.build_rustls().map_err(tls_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Lang, Outcome, State};

    fn event(state: State) -> Event {
        Event {
            group: "Paris".into(),
            address: "10.0.0.1".into(),
            output: "connection <refused>".into(),
            priority: 4,
            author: "Jeanne".into(),
            comment: "on it".into(),
            ..Event::sample("srv-web-01", "HTTP", state)
        }
    }

    fn mail_config(from: Option<&str>) -> MailConfig {
        MailConfig {
            from: from.map(str::to_owned),
            smtp_host: "localhost".into(),
            smtp_port: 25,
            smtp_security: SmtpSecurity::None,
            smtp_user: None,
            smtp_password: None,
            sendmail: None,
            tpl_mail_subject: None,
            tpl_mail_body: None,
        }
    }

    fn created(id: u64) -> MailTicket {
        MailTicket {
            outcome: Outcome::Created {
                ticket: id,
                replaces: None,
            },
            url: Some(format!(
                "https://glpi.example.org/front/ticket.form.php?id={id}"
            )),
        }
    }

    fn render(
        e: &Event,
        ticket: &MailTicket,
        lang: Lang,
        subject: Option<&str>,
        body: Option<&str>,
    ) -> MailText {
        let vars = text::mail::mail_vars(
            text::vars(e, None, "2026-11-22 10:00:00", lang),
            ticket,
            lang,
        );
        text::mail::mail(subject, body, &vars, e, ticket, "2026-11-22 10:00:00", lang)
    }

    #[test]
    fn recipients_come_from_mail_options_then_the_contact_macro() {
        let to = recipients(
            &[
                "a@example.org, b@example.org".into(),
                "Bob <c@example.org>".into(),
            ],
            Some("ignored@example.org"),
        )
        .unwrap();
        let shown: Vec<String> = to.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["a@example.org", "b@example.org", "Bob <c@example.org>"]
        );
        let to = recipients(&[], Some("ops@example.org")).unwrap();
        assert_eq!(to[0].to_string(), "ops@example.org");
        assert!(matches!(recipients(&[], None), Err(MailError::NoRecipient)));
        assert!(matches!(
            recipients(&["not an address".into()], None),
            Err(MailError::BadAddress {
                origin: "--mail",
                ..
            })
        ));
    }

    #[test]
    fn default_texts_name_ticket_url_and_escape_html() {
        let e = event(State::Critical);
        let t = render(&e, &created(42), Lang::En, None, None);
        assert_eq!(t.subject, "[GLPI #42] CRITICAL srv-web-01:HTTP");
        assert!(
            t.plain.starts_with(
                "GLPI ticket 42 created.\nhttps://glpi.example.org/front/ticket.form.php?id=42\n"
            ),
            "{}",
            t.plain
        );
        assert!(t.plain.contains("Output:\nconnection <refused>"));
        assert!(t.html.contains("connection &lt;refused&gt;"), "{}", t.html);
        assert!(
            t.html
                .contains("<a href=\"https://glpi.example.org/front/ticket.form.php?id=42\">")
        );
        let t = render(&e, &created(42), Lang::Fr, None, None);
        assert!(t.plain.starts_with("Ticket GLPI 42 créé."), "{}", t.plain);
        assert!(t.plain.contains("Priorité : haute"));
    }

    #[test]
    fn a_downtime_mail_names_the_type_who_and_why() {
        let e = Event {
            kind: Some(crate::core::NotificationType::DowntimeStart),
            author: "Paul".into(),
            comment: "maintenance window".into(),
            ..event(State::Critical)
        };
        let t = render(&e, &created(42), Lang::En, None, None);
        assert!(
            t.plain.contains("Notification: DOWNTIMESTART\n"),
            "{}",
            t.plain
        );
        assert!(
            t.plain.contains("By: Paul\nComment: maintenance window\n"),
            "{}",
            t.plain
        );
        // A problem names no type, and no empty author line.
        let problem = Event {
            author: String::new(),
            comment: String::new(),
            ..event(State::Critical)
        };
        let t = render(&problem, &created(42), Lang::En, None, None);
        assert!(
            !t.plain.contains("Notification:") && !t.plain.contains("By:"),
            "{}",
            t.plain
        );
    }

    #[test]
    fn pending_ticket_is_said_even_with_a_custom_body() {
        let e = event(State::Critical);
        let pending = MailTicket {
            outcome: Outcome::Kept {
                ticket: None,
                failure: crate::core::Failure::Unavailable,
                reason: "GLPI is unavailable".into(),
            },
            url: None,
        };
        let t = render(&e, &pending, Lang::Fr, None, None);
        assert_eq!(t.subject, "[GLPI en attente] CRITICAL srv-web-01:HTTP");
        assert!(
            t.plain
                .starts_with("Ticket GLPI en attente : GLPI n'a pas pu prendre"),
            "{}",
            t.plain
        );
        let t = render(
            &e,
            &pending,
            Lang::En,
            Some("%node.name is %service.state (#%ticket.id)\nsecond line"),
            Some("See %ticket.url %nope"),
        );
        assert_eq!(t.subject, "srv-web-01 is CRITICAL (#) second line");
        assert!(t.plain.starts_with(
            "GLPI ticket pending: GLPI could not take the event (GLPI is unavailable)."
        ));
        assert!(t.plain.ends_with("See  %nope"), "{}", t.plain);
        assert_eq!(t.unknown, ["nope"]);
    }

    #[test]
    fn message_is_plain_text_with_an_html_alternative() {
        let e = event(State::Ack);
        let t = render(&e, &created(7), Lang::En, None, None);
        assert!(
            t.plain.contains("By: Jeanne\nComment: on it"),
            "{}",
            t.plain
        );
        let to = recipients(&["ops@example.org".into()], None).unwrap();
        let m = build(&mail_config(Some("Esia <esia@example.org>")), &to, t).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("From: Esia <esia@example.org>"), "{raw}");
        assert!(raw.contains("To: ops@example.org"));
        assert!(raw.contains("Subject: [GLPI #7] ACK srv-web-01:HTTP"));
        assert!(raw.contains("multipart/alternative"));
        let plain_at = raw.find("text/plain").unwrap();
        let html_at = raw.find("text/html").unwrap();
        assert!(
            plain_at < html_at,
            "plain text first, HTML last (preferred)"
        );
        assert!(matches!(
            build(
                &mail_config(None),
                &to,
                render(&e, &created(7), Lang::En, None, None)
            ),
            Err(MailError::NotConfigured)
        ));
    }
}

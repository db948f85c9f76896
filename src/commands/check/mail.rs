//! `check`, the notification mail (`[mail]`, for `--mail` and
//! `SEND_TICKET_GLPI_MAIL`): the sender, then the way out — the SMTP relay
//! answers (connection, EHLO, STARTTLS or TLS, the login, NOOP; no message
//! is sent), or the sendmail program exists and this user may run it (it
//! is not run). Said only when `[mail]` is there. A problem here stops the
//! mail, not the ticket: `notify` then exits 7, and so does `check` when it
//! is the first problem.

use super::report::Report;
use crate::config::{Config, SmtpSecurity};
use crate::mail::{self, MailError, MailRoute};

pub(super) fn check_mail(r: &mut Report, config: &Config) {
    let Some(m) = &config.mail else {
        return;
    };
    match mail::sender(m) {
        Ok(from) => r.ok("mail sender", format!("mails come from {from}")),
        Err(MailError::NotConfigured) => r.fail_mail(
            "mail sender",
            "[mail] has no `from`, so every notification mail fails (notify exits 7 when asked \
             for one): add from = \"esia@example.org\" to [mail]",
        ),
        Err(e) => r.fail_mail("mail sender", explain(&e)),
    }
    let security = match m.smtp_security {
        SmtpSecurity::None => "no TLS",
        SmtpSecurity::StartTls => "STARTTLS",
        SmtpSecurity::Tls => "TLS",
    };
    match mail::probe(config, m) {
        Ok(MailRoute::Relay) => r.ok(
            "mail relay",
            format!(
                "{}:{} answered EHLO ({security}{}); no message was sent",
                m.smtp_host,
                m.smtp_port,
                if m.smtp_user.is_some() {
                    ", login accepted"
                } else {
                    ""
                }
            ),
        ),
        Ok(MailRoute::Sendmail(path)) => r.ok(
            "mail relay",
            format!(
                "mails go through {}, a program this user may run (not run by check)",
                path.display()
            ),
        ),
        Err(e) => r.fail_mail("mail relay", explain(&e)),
    }
}

fn explain(e: &MailError) -> String {
    format!("{}: {}", crate::text::error_line(e), e.fix())
}

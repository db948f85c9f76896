//! The URLs built from `host`: the legacy API's, a ticket's, the identity of
//! a GLPI, and user information kept out of every URL shown.

use super::host;
use crate::config::without_userinfo;

#[test]
fn api_and_ticket_urls_for_every_host_form() {
    for (written, api, ticket) in [
        (
            "https://glpi.example.org/glpi",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "https://glpi.example.org/glpi/",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "https://glpi.example.org/glpi/apirest.php",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/apirest.php/",
            "https://glpi.example.org/glpi/front/ticket.form.php?id=42",
        ),
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/apirest.php/",
            "http://127.0.0.1:8080/front/ticket.form.php?id=42",
        ),
        (
            "http://127.0.0.1:8080/apirest.php/",
            "http://127.0.0.1:8080/apirest.php/",
            "http://127.0.0.1:8080/front/ticket.form.php?id=42",
        ),
    ] {
        let c = host(written);
        assert_eq!(c.host, written.trim_end_matches('/'));
        assert_eq!(c.api_url(), api, "{written}");
        assert_eq!(c.ticket_url(42), ticket, "{written}");
    }
}

#[test]
fn the_glpi_identity_ignores_case_user_information_and_the_api_path() {
    for written in [
        "https://glpi.example.org/glpi",
        "HTTPS://GLPI.example.org/glpi/",
        "https://monitor:s3cret@glpi.example.org/glpi/apirest.php",
    ] {
        assert_eq!(
            host(written).glpi_identity(),
            "https://glpi.example.org/glpi",
            "{written}"
        );
    }
    assert_ne!(
        host("https://glpi.example.org/test").glpi_identity(),
        host("https://glpi.example.org/glpi").glpi_identity()
    );
}

#[test]
fn user_information_is_never_in_a_url_shown() {
    let c = host("https://monitor:s3cret@glpi.example.org/glpi");
    assert_eq!(
        c.ticket_url(7),
        "https://glpi.example.org/glpi/front/ticket.form.php?id=7"
    );
    assert_eq!(
        c.shown_api_url(),
        "https://glpi.example.org/glpi/apirest.php/"
    );
    assert_eq!(
        c.api_url(),
        "https://monitor:s3cret@glpi.example.org/glpi/apirest.php/"
    );
    assert_eq!(
        without_userinfo("http://a@b:8080/x?u=1@2"),
        "http://b:8080/x?u=1@2"
    );
}

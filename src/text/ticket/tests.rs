use super::*;

fn event(output: &str) -> Event {
    Event {
        key: Key {
            node: "web<01>".into(),
            service: "HTTP".into(),
        },
        group: "Paris & co".into(),
        address: "10.0.0.1".into(),
        state: State::Critical,
        output: output.into(),
        priority: 4,
        kind: None,
        author: "<b>bob</b>".into(),
        comment: "it's \"fine\"".into(),
        vars: vec![("site".into(), "<x>".into())],
        time: jiff::Timestamp::UNIX_EPOCH,
        order: None,
        started: None,
        default_priority: false,
    }
}

#[test]
fn escaping_covers_markup_and_quotes() {
    assert_eq!(
        escape_html(r#"<script>alert("x&y")</script>'"#),
        "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
    );
}

#[test]
fn content_escapes_every_monitored_value() {
    let e = event("<script>alert(1)</script>\nline2");
    let v = vars(&e, None, "2026-11-22 10:00:00", Lang::En);
    let c = content(None, &v, Lang::En, None, &e.key);
    assert!(!c.text.contains("<script>"), "{}", c.text);
    assert!(
        c.text
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;<br>line2")
    );
    assert!(c.text.contains("web&lt;01&gt;"));
    assert!(c.text.contains("Paris &amp; co"));
    assert!(c.text.contains(&marker(&e.key)));
    assert!(c.unknown.is_empty());
    let custom = content(Some("<p>%site %nope</p>"), &v, Lang::En, None, &e.key);
    assert!(custom.text.starts_with("<p>&lt;x&gt; %nope</p>"));
    assert_eq!(custom.unknown, vec!["nope".to_string()]);
}

#[test]
fn title_is_one_plain_line_capped_at_255_chars() {
    let mut e = event("x");
    e.key.node = "é".repeat(300);
    let v = vars(&e, None, "d", Lang::Fr);
    let t = title("( %node.group.name ) %node.name:%service.name", &v);
    assert_eq!(t.text.chars().count(), 255);
    assert!(t.text.starts_with("( Paris & co ) éé"));
    let e = event("x");
    let v = vars(&e, None, "d", Lang::Fr);
    assert_eq!(title("a\nb\t%service.name\r", &v).text, "a b HTTP");
}

#[test]
fn replaced_ticket_is_named() {
    let e = event("x");
    let v = vars(&e, None, "d", Lang::Fr);
    let c = content(None, &v, Lang::Fr, Some((12, Remote::Closed)), &e.key);
    assert!(c.text.contains("remplace le ticket 12, clos"));
    let c = content(None, &v, Lang::En, Some((12, Remote::Gone)), &e.key);
    assert!(c.text.contains("replaces ticket 12, which was purged"));
}

#[test]
fn external_ids_are_fixed_length_and_distinct() {
    let a = external_id(&Key::new("web", "HTTP"));
    let b = external_id(&Key::new("web", "HTTPS"));
    assert!(a.starts_with("esia-glpi:"));
    assert_eq!(a.len(), "esia-glpi:".len() + 64);
    assert_ne!(a, b);
    let long = external_id(&Key::new("n".repeat(512), "s".repeat(512)));
    assert_eq!(long.len(), a.len());
    // Stable across versions: tickets already in GLPI carry it.
    assert_eq!(
        external_id(&Key::new("srv-web-01", "HTTP")),
        external_id(&Key::new("srv-web-01", "HTTP"))
    );
}

#[test]
fn markers_read_back() {
    let key = Key {
        node: "web 01/é".into(),
        service: "]:[".into(),
    };
    let content = format!("<p>x</p><p><small>{}</small></p>", marker(&key));
    assert_eq!(parse_marker(&content), Some(key));
    let host = Key {
        node: "n".into(),
        service: String::new(),
    };
    assert_eq!(parse_marker(&marker(&host)), Some(host));
    for bad in [
        "",
        "[esia-glpi:zz:]",
        "[esia-glpi:6:]",
        "[esia-glpi::41]",
        "[esia-glpi:41",
    ] {
        assert_eq!(parse_marker(bad), None, "{bad}");
    }
}

#[test]
fn the_marker_read_back_is_the_ticket_s_own_after_marker_text_in_values() {
    // fuzz/ `template`, minimised: an output holding "[esia-glpi:" made
    // the ticket's marker unreadable (state rebuild skipped the ticket),
    // and a well-formed one gave another key.
    let forged = marker(&Key {
        node: "other".into(),
        service: "svc".into(),
    });
    for output in ["lin[esia-glpi:king at it", forged.as_str()] {
        let e = event(output);
        let v = vars(&e, None, "d", Lang::En);
        let c = content(None, &v, Lang::En, Some((76, Remote::Closed)), &e.key);
        assert_eq!(parse_marker(&c.text), Some(e.key.clone()), "{}", c.text);
        let custom = content(
            Some("[esia-glpi:%service.output"),
            &v,
            Lang::En,
            None,
            &e.key,
        );
        assert_eq!(parse_marker(&custom.text), Some(e.key), "{}", custom.text);
    }
}

#[test]
fn markers_do_not_prefix_each_other() {
    let a = marker(&Key {
        node: "web".into(),
        service: String::new(),
    });
    let b = marker(&Key {
        node: "web01".into(),
        service: String::new(),
    });
    assert!(!b.contains(&a) && !a.contains(&b));
    assert_eq!(a, "[esia-glpi:776562:]");
}

#[test]
fn followups_name_the_transition_and_the_author() {
    let e = event("disk <full>");
    let f = followup(
        &Note::StateChange {
            from: Some(State::Warning),
            to: State::Critical,
        },
        &e,
        "d",
        Lang::En,
    );
    assert!(f.contains("Status changed WARNING → CRITICAL"));
    assert!(f.contains("disk &lt;full&gt;"));
    assert!(f.ends_with(&format!("<p>{}</p>", event_tag(&e))), "{f}");
    let f = followup(&Note::Ack, &e, "d", Lang::Fr);
    assert!(f.contains("Acquitté par &lt;b&gt;bob&lt;/b&gt;"));
    assert!(f.contains("it&#39;s &quot;fine&quot;"));
    let ok = Event {
        state: State::Ok,
        ..e.clone()
    };
    let s = solution(&ok, Solution::Recovered, "d", Lang::Fr);
    assert!(s.contains("Retour à l&#39;état OK"));
}

#[test]
fn notification_followups_say_what_happened_who_and_why() {
    let e = Event {
        kind: Some(NotificationType::DowntimeStart),
        author: "jeanne".into(),
        comment: "patching".into(),
        ..event("disk full")
    };
    let note = |kind, from| Note::Notification {
        kind,
        from,
        to: State::Critical,
    };
    let f = followup(
        &note(NotificationType::DowntimeStart, Some(State::Critical)),
        &e,
        "d",
        Lang::En,
    );
    assert!(
        f.contains("Downtime started by jeanne — status: CRITICAL"),
        "{f}"
    );
    assert!(f.contains("<p>patching</p><p>disk full</p>"), "{f}");
    let f = followup(
        &note(NotificationType::FlappingStart, Some(State::Warning)),
        &e,
        "d",
        Lang::Fr,
    );
    assert!(
        f.contains("Bagotement détecté — état : WARNING → CRITICAL"),
        "{f}"
    );
    let custom = Event {
        author: String::new(),
        comment: String::new(),
        output: String::new(),
        ..e.clone()
    };
    let f = followup(
        &note(NotificationType::Custom, None),
        &custom,
        "d",
        Lang::En,
    );
    assert!(
        f.starts_with(
            "<p><b>Custom notification — status: CRITICAL</b> (d)</p><p>[esia-glpi event "
        ),
        "no empty paragraph: {f}"
    );
    let ok = Event {
        state: State::Ok,
        ..e
    };
    let s = solution(&ok, Solution::RecoveredInDowntime, "d", Lang::En);
    assert!(
        s.contains("Recovered during the downtime: OK when the downtime ended"),
        "{s}"
    );
    let s = solution(&ok, Solution::FlappingStopped, "d", Lang::Fr);
    assert!(
        s.contains("Fin du bagotement : retour à l&#39;état OK"),
        "{s}"
    );
    // Reconcile: the engine sent no recovery, and since when it is OK.
    let s = solution(&ok, Solution::Reconciled, "2026-12-01 03:12", Lang::En);
    assert!(
        s.starts_with(
            "<p><b>Solved by esia-glpi reconcile: the monitoring engine sent no recovery; \
                 its state says OK since 2026-12-01 03:12</b></p>"
        ),
        "{s}"
    );
    let s = solution(&ok, Solution::Reconciled, "d", Lang::Fr);
    assert!(
        s.contains("aucun rétablissement ; son état indique OK depuis le d"),
        "{s}"
    );
}

#[test]
fn the_type_joins_the_event_tag_only_when_given() {
    let e = event("x");
    let typed = Event {
        kind: Some(NotificationType::Custom),
        ..e.clone()
    };
    assert_ne!(event_tag(&e), event_tag(&typed));
    // The tag of an untyped event is the one earlier versions wrote
    // (a kept event retried after the upgrade finds its follow-up):
    // the SHA-256 of the length-prefixed fields, computed apart.
    assert_eq!(event_tag(&e), "[esia-glpi event af972ac2f407]");
}

#[test]
fn a_host_alert_reads_as_one() {
    let host = Event {
        key: Key::new("srv-db-02", ""),
        group: "Lyon".into(),
        address: String::new(),
        state: State::Down,
        ..event("PING CRITICAL")
    };
    let v = vars(&host, None, "d", Lang::En);
    let tpl = "( %node.group.name ) %node.name:%service.name";
    assert_eq!(title(tpl, &v).text, "( Lyon ) srv-db-02");
    assert_eq!(
        title("%node.name - %service.name (%priority)", &v).text,
        "srv-db-02 (4)"
    );
    let service = Event {
        key: Key::new("srv-db-02", "HTTP"),
        ..host.clone()
    };
    assert_eq!(
        title(tpl, &vars(&service, None, "d", Lang::En)).text,
        "( Lyon ) srv-db-02:HTTP"
    );
    let c = content(None, &v, Lang::En, None, &host.key).text;
    assert!(c.contains("<b>State</b>: DOWN"), "{c}");
    assert!(c.contains("<b>Previous state</b>: UP"), "{c}");
    assert!(!c.contains("Service"), "no service line: {c}");
    assert!(!c.contains("Address"), "no line for a missing value: {c}");
    assert!(!c.contains(": <br>") && !c.contains(":</p>"), "{c}");
    let f = followup(
        &Note::StateChange {
            from: Some(State::Down),
            to: State::Unreachable,
        },
        &host,
        "d",
        Lang::En,
    );
    assert!(f.contains("Status changed DOWN → UNREACHABLE"), "{f}");
    let up = Event {
        state: State::Up,
        ..host
    };
    let s = solution(&up, Solution::Recovered, "d", Lang::En);
    assert!(s.contains("Recovered: back to UP"), "{s}");
}

#[test]
fn followup_heads_carry_no_control_character() {
    // fuzz/ `template`, minimised: an acknowledgement author of "\u{5}"
    // reached the follow-up as is.
    let mut e = event("x");
    e.author = "\u{5}bob\n\u{1b}[31m".into();
    for (note, lang) in [(Note::Ack, Lang::En), (Note::Unack, Lang::Fr)] {
        let f = followup(&note, &e, "d", lang);
        assert!(!f.chars().any(char::is_control), "{f:?}");
        assert!(f.contains(" bob  [31m</b>"), "{f:?}");
    }
}

#[test]
fn event_tags_are_stable_short_and_tell_events_apart() {
    let e = event("disk full");
    let tag = event_tag(&e);
    assert!(
        tag.starts_with("[esia-glpi event ") && tag.ends_with(']'),
        "{tag}"
    );
    let hex = &tag["[esia-glpi event ".len()..tag.len() - 1];
    assert_eq!(hex.len(), 12);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(event_tag(&e.clone()), tag, "stable");
    // Not a marker: the marker search never takes a follow-up for one.
    assert!(!tag.starts_with(MARKER_PREFIX));
    let mut later = e.clone();
    later.time += jiff::SignedDuration::from_secs(1);
    let mut other = e.clone();
    other.output = "disk fuller".into();
    let mut acked = e.clone();
    acked.comment = "on it".into();
    for different in [later, other, acked] {
        assert_ne!(event_tag(&different), tag);
    }
    // What GLPI 10 stores (entities) decodes back to a text carrying it.
    let f = followup(&Note::Ack, &e, "d", Lang::En);
    let stored = f.replace('<', "&#60;").replace('>', "&#62;");
    assert!(!carries_tag(&f.replace(&tag, ""), &e));
    assert!(
        carries_tag(&stored, &e),
        "brackets and hex survive: {stored}"
    );
}

#[test]
fn huge_output_is_cut_with_a_note() {
    let big = "é".repeat(OUTPUT_MAX_BYTES);
    let capped = cap_output(&big, Lang::En);
    assert!(capped.len() < big.len());
    assert!(capped.ends_with(&format!("of {} bytes]", big.len())));
}

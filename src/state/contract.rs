//! The contract of [`Store`] and [`Held`], written once and run against
//! every backend: the state directory, a real PostgreSQL server (a private
//! cluster, `tests/integration/support/pg.rs`), and the same server behind
//! PgBouncer in session mode.
//!
//! Each scenario opens several stores on one state, as several runs (or
//! several monitoring servers) would, and holds each to what the trait
//! says — including what used to hold only by accident of one process: a
//! place in line needs nothing else of the store that made it, an intent
//! is read without reading the record first, and a run's own event leaves
//! no receipt while another run's does.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

#[path = "../../tests/integration/support/pg.rs"]
#[allow(clippy::all, clippy::pedantic)]
mod pg;

use super::error::KeptLocally;
use super::store::{Held, Intent, Kept, Look, Pending, Place, RecordLoad, Store};
use super::{AnyStore, Backend, PgSettings, StateError, open};
use crate::core::{
    Coverage, EngineOrder, Event, Failure, GlpiId, Key, Outcome, Record, State, Trace,
};

/// A state several runs share, and how to open it as one of them.
trait Site {
    /// A store on this state, as a new run opens it (`server`: which
    /// monitoring server it runs on, each with its own state directory
    /// when the backend is a database).
    fn open(&self, server: usize) -> AnyStore;
    /// Makes the key's record unreadable, behind the program's back.
    fn corrupt_record(&self, key: &Key);
    /// Makes the key's oldest kept event unreadable, behind the program's back.
    fn corrupt_kept(&self, key: &Key);
    /// Where what was set aside for `key` can be seen, for the assertions.
    fn set_aside(&self, key: &Key) -> usize;
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn stem(key: &Key) -> String {
        super::paths::file_stem(key)
    }
}

impl Site for Files {
    fn open(&self, _server: usize) -> AnyStore {
        open(&self.root(), Backend::Files).unwrap()
    }

    fn corrupt_record(&self, key: &Key) {
        let path = self
            .root()
            .join(format!("records/{}.json", Files::stem(key)));
        std::fs::write(path, b"{ torn").unwrap();
    }

    fn corrupt_kept(&self, key: &Key) {
        let dir = self.root().join(format!("spool/{}", Files::stem(key)));
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        entries.sort();
        std::fs::write(&entries[0], b"{ torn").unwrap();
    }

    fn set_aside(&self, key: &Key) -> usize {
        let stem = Files::stem(key);
        let count = |dir: PathBuf, wanted: &dyn Fn(&str) -> bool| {
            std::fs::read_dir(dir).map_or(0, |d| {
                d.flatten()
                    .filter(|e| wanted(&e.file_name().to_string_lossy()))
                    .count()
            })
        };
        let corrupt = |name: &str| name.contains(".corrupt-");
        count(self.root().join("records"), &|n| {
            n.starts_with(&stem) && corrupt(n)
        }) + count(self.root().join(format!("spool/{stem}")), &corrupt)
            + count(self.root().join("dropped"), &|n| n.starts_with(&stem))
    }
}

struct Database {
    pg: pg::Pg,
    /// PgBouncer in front, when the site goes through it.
    bouncer: Option<pg::Bouncer>,
    dir: tempfile::TempDir,
}

impl Database {
    fn new(through_bouncer: bool) -> Database {
        let pg = pg::Pg::start();
        let bouncer = through_bouncer.then(|| pg.start_bouncer());
        Database {
            pg,
            bouncer,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn settings(&self) -> PgSettings {
        PgSettings {
            url: self
                .bouncer
                .as_ref()
                .map_or_else(|| self.pg.url(), pg::Bouncer::url),
            password: Some(SecretString::from(pg::PASSWORD)),
            ca_file: None,
            tls_verify: true,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }

    fn root(&self, server: usize) -> PathBuf {
        self.dir.path().join(format!("server{server}"))
    }
}

impl Site for Database {
    fn open(&self, server: usize) -> AnyStore {
        open(&self.root(server), Backend::Postgres(self.settings())).unwrap()
    }

    fn corrupt_record(&self, key: &Key) {
        self.pg.query(&format!(
            "UPDATE records SET record = '{{\"torn\": 1}}' WHERE node = '{}' AND service = '{}'",
            key.node, key.service
        ));
    }

    fn corrupt_kept(&self, key: &Key) {
        self.pg.query(&format!(
            "UPDATE kept SET event = '{{\"torn\": 1}}' WHERE uid = (SELECT uid FROM kept \
             WHERE node = '{}' AND service = '{}' ORDER BY seq LIMIT 1)",
            key.node, key.service
        ));
    }

    fn set_aside(&self, key: &Key) -> usize {
        let count = |table: &str| {
            self.pg
                .query(&format!(
                    "SELECT count(*) FROM {table} WHERE node = '{}' AND service = '{}'",
                    key.node, key.service
                ))
                .trim()
                .parse::<usize>()
                .unwrap()
        };
        count("dropped_records") + count("dropped_kept") + count("dropped_intents")
    }
}

fn glpi() -> GlpiId {
    GlpiId::new("http://glpi.example.org")
}

fn event(key: &Key, n: u32) -> Event {
    Event {
        output: format!("e{n}"),
        // The wall clock plays no part in the order.
        time: jiff::Timestamp::from_second(i64::from(1000 - n)).unwrap(),
        ..Event::sample(&key.node, &key.service, State::Critical)
    }
}

fn record(key: &Key, ticket: u64) -> Record {
    Record {
        glpi: Some(glpi()),
        ..Record::sample(key, ticket)
    }
}

fn outputs(queue: &[Kept]) -> Vec<String> {
    queue.iter().map(|k| k.event.output.clone()).collect()
}

async fn held(store: &AnyStore, key: &Key) -> <AnyStore as Store>::Held {
    store.try_hold(key).await.unwrap().expect("the key is free")
}

/// A run's place in line for a key.
type InLine = Place<<AnyStore as Store>::Line>;

/// Two runs on `site`: A keeps event 1 of `key`, then B event 2 — and B,
/// arrived second, waits while A's run lives, even with the key free.
async fn two_in_line(site: &impl Site, key: &Key) -> (AnyStore, AnyStore, InLine, InLine) {
    let (a, b) = (site.open(0), site.open(0));
    let pa = a.keep(&event(key, 1), &glpi()).await.unwrap();
    let pb = b.keep(&event(key, 2), &glpi()).await.unwrap();
    assert!(matches!(
        b.look(&pb.kept, &pb.line).await.unwrap(),
        Look::Wait
    ));
    (a, b, pa, pb)
}

/// Events kept by several runs come back in arrival order, numbered in
/// that order whatever their clock says; each place names the events
/// kept ahead of it.
async fn keep_and_order(site: &impl Site) {
    let key = Key::new("order", "svc");
    let (a, b) = (site.open(0), site.open(0));
    let first = a.keep(&event(&key, 1), &glpi()).await.unwrap();
    let second = b.keep(&event(&key, 2), &glpi()).await.unwrap();
    let third = a.keep(&event(&key, 3), &glpi()).await.unwrap();
    assert!(first.kept.seq < second.kept.seq && second.kept.seq < third.kept.seq);
    assert!(first.ahead.is_empty());
    let ahead: Vec<_> = third.ahead.iter().map(|(id, n)| (id.clone(), *n)).collect();
    assert_eq!(
        ahead,
        [(first.kept.id.clone(), 0), (second.kept.id.clone(), 0)]
    );
    drop((first, second, third));
    let mut h = held(&site.open(0), &key).await;
    let queue = h.queue().await.unwrap();
    assert_eq!(outputs(&queue.kept), ["e1", "e2", "e3"]);
    assert!(queue.kept.iter().all(|k| k.glpi == Some(glpi())));
    let keys = a.keys_with_kept_events().await.unwrap();
    assert!(keys.contains(&key), "{keys:?}");
}

/// Runs are served first come, first served; the run holding the key
/// delivers the others' events and leaves them a receipt, while its own
/// event leaves none; a place in line needs nothing else of the store that
/// made it (looked at through another store on the same state).
async fn hold_wait_and_receipts(site: &impl Site) {
    let key = Key::new("line", "svc");
    let (a, b, pa, pb) = two_in_line(site, &key).await;
    // A's place, looked at through a store that kept nothing.
    let other = site.open(0);
    let Look::Held(mut ha) = other.look(&pa.kept, &pa.line).await.unwrap() else {
        panic!("the first in line takes the free key");
    };
    assert!(a.try_hold(&key).await.unwrap().is_none(), "held once");
    assert!(matches!(
        b.look(&pb.kept, &pb.line).await.unwrap(),
        Look::Wait
    ));
    let queue = ha.queue().await.unwrap().kept;
    let mine = Outcome::Created {
        ticket: 7,
        replaces: None,
    };
    let theirs = Outcome::FollowedUp { ticket: 7 };
    ha.delivered(&queue[0], &mine).await.unwrap();
    ha.delivered(&queue[1], &theirs).await.unwrap();
    drop(ha);
    a.finish().await;
    other.finish().await;
    // The run's own event: no receipt for anyone.
    assert_eq!(a.receipt(&pa.kept, &pa.line).await.unwrap(), None);
    // B's: its outcome, once.
    let look = b.look(&pb.kept, &pb.line).await.unwrap();
    assert!(
        matches!(&look, Look::Delivered(o) if *o == theirs),
        "{look:?}"
    );
    assert_eq!(
        b.receipt(&pb.kept, &pb.line).await.unwrap(),
        None,
        "used up"
    );
    drop(pa);
    let mut h = held(&b, &key).await;
    assert!(h.queue().await.unwrap().kept.is_empty());
}

/// A run that died in line does not block the others.
async fn a_dead_run_leaves_the_line(site: &impl Site) {
    let key = Key::new("dead", "svc");
    let (a, b, pa, pb) = two_in_line(site, &key).await;
    drop(pa);
    a.finish().await;
    drop(a);
    let Look::Held(mut h) = b.look(&pb.kept, &pb.line).await.unwrap() else {
        panic!("the next in line takes the key once the run ahead is gone");
    };
    // Its event is still kept: the holder delivers it.
    assert_eq!(outputs(&h.queue().await.unwrap().kept), ["e1", "e2"]);
}

/// Records and creation intents live and die through the key's handle;
/// an intent is read without reading the record first, and what one
/// handle writes the next one reads.
async fn record_and_intent_life(site: &impl Site) {
    let key = Key::new("record", "svc");
    let store = site.open(0);
    let mut h = held(&store, &key).await;
    assert!(matches!(
        h.load_record().await.unwrap(),
        RecordLoad::Missing
    ));
    assert!(h.read_intent().await.unwrap().is_none());
    let intent = Intent {
        key: key.clone(),
        state: State::Critical,
        output: "down".into(),
        priority: 4,
        event_time: jiff::Timestamp::UNIX_EPOCH,
    };
    h.write_intent(&intent).await.unwrap();
    h.save_record(&record(&key, 42)).await.unwrap();
    drop(h);
    store.finish().await;
    // Another run: the intent first, without the record.
    let other = site.open(0);
    let mut h = held(&other, &key).await;
    assert!(matches!(h.read_intent().await.unwrap(), Some(Pending::Intent(i)) if i == intent));
    match h.load_record().await.unwrap() {
        RecordLoad::Found(r) => assert_eq!(r, record(&key, 42)),
        other => panic!("{other:?}"),
    }
    // Read with the record, then used: the same answer.
    assert!(matches!(h.read_intent().await.unwrap(), Some(Pending::Intent(i)) if i == intent));
    h.clear_intent().await.unwrap();
    assert!(h.read_intent().await.unwrap().is_none());
    let (records, corrupt) = other.records().await.unwrap();
    assert!(records.iter().any(|r| r.key == key));
    assert!(corrupt.is_empty());
    h.remove_record().await.unwrap();
    assert!(matches!(
        h.load_record().await.unwrap(),
        RecordLoad::Missing
    ));
    drop(h);
    other.finish().await;
    let (shown, kept) = site.open(0).peek(&key).await.unwrap();
    assert!(matches!(shown, RecordLoad::Missing) && kept.is_empty());
}

/// Failures, in-flight marks and the engine's numbering are kept with the
/// event and seen by the next run; `forget` sets everything of the key
/// aside, never deletes it.
async fn attempts_marks_and_forget(site: &impl Site) {
    let key = Key::new("forget", "svc");
    let store = site.open(0);
    let numbered = Event {
        order: Some(EngineOrder {
            id: 41,
            previous: None,
            problem: None,
            after_soft: false,
        }),
        ..event(&key, 1)
    };
    drop(store.keep(&numbered, &glpi()).await.unwrap());
    drop(store.keep(&event(&key, 2), &glpi()).await.unwrap());
    let mut h = held(&store, &key).await;
    let mut queue = h.queue().await.unwrap().kept;
    h.failed(&mut queue[1], Failure::Unavailable, "GLPI is down".into())
        .await
        .unwrap();
    h.started(&mut queue[1]).await.unwrap();
    h.delivered(&queue[0], &Outcome::Solved { ticket: 3 })
        .await
        .unwrap();
    h.save_record(&record(&key, 3)).await.unwrap();
    drop(h);
    store.finish().await;
    let other = site.open(0);
    let mut h = held(&other, &key).await;
    let queue = h.queue().await.unwrap();
    assert_eq!(queue.last_engine_id, Some(41));
    assert_eq!(outputs(&queue.kept), ["e2"]);
    let k = &queue.kept[0];
    assert_eq!((k.attempts, k.failure), (1, Some(Failure::Unavailable)));
    assert_eq!(k.last_error.as_deref(), Some("GLPI is down"));
    assert!(k.in_flight);
    let moved = h.forget().await.unwrap();
    assert_eq!(moved.len(), 2, "the record and the kept event: {moved:?}");
    assert!(h.queue().await.unwrap().kept.is_empty());
    assert!(matches!(
        h.load_record().await.unwrap(),
        RecordLoad::Missing
    ));
    assert!(site.set_aside(&key) >= 1);
}

/// `state adopt`: a kept event bound to another GLPI is bound to this one,
/// in its place, as the next run sees it.
async fn rebind(site: &impl Site) {
    let key = Key::new("adopt", "svc");
    let store = site.open(0);
    let elsewhere = GlpiId::new("http://other.example.org");
    drop(store.keep(&event(&key, 1), &elsewhere).await.unwrap());
    drop(store.keep(&event(&key, 2), &glpi()).await.unwrap());
    let mut h = held(&store, &key).await;
    let mut queue = h.queue().await.unwrap().kept;
    h.failed(&mut queue[0], Failure::Refused, "no".into())
        .await
        .unwrap();
    h.rebind(&mut queue[0], &glpi()).await.unwrap();
    drop(h);
    store.finish().await;
    let other = site.open(0);
    let mut h = held(&other, &key).await;
    let queue = h.queue().await.unwrap().kept;
    assert_eq!(outputs(&queue), ["e1", "e2"], "in its place");
    assert_eq!(queue[0].glpi.as_ref(), Some(&glpi()));
    assert_eq!(queue[0].attempts, 1, "its history kept");
    h.forget().await.unwrap();
}

/// A record or a kept event that cannot be read is set aside, never
/// deleted, and the run goes on without it.
async fn corrupt_entries_are_set_aside(site: &impl Site) {
    let key = Key::new("corrupt", "svc");
    let store = site.open(0);
    drop(store.keep(&event(&key, 1), &glpi()).await.unwrap());
    drop(store.keep(&event(&key, 2), &glpi()).await.unwrap());
    let mut h = held(&store, &key).await;
    h.save_record(&record(&key, 9)).await.unwrap();
    drop(h);
    store.finish().await;
    site.corrupt_record(&key);
    site.corrupt_kept(&key);
    let other = site.open(0);
    let mut h = held(&other, &key).await;
    assert!(matches!(
        h.load_record().await.unwrap(),
        RecordLoad::Corrupt { .. }
    ));
    assert!(matches!(
        h.load_record().await.unwrap(),
        RecordLoad::Missing
    ));
    assert_eq!(outputs(&h.queue().await.unwrap().kept), ["e2"]);
    assert_eq!(site.set_aside(&key), 2, "both kept aside");
}

/// What the state knows beside the records: the inventory, taken by one
/// run at a time, covers every key for its GLPI (listing the ones with an
/// open ticket) until it is older than the time to live; each key's trace
/// follows its record, and outlives it.
async fn inventory_and_traces(site: &impl Site) {
    let (k1, k2) = (Key::new("inv", "one"), Key::new("inv", "two"));
    let ttl = Duration::from_mins(10);
    let store = site.open(0);
    let mut h2 = held(&store, &k2).await;
    assert_eq!(
        h2.seen(&glpi(), ttl).await.unwrap(),
        (None, Coverage::Unknown)
    );
    let inventory = store.try_hold_inventory().await.unwrap().expect("free");
    let other = site.open(0);
    assert!(
        other.try_hold_inventory().await.unwrap().is_none(),
        "held once"
    );
    store
        .write_inventory(&inventory, &glpi(), &[(k1.clone(), 5)])
        .await
        .unwrap();
    drop(inventory);
    store.finish().await;
    assert!(
        other.try_hold_inventory().await.unwrap().is_some(),
        "released"
    );
    let mut h1 = held(&other, &k1).await;
    let listed = |ticket| Coverage::Complete { listed: ticket };
    assert_eq!(
        h1.seen(&glpi(), ttl).await.unwrap(),
        (None, listed(Some(5)))
    );
    assert_eq!(h2.seen(&glpi(), ttl).await.unwrap(), (None, listed(None)));
    let elsewhere = GlpiId::new("http://other.example.org");
    assert_eq!(h2.seen(&elsewhere, ttl).await.unwrap().1, Coverage::Unknown);
    assert_eq!(
        h2.seen(&glpi(), Duration::ZERO).await.unwrap().1,
        Coverage::Unknown,
        "older than its time to live"
    );
    // A record's trace, then its end.
    h2.save_record(&Record {
        glpi: Some(glpi()),
        ..Record::sample(&k2, 7)
    })
    .await
    .unwrap();
    let open = Trace {
        glpi: glpi(),
        ticket: 7,
        open: true,
    };
    assert_eq!(h2.seen(&glpi(), ttl).await.unwrap().0, Some(open.clone()));
    let closed = Trace {
        open: false,
        ..open
    };
    h2.close_record(&closed).await.unwrap();
    assert!(matches!(
        h2.load_record().await.unwrap(),
        RecordLoad::Missing
    ));
    drop(h2);
    store.finish().await;
    let mut h2 = held(&site.open(0), &k2).await;
    assert_eq!(
        h2.seen(&glpi(), ttl).await.unwrap(),
        (Some(closed), listed(None)),
        "seen by another run"
    );
    // A record removed (it named no ticket of the key) leaves the trace.
    h2.save_record(&Record {
        glpi: Some(glpi()),
        ..Record::sample(&k2, 8)
    })
    .await
    .unwrap();
    h2.remove_record().await.unwrap();
    assert_eq!(
        h2.seen(&glpi(), ttl)
            .await
            .unwrap()
            .0
            .map(|t| (t.ticket, t.open)),
        Some((8, true))
    );
}

/// Runs the whole contract on `site`.
async fn contract(site: &impl Site) {
    inventory_and_traces(site).await;
    keep_and_order(site).await;
    hold_wait_and_receipts(site).await;
    a_dead_run_leaves_the_line(site).await;
    record_and_intent_life(site).await;
    attempts_marks_and_forget(site).await;
    rebind(site).await;
    corrupt_entries_are_set_aside(site).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_files_backend_keeps_the_contract() {
    contract(&Files::new()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_postgres_backend_keeps_the_contract() {
    let site = Database::new(false);
    contract(&site).await;
    outbox_while_the_database_is_down(&site).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_postgres_backend_behind_pgbouncer_keeps_the_contract() {
    contract(&Database::new(true)).await;
}

/// While the database cannot be reached, an event is kept in the state
/// directory's outbox (the run says so); the next run that reaches it
/// moves it into the database, in order, once.
async fn outbox_while_the_database_is_down(site: &Database) {
    let key = Key::new("outbox", "svc");
    site.pg.kill();
    let down = site.open(1);
    let err = down.keep(&event(&key, 1), &glpi()).await.unwrap_err();
    match &err {
        StateError::Database {
            kept_locally: Some(KeptLocally::Event(path)),
            ..
        } => assert!(path.starts_with(outbox(site, 1)), "{}", path.display()),
        other => panic!("{other:?}"),
    }
    assert!(err.event_kept_locally());
    drop(down.keep(&event(&key, 2), &glpi()).await.unwrap_err());
    drop(down);
    site.pg.restart();
    let up = site.open(1);
    let mut h = held(&up, &key).await;
    assert_eq!(outputs(&h.queue().await.unwrap().kept), ["e1", "e2"]);
    drop(h);
    up.finish().await;
    let left = std::fs::read_dir(outbox(site, 1))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(left, 0, "moved, not copied");
    // Moved once: another run finds them once.
    let mut h = held(&site.open(1), &key).await;
    assert_eq!(h.queue().await.unwrap().kept.len(), 2);
}

fn outbox(site: &Database, server: usize) -> PathBuf {
    Path::new(&site.root(server)).join("outbox")
}

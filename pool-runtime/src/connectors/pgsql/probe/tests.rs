//! The probe's framing, on hand-built protocol messages.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::super::socket::Target;

use super::*;

fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn tracked() -> Tracked<()> {
    let probe = Arc::new(Probe::new(Target::Name("h".into(), 1), "h".into()));
    probe.active.store(true, Ordering::Relaxed);
    Tracked::new((), probe)
}

#[test]
fn framer_splits_messages_across_chunks() {
    let mut bytes = msg(b'D', &[7; 300]);
    bytes.extend(msg(b'Z', b"I"));
    bytes.extend(msg(b'C', b"SELECT 1\0"));
    for chunk in [1, 2, 3, 5, 7, 64, 1000] {
        let mut f = Framer::default();
        let mut seen = Vec::new();
        for part in bytes.chunks(chunk) {
            f.feed(part, |k, p| seen.push((k, p.to_vec())));
        }
        assert_eq!(
            seen,
            vec![
                (b'D', vec![7; 8]),
                (b'Z', b"I".to_vec()),
                (b'C', b"SELECT 1".to_vec())
            ],
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_statement_is_live_until_its_ready_for_query() {
    let mut t = tracked();
    // prepare: Parse, Describe, Sync — no statement runs.
    let mut prepare = msg(b'P', b"s0\0SELECT 1\0\0\0");
    prepare.extend(msg(b'D', b"Ss0\0"));
    prepare.extend(msg(b'S', b""));
    t.wrote(&prepare);
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
    // query: Bind, Execute, Sync.
    let mut query = msg(b'B', b"\0s0\0\0\0\0\0\0\0");
    query.extend(msg(b'E', b"\0\0\0\0\0"));
    query.extend(msg(b'S', b""));
    t.wrote(&query);
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
    t.read(&msg(b'1', b""));
    t.read(&msg(b'Z', b"I")); // prepare's
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
    t.read(&msg(b'D', b"\0\x01\0\0\0\x011"));
    t.read(&msg(b'C', b"SELECT 1\0"));
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
    t.read(&msg(b'Z', b"T"));
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
    assert_eq!(t.probe.status.load(Ordering::Relaxed), b'T');
}

#[test]
fn errors_end_a_statement_and_rollbacks_are_not_statements() {
    let mut t = tracked();
    t.wrote(&msg(b'Q', b"SELECT x\0"));
    t.wrote(&msg(b'Q', b"ROLLBACK\0"));
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 1);
    t.read(&msg(b'E', b"SERROR\0"));
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
    t.read(&msg(b'Z', b"E"));
    t.read(&msg(b'Z', b"I"));
    assert_eq!(t.probe.live.load(Ordering::Relaxed), 0);
    assert_eq!(t.probe.status.load(Ordering::Relaxed), b'I');
    assert!(t.requests.is_empty());
}

#[test]
fn nothing_is_tracked_before_startup_ends() {
    let probe = Arc::new(Probe::new(Target::Name("h".into(), 1), "h".into()));
    let mut t = Tracked::new((), probe);
    assert!(!t.active());
}

/// A write waits one scheduler pass (it wakes itself and yields once) while a statement is in
/// flight, and goes out at once when none is; each flush lets the next write wait again.
#[test]
fn a_write_waits_one_pass_only_while_a_statement_is_in_flight() {
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWrite;

    struct Sink(Vec<u8>);
    impl AsyncWrite for Sink {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().0.extend_from_slice(data);
            Poll::Ready(Ok(data.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    let probe = Arc::new(Probe::new(Target::Name("h".into(), 1), "h".into()));
    probe.active.store(true, Ordering::Relaxed);
    let mut t = Tracked::new(Sink(Vec::new()), probe);
    let mut cx = Context::from_waker(Waker::noop());
    let mut query = msg(b'B', b"\0s0\0\0\0\0\0\0\0");
    query.extend(msg(b'E', b"\0\0\0\0\0"));
    query.extend(msg(b'S', b""));

    // Nothing in flight: written at once.
    let first = Pin::new(&mut t).poll_write(&mut cx, &query);
    assert!(matches!(first, Poll::Ready(Ok(n)) if n == query.len()));
    assert_eq!(t.live, 1);
    // One in flight: the next write yields once, then goes out.
    assert!(Pin::new(&mut t).poll_write(&mut cx, &query).is_pending());
    assert!(Pin::new(&mut t).poll_write(&mut cx, &query).is_ready());
    // Flushed: the batch after waits once again.
    assert!(Pin::new(&mut t).poll_flush(&mut cx).is_ready());
    assert!(Pin::new(&mut t).poll_write(&mut cx, &query).is_pending());
    assert_eq!(t.io.0.len(), 2 * query.len());
}

//! The protocol probe: which requests carry a statement and which `ReadyForQuery` ends
//! each, read from message headers on the connection's stream, so `has_broken` can tell an
//! abandoned statement or an open transaction from a clean connection.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::task::{Context, Poll, Waker, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::socket::{Socket, Target};

/// What the connection's stream saw, for `has_broken` and `is_valid` (written only by the
/// connection task).
pub(super) struct Probe {
    /// Requests carrying a statement (Execute, or a simple Query other than `ROLLBACK…`)
    /// whose result has not ended (by `ReadyForQuery` or an error).
    pub(super) live: AtomicU32,
    /// The transaction status of the last `ReadyForQuery`: `I`, `T` or `E`.
    pub(super) status: AtomicU8,
    /// Set once the startup exchange is over.
    pub(super) active: AtomicBool,
    /// Where to send a cancel request.
    pub(super) peer: Target,
    pub(super) tls_name: String,
}

impl Probe {
    pub(super) fn new(peer: Target, tls_name: String) -> Self {
        Probe {
            live: AtomicU32::new(0),
            status: AtomicU8::new(b'I'),
            active: AtomicBool::new(false),
            peer,
            tls_name,
        }
    }
}

/// One request on the wire: the messages up to a Sync, or one simple Query.
#[derive(Clone, Copy)]
pub(super) struct Request {
    statement: bool,
    /// Its Sync (or Query) was written.
    closed: bool,
    /// Its result ended with an error; only its ReadyForQuery is still to come. (The server
    /// flushes an error at once and the ReadyForQuery after, so a caller may see the error
    /// before the ReadyForQuery arrives.)
    failed: bool,
}

/// Splits a byte stream into PostgreSQL messages (type byte, length, body), keeping the first
/// bytes of each body. Only the headers are read; bodies are skipped.
#[derive(Default)]
pub(super) struct Framer {
    head: [u8; 5],
    head_len: u8,
    body_left: usize,
    prefix: [u8; 8],
    prefix_len: u8,
}

impl Framer {
    fn feed(&mut self, mut data: &[u8], mut message: impl FnMut(u8, &[u8])) {
        while !data.is_empty() {
            if self.head_len < 5 {
                let take = (5 - self.head_len as usize).min(data.len());
                self.head[self.head_len as usize..][..take].copy_from_slice(&data[..take]);
                self.head_len += take as u8;
                data = &data[take..];
                if self.head_len == 5 {
                    let len = u32::from_be_bytes([
                        self.head[1],
                        self.head[2],
                        self.head[3],
                        self.head[4],
                    ]);
                    self.body_left = (len as usize).saturating_sub(4);
                    self.prefix_len = 0;
                    if self.body_left == 0 {
                        message(self.head[0], &[]);
                        self.head_len = 0;
                    }
                }
                continue;
            }
            let take = self.body_left.min(data.len());
            let keep = (self.prefix.len() - self.prefix_len as usize).min(take);
            self.prefix[self.prefix_len as usize..][..keep].copy_from_slice(&data[..keep]);
            self.prefix_len += keep as u8;
            self.body_left -= take;
            data = &data[take..];
            if self.body_left == 0 {
                message(self.head[0], &self.prefix[..self.prefix_len as usize]);
                self.head_len = 0;
            }
        }
    }
}

/// The connection's stream, watched: tracks requests written and results read (see
/// [`Probe`]). Lives inside the connection task, which alone reads and writes it.
///
/// It also holds a write back by one scheduler pass while a statement is in flight: a Nagle
/// in user space, bounded by the runtime rather than a timer. tokio-postgres's connection
/// task writes whatever requests are queued when it runs, and tokio runs a task woken by a
/// caller right after that caller, so shared callers' requests went out one or two per
/// write; yielding once first lets the callers runnable now queue theirs into the same
/// write. A connection used by one caller at a time has nothing in flight when it writes,
/// so it writes at once.
pub(super) struct Tracked<S> {
    io: S,
    probe: Arc<Probe>,
    on: bool,
    reads: Framer,
    writes: Framer,
    requests: VecDeque<Request>,
    live: u32,
    /// This write has yielded once already.
    held: bool,
}

impl<S> Tracked<S> {
    pub(super) fn new(io: S, probe: Arc<Probe>) -> Self {
        Tracked {
            io,
            probe,
            on: false,
            reads: Framer::default(),
            writes: Framer::default(),
            requests: VecDeque::new(),
            live: 0,
            held: false,
        }
    }

    /// Whether to yield before writing: once per flush, while a statement is in flight.
    fn hold(&mut self, cx: &Context<'_>) -> bool {
        if self.held || self.live == 0 || !self.active() {
            return false;
        }
        self.held = true;
        cx.waker().wake_by_ref();
        true
    }

    pub(super) fn active(&mut self) -> bool {
        if !self.on {
            self.on = self.probe.active.load(Ordering::Acquire);
        }
        self.on
    }

    fn wrote(&mut self, data: &[u8]) {
        let (requests, live) = (&mut self.requests, &mut self.live);
        let before = *live;
        self.writes.feed(data, |kind, body| {
            let open = |requests: &mut VecDeque<Request>| {
                if requests.back().is_none_or(|r| r.closed) {
                    requests.push_back(Request {
                        statement: false,
                        closed: false,
                        failed: false,
                    });
                }
            };
            match kind {
                b'Q' => {
                    // tokio-postgres's own fire-and-forget rollback (a dropped Transaction)
                    // is quick and harmless: do not count it as work to abandon.
                    let statement = !body.starts_with(b"ROLLBACK");
                    *live += u32::from(statement);
                    requests.push_back(Request {
                        statement,
                        closed: true,
                        failed: false,
                    });
                }
                b'S' => match requests.back_mut() {
                    Some(r) if !r.closed => r.closed = true,
                    _ => requests.push_back(Request {
                        statement: false,
                        closed: true,
                        failed: false,
                    }),
                },
                b'X' => {}
                b'E' => {
                    open(requests);
                    let r = requests.back_mut().expect("just opened");
                    if !r.statement {
                        r.statement = true;
                        *live += 1;
                    }
                }
                _ => open(requests),
            }
        });
        if *live != before {
            self.probe.live.store(*live, Ordering::Release);
        }
    }

    fn read(&mut self, data: &[u8]) {
        let (requests, live, probe) = (&mut self.requests, &mut self.live, &self.probe);
        let before = *live;
        self.reads.feed(data, |kind, body| match kind {
            b'E' => {
                if let Some(r) = requests.front_mut()
                    && !r.failed
                {
                    r.failed = true;
                    *live -= u32::from(r.statement);
                }
            }
            b'Z' => {
                if let Some(r) = requests.pop_front()
                    && !r.failed
                {
                    *live -= u32::from(r.statement);
                }
                if let Some(&status) = body.first() {
                    probe.status.store(status, Ordering::Release);
                }
            }
            _ => {}
        });
        if *live != before {
            self.probe.live.store(*live, Ordering::Release);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if this.active() {
            this.read(&buf.filled()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.hold(cx) {
            return Poll::Pending;
        }
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, data))?;
        if this.active() {
            this.wrote(&data[..n]);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.io).poll_flush(cx);
        if flushed.is_ready() {
            // The next batch may yield again.
            this.held = false;
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Tracked<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.io.channel_binding()
    }
}

pub(super) type RustlsConnect = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;
pub(super) type RustlsStream = <RustlsConnect as TlsConnect<Socket>>::Stream;

/// rustls for a connection to `name` (sent as SNI and verified).
pub(super) fn rustls_for(make: &MakeRustlsConnect, name: &str) -> RustlsConnect {
    match <MakeRustlsConnect as MakeTlsConnect<Socket>>::make_tls_connect(&mut make.clone(), name) {
        Ok(tls) => tls,
        Err(never) => match never {},
    }
}

/// rustls under the probe: the handshake runs on the raw socket, and the probe watches the
/// plain text above it.
pub(super) struct TrackedTls(pub(super) Option<RustlsConnect>);

impl TlsConnect<Tracked<Socket>> for TrackedTls {
    type Stream = Tracked<RustlsStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Tracked<RustlsStream>>> + Send>>;

    fn connect(mut self, stream: Tracked<Socket>) -> Self::Future {
        let rustls = self.0.take().expect("a TLS connector connects once");
        Box::pin(async move {
            let tls = rustls.connect(stream.io).await?;
            Ok(Tracked::new(tls, stream.probe))
        })
    }
}

/// Sends a request and forgets its answer: polls the future once, which queues the request
/// on the connection (tokio-postgres sends on the first poll), then drops it.
pub(super) fn send_only<F: Future>(request: F) {
    let mut request = pin!(request);
    let _ = request
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
}

#[cfg(test)]
mod tests;

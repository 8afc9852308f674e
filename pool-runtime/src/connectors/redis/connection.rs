//! [`RedisConnection`]: what a worker lends, and what it watches so that no caller inherits
//! another's session state.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, Msg, Pipeline, PushInfo, RedisFuture, RedisResult, ServerErrorKind,
    ToRedisArgs, Value,
};
use tokio::sync::{Mutex, mpsc};

use super::sentinel::Epoch;

/// A worker's Redis connection: a [`MultiplexedConnection`] (one server, or the master a
/// Sentinel names) or a [`ClusterConnection`] (`cluster = true`).
///
/// It is a [`redis::aio::ConnectionLike`], so everything redis-rs sends takes it:
/// `redis::cmd(..).query_async(&mut *conn)`, pipelines, and the typed
/// [`AsyncCommands`](redis::AsyncCommands). Clones share the one connection (it pipelines):
/// a shared caller clones it to get the `&mut` redis-rs asks for.
///
/// ```no_run
/// use pool_runtime::connectors::Redis;
/// use pool_runtime::connectors::redis::redis::{self, AsyncCommands};
/// use pool_runtime::{BestWorker, Pool};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = Pool::<Redis, BestWorker>::builder(Redis::new("127.0.0.1", 6379))
///     .multiplexed()
///     .build()
///     .await?;
/// // Exclusive: a transaction, a blocking command, a subscription.
/// let mut conn = pool.get().await?;
/// let (n,): (i64,) = redis::pipe().atomic().incr("n", 1).query_async(&mut *conn).await?;
/// drop(conn);
/// // Shared: pipelined with every other shared caller of the worker.
/// let v: Option<String> = pool
///     .call_shared(async |c| c.clone().get("k").await)
///     .await??;
/// # let _ = (n, v);
/// # Ok(())
/// # }
/// ```
///
/// # Session state
///
/// The connection remembers what a caller's commands leave behind on the server: a `MULTI`
/// without its `EXEC` or `DISCARD`, a `WATCH` not ended, a subscription, another database
/// (`SELECT`), and commands that change the session (`CLIENT TRACKING`/`REPLY`/`SETNAME`,
/// `AUTH`, `HELLO`, `RESET`, `MONITOR`, `READONLY`/`READWRITE`). A worker whose connection
/// carries any of it when it is handed back gets a new connection before anyone else is lent
/// it, so the next caller never runs inside the last one's transaction, subscription or
/// database. A transaction that ends (`EXEC`, `DISCARD`, `UNWATCH`, or a `SELECT` back to the
/// declared database) leaves nothing to replace. Commands sent on a clone of the inner
/// connection ([`RedisConnection::multiplexed`]) are not seen.
///
/// A blocking command (`BLPOP`, `BRPOP`, `BLMOVE`, `BZPOPMIN`, `XREAD … BLOCK`, `WAIT`, …)
/// whose caller gives up before its answer would hold the server side of the connection until
/// its own timeout: its connection is replaced too. Any other command abandoned mid-flight is
/// harmless, as the multiplexer reads its late answer and drops it (no crosstalk).
#[derive(Clone)]
pub struct RedisConnection {
    inner: Inner,
    pub(super) state: Arc<State>,
}

#[derive(Clone)]
enum Inner {
    Node(MultiplexedConnection),
    Cluster(ClusterConnection),
}

/// What the connection knows of itself, shared by its clones.
pub(super) struct State {
    /// The connection's I/O task has ended: the server closed it or it broke.
    pub(super) closed: AtomicBool,
    /// It must not serve anyone again (an abandoned blocking command, a master turned
    /// replica, an unrecoverable error).
    broken: AtomicBool,
    /// Session state a caller left behind (see [`Dirty`]).
    dirty: AtomicU8,
    /// The declared database.
    db: i64,
    /// The connection reaches a master through Sentinels, made in this epoch: `READONLY`
    /// means it was demoted, a newer epoch that the Sentinels switched masters.
    master: Option<Epoch>,
    /// Pub/sub messages and other pushes (RESP3).
    pushes: Mutex<mpsc::UnboundedReceiver<PushInfo>>,
    /// Requests sent and not yet answered or given up, which the connection's stream reads
    /// to batch its writes (see `connect::Corked`).
    in_flight: Arc<AtomicUsize>,
}

/// Bits of [`State::dirty`].
struct Dirty;

impl Dirty {
    const MULTI: u8 = 1;
    const WATCH: u8 = 2;
    const SUBSCRIBED: u8 = 4;
    const DATABASE: u8 = 8;
    const SESSION: u8 = 16;
}

impl State {
    pub(super) fn new(
        db: i64,
        master: Option<Epoch>,
        pushes: mpsc::UnboundedReceiver<PushInfo>,
        in_flight: Arc<AtomicUsize>,
    ) -> Self {
        State {
            closed: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            dirty: AtomicU8::new(0),
            db,
            master,
            pushes: Mutex::new(pushes),
            in_flight,
        }
    }

    /// Whether the connection can no longer be lent to a new caller.
    pub(super) fn needs_replacing(&self) -> bool {
        self.closed.load(Ordering::Acquire)
            || self.broken.load(Ordering::Acquire)
            || self.dirty.load(Ordering::Acquire) != 0
            || self.master.as_ref().is_some_and(Epoch::is_stale)
    }

    fn mark(&self, bits: u8) {
        if bits != 0 {
            self.dirty.fetch_or(bits, Ordering::AcqRel);
        }
    }

    fn clear(&self, bits: u8) {
        if bits != 0 {
            self.dirty.fetch_and(!bits, Ordering::AcqRel);
        }
    }

    fn saw_error(&self, e: &redis::RedisError) {
        let demoted =
            self.master.is_some() && e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly);
        if demoted || e.is_unrecoverable_error() || e.is_connection_dropped() {
            self.broken.store(true, Ordering::Release);
        }
    }
}

/// What sending some commands does to the session, read from their names.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Effect {
    /// State the commands leave once sent.
    marks: u8,
    /// State they end once the server has answered.
    clears: u8,
    /// A command that makes the server wait.
    blocking: bool,
}

impl Effect {
    fn and(self, next: Effect) -> Effect {
        Effect {
            // A later command may re-open what an earlier one's answer ends (`EXEC` then
            // `MULTI`): what is left open is what the last of them leaves.
            marks: (self.marks & !next.clears) | next.marks,
            clears: (self.clears & !next.marks) | next.clears,
            blocking: self.blocking || next.blocking,
        }
    }

    fn is_plain(self) -> bool {
        self == Effect::default()
    }

    fn of(cmd: &Cmd, db: i64) -> Effect {
        let mut args = cmd.args_iter().filter_map(|a| match a {
            redis::Arg::Simple(bytes) => Some(bytes),
            _ => None,
        });
        let Some(name) = args.next() else {
            return Effect::default();
        };
        let is = |word: &str| name.eq_ignore_ascii_case(word.as_bytes());
        let marks = |marks| Effect {
            marks,
            ..Effect::default()
        };
        let clears = |clears| Effect {
            clears,
            ..Effect::default()
        };
        let blocking = Effect {
            blocking: true,
            ..Effect::default()
        };
        // Most commands are plain: one byte decides for nearly all of them.
        match name.first().map(u8::to_ascii_uppercase) {
            Some(b'B') if is("BLPOP") || is("BRPOP") || is("BRPOPLPUSH") || is("BLMOVE") => {
                blocking
            }
            Some(b'B') if is("BLMPOP") || is("BZPOPMIN") || is("BZPOPMAX") || is("BZMPOP") => {
                blocking
            }
            Some(b'X') if is("XREAD") || is("XREADGROUP") => {
                if args.any(|a| a.eq_ignore_ascii_case(b"BLOCK")) {
                    blocking
                } else {
                    Effect::default()
                }
            }
            Some(b'W') if is("WAIT") || is("WAITAOF") => blocking,
            Some(b'W') if is("WATCH") => marks(Dirty::WATCH),
            Some(b'M') if is("MULTI") => marks(Dirty::MULTI),
            Some(b'M') if is("MONITOR") => marks(Dirty::SESSION),
            Some(b'E') if is("EXEC") => clears(Dirty::MULTI | Dirty::WATCH),
            Some(b'D') if is("DISCARD") => clears(Dirty::MULTI | Dirty::WATCH),
            Some(b'U') if is("UNWATCH") => clears(Dirty::WATCH),
            Some(b'S') if is("SELECT") => {
                let back = args
                    .next()
                    .and_then(|n| std::str::from_utf8(n).ok()?.parse::<i64>().ok())
                    == Some(db);
                if back {
                    clears(Dirty::DATABASE)
                } else {
                    marks(Dirty::DATABASE)
                }
            }
            Some(b'S') if is("SUBSCRIBE") || is("SSUBSCRIBE") => marks(Dirty::SUBSCRIBED),
            Some(b'P') if is("PSUBSCRIBE") => marks(Dirty::SUBSCRIBED),
            Some(b'A') if is("AUTH") => marks(Dirty::SESSION),
            Some(b'H') if is("HELLO") => marks(Dirty::SESSION),
            Some(b'R') if is("RESET") || is("READONLY") || is("READWRITE") => marks(Dirty::SESSION),
            Some(b'C') if is("CLIENT") => {
                let session = args.next().is_some_and(|sub| {
                    [
                        "TRACKING", "REPLY", "SETNAME", "SETINFO", "CACHING", "NO-EVICT",
                        "NO-TOUCH",
                    ]
                    .iter()
                    .any(|s| sub.eq_ignore_ascii_case(s.as_bytes()))
                });
                if session {
                    marks(Dirty::SESSION)
                } else {
                    Effect::default()
                }
            }
            _ => Effect::default(),
        }
    }
}

/// Sets `broken` if dropped before [`Watch::done`]: a blocking command abandoned mid-flight.
struct Watch<'a> {
    state: &'a State,
    effect: Effect,
    done: bool,
}

impl<'a> Watch<'a> {
    fn start(state: &'a State, effect: Effect) -> Self {
        state.mark(effect.marks);
        Watch {
            state,
            effect,
            done: false,
        }
    }

    fn done<T>(mut self, result: &RedisResult<T>) {
        self.done = true;
        match result {
            Ok(_) => self.state.clear(self.effect.clears),
            Err(e) => {
                // A server error still ends the transaction (`EXECABORT`); an I/O error
                // leaves the session unknown, and the connection is gone anyway.
                if e.is_io_error() || e.is_connection_dropped() {
                    self.state.saw_error(e);
                } else {
                    self.state.clear(self.effect.clears);
                    self.state.saw_error(e);
                }
            }
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if !self.done && self.effect.blocking {
            self.state.broken.store(true, Ordering::Release);
        }
    }
}

impl RedisConnection {
    pub(super) fn node(conn: MultiplexedConnection, state: Arc<State>) -> Self {
        RedisConnection {
            inner: Inner::Node(conn),
            state,
        }
    }

    pub(super) fn cluster(conn: ClusterConnection, state: Arc<State>) -> Self {
        RedisConnection {
            inner: Inner::Cluster(conn),
            state,
        }
    }

    /// The multiplexed connection to one server (`None` for a cluster). Commands sent on it
    /// (or on a clone of it) bypass the session tracking described above.
    pub fn multiplexed(&self) -> Option<&MultiplexedConnection> {
        match &self.inner {
            Inner::Node(c) => Some(c),
            Inner::Cluster(_) => None,
        }
    }

    /// The cluster connection (`cluster = true`), `None` otherwise. Commands sent on it bypass
    /// the session tracking described above.
    pub fn cluster_connection(&self) -> Option<&ClusterConnection> {
        match &self.inner {
            Inner::Cluster(c) => Some(c),
            Inner::Node(_) => None,
        }
    }

    /// Whether the connection's I/O has ended (the server closed it, or it broke). The pool
    /// checks this before lending it; a caller holding it may look too.
    pub fn is_closed(&self) -> bool {
        self.state.closed.load(Ordering::Acquire)
    }

    /// Subscribes to channels (RESP3: messages arrive through
    /// [`RedisConnection::next_message`]). Use it on an exclusive connection
    /// ([`Pool::get`](crate::Pool::get)); the worker gets a fresh connection when it is
    /// handed back.
    ///
    /// # Errors
    ///
    /// The server's or the connection's.
    pub async fn subscribe(&mut self, channels: impl ToRedisArgs) -> RedisResult<()> {
        self.state.mark(Dirty::SUBSCRIBED);
        match &mut self.inner {
            Inner::Node(c) => c.subscribe(channels).await,
            Inner::Cluster(c) => c.subscribe(channels).await,
        }
    }

    /// Subscribes to channel patterns (see [`RedisConnection::subscribe`]).
    ///
    /// # Errors
    ///
    /// The server's or the connection's.
    pub async fn psubscribe(&mut self, patterns: impl ToRedisArgs) -> RedisResult<()> {
        self.state.mark(Dirty::SUBSCRIBED);
        match &mut self.inner {
            Inner::Node(c) => c.psubscribe(patterns).await,
            Inner::Cluster(c) => c.psubscribe(patterns).await,
        }
    }

    /// Unsubscribes from channels.
    ///
    /// # Errors
    ///
    /// The server's or the connection's.
    pub async fn unsubscribe(&mut self, channels: impl ToRedisArgs) -> RedisResult<()> {
        match &mut self.inner {
            Inner::Node(c) => c.unsubscribe(channels).await,
            Inner::Cluster(c) => c.unsubscribe(channels).await,
        }
    }

    /// Unsubscribes from channel patterns.
    ///
    /// # Errors
    ///
    /// The server's or the connection's.
    pub async fn punsubscribe(&mut self, patterns: impl ToRedisArgs) -> RedisResult<()> {
        match &mut self.inner {
            Inner::Node(c) => c.punsubscribe(patterns).await,
            Inner::Cluster(c) => c.punsubscribe(patterns).await,
        }
    }

    /// The next pub/sub message of this connection's subscriptions; `None` once the
    /// connection has closed.
    pub async fn next_message(&self) -> Option<Msg> {
        loop {
            let push = self.next_push().await?;
            if let Some(msg) = Msg::from_push_info(push) {
                return Some(msg);
            }
        }
    }

    /// The next push the server sent on this connection (RESP3): messages, subscription
    /// confirmations, invalidations; `None` once the connection has closed.
    pub async fn next_push(&self) -> Option<PushInfo> {
        self.state.pushes.lock().await.recv().await
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let effect = Effect::of(cmd, self.state.db);
        // Borrow the state and the connection apart: the future holds both. One server's
        // request is its own future inside ours: one allocation per request, not two.
        let RedisConnection { inner, state } = self;
        match inner {
            Inner::Node(c) => send(state, effect, c.send_packed_command(cmd)),
            Inner::Cluster(c) => send(state, effect, c.req_packed_command(cmd)),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let db = self.state.db;
        let effect = pipeline
            .cmd_iter()
            .map(|c| Effect::of(c, db))
            .fold(Effect::default(), Effect::and);
        let RedisConnection { inner, state } = self;
        match inner {
            Inner::Node(c) => send(
                state,
                effect,
                c.send_packed_commands(pipeline, offset, count),
            ),
            Inner::Cluster(c) => send(
                state,
                effect,
                c.req_packed_commands(pipeline, offset, count),
            ),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Node(c) => c.get_db(),
            Inner::Cluster(c) => c.get_db(),
        }
    }
}

/// A request on its way: counted in flight (see [`State::in_flight`]) from its sending until
/// its answer or its caller giving up; then its effects on the session, unless it is plain.
/// A free function so the request can borrow the connection while this borrows the state.
fn send<'a, T: Send + 'a>(
    state: &'a Arc<State>,
    effect: Effect,
    request: impl Future<Output = RedisResult<T>> + Send + 'a,
) -> RedisFuture<'a, T> {
    let state = &**state;
    let counted = InFlight::start(&state.in_flight);
    if effect.is_plain() && state.master.is_none() {
        return Box::pin(async move {
            let _counted = counted;
            request.await
        });
    }
    Box::pin(async move {
        let _counted = counted;
        let watch = Watch::start(state, effect);
        let result = request.await;
        watch.done(&result);
        result
    })
}

/// One request counted in flight until dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Node(_) => "node",
            Inner::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisConnection")
            .field("kind", &kind)
            .field("db", &self.state.db)
            .field("closed", &self.state.closed.load(Ordering::Relaxed))
            .field("broken", &self.state.broken.load(Ordering::Relaxed))
            .field("dirty", &self.state.dirty.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(words: &[&str]) -> Effect {
        let mut cmd = redis::cmd(words[0]);
        for w in &words[1..] {
            cmd.arg(*w);
        }
        Effect::of(&cmd, 2)
    }

    #[test]
    fn plain_commands_have_no_effect() {
        for words in [
            &["GET", "k"][..],
            &["SET", "k", "v"],
            &["INCR", "n"],
            &["XREAD", "STREAMS", "s", "0"],
            &["CLIENT", "ID"],
            &["SCAN", "0"],
        ] {
            assert!(effect(words).is_plain(), "{words:?}");
        }
    }

    #[test]
    fn blocking_commands_are_seen_in_any_case() {
        for words in [
            &["blpop", "q", "1"][..],
            &["BRPOP", "q", "0"],
            &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
            &["BZPOPMIN", "z", "0"],
            &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
            &[
                "xreadgroup",
                "GROUP",
                "g",
                "c",
                "block",
                "10",
                "STREAMS",
                "s",
                ">",
            ],
            &["WAIT", "1", "0"],
        ] {
            assert!(effect(words).blocking, "{words:?}");
        }
    }

    #[test]
    fn session_state_is_marked_and_cleared() {
        assert_eq!(effect(&["MULTI"]).marks, Dirty::MULTI);
        assert_eq!(effect(&["exec"]).clears, Dirty::MULTI | Dirty::WATCH);
        assert_eq!(effect(&["WATCH", "k"]).marks, Dirty::WATCH);
        assert_eq!(effect(&["UNWATCH"]).clears, Dirty::WATCH);
        assert_eq!(effect(&["SELECT", "5"]).marks, Dirty::DATABASE);
        // Back to the declared database (2 in these tests).
        assert_eq!(effect(&["SELECT", "2"]).clears, Dirty::DATABASE);
        assert_eq!(effect(&["SUBSCRIBE", "c"]).marks, Dirty::SUBSCRIBED);
        assert_eq!(effect(&["PSUBSCRIBE", "c*"]).marks, Dirty::SUBSCRIBED);
        assert_eq!(effect(&["CLIENT", "TRACKING", "ON"]).marks, Dirty::SESSION);
        assert_eq!(effect(&["RESET"]).marks, Dirty::SESSION);
    }

    #[test]
    fn a_pipeline_leaves_what_its_last_commands_leave() {
        let both = effect(&["MULTI"]).and(effect(&["EXEC"]));
        assert_eq!(both.marks, 0);
        assert_eq!(both.clears, Dirty::MULTI | Dirty::WATCH);
        let reopened = effect(&["EXEC"]).and(effect(&["MULTI"]));
        assert_eq!(reopened.marks, Dirty::MULTI);
        let watched = effect(&["WATCH", "k"]).and(effect(&["GET", "k"]));
        assert_eq!(watched.marks, Dirty::WATCH);
    }
}

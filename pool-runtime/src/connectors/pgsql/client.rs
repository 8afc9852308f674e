//! What a pgsql worker lends: [`PgClient`], the connection's `tokio_postgres::Client` with its
//! statement cache and the probe that watches its protocol.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{BorrowToSql, ToSql, Type};
use tokio_postgres::{Client, Error, GenericClient, Row, RowStream, Statement, Transaction};

use super::probe::Probe;

/// Runs `$call` with `$st` bound to the statement of `$query`: from the cache for text, with
/// one retry on a fresh statement when the cached one was stale and the connection is outside
/// a transaction (`$retry` false for calls whose parameters are consumed).
macro_rules! with_statement {
    ($this:ident, $inner:ident, $query:ident, $retry:expr, |$st:ident| $call:expr) => {
        match $query.as_query() {
            QueryRef::Statement($st) => $call,
            QueryRef::Text(text) => {
                let client = GenericClient::client(&$this.$inner);
                let $st = &$this.cache.statement(client, text, &[]).await?;
                match $call {
                    Err(e) if $this.cache.forget_stale(text, &e) && $retry && $this.idle() => {
                        let $st = &$this.cache.statement(client, text, &[]).await?;
                        $call
                    }
                    done => done,
                }
            }
        }
    };
}

/// The query methods of [`PgClient`] and [`PgTransaction`], on the field `$inner`.
macro_rules! cached_queries {
    ($inner:ident) => {
        /// Like `Client::query`; query text runs as a cached statement (see [`PgClient`]).
        ///
        /// # Errors
        ///
        /// The server's, or a closed connection.
        pub async fn query<Q: Query + ?Sized>(
            &self,
            query: &Q,
            params: &[&(dyn ToSql + Sync)],
        ) -> Result<Vec<Row>, Error> {
            with_statement!(self, $inner, query, true, |st| self
                .$inner
                .query(st, params)
                .await)
        }

        /// Like `Client::query_one`; query text runs as a cached statement.
        ///
        /// # Errors
        ///
        /// The server's, a closed connection, or not exactly one row.
        pub async fn query_one<Q: Query + ?Sized>(
            &self,
            query: &Q,
            params: &[&(dyn ToSql + Sync)],
        ) -> Result<Row, Error> {
            with_statement!(self, $inner, query, true, |st| self
                .$inner
                .query_one(st, params)
                .await)
        }

        /// Like `Client::query_opt`; query text runs as a cached statement.
        ///
        /// # Errors
        ///
        /// The server's, a closed connection, or more than one row.
        pub async fn query_opt<Q: Query + ?Sized>(
            &self,
            query: &Q,
            params: &[&(dyn ToSql + Sync)],
        ) -> Result<Option<Row>, Error> {
            with_statement!(self, $inner, query, true, |st| self
                .$inner
                .query_opt(st, params)
                .await)
        }

        /// Like `Client::execute`; query text runs as a cached statement.
        ///
        /// # Errors
        ///
        /// The server's, or a closed connection.
        pub async fn execute<Q: Query + ?Sized>(
            &self,
            query: &Q,
            params: &[&(dyn ToSql + Sync)],
        ) -> Result<u64, Error> {
            with_statement!(self, $inner, query, true, |st| self
                .$inner
                .execute(st, params)
                .await)
        }

        /// Like `Client::query_raw`; query text runs as a cached statement (a stale one is
        /// forgotten, not retried: the parameters are consumed).
        ///
        /// # Errors
        ///
        /// The server's, or a closed connection.
        pub async fn query_raw<Q, P, I>(&self, query: &Q, params: I) -> Result<RowStream, Error>
        where
            Q: Query + ?Sized,
            P: BorrowToSql,
            I: IntoIterator<Item = P>,
            I::IntoIter: ExactSizeIterator,
        {
            let mut params = Some(params);
            with_statement!(self, $inner, query, false, |st| self
                .$inner
                .query_raw(st, params.take().expect("run once"))
                .await)
        }

        /// Like `Client::execute_raw`; query text runs as a cached statement (a stale one is
        /// forgotten, not retried: the parameters are consumed).
        ///
        /// # Errors
        ///
        /// The server's, or a closed connection.
        pub async fn execute_raw<Q, P, I>(&self, query: &Q, params: I) -> Result<u64, Error>
        where
            Q: Query + ?Sized,
            P: BorrowToSql,
            I: IntoIterator<Item = P>,
            I::IntoIter: ExactSizeIterator,
        {
            let mut params = Some(params);
            with_statement!(self, $inner, query, false, |st| self
                .$inner
                .execute_raw(st, params.take().expect("run once"))
                .await)
        }
    };
}
/// A connection of a pgsql pool: a [`tokio_postgres::Client`] (it derefs to one, so its whole
/// API is there) with a statement cache, as deadpool-postgres' `prepare_cached` and sqlx's
/// default have.
///
/// - [`prepare_cached`](PgClient::prepare_cached) prepares a statement once per connection.
/// - `query`, `query_one`, `query_opt`, `query_raw`, `execute` and `execute_raw` given query
///   text run it as a cached prepared statement: one round trip instead of two (Parse, then
///   Bind/Execute) once the text has been seen. A [`Statement`] runs as given.
/// - The cache holds up to `statement_cache` statements (the declaration's key, 100 by default;
///   [`Pgsql::statement_cache`](super::Pgsql::statement_cache) by hand), the least recently
///   used one going first; with 0 nothing is kept and every query text is parsed again.
/// - A statement the server no longer knows (after `DISCARD ALL` or `DEALLOCATE`) or whose
///   plan a schema change invalidated (`cached plan must not change result type`) is
///   forgotten and prepared again; outside a transaction the call is retried once, so the
///   caller does not see it (inside one, the server has aborted the transaction: the error is
///   the caller's, and the next use prepares afresh).
/// - A replaced connection starts with an empty cache. Callers sharing the connection
///   ([`Pool::call_shared`](crate::Pool::call_shared)) share its cache.
///
/// ```no_run
/// # async fn f(pool: &pool_runtime::Pool<pool_runtime::connectors::Pgsql, pool_runtime::BestWorker>)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// let n: i64 = pool
///     .call(async |c| {
///         // Parsed once per connection, then only bound and executed.
///         let row = c.query_one("SELECT count(*) FROM users WHERE host = $1", &[&"a.com"]).await?;
///         let st = c.prepare_cached("SELECT 1::bigint").await?;
///         let one: i64 = c.query_one(&st, &[]).await?.get(0);
///         Ok::<_, tokio_postgres::Error>(row.get::<_, i64>(0) + one)
///     })
///     .await??;
/// # let _ = n;
/// # Ok(())
/// # }
/// # use pool_runtime::connectors::pgsql::tokio_postgres;
/// ```
pub struct PgClient {
    client: Client,
    pub(super) probe: Arc<Probe>,
    cache: StatementCache,
}

impl PgClient {
    pub(super) fn new(client: Client, probe: Arc<Probe>, capacity: usize) -> Self {
        PgClient {
            client,
            probe,
            cache: StatementCache::new(capacity),
        }
    }

    /// Outside any transaction, as the last `ReadyForQuery` said.
    fn idle(&self) -> bool {
        self.probe.status.load(std::sync::atomic::Ordering::Acquire) == b'I'
    }

    /// `query` prepared once per connection (see the type's docs), like deadpool-postgres'
    /// `prepare_cached`.
    ///
    /// # Errors
    ///
    /// The server's, when `query` does not prepare.
    pub async fn prepare_cached(&self, query: &str) -> Result<Statement, Error> {
        self.cache.statement(&self.client, query, &[]).await
    }

    /// `query` with parameter types `types`, prepared once per connection.
    ///
    /// # Errors
    ///
    /// The server's, when `query` does not prepare.
    pub async fn prepare_typed_cached(
        &self,
        query: &str,
        types: &[Type],
    ) -> Result<Statement, Error> {
        self.cache.statement(&self.client, query, types).await
    }

    /// How many statements the cache holds.
    pub fn cached_statements(&self) -> usize {
        self.cache.len()
    }

    /// Empties the statement cache (the statements are closed on the server as they drop).
    pub fn clear_statement_cache(&self) {
        self.cache.clear();
    }

    /// Starts a transaction, like [`Client::transaction`], whose query text also goes through
    /// the statement cache.
    ///
    /// # Errors
    ///
    /// The server's, when `BEGIN` fails.
    pub async fn transaction(&mut self) -> Result<PgTransaction<'_>, Error> {
        Ok(PgTransaction {
            tx: self.client.transaction().await?,
            cache: &self.cache,
        })
    }

    cached_queries!(client);
}

impl Deref for PgClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for PgClient {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl fmt::Debug for PgClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgClient")
            .field("closed", &self.client.is_closed())
            .field("cached_statements", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// A transaction on a [`PgClient`] ([`PgClient::transaction`]): a
/// [`tokio_postgres::Transaction`] (it derefs to one) whose query text goes through the
/// connection's statement cache. Dropped without [`commit`](PgTransaction::commit), it rolls
/// back.
pub struct PgTransaction<'a> {
    tx: Transaction<'a>,
    cache: &'a StatementCache,
}

impl PgTransaction<'_> {
    /// Never: a failed statement has aborted the transaction.
    fn idle(&self) -> bool {
        false
    }

    /// Commits the transaction.
    ///
    /// # Errors
    ///
    /// The server's.
    pub async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await
    }

    /// Rolls the transaction back.
    ///
    /// # Errors
    ///
    /// The server's.
    pub async fn rollback(self) -> Result<(), Error> {
        self.tx.rollback().await
    }

    /// [`PgClient::prepare_cached`], within the transaction.
    ///
    /// # Errors
    ///
    /// The server's, when `query` does not prepare.
    pub async fn prepare_cached(&self, query: &str) -> Result<Statement, Error> {
        self.cache
            .statement(GenericClient::client(&self.tx), query, &[])
            .await
    }

    cached_queries!(tx);
}

impl<'a> Deref for PgTransaction<'a> {
    type Target = Transaction<'a>;

    fn deref(&self) -> &Transaction<'a> {
        &self.tx
    }
}

impl<'a> DerefMut for PgTransaction<'a> {
    fn deref_mut(&mut self) -> &mut Transaction<'a> {
        &mut self.tx
    }
}

impl fmt::Debug for PgTransaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTransaction").finish_non_exhaustive()
    }
}

/// What [`PgClient`]'s query methods take: query text (run through the statement cache), or a
/// prepared [`Statement`] (run as is). Implemented for `str`, `String` and `Statement`, as
/// tokio-postgres' `ToStatement` is.
pub trait Query: Sync {
    /// The text, or the statement.
    fn as_query(&self) -> QueryRef<'_>;
}

/// A [`Query`], seen from inside.
#[derive(Clone, Copy, Debug)]
pub enum QueryRef<'a> {
    /// Query text.
    Text(&'a str),
    /// A prepared statement.
    Statement(&'a Statement),
}

impl Query for str {
    fn as_query(&self) -> QueryRef<'_> {
        QueryRef::Text(self)
    }
}

impl Query for String {
    fn as_query(&self) -> QueryRef<'_> {
        QueryRef::Text(self)
    }
}

impl Query for Statement {
    fn as_query(&self) -> QueryRef<'_> {
        QueryRef::Statement(self)
    }
}

/// Prepared statements by query text, the least recently used evicted first.
pub(super) struct StatementCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    tick: u64,
    by_text: HashMap<String, (Statement, u64)>,
}

impl StatementCache {
    fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().by_text.len()
    }

    fn clear(&self) {
        // Dropped outside the lock: a Statement's drop sends its Close.
        let old = std::mem::take(&mut self.lock().by_text);
        drop(old);
    }

    /// The statement of `query` (with parameter types `types`), prepared on `client` if the
    /// cache does not hold it.
    async fn statement(
        &self,
        client: &Client,
        query: &str,
        types: &[Type],
    ) -> Result<Statement, Error> {
        if self.capacity == 0 {
            return client.prepare_typed(query, types).await;
        }
        let key = key(query, types);
        {
            let mut entries = self.lock();
            entries.tick += 1;
            let tick = entries.tick;
            if let Some((st, used)) = entries.by_text.get_mut(&*key) {
                *used = tick;
                return Ok(st.clone());
            }
        }
        // Two callers sharing the connection may both prepare it: the second insert wins,
        // and the first statement closes when its caller is done with it.
        let st = client.prepare_typed(query, types).await?;
        let evicted = {
            let mut entries = self.lock();
            let evicted =
                if entries.by_text.len() >= self.capacity && !entries.by_text.contains_key(&*key) {
                    let oldest = entries
                        .by_text
                        .iter()
                        .min_by_key(|(_, (_, used))| *used)
                        .map(|(k, _)| k.clone());
                    oldest.and_then(|k| entries.by_text.remove(&k))
                } else {
                    None
                };
            let tick = entries.tick;
            entries.by_text.insert(key.into_owned(), (st.clone(), tick));
            evicted
        };
        drop(evicted);
        Ok(st)
    }

    /// Whether `e` says the cached statement of `query` is stale, forgetting it if so: after
    /// `DISCARD ALL` or `DEALLOCATE` the server knows none of them (26000), after a schema
    /// change a plan no longer fits (0A000, `cached plan must not change result type`).
    fn forget_stale(&self, query: &str, e: &Error) -> bool {
        match e.code() {
            Some(&SqlState::INVALID_SQL_STATEMENT_NAME) => {
                self.clear();
                true
            }
            Some(&SqlState::FEATURE_NOT_SUPPORTED)
                if e.as_db_error()
                    .is_some_and(|db| db.message().contains("cached plan")) =>
            {
                let gone = self.lock().by_text.remove(query);
                drop(gone);
                true
            }
            _ => false,
        }
    }
}

/// The cache key: the text itself for untyped statements (no allocation on a hit), the types'
/// OIDs before a NUL for typed ones (query text cannot hold a NUL, so keys never collide).
fn key<'q>(query: &'q str, types: &[Type]) -> Cow<'q, str> {
    if types.is_empty() {
        return Cow::Borrowed(query);
    }
    let oids: Vec<String> = types.iter().map(|t| t.oid().to_string()).collect();
    Cow::Owned(format!("{}\0{query}", oids.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_differ_from_text_and_from_each_other() {
        assert_eq!(key("SELECT 1", &[]), "SELECT 1");
        let int = key("SELECT $1", &[Type::INT4]);
        let text = key("SELECT $1", &[Type::TEXT]);
        assert_ne!(int, text);
        assert_ne!(int, "SELECT $1");
    }
}

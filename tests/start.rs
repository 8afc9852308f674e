//! Starting a declaration of many pools: every value checked before anything connects, the
//! pools connecting concurrently (at most `CONNECTING_AT_ONCE` connections at a time), and a
//! pool that cannot start stopping the ones already started. The pools connect to a server
//! speaking PostgreSQL's startup protocol that takes 50 ms to accept each connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use outgoing_pools::StartError;
use outgoing_pools::declared::CONNECTING_AT_ONCE;
use test_support::eventually;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// 100 hosts, one pgsql pool each.
mod hundred {
    #[outgoing_pools::outgoing_pools(
        hosts = [
            "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9",
            "h10", "h11", "h12", "h13", "h14", "h15", "h16", "h17", "h18", "h19",
            "h20", "h21", "h22", "h23", "h24", "h25", "h26", "h27", "h28", "h29",
            "h30", "h31", "h32", "h33", "h34", "h35", "h36", "h37", "h38", "h39",
            "h40", "h41", "h42", "h43", "h44", "h45", "h46", "h47", "h48", "h49",
            "h50", "h51", "h52", "h53", "h54", "h55", "h56", "h57", "h58", "h59",
            "h60", "h61", "h62", "h63", "h64", "h65", "h66", "h67", "h68", "h69",
            "h70", "h71", "h72", "h73", "h74", "h75", "h76", "h77", "h78", "h79",
            "h80", "h81", "h82", "h83", "h84", "h85", "h86", "h87", "h88", "h89",
            "h90", "h91", "h92", "h93", "h94", "h95", "h96", "h97", "h98", "h99",
        ],
        rdbms(scope = host, workers = 1, connection(driver = pgsql, host = "127.0.0.1",
              database = "db", username = "mim", password = "secret")),
    )]
    pub struct Pools;
}

/// The 400-pool declaration `cargo xtask bench build` times.
mod scale {
    include!("scale/pools_400.rs");
}

/// What the server has seen.
#[derive(Default)]
struct Seen {
    accepted: AtomicUsize,
    /// Accepted and not answered yet: connections being opened.
    opening: AtomicUsize,
    most_opening: AtomicUsize,
    /// Answered and not closed by the client.
    open: AtomicUsize,
}

/// A server that waits `delay` after accepting a connection, then logs it in (trust
/// authentication) and keeps it open until the client closes it.
async fn slow_server(delay: Duration) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let server = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let seen = server.clone();
            let id = seen.accepted.fetch_add(1, Ordering::SeqCst) + 1;
            let opening = seen.opening.fetch_add(1, Ordering::SeqCst) + 1;
            seen.most_opening.fetch_max(opening, Ordering::SeqCst);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let logged_in = log_in(socket, id, Opening(&seen.opening)).await;
                if let Ok(mut socket) = logged_in {
                    seen.open.fetch_add(1, Ordering::SeqCst);
                    let mut sink = [0u8; 1024];
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                    seen.open.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, seen)
}

/// A connection counted in [`Seen::opening`] until this is dropped.
struct Opening<'a>(&'a AtomicUsize);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The startup exchange: refuses TLS, reads the startup message, answers AuthenticationOk,
/// BackendKeyData and ReadyForQuery. The connection stops counting as being opened before
/// the last reply is written: the client may be done and open its next one before the write
/// returns here.
async fn log_in(
    mut socket: TcpStream,
    id: usize,
    opening: Opening<'_>,
) -> std::io::Result<TcpStream> {
    loop {
        let len = socket.read_u32().await? as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        socket.read_exact(&mut body).await?;
        // SSLRequest or GSSENCRequest: "no", then the real startup message follows.
        if body.starts_with(&[0x04, 0xd2, 0x16, 0x2f])
            || body.starts_with(&[0x04, 0xd2, 0x16, 0x30])
        {
            socket.write_all(b"N").await?;
            continue;
        }
        break;
    }
    let mut reply = Vec::new();
    reply.extend_from_slice(&[b'R', 0, 0, 0, 8, 0, 0, 0, 0]);
    reply.extend_from_slice(&[b'K', 0, 0, 0, 12]);
    reply.extend_from_slice(&u32::try_from(id).unwrap().to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 1]);
    reply.extend_from_slice(&[b'Z', 0, 0, 0, 5, b'I']);
    drop(opening);
    socket.write_all(&reply).await?;
    Ok(socket)
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// `hundred::Pools`, every pool on `port`.
fn hundred_on(port: u16) -> hundred::PoolsBuilder {
    let mut builder = hundred::Pools::builder();
    for spec in hundred::Pools::plan().pools() {
        builder = builder.set(spec.name, "port", port.to_string());
    }
    builder
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_pools_start_in_about_the_time_of_the_slowest() {
    const DELAY: Duration = Duration::from_millis(50);
    let (addr, seen) = slow_server(DELAY).await;
    let started = Instant::now();
    let pools = hundred_on(addr.port()).start().await.unwrap();
    let took = started.elapsed();

    let status = pools.status();
    assert_eq!(status.0.len(), 100);
    assert!(status.0.iter().all(|(_, s)| s.idle == 1), "{status}");
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 100);
    // One after the other would take 100 × 50 ms; in rounds of at most 64 it is two delays
    // (the bound is generous for a debug build on two busy CPUs).
    assert!(took < DELAY * 30, "100 pools took {took:?} to start");
    let most = seen.most_opening.load(Ordering::SeqCst);
    assert!(
        most > 1 && most <= CONNECTING_AT_ONCE,
        "{most} connections were being opened at once"
    );

    pools.shutdown().await;
    eventually(5, "every connection closes at shutdown", || {
        seen.open.load(Ordering::SeqCst) == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_cannot_start_fails_the_start_and_stops_the_started_ones() {
    let (addr, seen) = slow_server(Duration::from_millis(50)).await;
    // The last pool connects in the second round, once the first 64 have started.
    let err = hundred_on(addr.port())
        .set("rdbms.h99.default", "port", closed_port().await.to_string())
        .start()
        .await
        .err()
        .expect("the start fails");
    assert!(
        matches!(&err, StartError::Pool { pool, .. } if pool.as_str() == "rdbms.h99.default"),
        "{err:?}"
    );
    assert!(seen.accepted.load(Ordering::SeqCst) >= 64);
    eventually(
        5,
        "the pools started before the failure are shut down",
        || seen.open.load(Ordering::SeqCst) == 0 && seen.opening.load(Ordering::SeqCst) == 0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_dropped_midway_leaves_no_connection_behind() {
    let (addr, seen) = slow_server(Duration::from_millis(50)).await;
    let start = hundred_on(addr.port()).start();
    // The first round is connecting, or has connected, when the caller gives up.
    let gave_up = tokio::time::timeout(Duration::from_millis(80), start).await;
    assert!(gave_up.is_err(), "100 pools cannot start within 80 ms here");
    assert!(seen.accepted.load(Ordering::SeqCst) > 0);
    eventually(
        5,
        "the started and starting pools' connections close",
        || seen.open.load(Ordering::SeqCst) == 0 && seen.opening.load(Ordering::SeqCst) == 0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_value_is_checked_before_anything_connects() {
    let (addr, seen) = slow_server(Duration::from_millis(50)).await;
    let err = hundred_on(addr.port())
        .set("rdbms.h70.default", "port", "seventy")
        .set("rdbms.h80.default", "workers", "0")
        .start()
        .await
        .err()
        .expect("the start fails");
    // The first bad value in declaration order.
    assert!(
        matches!(&err, StartError::InvalidValue { pool, key, .. }
            if pool.as_str() == "rdbms.h70.default" && key == "port"),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_400_pool_declaration_starts_and_stops() {
    let (addr, seen) = slow_server(Duration::from_millis(5)).await;
    let plan = scale::Pools400::plan();
    assert_eq!(plan.pools().len(), 400);
    let mut builder = scale::Pools400::builder();
    let mut pgsql = 0;
    for spec in plan.pools().iter().filter(|s| s.connector == "Pgsql") {
        builder = builder.set(spec.name, "port", addr.port().to_string());
        pgsql += 1;
    }
    let pools = builder.start().await.unwrap();
    assert_eq!(seen.accepted.load(Ordering::SeqCst), pgsql * 2);
    let status = pools.status();
    assert_eq!(status.0.len(), 400);
    assert!(status.0.iter().all(|(_, s)| s.down == 0), "{status}");
    // The group whose first host differs in strategy is an enum of references.
    let b = pools.generic_b(scale::Host::H0Com);
    assert_eq!(b.name().as_str(), "generic.h0.com.b");
    b.call(async |_| ()).await.unwrap();
    pools.shutdown().await;
    eventually(5, "every connection closes at shutdown", || {
        seen.open.load(Ordering::SeqCst) == 0
    })
    .await;
}

/// `start()` can be spawned.
#[test]
fn start_is_send() {
    fn send<T: Send>(_: &T) {}
    send(&hundred::Pools::start());
    send(&scale::Pools400::start());
}

//! Sockets: TCP by name or address, and Unix sockets.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Where a connection goes (and its cancel requests).
#[derive(Clone, Debug)]
pub(super) enum Target {
    /// A host name, resolved at connect.
    Name(String, u16),
    /// An address.
    Addr(SocketAddr),
    /// A Unix socket.
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(PathBuf),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Name(host, port) => write!(f, "{host}:{port}"),
            Target::Addr(addr) => write!(f, "{addr}"),
            Target::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Target {
    pub(super) async fn open(&self) -> io::Result<Socket> {
        let tcp = match self {
            Target::Name(host, port) => TcpStream::connect((host.as_str(), *port)).await?,
            Target::Addr(addr) => TcpStream::connect(addr).await?,
            #[cfg(unix)]
            Target::Unix(path) => {
                return Ok(Socket::Unix(tokio::net::UnixStream::connect(path).await?));
            }
            #[cfg(not(unix))]
            Target::Unix(_) => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "Unix sockets"));
            }
        };
        // Requests are small and latency-bound; Nagle would hold pipelined ones back.
        tcp.set_nodelay(true)?;
        Ok(Socket::Tcp(tcp))
    }
}

pub(super) enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Socket {
    /// The exact address connected to, so a cancel request reaches the same server even when
    /// the name resolves to several.
    pub(super) fn peer(&self, target: &Target) -> Target {
        match self {
            Socket::Tcp(s) => s.peer_addr().map_or_else(|_| target.clone(), Target::Addr),
            #[cfg(unix)]
            Socket::Unix(_) => target.clone(),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, data),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

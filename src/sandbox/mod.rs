//! Local emulators of the platforms' APIs on loopback, used by the shipped config,
//! `autoinvest sandbox` and the integration tests. (Stub: being implemented.)

use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// How the emulators behave.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Seed for generated listings (same seed, same listings).
    pub seed: u64,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions { seed: 42 }
    }
}

/// A running sandbox.
#[derive(Debug, Clone)]
pub struct SandboxHandle {
    pub addr: SocketAddr,
}

impl SandboxHandle {
    /// Base URL of the Funding Circle emulator (what a config's `base_url` would hold).
    pub fn fundingcircle_url(&self) -> String {
        format!("http://{}/fundingcircle", self.addr)
    }
}

/// Serves every emulator on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    options: SandboxOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let _ = (listener, options, shutdown);
    todo!()
}

/// Binds `addr` (port 0 for any) and serves in a background task.
pub async fn spawn(
    addr: SocketAddr,
    options: SandboxOptions,
    shutdown: CancellationToken,
) -> std::io::Result<SandboxHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, options, shutdown));
    Ok(SandboxHandle { addr })
}

//! The loopback HTTP server every sandbox service runs on: a fresh port, stopped when dropped.

/// What a loopback service answers.
pub type Reply = Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::io::Error>;

/// A loopback HTTP server; it stops when dropped.
pub struct LoopbackServer {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `handler` on a fresh loopback port until the returned server is dropped. Returning an
/// error from `handler` closes the connection unanswered (a "connection reset" fault).
pub async fn serve_loopback<F, Fut>(handler: F) -> std::io::Result<LoopbackServer>
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper::service::service_fn(handler),
                    )
                    .await;
            });
        }
    });
    Ok(LoopbackServer { addr, task })
}

/// The whole request body; an unreadable one counts as empty (the handlers then refuse it).
pub async fn read_body(req: hyper::Request<hyper::body::Incoming>) -> bytes::Bytes {
    use http_body_util::BodyExt;
    req.into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

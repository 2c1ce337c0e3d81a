//! Reading an HTTP body whole, up to a limit: a client's request (north) and
//! a toolkit's JSON reply (south).
//!
//! NB: not `http_body_util::Limited` + `collect`: for the one-frame bodies of
//! nearly every call, they cost a queue of buffers, a wrapper and a second
//! pass (about 1k instructions a body, counted with callgrind); here one frame
//! is returned as it came, and only a body of several frames is copied.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Why a body was not read whole.
#[derive(Debug)]
pub enum ReadError {
    /// It passed the limit (the bytes read so far are dropped).
    TooLarge,
    /// The connection failed while it was read.
    Read(hyper::Error),
}

/// The data of `body`, failing with [`ReadError::TooLarge`] once it passes `limit` bytes.
pub async fn read_whole(mut body: Incoming, limit: usize) -> Result<Bytes, ReadError> {
    let mut first: Option<Bytes> = None;
    let mut more: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(ReadError::Read)?.into_data() else {
            // Trailers carry no data.
            continue;
        };
        len += data.len();
        if len > limit {
            return Err(ReadError::TooLarge);
        }
        match (&mut first, &mut more) {
            (_, Some(more)) => more.extend_from_slice(&data),
            (Some(head), None) => {
                let mut joined = BytesMut::with_capacity(len);
                joined.extend_from_slice(head);
                joined.extend_from_slice(&data);
                more = Some(joined);
            }
            (None, None) => first = Some(data),
        }
    }
    Ok(match more {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// Send `request` (raw HTTP/1.1) to a server that reads its body with a
    /// limit of 8 bytes and answers what it got; the answer's body.
    async fn served(request: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|req: http::Request<Incoming>| async move {
                let answer = match read_whole(req.into_body(), 8).await {
                    Ok(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    Err(ReadError::TooLarge) => "too large".to_owned(),
                    Err(ReadError::Read(e)) => format!("failed: {e}"),
                };
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(answer))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        response.split("\r\n\r\n").nth(1).unwrap().to_owned()
    }

    #[tokio::test]
    async fn a_body_in_several_frames_is_joined_and_one_past_the_limit_refused() {
        let chunked = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                       Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
        assert_eq!(served(chunked).await, "abcdef");
        let long = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                    Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n";
        assert_eq!(served(long).await, "too large");
        let whole =
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\nwxyz";
        assert_eq!(served(whole).await, "wxyz");
        let empty = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(served(empty).await, "");
    }
}

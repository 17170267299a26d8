//! A minimal blocking HTTP/1.1 client over `std::net::TcpStream` (plain `http://` only, one
//! request per connection): all the kiosk needs to talk to the central service, with nothing
//! to build. Confidentiality of records comes from sealing, authenticity from signatures (see
//! `docs/fleet.md`), not from the transport.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::FleetError;

/// Largest answer body accepted.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;

/// A parsed `http://host:port` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// Host name or address.
    pub host: String,
    /// Port (80 when absent).
    pub port: u16,
}

impl ServerUrl {
    /// Parse `http://host[:port][/]`.
    ///
    /// # Errors
    /// `InvalidInput` naming what is wrong.
    pub fn parse(url: &str) -> Result<Self, FleetError> {
        let bad = |why: &str| FleetError::InvalidInput(format!("server URL {url:?}: {why}"));
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(bad(
                "https is not supported by the kiosk's client; use http:// (requests are signed and records sealed)",
            ));
        } else {
            return Err(bad("must start with http://"));
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') || rest.contains('@') || rest.is_empty() {
            return Err(bad(
                "give only the host and port, e.g. http://10.0.0.5:8440",
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number from 1 to 65535"))?,
            ),
            _ => (rest, 80),
        };
        if host.is_empty() || port == 0 {
            return Err(bad("missing host or port"));
        }
        Ok(ServerUrl {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
        })
    }

    /// Back to text.
    pub fn to_url(&self) -> String {
        if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        }
    }
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Send one request and read the whole answer.
///
/// # Errors
/// `Unreachable` for connection failures and time-outs; `Protocol` for an answer that is not
/// HTTP/1.1.
pub fn request(
    server: &ServerUrl,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, FleetError> {
    let stream = connect(server, timeout)?;
    exchange(stream, server, method, path, headers, body)
}

/// Open a TCP connection to `server` (each resolved address in turn) with `timeout` for the
/// connection and for every later read and write.
///
/// # Errors
/// `Unreachable` naming the server.
pub fn connect(server: &ServerUrl, timeout: Duration) -> Result<TcpStream, FleetError> {
    let unreachable =
        |e: std::io::Error| FleetError::Unreachable(format!("{}: {e}", server.to_url()));
    let addrs: Vec<_> = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(unreachable)?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let stream = match stream {
        Some(s) => s,
        None => {
            return Err(unreachable(last.unwrap_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
            })));
        }
    };
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream.set_nodelay(true).map_err(unreachable)?;
    Ok(stream)
}

/// Write one request on `stream` (any byte stream: a TCP connection, or a TLS session over
/// one) and read the whole answer; `server` names the `Host` header and the errors.
///
/// # Errors
/// `Unreachable` for I/O errors and time-outs; `InvalidInput` for a header with a line
/// break; `Protocol` for an answer that is not HTTP/1.1.
pub fn exchange<S: Read + Write>(
    mut stream: S,
    server: &ServerUrl,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Response, FleetError> {
    let unreachable =
        |e: std::io::Error| FleetError::Unreachable(format!("{}: {e}", server.to_url()));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.host,
        server.port,
        body.len()
    );
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        if v.contains(['\r', '\n']) || k.contains(['\r', '\n', ':']) {
            return Err(FleetError::InvalidInput(format!(
                "header {k} has a line break"
            )));
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(unreachable)?;
    stream.write_all(body).map_err(unreachable)?;
    stream.flush().map_err(unreachable)?;
    read_response(BufReader::new(stream)).map_err(|e| match e {
        ReadError::Io(e) => unreachable(e),
        ReadError::Bad(m) => FleetError::Protocol(m),
    })
}

enum ReadError {
    Io(std::io::Error),
    Bad(String),
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn read_response<R: BufRead>(mut r: R) -> Result<Response, ReadError> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(ReadError::Bad(if line.is_empty() {
            "connection closed before an answer".into()
        } else {
            "no status line".into()
        }));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(format!("not HTTP/1.x: {version}")));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| ReadError::Bad(format!("bad status {code:?}")))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(ReadError::Bad("headers cut short".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                length = Some(
                    v.parse()
                        .map_err(|_| ReadError::Bad("bad content-length".into()))?,
                );
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| ReadError::Bad("bad chunk size".into()))?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_RESPONSE {
                return Err(ReadError::Bad("answer too large".into()));
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        if n > MAX_RESPONSE {
            return Err(ReadError::Bad("answer too large".into()));
        }
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.take(MAX_RESPONSE as u64 + 1).read_to_end(&mut body)?;
        if body.len() > MAX_RESPONSE {
            return Err(ReadError::Bad("answer too large".into()));
        }
    }
    Ok(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_why_not() {
        assert_eq!(
            ServerUrl::parse("http://127.0.0.1:8440/").unwrap(),
            ServerUrl {
                host: "127.0.0.1".into(),
                port: 8440
            }
        );
        assert_eq!(ServerUrl::parse("http://central").unwrap().port, 80);
        assert_eq!(ServerUrl::parse("http://[::1]:9").unwrap().host, "::1");
        for bad in [
            "https://x:1",
            "ftp://x",
            "http://",
            "http://x:0",
            "http://x:99999",
            "http://x/y",
            "x:1",
        ] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses_parse_by_length_and_chunks() {
        let r = read_response(&b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}extra"[..])
            .ok()
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let r = read_response(&b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"[..]).ok().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (409, &b"abcde"[..]));
        assert!(read_response(&b""[..]).is_err());
        assert!(read_response(&b"SMTP 220\r\n\r\n"[..]).is_err());
        assert!(read_response(&b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nab"[..]).is_err());
    }
}

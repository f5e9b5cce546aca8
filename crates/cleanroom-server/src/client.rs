//! A small blocking HTTP/1.1 client for the demo, the tests and the load test: one request per
//! connection (`Connection: close`), bounded response size, timeouts on every read and write.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Bytes of a response the client reads at most.
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// A client for one server.
#[derive(Clone, Debug)]
pub struct Client {
    pub addr: SocketAddr,
    pub token: Option<String>,
    pub timeout: Duration,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            token: None,
            timeout: Duration::from_secs(60),
        }
    }

    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn get(&self, path: &str) -> std::io::Result<Response> {
        self.send("GET", path, &[], &[])
    }

    pub fn get_as(&self, path: &str, accept: &str) -> std::io::Result<Response> {
        self.send("GET", path, &[("accept", accept)], &[])
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> std::io::Result<Response> {
        let bytes = serde_json::to_vec(body).map_err(|_| bad("unserialisable body"))?;
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            &bytes,
        )
    }

    /// A `multipart/form-data` POST of named parts.
    pub fn post_multipart(&self, path: &str, parts: &[(&str, &[u8])]) -> std::io::Result<Response> {
        let (content_type, body) = multipart(parts);
        self.send("POST", path, &[("content-type", &content_type)], &body)
    }

    /// Sends one request and reads the whole response.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect_timeout(&self.addr, self.timeout)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(t) = &self.token {
            head.push_str(&format!("authorization: Bearer {t}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        // A server may refuse before reading the whole body (413): keep what it answered.
        if stream.write_all(body).is_err() {
            let _ = stream.shutdown(std::net::Shutdown::Write);
        }
        let mut raw = Vec::new();
        let mut buf = [0u8; 64 << 10];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if raw.len() > MAX_RESPONSE_BYTES {
                        return Err(bad("response too large"));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("bad chunk"))?;
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .ok_or_else(|| bad("bad chunk size"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// Encodes named parts as `multipart/form-data`; returns the content type and the body.
pub fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let mut nonce = [0u8; 12];
    let _ = getrandom::fill(&mut nonce);
    let boundary: String = std::iter::once("cleanroom-".to_owned())
        .chain(nonce.iter().map(|b| format!("{b:02x}")))
        .collect();
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\ncontent-type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

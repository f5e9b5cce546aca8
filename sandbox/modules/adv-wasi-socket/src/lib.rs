//! Tries to reach the network: TCP to loopback and to a public address, UDP, name lookup.
use std::net::{TcpStream, ToSocketAddrs as _, UdpSocket};
use std::time::Duration;

use cleanroom_guest::{Analytics, Contributions, Error, RecordBatch};

struct WasiSocket;

impl Analytics for WasiSocket {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let timeout = Duration::from_millis(200);
        let mut found = Vec::new();
        for addr in ["127.0.0.1:8080", "10.0.0.1:443"] {
            if let Ok(a) = addr.parse() {
                if TcpStream::connect_timeout(&a, timeout).is_ok() {
                    found.push("tcp");
                }
            }
        }
        if UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.send_to(b"x", "127.0.0.1:53"))
            .is_ok()
        {
            found.push("udp");
        }
        if ("example.com", 80).to_socket_addrs().is_ok() {
            found.push("dns");
        }
        if found.is_empty() {
            return Err(Error::Failed("no network".into()));
        }
        let mut out = Contributions::new(&["district"], &["need"]);
        for name in found {
            out.push(0, &[name], &[1.0]);
        }
        out.finish()
    }
}

cleanroom_guest::export!(WasiSocket);

//! A small client of the OVSDB management protocol (RFC 7047): JSON-RPC
//! over a unix or TCP stream to `ovsdb-server`, the `transact` method on
//! the `Open_vSwitch` database, and the server's `echo` keep-alives
//! answered while waiting.

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The database the Open vSwitch daemons use.
pub const DATABASE: &str = "Open_vSwitch";

/// OVSDB errors.
#[derive(Debug, thiserror::Error)]
pub enum OvsdbError {
    /// `ovsdb_connection` is not `unix:PATH` or `tcp:IP:PORT`.
    #[error("invalid ovsdb_connection '{0}': expected unix:PATH or tcp:IP:PORT")]
    Target(String),
    /// The stream failed.
    #[error("ovsdb-server at {target}: {source}")]
    Io {
        /// Where.
        target: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server closed the connection.
    #[error("ovsdb-server at {0} closed the connection")]
    Closed(String),
    /// The server answered with an error (of the call or of one operation).
    #[error("ovsdb-server refused {what}: {error}")]
    Refused {
        /// The call or operation.
        what: String,
        /// The error object.
        error: Value,
    },
    /// An answer that is not JSON-RPC.
    #[error("ovsdb-server sent something unexpected: {0}")]
    Protocol(String),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A connection to `ovsdb-server`.
pub struct Ovsdb {
    target: String,
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
    next_id: u64,
}

impl std::fmt::Debug for Ovsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ovsdb").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Ovsdb {
    /// Connects to `target`: `unix:PATH` or `tcp:IP:PORT` (Neutron's `[ovs] ovsdb_connection`).
    pub async fn connect(target: &str) -> Result<Ovsdb, OvsdbError> {
        let io = |source| OvsdbError::Io { target: target.to_string(), source };
        let stream: Box<dyn Stream> = if let Some(path) = target.strip_prefix("unix:") {
            Box::new(tokio::net::UnixStream::connect(path).await.map_err(io)?)
        } else if let Some(addr) = target.strip_prefix("tcp:") {
            let addr: std::net::SocketAddr = addr.parse().map_err(|_| OvsdbError::Target(target.to_string()))?;
            Box::new(tokio::net::TcpStream::connect(addr).await.map_err(io)?)
        } else {
            return Err(OvsdbError::Target(target.to_string()));
        };
        Ok(Ovsdb { target: target.to_string(), stream, buf: Vec::new(), next_id: 1 })
    }

    /// Runs `operations` as one transaction of the `Open_vSwitch`
    /// database; returns each operation's result. Any operation's error
    /// fails the whole (the server has then applied none of them).
    pub async fn transact(&mut self, operations: Vec<Value>) -> Result<Vec<Value>, OvsdbError> {
        let count = operations.len();
        let mut params = vec![Value::String(DATABASE.into())];
        params.extend(operations);
        let result = self.call("transact", Value::Array(params)).await?;
        let Value::Array(results) = result else {
            return Err(OvsdbError::Protocol(format!("transact answered {result}")));
        };
        // Results past the operations report a failed commit or constraint.
        for (i, r) in results.iter().enumerate() {
            if let Some(error) = r.get("error").filter(|e| !e.is_null()) {
                let what = if i < count { format!("operation {i}") } else { "the transaction".to_string() };
                let mut error = error.clone();
                if let Some(details) = r.get("details") {
                    error = json!({"error": error, "details": details});
                }
                return Err(OvsdbError::Refused { what, error });
            }
        }
        Ok(results)
    }

    /// One JSON-RPC call; answers the server's echo requests meanwhile.
    async fn call(&mut self, method: &str, params: Value) -> Result<Value, OvsdbError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"method": method, "params": params, "id": id})).await?;
        loop {
            let msg = self.receive().await?;
            if msg.get("method").and_then(Value::as_str) == Some("echo") {
                let reply = json!({"result": msg.get("params").cloned().unwrap_or(json!([])), "error": null, "id": msg.get("id").cloned().unwrap_or(Value::Null)});
                self.send(&reply).await?;
                continue;
            }
            if msg.get("id").and_then(Value::as_u64) != Some(id) {
                // A notification (we monitor nothing) or an answer to nobody.
                continue;
            }
            if let Some(error) = msg.get("error").filter(|e| !e.is_null()) {
                return Err(OvsdbError::Refused { what: method.to_string(), error: error.clone() });
            }
            return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    async fn send(&mut self, msg: &Value) -> Result<(), OvsdbError> {
        let bytes = serde_json::to_vec(msg).map_err(|e| OvsdbError::Protocol(e.to_string()))?;
        let target = self.target.clone();
        self.stream.write_all(&bytes).await.map_err(|source| OvsdbError::Io { target, source })
    }

    /// The next whole JSON message of the stream (messages follow each other without separators).
    async fn receive(&mut self) -> Result<Value, OvsdbError> {
        loop {
            if !self.buf.is_empty() {
                let mut values = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
                match values.next() {
                    Some(Ok(v)) => {
                        let used = values.byte_offset();
                        self.buf.drain(..used);
                        return Ok(v);
                    }
                    Some(Err(e)) if e.is_eof() => {}
                    Some(Err(e)) => return Err(OvsdbError::Protocol(e.to_string())),
                    None => self.buf.clear(),
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let target = self.target.clone();
            let n = self.stream.read(&mut chunk).await.map_err(|source| OvsdbError::Io { target, source })?;
            if n == 0 {
                return Err(OvsdbError::Closed(self.target.clone()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// An OVSDB set value of `items` (a single item is written bare, as the protocol allows).
pub fn set(items: Vec<Value>) -> Value {
    json!(["set", items])
}

/// An OVSDB map value.
pub fn map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let pairs: Vec<Value> = pairs.into_iter().map(|(k, v)| json!([k, v])).collect();
    json!(["map", pairs])
}

/// A reference to a row inserted in the same transaction.
pub fn named(name: &str) -> Value {
    json!(["named-uuid", name])
}

/// The items of an OVSDB set (or the single bare item) of a selected row.
pub fn items(v: &Value) -> Vec<Value> {
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(tag), Value::Array(items)]) if tag == "set" => items.clone(),
        _ => vec![v.clone()],
    }
}

/// The pairs of an OVSDB map of a selected row, as strings.
pub fn pairs(v: &Value) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if let Some([Value::String(tag), Value::Array(list)]) = v.as_array().map(Vec::as_slice) {
        if tag == "map" {
            for p in list {
                if let (Some(k), Some(v)) = (p.get(0).and_then(Value::as_str), p.get(1).and_then(Value::as_str)) {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
    }
    out
}

/// The UUID of a `["uuid", "…"]` value.
pub fn uuid(v: &Value) -> Option<&str> {
    match v.as_array().map(Vec::as_slice) {
        Some([Value::String(tag), Value::String(id)]) if tag == "uuid" => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_the_protocol_writes_them() {
        assert_eq!(items(&json!(["set", [["uuid", "a"], ["uuid", "b"]]])).len(), 2);
        assert_eq!(items(&json!(["uuid", "a"])), [json!(["uuid", "a"])], "a one-item set is bare");
        assert_eq!(items(&json!(["set", []])), Vec::<Value>::new());
        let m = pairs(&json!(["map", [["peer", "patch-tun"], ["x", "1"]]]));
        assert_eq!(m.get("peer").map(String::as_str), Some("patch-tun"));
        assert_eq!(uuid(&json!(["uuid", "u-1"])), Some("u-1"));
        assert_eq!(uuid(&json!("u-1")), None);
        assert_eq!(map([("peer", "p")]), json!(["map", [["peer", "p"]]]));
    }
}

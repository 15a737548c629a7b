//! The bus against a real RabbitMQ (`NEUTRINO_TEST_RABBIT_URL`, set by
//! `.ci/run`): each test uses its own names (`control_exchange`) and
//! deletes them afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use neutrino_bus::{serve, BusClient, BusSettings, Call, Handler, Reply, Wake};
use tokio::sync::watch;

fn settings() -> Option<BusSettings> {
    match std::env::var("NEUTRINO_TEST_RABBIT_URL") {
        Ok(url) if !url.is_empty() => {
            let name = format!("neutrino-t-{}", uuid::Uuid::new_v4().simple());
            Some(BusSettings::new(&url, &name).expect("test URL"))
        }
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!("CI needs NEUTRINO_TEST_RABBIT_URL"),
        _ => {
            eprintln!("SKIP: NEUTRINO_TEST_RABBIT_URL is not set");
            None
        }
    }
}

/// Deletes the test's queue and exchange.
async fn cleanup(s: &BusSettings) {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let Ok(conn) = lapin::Connection::connect(&s.urls[0], lapin::ConnectionProperties::default()).await else {
        return;
    };
    if let Ok(ch) = conn.create_channel().await {
        let _ = ch.queue_delete(s.calls_queue().as_str().into(), QueueDeleteOptions::default()).await;
        let _ = ch.exchange_delete(s.notices_exchange().as_str().into(), ExchangeDeleteOptions::default()).await;
    }
    let _ = conn.close(200, "done".into()).await;
}

/// A handler that answers with the call's method, path, secret and body, and counts calls.
fn echo(count: Arc<AtomicUsize>) -> Handler {
    Arc::new(move |call: Call| {
        count.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let body =
                serde_json::json!({"method": call.method, "path": call.path, "secret": call.secret, "body": call.body});
            Reply { status: 200, body: body.to_string() }
        })
    })
}

#[tokio::test]
async fn a_call_is_answered_by_a_server_and_notices_wake_the_agent() {
    let Some(s) = settings() else { return };
    let count = Arc::new(AtomicUsize::new(0));
    let (commits, rx) = watch::channel(0i64);
    let server = tokio::spawn(serve(s.clone(), echo(count.clone()), rx));
    let client = BusClient::new(s.clone(), Some("s3cret"));
    let body = serde_json::json!({"host": "node-1"});
    let reply = client.call("POST", "/agent/v1/devices", Some(&body)).await.expect("call");
    assert_eq!(reply.status, 200);
    let echoed: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
    assert_eq!(
        echoed,
        serde_json::json!({"method": "POST", "path": "/agent/v1/devices", "secret": "s3cret", "body": {"host": "node-1"}})
    );

    // Nothing committed after 0 yet (the server's first notice says 0).
    let epoch = client.connect().await.expect("connect");
    assert_eq!(client.wait(epoch, 0, Duration::from_millis(300)).await, Wake::Timeout);
    // A commit: the waiting agent wakes; a wait from that position does not.
    let waiter = {
        let c = client.clone();
        tokio::spawn(async move { c.wait(epoch, 0, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    commits.send(7).expect("send");
    assert_eq!(waiter.await.expect("join"), Wake::Advanced);
    assert_eq!(client.wait(epoch, 7, Duration::from_millis(300)).await, Wake::Timeout);
    // Many calls at once, each gets its own answer.
    let calls = (0..50).map(|i| {
        let c = client.clone();
        async move { c.call("GET", &format!("/agent/v1/state?host=h{i}"), None).await }
    });
    for (i, r) in futures::future::join_all(calls).await.into_iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(&r.expect("call").body).expect("json");
        assert_eq!(v["path"], format!("/agent/v1/state?host=h{i}"));
    }
    assert_eq!(count.load(Ordering::SeqCst), 51);
    server.abort();
    cleanup(&s).await;
}

#[tokio::test]
async fn a_call_nobody_takes_times_out_and_is_not_run_later() {
    let Some(mut s) = settings() else { return };
    s.call_timeout = Duration::from_millis(500);
    let client = BusClient::new(s.clone(), None);
    let e = client.call("GET", "/agent/v1/state?host=a", None).await.expect_err("no server");
    assert!(matches!(e, neutrino_bus::BusError::Timeout(..)), "{e}");
    // A server comes: the expired call is not run, a new one is.
    let count = Arc::new(AtomicUsize::new(0));
    let (_commits, rx) = watch::channel(0i64);
    let server = tokio::spawn(serve(s.clone(), echo(count.clone()), rx));
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.call_timeout = Duration::from_secs(10);
    let client = BusClient::new(s.clone(), None);
    assert_eq!(client.call("GET", "/agent/v1/state?host=b", None).await.expect("call").status, 200);
    assert_eq!(count.load(Ordering::SeqCst), 1, "the call whose caller gave up expired in the queue");
    server.abort();
    cleanup(&s).await;
}

#[tokio::test]
async fn two_servers_share_the_calls_and_either_one_notifies() {
    let Some(s) = settings() else { return };
    let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (commits_a, rx_a) = watch::channel(0i64);
    let (_commits_b, rx_b) = watch::channel(0i64);
    let server_a = tokio::spawn(serve(s.clone(), echo(a.clone()), rx_a));
    let server_b = tokio::spawn(serve(s.clone(), echo(b.clone()), rx_b));
    let client = BusClient::new(s.clone(), None);
    let epoch = client.connect().await.expect("connect");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = (0..200).map(|_| {
        let c = client.clone();
        async move { c.call("GET", "/agent/v1/changes?after=0&wait=0", None).await }
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.expect("call").status, 200);
    }
    let (na, nb) = (a.load(Ordering::SeqCst), b.load(Ordering::SeqCst));
    assert_eq!(na + nb, 200);
    assert!(na > 0 && nb > 0, "both servers answer: {na} + {nb}");
    // One server stops: the other answers everything. Calls are delivered at
    // least once: b acknowledges a call only after the broker confirmed its
    // reply, so calls b answered but had not yet acknowledged when it stopped
    // go to a again (seen in CI under load: 18 of them) — a counts those too.
    server_b.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b_before = b.load(Ordering::SeqCst);
    let a_before = a.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(client.call("GET", "/agent/v1/state?host=x", None).await.expect("call").status, 200);
    }
    assert_eq!(b.load(Ordering::SeqCst), b_before, "the stopped server answers nothing");
    assert!(a.load(Ordering::SeqCst) >= a_before + 20, "the other answers every new call");
    assert!(a.load(Ordering::SeqCst) <= na + nb + 20, "beyond the new calls, at most b's calls again");
    commits_a.send(3).expect("send");
    assert_eq!(client.wait(epoch, 0, Duration::from_secs(10)).await, Wake::Advanced);
    server_a.abort();
    cleanup(&s).await;
}

#[tokio::test]
async fn an_unreachable_broker_is_an_error_not_a_hang() {
    let s = BusSettings::new("rabbit://guest:guest@127.0.0.1:9", "neutrino-t-none").expect("url");
    let client = BusClient::new(s, None);
    let started = std::time::Instant::now();
    let e = client.call("GET", "/agent/v1/state?host=a", None).await.expect_err("no broker");
    assert!(matches!(e, neutrino_bus::BusError::Unreachable(_)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(6));
}

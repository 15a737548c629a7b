//! The store against a real database (SQLite, or PostgreSQL with
//! NEUTRINO_TEST_STORE=postgres, see `neutrino_store::testing`): migrations, refusal of
//! foreign schemas, rollback, constraints and keyset paging.
#![allow(clippy::unwrap_used)]

use neutrino_store::{
    Allocation, DocRow, Filter, ListQuery, Scope, SegmentAllocation, SegmentRow, SortDir, SortKey, SqlValue, Store,
    StoreError, StoreOptions, Table,
};

use neutrino_store::testing::TestDb as Db;

fn network(id: &str, project: &str, name: &str) -> DocRow {
    DocRow {
        id: id.into(),
        columns: vec![SqlValue::Text(project.into()), SqlValue::Text(name.into()), SqlValue::Int(0), SqlValue::Int(0)],
        doc: serde_json::json!({"id": id, "name": name, "project_id": project, "mtu": 1450}).to_string(),
    }
}

fn subnet(id: &str, network_id: &str) -> DocRow {
    DocRow {
        id: id.into(),
        columns: vec![
            SqlValue::Text("p".into()),
            SqlValue::Text(network_id.into()),
            SqlValue::Text("".into()),
            SqlValue::Int(4),
            SqlValue::Text("10.0.0.0/24".into()),
        ],
        doc: "{}".into(),
    }
}

async fn migrated(db: &Db) -> Store {
    let s = Store::open(&db.url, &StoreOptions::default()).await.unwrap();
    s.upgrade().await.unwrap();
    s
}

#[tokio::test]
async fn empty_database_is_behind_until_upgraded() {
    let db = Db::new();
    let s = Store::open(&db.url, &StoreOptions::default()).await.unwrap();
    let st = s.schema_state().await.unwrap();
    assert_eq!(st.current, None);
    assert!(matches!(s.check_schema().await, Err(StoreError::SchemaBehind { current: None, .. })));
    let applied = s.upgrade().await.unwrap();
    assert_eq!(applied.last().copied(), Some(st.latest));
    assert!(s.check_schema().await.unwrap().is_current());
    assert!(s.upgrade().await.unwrap().is_empty(), "upgrade is idempotent");
}

#[tokio::test]
async fn an_older_schema_is_refused_until_upgraded_in_place() {
    let db = Db::new();
    let s = migrated(&db).await;
    let mut tx = s.begin().await.unwrap();
    tx.insert(Table::Networks, &network("kept", "p", "x")).await.unwrap();
    tx.commit().await.unwrap();
    let latest = s.schema_state().await.unwrap().latest;
    drop(s);
    // Turn the database back into what the previous release left.
    db.raw(
        "DROP TABLE rbac_policies; DROP TABLE quotas; DROP TABLE identity_passwords; \
         DROP TABLE identity_role_assignments; DROP TABLE identity_endpoints; DROP TABLE identity_users; \
         DROP TABLE identity_projects; DROP TABLE identity_roles; DROP TABLE identity_services; \
         DROP TABLE identity_regions; DROP TABLE identity_domains; DROP TABLE identity_signing_keys; \
         DROP TABLE identity_revocations; DROP TABLE network_dhcp_agents; DROP TABLE router_l3_agents; \
         DROP TABLE port_forwardings; DROP TABLE floatingips; DROP TABLE routers; DROP TABLE agents; DROP TABLE change_log; \
         DROP TABLE port_security_group_bindings; DROP TABLE security_group_rules; DROP TABLE security_groups; \
         DROP TABLE IF EXISTS change_log_order; \
         DELETE FROM neutrino_migrations WHERE version > 20261127000001;",
    )
    .unwrap();
    let s = Store::open(&db.url, &StoreOptions::default()).await.unwrap();
    assert!(matches!(s.check_schema().await, Err(StoreError::SchemaBehind { current: Some(20261127000001), .. })));
    let applied = s.upgrade().await.unwrap();
    assert_eq!(applied.first().copied(), Some(20261127000002));
    assert_eq!(applied.last().copied(), Some(latest));
    let mut tx = s.begin().await.unwrap();
    tx.set_quota("p", "network", 5).await.unwrap();
    tx.commit().await.unwrap();
    let mut r = s.read().await.unwrap();
    assert!(r.get_doc(Table::Networks, "kept", &Scope::Admin).await.unwrap().is_some(), "data survives the upgrade");
    assert_eq!(r.quota_overrides("p").await.unwrap(), vec![("network".to_string(), 5)]);
}

#[tokio::test]
async fn a_schema_from_a_newer_binary_is_refused() {
    let db = Db::new();
    let s = migrated(&db).await;
    s.close().await;
    db.raw(
        "INSERT INTO neutrino_migrations (version, description, applied_at) VALUES (99990101000000, 'from the future', 'x')",
    )
    .unwrap();
    let s = Store::open(&db.url, &StoreOptions::default()).await.unwrap();
    assert!(matches!(s.check_schema().await, Err(StoreError::SchemaAhead(99990101000000))));
    assert!(matches!(s.upgrade().await, Err(StoreError::SchemaAhead(_))));
}

#[tokio::test]
async fn dropped_transaction_rolls_back() {
    let db = Db::new();
    let s = migrated(&db).await;
    {
        let mut tx = s.begin().await.unwrap();
        tx.insert(Table::Networks, &network("n1", "p", "a")).await.unwrap();
    }
    let mut r = s.read().await.unwrap();
    assert_eq!(r.get_doc(Table::Networks, "n1", &Scope::Admin).await.unwrap(), None);
    drop(r);
    let mut tx = s.begin().await.unwrap();
    tx.insert(Table::Networks, &network("n1", "p", "a")).await.unwrap();
    tx.commit().await.unwrap();
    let mut r = s.read().await.unwrap();
    assert!(r.get_doc(Table::Networks, "n1", &Scope::Admin).await.unwrap().is_some());
    assert_eq!(r.get_doc(Table::Networks, "n1", &Scope::Project("other".into())).await.unwrap(), None, "scope applies");
}

#[tokio::test]
async fn constraints_hold_and_are_reported_as_such() {
    let db = Db::new();
    let s = migrated(&db).await;
    let mut tx = s.begin().await.unwrap();
    tx.insert(Table::Networks, &network("n1", "p", "a")).await.unwrap();
    assert!(matches!(tx.insert(Table::Networks, &network("n1", "p", "a")).await, Err(StoreError::UniqueViolation(_))));
    tx.insert_segment(&SegmentRow {
        id: "seg1".into(),
        network_id: "n1".into(),
        network_type: "vxlan".into(),
        physical_network: None,
        segmentation_id: Some(5),
        segment_index: 0,
    })
    .await
    .unwrap();
    assert_eq!(tx.segments_of("n1").await.unwrap().len(), 1);
    let seg = SegmentAllocation {
        network_type: "vxlan".into(),
        physical_network: String::new(),
        segmentation_id: 5,
        network_id: "n1".into(),
    };
    tx.allocate_segment(&seg).await.unwrap();
    assert!(matches!(tx.allocate_segment(&seg).await, Err(StoreError::UniqueViolation(_))));
    let orphan = SegmentAllocation { network_id: "missing".into(), segmentation_id: 6, ..seg.clone() };
    assert!(matches!(tx.allocate_segment(&orphan).await, Err(StoreError::ForeignKeyViolation(_))));
    tx.insert(Table::Subnets, &subnet("s1", "n1")).await.unwrap();
    tx.insert(
        Table::Ports,
        &DocRow {
            id: "p1".into(),
            columns: ["p", "n1", "", "fa:16:3e:00:00:01", "", ""].iter().map(|c| SqlValue::Text((*c).into())).collect(),
            doc: "{}".into(),
        },
    )
    .await
    .unwrap();
    let dup_mac = DocRow {
        id: "p2".into(),
        columns: ["p", "n1", "", "fa:16:3e:00:00:01", "", ""].iter().map(|c| SqlValue::Text((*c).into())).collect(),
        doc: "{}".into(),
    };
    assert!(matches!(tx.insert(Table::Ports, &dup_mac).await, Err(StoreError::UniqueViolation(_))));
    let a = Allocation {
        subnet_id: "s1".into(),
        ip_address: "10.0.0.5".into(),
        port_id: "p1".into(),
        network_id: "n1".into(),
    };
    tx.insert_allocation(&a).await.unwrap();
    assert!(matches!(tx.insert_allocation(&a).await, Err(StoreError::UniqueViolation(_))));
    // A subnet with allocations cannot go (restrict); the port's delete cascades them.
    assert!(matches!(tx.delete(Table::Subnets, "s1").await, Err(StoreError::ForeignKeyViolation(_))));
    assert!(tx.delete(Table::Ports, "p1").await.unwrap());
    assert!(!tx.is_allocated("s1", "10.0.0.5").await.unwrap());
    assert!(tx.delete(Table::Subnets, "s1").await.unwrap());
    // Deleting the network releases its segment reservation.
    assert!(tx.delete(Table::Networks, "n1").await.unwrap());
    assert!(tx.allocated_segment_ids("vxlan", "", 1, 10).await.unwrap().is_empty());
    assert!(tx.segments_of("n1").await.unwrap().is_empty(), "segments go with their network");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn keyset_paging_in_both_directions() {
    let db = Db::new();
    let s = migrated(&db).await;
    let mut tx = s.begin().await.unwrap();
    for (i, name) in ["b", "a", "c", "a", "d"].iter().enumerate() {
        tx.insert(Table::Networks, &network(&format!("id{i}"), "p", name)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut r = s.read().await.unwrap();
    let mut q = ListQuery::all(Scope::Admin);
    q.sort = vec![SortKey { attr: "name".into(), dir: SortDir::Desc }];
    q.limit = Some(2);
    let ids = |docs: &[String]| {
        docs.iter()
            .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap()["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (p1, more) = r.list_docs(Table::Networks, &q).await.unwrap();
    assert_eq!((ids(&p1), more), (vec!["id4".to_string(), "id2".into()], true));
    q.marker = Some("id2".into());
    let (p2, more) = r.list_docs(Table::Networks, &q).await.unwrap();
    assert_eq!((ids(&p2), more), (vec!["id0".to_string(), "id3".into()], true));
    q.marker = Some("id3".into());
    let (p3, more) = r.list_docs(Table::Networks, &q).await.unwrap();
    assert_eq!((ids(&p3), more), (vec!["id1".to_string()], false));
    q.marker = Some("id0".into());
    q.page_reverse = true;
    let (back, more) = r.list_docs(Table::Networks, &q).await.unwrap();
    assert_eq!((ids(&back), more), (vec!["id4".to_string(), "id2".into()], false));
    // JSON attribute filters and sorts.
    let mut q = ListQuery::all(Scope::Admin);
    q.filters.push(Filter::Eq { attr: "mtu".into(), values: vec![SqlValue::Int(1450)] });
    assert_eq!(r.count(Table::Networks, &q).await.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_calls_commit_together_and_fail_alone() {
    let db = Db::new();
    let s = migrated(&db).await;
    // 64 concurrent calls; every third one fails after writing. Each success
    // is visible to a reader as soon as its commit returns.
    let mut tasks = Vec::new();
    for i in 0..64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = s.begin().await.unwrap();
            tx.insert(Table::Networks, &network(&format!("n{i}"), "p", "x")).await.unwrap();
            if i % 3 == 0 {
                drop(tx);
                return;
            }
            tx.commit().await.unwrap();
            let mut r = s.read().await.unwrap();
            assert!(
                r.get_doc(Table::Networks, &format!("n{i}"), &Scope::Admin).await.unwrap().is_some(),
                "n{i} visible after commit"
            );
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut r = s.read().await.unwrap();
    let (docs, _) = r.list_docs(Table::Networks, &ListQuery::all(Scope::Admin)).await.unwrap();
    assert_eq!(docs.len(), 64 - 22, "the failed calls left nothing, the others all landed");
}

#[tokio::test]
async fn a_group_closes_when_the_call_that_was_to_join_it_goes_away() {
    let db = Db::new();
    let s = migrated(&db).await;
    let mut a = s.begin().await.unwrap();
    a.insert(Table::Networks, &network("a", "p", "x")).await.unwrap();
    // B queues for the writer and is abandoned once it has (or would have) joined.
    let sb = s.clone();
    let b = tokio::spawn(async move {
        let _tx = sb.begin().await.unwrap();
        std::future::pending::<()>().await;
    });
    tokio::task::yield_now().await;
    let c = tokio::spawn(a.commit());
    tokio::task::yield_now().await;
    b.abort();
    let done = tokio::time::timeout(std::time::Duration::from_secs(2), c).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "A's commit completes: {done:?}");
    let mut r = s.read().await.unwrap();
    assert!(r.get_doc(Table::Networks, "a", &Scope::Admin).await.unwrap().is_some());
    // The writer is free again.
    let mut t = s.begin().await.unwrap();
    t.insert(Table::Networks, &network("b", "p", "x")).await.unwrap();
    t.commit().await.unwrap();
}

#[tokio::test]
async fn a_failed_commit_takes_nothing_and_leaves_the_writer_clean() {
    let db = Db::new();
    let s = migrated(&db).await;
    let mut tx = s.begin().await.unwrap();
    tx.insert(Table::Networks, &network("n1", "p", "x")).await.unwrap();
    tx.insert(Table::Subnets, &subnet("s1", "n1")).await.unwrap();
    // The address -> port key is deferred: the dangling row fails the COMMIT.
    let ghost = Allocation {
        subnet_id: "s1".into(),
        ip_address: "10.0.0.9".into(),
        port_id: "ghost".into(),
        network_id: "n1".into(),
    };
    tx.insert_allocation(&ghost).await.unwrap();
    if db.dialect == neutrino_store::dialect::Dialect::Mysql {
        // MySQL cannot defer a key to the commit: there is no such check.
        return;
    }
    let res = tx.commit().await;
    // SQLite: the group's COMMIT failed; PostgreSQL: the deferred key itself.
    assert!(matches!(res, Err(StoreError::GroupCommit(_) | StoreError::ForeignKeyViolation(_))), "{res:?}");
    let mut r = s.read().await.unwrap();
    assert!(
        r.get_doc(Table::Networks, "n1", &Scope::Admin).await.unwrap().is_none(),
        "nothing of the failed commit landed"
    );
    drop(r);
    let mut t = s.begin().await.unwrap();
    t.insert(Table::Networks, &network("n2", "p", "x")).await.unwrap();
    t.commit().await.unwrap();
}

#[tokio::test]
async fn the_change_log_keeps_commit_order_and_rolls_back_with_its_transaction() {
    let db = Db::new();
    let s = migrated(&db).await;
    let change = |id: &str, rev: i64| neutrino_store::Change {
        seq: 0,
        resource: "port".into(),
        resource_id: id.into(),
        revision: rev,
        op: "update".into(),
        network_id: Some("n1".into()),
        host: Some("node-1".into()),
        committed_at: "2026-11-27T00:00:00Z".into(),
    };
    let mut r = s.read().await.unwrap();
    assert_eq!(r.change_bounds().await.unwrap(), (1, 0), "empty log at position 0");
    drop(r);
    let mut tx = s.begin().await.unwrap();
    let a = tx.append_change(&change("p1", 1)).await.unwrap();
    let b = tx.append_change(&change("p2", 1)).await.unwrap();
    assert!(b > a);
    tx.commit().await.unwrap();
    // A rolled-back transaction leaves no change behind.
    let mut tx = s.begin().await.unwrap();
    tx.append_change(&change("p3", 1)).await.unwrap();
    drop(tx);
    let mut r = s.read().await.unwrap();
    let all = r.changes_after(0, 100).await.unwrap();
    assert_eq!(all.iter().map(|c| c.resource_id.as_str()).collect::<Vec<_>>(), ["p1", "p2"]);
    assert_eq!(all[0].host.as_deref(), Some("node-1"));
    assert_eq!(r.changes_after(a, 100).await.unwrap().len(), 1);
    assert_eq!(r.changes_after(b, 100).await.unwrap(), vec![]);
    drop(r);
    // Compaction keeps the position: the next change still follows b.
    let mut tx = s.begin().await.unwrap();
    assert_eq!(tx.compact_changes(b).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let mut r = s.read().await.unwrap();
    // The position is the last seq handed out: b, or on a database server
    // (whose sequences do not roll back) the seq the rolled-back change took.
    let (oldest, last) = r.change_bounds().await.unwrap();
    assert_eq!(oldest, last + 1);
    assert!(last == b || (last == b + 1 && db.dialect != neutrino_store::dialect::Dialect::Sqlite), "{last} vs {b}");
    drop(r);
    let mut tx = s.begin().await.unwrap();
    let c = tx.append_change(&change("p4", 2)).await.unwrap();
    tx.commit().await.unwrap();
    assert!(c > b);
    let mut r = s.read().await.unwrap();
    assert_eq!(r.change_bounds().await.unwrap(), (c, c));
}
